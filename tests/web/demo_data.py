"""Realistic demo data for the web tests and the docs' screenshots, made by the real pipeline.

Four connector types' sandboxes (Feiyu leads, Clink CDRs, Udesk tickets, WeCom customers) are
read through ``hub.pipeline.inline.sync_inline`` exactly as ``hub sync --inline`` would. One
customer, 林晓雯, shows up in all four with the same mobile, so identity resolution gives her
one contact with a timeline from four channels. A Udesk ticket with a broken timestamp is
rejected by its mapping and lands in the dead letters.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hub.config import load_config
from hub.pipeline.inline import sync_inline
from hub.runtime import Runtime
from hub.testing import SandboxRouter

from connectors.callcenter.sandbox import ClinkSandbox
from connectors.feiyu.sandbox import FeiyuSandbox
from connectors.ticketing.udesk.sandbox import UdeskSandbox
from connectors.wecom.sandbox import WeComSandbox

#: The customer every test follows: one mobile across four systems.
PHONE = "13912345678"
PHONE_E164 = "+8613912345678"
PHONE_MASKED = "139****5678"
NAME = "林晓雯"
#: 王磊: a lead's mobile and a ticket's e-mail, merged by a later ticket holding both.
MERGED_PHONE = "13700001111"
MERGED_EMAIL = "wanglei@example.cn"
#: A family's shared mobile, on two WeCom customers: an open merge conflict.
SHARED_PHONE = "13587654321"
CHINA = timezone(timedelta(hours=8))


@dataclass
class Demo:
    runtime: Runtime
    #: ``instance -> connector type`` of the configured instances.
    instances: dict[str, str] = field(default_factory=dict)
    sync_results: dict[str, dict] = field(default_factory=dict)


def write_demo_config(tmp_path: Path, database_url: str, redis_url: str, sandboxes: dict[str, object], base: str) -> Path:
    feiyu, clink, udesk, wecom = (sandboxes[k] for k in ("feiyu", "clink", "udesk", "wecom"))
    feiyu_cfg = feiyu.config_for(f"{base}/sandbox/feiyu")
    feiyu_cfg["start_date"] = (datetime.now(CHINA).date() - timedelta(days=3)).isoformat()
    config = {
        "hub": {"database_url": database_url, "redis_url": redis_url, "var_dir": str(tmp_path / "var"),
                "log_level": "WARNING", "max_attempts": 3, "backoff_base": "1s", "backoff_cap": "2s"},
        "connectors": {
            "feiyu_ads": {"type": "feiyu", "config": feiyu_cfg, "streams": {"leads": {}}},
            "cc_400": {"type": "clink", "config": clink.config_for(f"{base}/sandbox/clink"), "streams": {"cdr_inbound": {}}},
            "udesk_main": {"type": "udesk", "config": udesk.config_for(f"{base}/sandbox/udesk"), "streams": {"tickets": {}}},
            "wecom_sales": {"type": "wecom", "config": wecom.config_for(f"{base}/sandbox/wecom"),
                            "streams": {"external_contacts": {}}},
        },
    }
    path = tmp_path / "hub.yaml"
    path.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def seed_sandboxes() -> dict[str, object]:
    """Sandboxes holding a small day of traffic, with 林晓雯 in each of them."""
    now = datetime.now(CHINA).replace(microsecond=0)
    feiyu = FeiyuSandbox(api="marketing")
    for hours in (30, 26, 20):
        feiyu.add_lead(created=now - timedelta(hours=hours))
    feiyu.add_lead(created=now - timedelta(hours=40), telephone=MERGED_PHONE, name="王磊", gender=1, province_name="江苏省",
                   city_name="南京市", module_name="成人英语-免费测评")
    feiyu.add_lead(created=now - timedelta(hours=28), telephone=PHONE, name=NAME, gender=2,
                   province_name="浙江省", city_name="杭州市", module_name="少儿编程体验课-预约表单")

    clink = ClinkSandbox()
    start = int(time.time()) - 6 * 3600
    for i in range(4):
        clink.add_cdr("cdr_inbound", start - 3600 * (i + 1))
    clink.add_cdr("cdr_inbound", start, customerNumber=PHONE, customerProvince="浙江", customerCity="杭州",
                  status="座席接听", statusCode="1")
    clink.add_cdr("cdr_inbound", start + 1800, customerNumber="0" + PHONE, customerProvince="浙江", customerCity="杭州",
                  status="座席接听", statusCode="1")

    udesk = UdeskSandbox()
    udesk.add_records("tickets", 3)
    customer = udesk.add_customer(NAME, cellphone=PHONE, email="linxw@example.cn")
    udesk._new_ticket(customer, "体验课时间改约", f"{NAME}来电要求把体验课改到周六上午，回拨 {PHONE}。", platform="电话", priority="高")
    # 王磊 wrote in by e-mail first (a contact of its own), then called from his mobile with the
    # same e-mail on file: the second ticket merges the e-mail contact into the lead's.
    udesk._new_ticket(udesk.add_customer("王磊", email=MERGED_EMAIL), "测评报告没收到", "邮件未收到测评报告。", platform="邮件")
    broken = udesk._new_ticket(udesk.add_customer("周建国", cellphone="13698765432"), "发票抬头修改", "请修改发票抬头。",
                               platform="邮件")
    broken["created_at"] = "2026-13-45 99:99:99"  # a source system's bad date: the mapping rejects it

    wecom = WeComSandbox()
    relation = wecom.add_customer(name=NAME, state="douyin_live_0601")
    ext, _, userid = relation.partition(":")
    wecom.relations[(ext, userid)]["remark_mobiles"] = [PHONE]
    wecom.relations[(ext, userid)]["remark"] = f"{NAME}（抖音直播）"
    # Two WeCom customers (different WeChat users) with one remark mobile: a strong-id clash
    # that identity resolution must not merge on its own, so it waits in the review queue.
    for who in ("陈志强", "陈志强（家属）"):
        ext2, _, user2 = wecom.add_customer(name=who, state="").partition(":")
        wecom.relations[(ext2, user2)]["remark_mobiles"] = [SHARED_PHONE]
    return {"feiyu": feiyu, "clink": clink, "udesk": udesk, "wecom": wecom}


def build_demo(tmp_path: Path, database_url: str, redis_url: str) -> Demo:
    """A runtime on the given backends whose store the real pipeline filled from the sandboxes."""
    sandboxes = seed_sandboxes()
    router = SandboxRouter()
    base = router.host
    for name, sandbox in sandboxes.items():
        router.mount(sandbox, f"/sandbox/{name}")
    runtime = Runtime(load_config(write_demo_config(tmp_path, database_url, redis_url, sandboxes, base), env={}))
    demo = Demo(runtime, {n: i.type for n, i in runtime.config.connectors.items()})
    with router:
        for instance, stream in (("feiyu_ads", "leads"), ("cc_400", "cdr_inbound"), ("udesk_main", "tickets"),
                                 ("wecom_sales", "external_contacts")):
            demo.sync_results[instance] = sync_inline(runtime, instance, stream)
        # Later that day 王磊 calls in; the agent's ticket carries his mobile and his e-mail.
        udesk = sandboxes["udesk"]
        udesk._tick(advance=True)
        udesk._new_ticket(udesk.add_customer("王磊", cellphone=MERGED_PHONE, email=MERGED_EMAIL), "预约外教试听", "希望周末试听。",
                          platform="电话")
        demo.sync_results["udesk_main"] = sync_inline(runtime, "udesk_main", "tickets")
    return demo
