"""Mapping engine throughput vs. a hand-written function producing the identical output.

    python benchmarks/mapping.py --records 200000

Generates realistic Feiyu-style lead records (names with stray spaces, phones in every
shape Chinese systems write them, emails, cities, ad ids, epoch and text timestamps,
enums, free-text remarks for keyword tags), maps them with ``benchmarks/lead_mapping.yaml``
(15 fields + an event) and with ``hand_written`` below, checks the outputs are identical
on a sample, and prints records/s for both and their ratio. Target: ratio ≥ 0.5.

Then the phones of those records alone: ``phonenumbers`` parse + validate + format
(``hub.phones.phonenumbers_format``) against ``hub.phones.format_phone`` with its fast path
for mainland mobiles, checked identical on every phone first (issue 14).
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.canonical import CanonicalEvent, CanonicalRecord  # noqa: E402
from hub.identity_kinds import normalize_email, normalize_phone  # noqa: E402
from hub.mapping import load_mapping  # noqa: E402
from hub.phones import cn_mobile, format_phone, phonenumbers_format  # noqa: E402

MAPPING = Path(__file__).resolve().parent / "lead_mapping.yaml"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超"]
CITIES = [("广东", "深圳"), ("广东", "广州"), ("北京", "北京"), ("上海", "上海"), ("浙江", "杭州"), ("四川", "成都"), ("湖北", "武汉")]
APPS = ["抖音", "今日头条", "西瓜视频", "番茄小说"]
REMARKS = ["这个怎么卖？", "太贵了，能便宜点吗", "什么时候发货", "多少钱一套", "看看", "", "请问报价和快递几天到", "已加微信"]
CAMPAIGNS = ["春季大促", " 618 预热 ", "新客专享", "直播间引流"]


def generate(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        mobile = f"1{rnd.choice('3456789')}{rnd.randrange(10**9):09d}"
        shape = rnd.randrange(6)
        if shape == 0:
            phone = f"+86 {mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
        elif shape == 1:
            phone = "86" + mobile
        elif shape == 2:
            phone = f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"
        elif shape == 3:
            phone = f"0{rnd.choice(['10', '21', '755'])}-{rnd.randrange(10**7, 10**8)}"
        elif shape == 4:
            phone = "12345"  # junk a form let through: invalid → no identity
        else:
            phone = mobile
        province, city = rnd.choice(CITIES)
        created = 1704038400 + rnd.randrange(0, 180 * 86400)
        rec = {
            "clue_id": str(7300000000000 + i),
            "name": rnd.choice(["", " ", ""]) + rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(["", " "]),
            "telephone": phone,
            "email": rnd.choice(["", f"User{i}@Example.com", "not-an-email", f" lead{i}@qq.com "]),
            "gender": rnd.choice([0, 1, 2, "1"]),
            "province": province,
            "city": city + rnd.choice(["", " "]) if rnd.random() > 0.1 else "",
            "location": {"city": city},
            "ad_id": 1700000000000000 + rnd.randrange(10**6),
            "advertiser_id": str(1690000000000 + rnd.randrange(10**4)),
            "campaign_name": rnd.choice(CAMPAIGNS),
            "clue_source": rnd.choice([0, 1, 2, 5]),
            "clue_state": rnd.choice([0, 1, 2, 3, 9]),
            "remark": rnd.choice(REMARKS),
            "app_name": rnd.choice(APPS),
            "budget": rnd.choice(["5,000", "2000", "", "面议", 3000]),
            "is_intended": rnd.choice(["是", "否", "", None]),
            "create_time": datetime.fromtimestamp(created, ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S"),
            "modify_time": (created + rnd.randrange(0, 86400)) * 1000,
        }
        if rnd.random() < 0.05:
            rec["contact"] = {"mobile": rec.pop("telephone"), "name": rec.pop("name")}
        out.append(rec)
    return out


# --- the hand-written equivalent --------------------------------------------------------

TZ = ZoneInfo("Asia/Shanghai")
EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
GENDER = {"1": "男", "2": "女"}
SOURCE = {"0": "外部导入", "1": "正常投放", "2": "自然流量"}
STAGE = {"0": "new", "1": "contacted", "2": "qualified", "3": "won"}
CHANNEL = {"抖音": "渠道-抖音", "今日头条": "渠道-头条", "西瓜视频": "渠道-西瓜"}
KEYWORDS = (
    ("询价", ("多少钱", "怎么卖", "价格", "报价")),
    ("价格敏感", ("太贵了", "便宜点", "优惠")),
    ("关注物流", ("发货", "快递", "几天到")),
)


def _first(*values):
    for v in values:
        if v is not None and v != "" and v != []:
            return v
    return None


def hand_written(r: dict) -> CanonicalRecord:
    contact = r.get("contact") or {}
    location = r.get("location") or {}
    attributes = {}
    identities = []
    tags = []
    name = _first(r.get("name"), contact.get("name"))
    if name is not None:
        attributes["name"] = name.strip()
    phone = _first(r.get("telephone"), contact.get("mobile"))
    if phone is not None and phone.strip():
        e164 = normalize_phone(phone, "CN", valid_only=True)
        if e164:
            identities.append(("phone", e164))
    email = r.get("email")
    if email and email.strip():
        e = normalize_email(email)
        if e and EMAIL.match(e):
            identities.append(("email", e))
    gender = r.get("gender")
    if gender is not None:
        attributes["gender"] = GENDER.get(str(gender), "未知")
    if r.get("province") is not None:
        attributes["province"] = r["province"].strip()
    city = _first(r.get("city"), location.get("city"))
    attributes["city"] = (city.strip() if city is not None else "") or "未知"
    if r.get("ad_id") is not None:
        attributes["ad_id"] = str(r["ad_id"])
    if r.get("advertiser_id") is not None:
        attributes["advertiser_id"] = int(r["advertiser_id"])
    if r.get("campaign_name") is not None:
        attributes["campaign"] = r["campaign_name"].strip()
    if r.get("clue_source") is not None:
        attributes["lead_source"] = SOURCE.get(str(r["clue_source"]), "其他")
    stage = STAGE.get(str(r.get("clue_state")))
    if stage is not None:
        attributes["stage"] = stage
    budget = r.get("budget")
    if isinstance(budget, str):
        text = budget.replace(",", "").strip()
        try:
            budget = float(text) if text else None
        except ValueError:
            budget = None
    elif budget is not None:
        budget = float(budget)
    if budget is not None:
        attributes["budget"] = budget
    intended = r.get("is_intended")
    if intended in ("是", "否"):
        attributes["intent_confirmed"] = intended == "是"
    remark = r.get("remark")
    if remark is not None:
        text = remark.lower()
        for tag, words in KEYWORDS:
            if any(w in text for w in words):
                tags.append(tag)
    channel = CHANNEL.get(r.get("app_name"))
    if channel and channel not in tags:
        tags.append(channel)
    updated = datetime.fromtimestamp(r["modify_time"] / 1000, TZ)
    created = datetime.fromisoformat(r["create_time"]).replace(tzinfo=TZ)
    event = CanonicalEvent(
        kind="lead_created",
        occurred_at=created,
        summary=f"飞鱼线索：{r.get('campaign_name') or ''}（{r.get('app_name') or ''}）",
        data={"ad_id": r["ad_id"], "clue_id": r["clue_id"]},
        native_id=r["clue_id"],
    )
    return CanonicalRecord(identities=identities, attributes=attributes, tags=tags, events=[event],
                           source_updated_at=updated)


def _rate(fn, records: list[dict]) -> float:
    """records/s for one pass; outputs are dropped so neither side pays for the other's garbage."""
    gc.collect()
    start = time.perf_counter()
    for r in records:
        fn(r)
    return len(records) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--sample", type=int, default=2000, help="records compared for identical output")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (best of each is reported)")
    args = parser.parse_args(argv)

    records = generate(args.records)
    mapping = load_mapping(MAPPING, lookups={})
    apply = mapping.apply

    # identical output first, on a sample spread over the whole set
    step = max(1, len(records) // max(1, args.sample))
    for r in records[::step]:
        a, b = apply(r), hand_written(r)
        assert a == b, f"outputs differ for {r!r}:\n engine: {a!r}\n  hand: {b!r}"

    _rate(apply, records[:2000])  # warm up both
    _rate(hand_written, records[:2000])
    engine_rate = hand_rate = slow_rate = 0.0
    for _ in range(args.rounds):  # interleaved rounds, best of each: robust to a busy machine
        engine_rate = max(engine_rate, _rate(apply, records))
        hand_rate = max(hand_rate, _rate(hand_written, records))
        slow_rate = max(slow_rate, engine_without_phone_fast_path(apply, records))
    ratio = engine_rate / hand_rate
    print(f"mapping: {len(mapping.fields)} fields, updated_at and {len(mapping.events)} event "
          f"({len(mapping.all_values())} mapped values) over {len(records):,} generated lead records")
    print(f"  engine        {engine_rate:>10,.0f} records/s")
    print(f"  hand-written  {hand_rate:>10,.0f} records/s")
    print(f"  ratio         {ratio:>10.2f}  (target >= 0.50)")
    print(f"  engine without the phone fast path {slow_rate:>10,.0f} records/s "
          f"(the fast path: {engine_rate / slow_rate:.2f}x)")
    phone_figures(records, args.rounds)
    return 0 if ratio >= 0.5 else 1


def engine_without_phone_fast_path(apply, records: list[dict]) -> float:
    """One pass of the same engine with every phone sent to phonenumbers (fast path off)."""
    import hub.phones as phones

    saved = phones.cn_mobile
    phones.cn_mobile = lambda text, region="CN": None
    try:
        return _rate(apply, records)
    finally:
        phones.cn_mobile = saved


def phone_figures(records: list[dict], rounds: int) -> None:
    """The phone step alone: phonenumbers vs the fast path, on the records' own phones."""
    phones = [r.get("telephone") or r.get("contact", {}).get("mobile") for r in records]
    phones = [p for p in phones if p]
    for p in phones:  # identical results first, on every phone
        assert format_phone(p, "CN", valid_only=True) == phonenumbers_format(p, "CN", valid_only=True), p

    def reference(p):
        return phonenumbers_format(p, "CN", valid_only=True)

    def fast(p):
        return format_phone(p, "CN", valid_only=True)

    mobiles = [p for p in phones if cn_mobile(p.strip()) is not None]
    print(f"phones: {len(phones):,} from those records (every shape, landlines and junk included; "
          f"{len(mobiles) / len(phones):.0%} valid mainland mobiles), E.164 + validity, identical results")
    for title, sample in (("all phones", phones), ("mobiles only", mobiles)):
        _rate(reference, sample[:2000])
        _rate(fast, sample[:2000])
        ref_rate = fast_rate = 0.0
        for _ in range(rounds):
            ref_rate = max(ref_rate, _rate(reference, sample))
            fast_rate = max(fast_rate, _rate(fast, sample))
        print(f"  {title:<13} phonenumbers {ref_rate:>10,.0f}/s   fast path {fast_rate:>10,.0f}/s   "
              f"speedup {fast_rate / ref_rate:>5.1f}x")


if __name__ == "__main__":
    sys.exit(main())
