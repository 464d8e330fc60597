"""Realistic fake CDRs: Chinese cities and number formats, a 400 hotline, agents by 工号 (cno)."""

from __future__ import annotations

import random
import uuid
from typing import Any

# (province, city, landline area code)
CITIES = [
    ("上海", "上海", "021"), ("北京", "北京", "010"), ("广东", "广州", "020"), ("广东", "深圳", "0755"),
    ("浙江", "杭州", "0571"), ("江苏", "南京", "025"), ("四川", "成都", "028"), ("湖北", "武汉", "027"),
    ("陕西", "西安", "029"), ("福建", "厦门", "0592"), ("山东", "青岛", "0532"), ("湖南", "长沙", "0731"),
]
MOBILE_PREFIXES = ["138", "139", "136", "186", "158", "177", "150", "189", "135", "199"]
AGENTS = [("0101", "张伟"), ("0102", "王芳"), ("0103", "李娜"), ("0104", "刘洋"), ("0105", "陈静"), ("0201", "赵磊")]
QUEUES = [("0001", "售前咨询"), ("0002", "售后服务"), ("0003", "投诉建议")]
HOTLINE = "4008208820"
ENTERPRISE_ID = "8004970"
# (status text, statusCode, answered by an agent?)
INBOUND_STATUSES = [("座席接听", "1", True)] * 6 + [("已呼叫座席，座席未接听", "2", False), ("系统接听", "3", False),
                                                  ("系统未接听-客户呼入系统后在系统未应答前挂机", "12", False)]
OUTBOUND_STATUSES = [("双方接听", "28", True)] * 5 + [("客户未接听", "22", False), ("座席未接听", "21", False)]


def customer_number(rng: random.Random) -> tuple[str, str, str]:
    """``(number, province, city)``: mostly mobiles, some landlines with area code, some mobiles
    dialled with a leading 0 (as a PBX records a mobile reached from a landline trunk)."""
    province, city, area = rng.choice(CITIES)
    kind = rng.random()
    mobile = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    if kind < 0.7:
        return mobile, province, city
    if kind < 0.85:
        return "0" + mobile, province, city
    return area + str(rng.randrange(5 * 10**7, 9 * 10**7)), province, city


def make_cdr(rng: random.Random, direction: str, start: int, seq: int) -> dict[str, Any]:
    number, province, city = customer_number(rng)
    cno, agent = rng.choice(AGENTS)
    status, code, answered = rng.choice(INBOUND_STATUSES if direction == "inbound" else OUTBOUND_STATUSES)
    ring = rng.randint(3, 25)
    talk = rng.randint(20, 900) if answered else 0
    bridge = start + ring if answered else 0
    end = start + ring + talk + rng.randint(1, 5)
    unique_id = f"medias_1-{start}.{seq}"
    row: dict[str, Any] = {
        "callId": str(uuid.UUID(int=rng.getrandbits(128))),
        "uniqueId": unique_id,
        "customerNumber": number,
        "customerNumberEncrypt": None,
        "customerProvince": province,
        "customerCity": city,
        "cno": cno if (answered or direction == "outbound") else "",
        "clientName": agent if (answered or direction == "outbound") else "",
        "clientNumber": f"1{rng.choice(['35', '86', '58'])}{rng.randrange(10**8):08d}" if answered else "",
        "startTime": start,
        "bridgeTime": bridge,
        "endTime": end,
        "bridgeDuration": talk,
        "totalDuration": end - start,
        "status": status,
        "statusCode": code,
        "endReason": rng.choice(["1000", "1001"]),
        "recordFile": (f"{ENTERPRISE_ID}-{start}-{number}-{HOTLINE}-record-{unique_id}.mp3" if answered else ""),
        "userField": None,
        "mark": 0,
        "markData": "",
        "tags": [],
        "evaluation": 0,
    }
    if direction == "inbound":
        qno, qname = rng.choice(QUEUES)
        row.update(hotline=HOTLINE, hotlineName="全国客服热线", callType="1", qno=qno, qname=qname,
                   ivrName="主IVR", ibRingingDuration=ring)
    else:
        row.update(clid=HOTLINE, callType="4", requestUniqueId=f"req_{unique_id}", obRingingDuration=ring)
    return row
