"""Realistic generated Feiyu leads: Chinese names, 11-digit mobiles, provinces and cities,
ad / creative / promotion / landing-site ids, as the Marketing API returns them."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from connectors.feiyu.timewindows import FORMAT, parse

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鑫浩宇轩子涵欣怡梓萱一诺雨桐思远嘉怡俊杰晨曦"
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                   "156", "157", "158", "159", "166", "173", "176", "177", "180", "181", "182", "183", "185",
                   "186", "187", "188", "189", "191", "198", "199")
PLACES = {
    "广东省": ["广州市", "深圳市", "佛山市", "东莞市", "珠海市"],
    "浙江省": ["杭州市", "宁波市", "温州市", "金华市", "绍兴市"],
    "江苏省": ["南京市", "苏州市", "无锡市", "常州市", "镇江市"],
    "四川省": ["成都市", "绵阳市", "宜宾市"],
    "湖北省": ["武汉市", "宜昌市", "襄阳市"],
    "山东省": ["济南市", "青岛市", "烟台市", "潍坊市"],
    "北京市": ["北京市"],
    "上海市": ["上海市"],
    "河南省": ["郑州市", "洛阳市", "南阳市"],
    "福建省": ["福州市", "厦门市", "泉州市"],
}
MODULES = ("表单提交-免费试听", "在线咨询-预约到店", "表单-领取优惠券", "智能电话")
APPS = ("抖音", "今日头条", "西瓜视频", "抖音火山版", "穿山甲")
INTENTIONS = ("高意向", "中意向", "低意向")
CONVERT_STATUSES = ("合法转化", "合法转化", "合法转化", "不匹配转化", "其他不合法转化")
REMARKS = ("想了解一下价格", "周末可以到店吗", "请尽快联系我", "", "", "孩子今年五岁")


class LeadFactory:
    """Makes leads with increasing 19-digit clue ids for a few advertisers."""

    def __init__(self, advertisers: list[tuple[str, str]], seed: int = 20260101):
        self.rng = random.Random(seed)
        self.advertisers = advertisers
        self._next_clue = 7301234567000000001

    def _name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))

    def _mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + "".join(str(self.rng.randrange(10)) for _ in range(8))

    def make(self, created: datetime, advertiser_id: str | None = None) -> dict[str, Any]:
        rng = self.rng
        clue_id = str(self._next_clue)
        self._next_clue += rng.randrange(1000, 90000)
        adv_id, adv_name = next(((a, n) for a, n in self.advertisers if a == advertiser_id), rng.choice(self.advertisers))
        province = rng.choice(sorted(PLACES))
        city = rng.choice(PLACES[province])
        module = rng.randrange(len(MODULES))
        site_id = str(7_250_000_000_000_000_000 + rng.randrange(10**15))
        use_promotion = rng.random() < 0.5  # 体验版广告 (promotion) and plan/creative are exclusive
        ad_id = "" if use_promotion else str(1_780_000_000_000_000 + rng.randrange(10**12))
        return {
            "clue_id": clue_id,
            "advertiser_id": adv_id,
            "advertiser_name": adv_name,
            "ad_id": ad_id,
            "ad_name": "" if use_promotion else f"oCPM_{created:%m_%d}_{rng.randrange(1, 99)}",
            "creative_id": "" if use_promotion else str(1_781_000_000_000_000 + rng.randrange(10**12)),
            "promotion_id": str(7_300_000_000_000_000_000 + rng.randrange(10**15)) if use_promotion else "",
            "promotion_name": f"线索广告_{created:%m%d}_{rng.randrange(1, 50)}" if use_promotion else "",
            "site_id": site_id,
            "site_name": "橙子建站-" + MODULES[module].split("-")[-1],
            "external_url": f"https://www.chengzijianzhan.com/tetris/page/{site_id}/",
            "clue_type": (0, 1, 0, 2)[module],
            "module_id": str(1_667_000_000_000_000 + rng.randrange(10**12)),
            "module_name": MODULES[module],
            "clue_source": 1,
            "create_time": created.strftime("%Y-%m-%d"),
            "create_time_detail": created.strftime(FORMAT),
            "date": created.strftime("%Y-%m-%d"),
            "name": self._name(),
            "telephone": self._mobile(),
            "gender": rng.choice((0, 1, 2)),
            "age": rng.choice((0, 0, 23, 31, 38, 45)),
            "email": "",
            "weixin": "",
            "qq": "",
            "province_name": province,
            "city_name": city,
            "country_name": "",
            "address": "",
            "location": f"{province.rstrip('省市')}+{city.rstrip('市')}",
            "remark": rng.choice(REMARKS),
            "remark_dict": {},
            "form_remark": "",
            # Filled about ten minutes late by Ocean Engine (see fill_late_fields).
            "intention_estimation": "",
            "app_name": "",
            "convert_status": "数据获取中",
            "req_id": "".join(rng.choice("0123456789ABCDEF") for _ in range(34)),
            "clue_state": 1,
            "clue_state_name": "新线索",
            "clue_owner_name": "",
            "follow_state_name": "未联系",
            "allocation_status": 0,
            "system_tags": [],
            "store": {"store_id": 0, "store_name": "", "store_address": "", "store_remark": "",
                      "store_pack_id": 0, "store_pack_name": "", "store_pack_remark": "", "store_location": ""},
        }

    def fill_late_fields(self, lead: dict[str, Any]) -> None:
        rng = self.rng
        if lead.get("intention_estimation"):
            lead["intention_estimation"] = next(i for i in INTENTIONS if i != lead["intention_estimation"])
            return
        lead["intention_estimation"] = rng.choice(INTENTIONS)
        lead["app_name"] = rng.choice(APPS)
        lead["convert_status"] = rng.choice(CONVERT_STATUSES)


def legacy_shape(lead: dict[str, Any]) -> dict[str, Any]:
    """How the legacy CRM pull API shows a lead (``telphone`` sic, Unix ``create_time``)."""
    epoch = int(parse(lead["create_time_detail"]).timestamp())
    return {
        "adv_id": lead["advertiser_id"],
        "adv_name": lead["advertiser_name"],
        "clue_id": lead["clue_id"],
        "clue_type": lead["clue_type"],
        "clue_source": lead["clue_source"],
        "create_time": str(epoch),
        "date": None,
        "name": lead["name"],
        "telphone": lead["telephone"],
        "gender": lead["gender"],
        "age": lead["age"],
        "email": lead["email"],
        "weixin": lead["weixin"],
        "qq": lead["qq"],
        "province_name": lead["province_name"],
        "city_name": lead["city_name"],
        "location": lead["location"],
        "address": lead["address"] or "-",
        "ad_plan_id": lead["ad_id"],
        "ad_plan_name": lead["ad_name"],
        "cid": lead["creative_id"] or 0,
        "appname": lead["app_name"],
        "convert_status": lead["convert_status"],
        "module_id": lead["module_id"],
        "module_name": lead["module_name"],
        "site_id": lead["site_id"],
        "external_url": lead["external_url"],
        "remark": lead["remark"],
        "remark_dict": lead["remark_dict"],
        "form_remark": lead["form_remark"],
        "req_id": lead["req_id"],
        "store_id": 0,
        "store_name": "",
        "store": lead["store"],
    }
