"""Sample data for the WeCom sandbox: a small Hangzhou company's customer-contact setup."""

from __future__ import annotations

MEMBERS = [
    # userid, name, department, position, has the customer-contact permission
    ("zhangsan", "张三", [2], "销售经理", True),
    ("lisi", "李四", [2], "销售顾问", True),
    ("wangwu", "王五", [3], "客户成功", True),
    ("sunqi", "孙七", [3], "售后专员", True),
    ("zhaoliu", "赵六", [2], "销售顾问（已离职）", False),
]

#: direct_leader (user/get, doc 90196): each member's managers, most direct first.
LEADERS = {"lisi": ["zhangsan"], "zhaoliu": ["zhangsan"], "sunqi": ["wangwu"]}

CUSTOMER_NAMES = [
    "陈静", "刘洋", "王芳", "李娜", "杨磊", "赵敏", "黄晓明", "周杰", "吴婷", "徐丽",
    "孙浩", "马超", "朱琳", "胡军", "郭靖", "何欢", "林峰", "罗娟", "高翔", "梁晨",
    "宋佳", "郑凯", "谢娜", "韩雪", "唐宁", "冯雨", "董洁", "程龙", "曹颖", "袁泉",
]

CORP_NAMES = [
    "杭州云栖科技有限公司",
    "上海浦江贸易有限公司",
    "深圳前海数据服务有限公司",
    "成都天府餐饮管理有限公司",
    "南京紫金教育咨询有限公司",
]

TAG_GROUPS = [
    ("客户等级", ["VIP客户", "重要客户", "普通客户"]),
    ("来源渠道", ["抖音直播", "小红书", "线下门店", "官网咨询"]),
]

STATES = ["douyin_live_0315", "xhs_note_0312", "store_hz01", "website_form", ""]

#: add_way values WeCom documents: 0 unknown, 1 QR scan, 2 phone search, 3 card share,
#: 4 group chat, 5 phone book, 201 internal share, 202 admin assignment.
ADD_WAYS = [1, 1, 2, 3, 1, 202]
