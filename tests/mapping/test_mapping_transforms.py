"""Every built-in transform, through the real loader/compiler, including malformed input
(a bad value rejects the record naming the field) and bad options (a load error)."""

from datetime import datetime, timezone

import pytest

from hub.mapping import MappingError, MappingRecordError


def rejects(transform, spec, value, match, **kw):
    with pytest.raises(MappingRecordError, match=match) as info:
        transform(spec, value, **kw)
    assert info.value.field == "fields.out"
    return info.value


def bad_option(transform, spec, match):
    with pytest.raises(MappingError, match=match):
        transform(spec, "x")


# --- text ---------------------------------------------------------------------------------

def test_strip_lower_upper(transform):
    assert transform("strip", "  张三 ") == "张三"
    assert transform({"strip": "-"}, "--a--") == "a"
    assert transform("strip", 1001) == "1001"
    assert transform("strip", ["  a", "b "]) == ["a", "b"]
    assert transform("lower", "AbC") == "abc"
    assert transform("upper", "abc") == "ABC"
    assert transform("strip", None) is None


@pytest.mark.parametrize("name", ["strip", "lower", "upper", "str"])
def test_text_transforms_reject_objects(transform, name):
    rejects(transform, name, {"a": 1}, "expected text")


def test_str(transform):
    assert transform("str", 1712345678) == "1712345678"
    assert transform("str", 12.0) == "12"
    bad_option(transform, {"strip": 5}, "chars must be text")


# --- numbers ------------------------------------------------------------------------------

def test_int(transform):
    assert transform("int", " 42 ") == 42
    assert transform("int", "42.0") == 42
    assert transform("int", 7.0) == 7
    assert transform("int", "") is None
    assert transform("int", ["1", "2"]) == [1, 2]


@pytest.mark.parametrize("value", ["abc", "4.5", 4.5, "1_000", "nan", {"x": 1}])
def test_int_malformed(transform, value):
    err = rejects(transform, "int", value, "not an integer")
    assert err.value == value


def test_int_on_invalid(transform):
    assert transform({"int": {"on_invalid": "null"}}, "abc") is None
    assert transform({"int": {"on_invalid": None}}, "abc") is None
    assert transform({"int": {"on_invalid": "keep"}}, "abc") == "abc"
    bad_option(transform, {"int": {"on_invalid": "ignore"}}, "on_invalid must be one of")


def test_float(transform):
    assert transform("float", "3.5") == 3.5
    assert transform("float", "1,234.5") == 1234.5
    assert transform("float", 2) == 2.0
    for bad in ("abc", "inf", float("nan"), [["x"]]):
        with pytest.raises(MappingRecordError, match="not a number"):
            transform("float", bad)


def test_bool(transform):
    for yes in ("true", "Yes", "1", "是", 1, True):
        assert transform("bool", yes) is True
    for no in ("false", "N", "0", "否", 0, False):
        assert transform("bool", no) is False
    assert transform("bool", " ") is None
    rejects(transform, "bool", "maybe", "not a boolean")
    rejects(transform, "bool", 2, "not a boolean")


# --- phone and email ----------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw, e164",
    [
        ("+86 138-0013-8000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("0086 138 0013 8000", "+8613800138000"),
        (13800138000, "+8613800138000"),
        ("010-12345678", "+861012345678"),
        ("(021) 1234 5678", "+862112345678"),
        ("400-123-4567", "+864001234567"),
        ("800 810 8888", "+868008108888"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_phone(transform, raw, e164):
    assert transform("phone", raw) == e164


@pytest.mark.parametrize("raw", ["12345", "abc", "1380013800", "1234567890123456", {"n": 1}, True])
def test_phone_malformed(transform, raw):
    err = rejects(transform, "phone", raw, "invalid phone number")
    assert err.value == raw
    assert str(err).startswith("fields.out: invalid phone number")


def test_phone_options(transform):
    assert transform({"phone": {"on_invalid": "null"}}, "12345") is None
    assert transform({"phone": {"on_invalid": "keep"}}, "12345") == "12345"
    assert transform({"phone": "HK"}, "6123 4567") == "+85261234567"
    assert transform("phone", "  ") is None
    bad_option(transform, {"phone": {"region": "XX"}}, "unknown phone region")
    bad_option(transform, {"phone": {"on_invaild": "null"}}, "did you mean 'on_invalid'")


@pytest.mark.parametrize("fmt, raw, out", [
    ("e164", "+8613711112226", "+8613711112226"),
    ("national", "+8613711112226", "137 1111 2226"),
    ("digits", "+8613711112226", "13711112226"),
    ("digits", "0086 137-1111-2226", "13711112226"),
    ("national", "010-12345678", "010 1234 5678"),
    ("digits", "(010) 1234 5678", "01012345678"),
    ("digits", "+852 6123 4567", "0085261234567"),   # another country: as dialled from the region
])
def test_phone_formats(transform, fmt, raw, out):
    assert transform({"phone": {"format": fmt}}, raw) == out


def test_phone_format_is_checked_at_load(transform):
    bad_option(transform, {"phone": {"format": "nationl"}}, "format must be one of e164, national, digits.*did you mean 'national'")
    rejects(transform, {"phone": {"format": "digits"}}, "12345", "invalid phone number")


# --- replace ------------------------------------------------------------------------------

def test_replace(transform):
    prefix = {"replace": {"pattern": r"^(\+|00)?86(?=1\d{10}$)"}}
    assert transform(prefix, "+8613711112226") == "13711112226"
    assert transform(prefix, "008613711112226") == "13711112226"
    assert transform(prefix, "13786111226") == "13786111226"          # 86 inside the number stays
    assert transform({"replace": {"pattern": "[-\\s]", "to": ""}}, "137-1111 2226") == "13711112226"
    assert transform({"replace": {"pattern": r"(\d{3})(\d{4})(\d{4})", "to": r"\1-\2-\3"}}, "13711112226") == "137-1111-2226"
    assert transform({"replace": {"pattern": "vip", "to": "VIP", "ignore_case": True, "count": 1}}, "Vip vip") == "VIP vip"
    assert transform({"replace": {"pattern": "^0+"}}, ["007", "08"]) == ["7", "8"]
    assert transform({"replace": {"pattern": "^0+"}}, 7) == "7"
    assert transform({"replace": {"pattern": "^0+"}}, None) is None
    rejects(transform, {"replace": {"pattern": "x"}}, {"a": 1}, "replace: expected text")


def test_replace_examples_are_checked_at_load(transform):
    ok = {"replace": {"pattern": r"^\+?86", "examples": {"+8613711112226": "13711112226", "13711112226": "13711112226"}}}
    assert transform(ok, "8613711112226") == "13711112226"
    bad_option(transform, {"replace": {"pattern": "86", "examples": {"+8613786111226": "+8613786111226"}}},
               r"transform 'replace': example '\+8613786111226': expected '\+8613786111226', the pattern gives '\+137111226'")


@pytest.mark.parametrize("options, match", [
    ({"pattern": "(unclosed"}, "pattern '\\(unclosed' is not a valid regular expression"),
    ({"pattern": ""}, "pattern must be a non-empty regular expression"),
    ({"pattern": "a", "to": r"\2"}, r"to '\\\\2': invalid group reference 2"),
    ({"pattern": "(?P<x>a)", "to": r"\g<y>"}, "unknown group name 'y'"),
    ({"pattern": "a", "count": -1}, "count must be a whole number"),
    ({"pattern": "a", "examples": []}, "examples must map inputs"),
    ({"pattern": "a", "with": "b"}, "unknown option 'with'"),
    ({"to": "b"}, "missing option 'pattern'"),
])
def test_replace_bad_options(transform, options, match):
    bad_option(transform, {"replace": options}, match)


# --- strip used like a prefix -------------------------------------------------------------

def test_strip_chars_is_a_character_set(transform):
    # Documented behaviour (str.strip): any of the characters, from both ends.
    assert transform({"strip": "+86"}, "+8613711112226") == "1371111222"
    assert transform({"strip": " -"}, "- 137 -") == "137"


def test_strip_used_like_a_prefix_warns_at_load(compile_text):
    mapping = compile_text("""
        fields:
          phone_raw: {from: tel, transforms: [{strip: "+86"}]}
          name: {from: name, transforms: [{strip: " -_"}]}
    """)
    assert len(mapping.warnings) == 1, mapping.warnings
    line = mapping.warnings[0]
    assert line.startswith(f"{mapping.file}:2 fields.phone_raw: transform 'strip': strip '+86' removes any of the characters '+', '8', '6'")
    assert "('+8613711112226' → '1371111222')" in line and "{replace: {pattern: '^\\+86'}}" in line and "phone transform" in line


@pytest.mark.parametrize("chars", ["-", " -_", "，。", "()"])
def test_strip_with_a_punctuation_set_does_not_warn(compile_text, chars):
    mapping = compile_text(f"fields: {{x: {{from: x, transforms: [{{strip: {chars!r}}}]}}}}\n")
    assert mapping.warnings == []


def test_email(transform):
    assert transform("email", " Zhang.San@Example.COM ") == "zhang.san@example.com"
    assert transform("email", "") is None
    for bad in ("not-an-email", "a@b", "@example.com", "a b@example.com", 42):
        rejects(transform, "email", bad, "invalid email address")
    assert transform({"email": {"on_invalid": "null"}}, "nope") is None


# --- datetime -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw, iso",
    [
        ("2024-05-01 10:00:00", "2024-05-01T10:00:00+08:00"),
        ("2024-05-01T02:00:00Z", "2024-05-01T10:00:00+08:00"),
        ("2024/05/01 10:00", "2024-05-01T10:00:00+08:00"),
        ("2024年5月1日", "2024-05-01T00:00:00+08:00"),
        ("20240501", "2024-05-01T00:00:00+08:00"),
        (1714528800, "2024-05-01T10:00:00+08:00"),
        (1714528800000, "2024-05-01T10:00:00+08:00"),
        ("1714528800", "2024-05-01T10:00:00+08:00"),
        (datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc), "2024-05-01T10:00:00+08:00"),
    ],
)
def test_datetime(transform, raw, iso):
    assert transform("datetime", raw) == iso


def test_datetime_options(transform):
    assert transform({"datetime": "%d/%m/%Y %H:%M"}, "01/05/2024 10:00") == "2024-05-01T10:00:00+08:00"
    assert transform({"datetime": {"timezone": "UTC"}}, "2024-05-01 10:00:00") == "2024-05-01T10:00:00+00:00"
    assert transform({"datetime": {"output": "date"}}, "2024-05-01 23:30:00") == "2024-05-01"
    assert transform({"datetime": {"output": "epoch"}}, "2024-05-01 10:00:00") == 1714528800
    assert transform({"datetime": {"output": "epoch_ms"}}, "2024-05-01 10:00:00") == 1714528800000
    assert transform({"datetime": {"unit": "ms"}}, 1714528800000) == "2024-05-01T10:00:00+08:00"
    bad_option(transform, {"datetime": {"timezone": "Mars/Base"}}, "unknown timezone")
    bad_option(transform, {"datetime": {"output": "isoo"}}, "did you mean 'iso'")
    bad_option(transform, {"datetime": "YYYY-MM-DD"}, "not a strptime format")


@pytest.mark.parametrize("raw", ["yesterday", "2024-13-45", "32/01/2024", {"t": 1}, 10**20])
def test_datetime_malformed(transform, raw):
    rejects(transform, "datetime", raw, "invalid date/time")


# --- tables -------------------------------------------------------------------------------

def test_map(transform):
    spec = {"map": {"values": {1: "男", 2: "女"}, "default": "未知"}}
    assert transform(spec, 1) == "男"
    assert transform(spec, "2") == "女"  # "2" in a record matches 2 in YAML
    assert transform(spec, 9) == "未知"
    assert transform({"map": {"values": {"a": "A"}}}, "z") == "z"  # no default: keep
    assert transform({"map": {"values": {"a": "A"}, "on_missing": "null"}}, "z") is None
    rejects(transform, {"map": {"values": {"a": "A"}, "on_missing": "error"}}, "z", "no entry for 'z'")
    assert transform({"map": {"values": {"a": "A"}}}, ["a", "b"]) == ["A", "b"]
    bad_option(transform, {"map": {"1": "男"}}, "unknown option '1'")
    bad_option(transform, "map", "missing option 'values'")
    bad_option(transform, {"map": {"values": []}}, "non-empty table")


def test_map_unhashable_value_is_missing(transform):
    assert transform({"map": {"values": {"a": "A"}, "default": "?"}}, {"x": 1}) == "?"


def test_lookup(transform):
    lookups = {"crm_tier_to_tag": {"A": "et_vip", "B": "et_regular"}}
    assert transform({"lookup": "crm_tier_to_tag"}, "A", lookups=lookups) == "et_vip"
    assert transform({"lookup": "crm_tier_to_tag"}, "Z", lookups=lookups) is None
    assert transform({"lookup": {"table": "crm_tier_to_tag", "default": "et_new"}}, "Z", lookups=lookups) == "et_new"
    with pytest.raises(MappingRecordError, match="no entry for 'Z'"):
        transform({"lookup": {"table": "crm_tier_to_tag", "on_missing": "error"}}, "Z", lookups=lookups)
    with pytest.raises(MappingError, match="unknown lookup table 'crm_tier_to_tags' \\(did you mean 'crm_tier_to_tag'\\?\\)"):
        transform({"lookup": "crm_tier_to_tags"}, "A", lookups=lookups)


# --- composing ----------------------------------------------------------------------------

def test_template(transform):
    record = {"last": "张", "first": "三", "n": 7}
    assert transform({"template": "{last}{first}"}, None, record=record) == "张三"
    assert transform({"template": "{value}-{n:03d}"}, "x", record=record) == "x-007"
    assert transform({"template": "{missing}|{{literal}}"}, None, record=record) is None  # nothing to render
    assert transform({"template": "{missing}|{last}"}, None, record=record) == "|张"
    assert transform({"template": "{instance}:{value}"}, "1001", instance="crm_main") == "crm_main:1001"
    rejects(transform, {"template": "{n:d}"}, None, "template", record={"n": "abc"})
    bad_option(transform, {"template": "{unclosed"}, "invalid template")
    bad_option(transform, {"template": "{a..b}"}, "invalid path")


def test_coalesce(transform):
    record = {"a": "", "b": "B"}
    assert transform({"coalesce": ["a", "b"]}, None, record=record) == "B"
    assert transform({"coalesce": ["a", "b"]}, "V", record=record) == "V"
    assert transform("coalesce", ["", None, "x"]) == "x"
    assert transform({"coalesce": ["a"]}, "", record=record) is None
    bad_option(transform, {"coalesce": {"paths": 3}}, "list of paths")


def test_split_join_first(transform):
    assert transform({"split": ","}, "a, b,,c") == ["a", "b", "c"]
    assert transform({"split": [",", "，", "、"]}, "红，蓝、绿,黑") == ["红", "蓝", "绿", "黑"]
    assert transform({"split": {"sep": "|", "strip": False, "drop_empty": False}}, "a| b|") == ["a", " b", ""]
    assert transform({"split": ","}, ["a,b", "c"]) == ["a", "b", "c"]
    assert transform({"join": "、"}, ["a", "", None, 3]) == "a、3"
    assert transform("join", "already") == "already"
    assert transform("first", [None, "", "x", "y"]) == "x"
    assert transform("first", []) is None
    assert transform("first", "scalar") == "scalar"
    bad_option(transform, {"split": ""}, "non-empty separator")
    bad_option(transform, {"join": 5}, "separator text")
    rejects(transform, "split", {"a": 1}, "expected text")


def test_const_default(transform):
    assert transform({"const": "fixed"}, "anything") == "fixed"
    assert transform({"const": {"a": 1}}, None) == {"a": 1}  # const/default take their argument literally
    assert transform({"default": "未知"}, "") == "未知"
    assert transform({"default": "未知"}, None) == "未知"
    assert transform({"default": "未知"}, []) == "未知"
    assert transform({"default": "未知"}, "x") == "x"
    bad_option(transform, "const", "missing option 'value'")


def test_when(transform):
    spec = {"when": {"path": "state", "in": [3, 4], "then": [{"const": "won"}], "else": [{"const": None}]}}
    assert transform(spec, "x", record={"state": "3"}) == "won"
    assert transform(spec, "x", record={"state": 1}) is None
    assert transform({"when": {"matches": "^VIP", "then": ["lower"]}}, "VIP-A") == "vip-a"
    assert transform({"when": {"matches": "^VIP", "then": ["lower"]}}, "Reg") == "Reg"
    assert transform({"when": {"present": False, "then": [{"const": "none"}]}}, "") == "none"
    assert transform({"when": {"not": {"equals": 1}, "then": [{"const": "not one"}]}}, 2) == "not one"
    assert transform({"when": {"any": [{"equals": "a"}, {"equals": "b"}], "then": ["upper"]}}, "b") == "B"
    assert transform({"when": {"contains": "vip", "then": [{"const": True}]}}, ["x", "vip"]) is True
    bad_option(transform, {"when": {"path": "state", "equals": 1}}, "needs 'then:'")
    bad_option(transform, {"when": {"path": "s", "equal": 1, "then": ["strip"]}}, "did you mean 'equals'")
    bad_option(transform, {"when": {"matches": "([", "then": ["strip"]}}, "invalid regex")
    bad_option(transform, {"when": {"equals": 1, "then": ["phnoe"]}}, "unknown transform 'phnoe'")


def test_keywords(transform):
    spec = {"keywords": {"rules": {"询价": ["多少钱", "怎么卖"], "价格敏感": ["太贵了"], "物流": ["发货"], "vip": ["VIP"]}}}
    assert transform(spec, "这个怎么卖？太贵了吧") == ["询价", "价格敏感"]
    assert transform(spec, "什么时候发货，多少钱") == ["询价", "物流"]
    assert transform(spec, "我是vip") == ["vip"]  # ignore_case by default
    assert transform(spec, ["多少钱", "发货了吗"]) == ["询价", "物流"]
    assert transform(spec, "你好") == []
    assert transform({"keywords": {"rules": {"vip": ["VIP"]}, "ignore_case": False}}, "vip") == []
    bad_option(transform, {"keywords": {"rules": {"询价": []}}}, "non-empty list of words")
    bad_option(transform, {"keywords": {"rules": []}}, "needs 'rules:'")
    rejects(transform, spec, {"a": 1}, "expected text")


def test_transforms_chain_in_order(transform, compile_text):
    m = compile_text("""
        fields:
          out:
            from: v
            transforms: [strip, {split: ","}, first, upper, {default: NONE}]
    """)
    assert m.apply({"v": " ab,cd "}).attributes["out"] == "AB"
    assert m.apply({"v": " , "}).attributes["out"] == "NONE"


def test_unknown_transform_and_bad_shapes(transform):
    bad_option(transform, "phnoe", "unknown transform 'phnoe' \\(did you mean 'phone'\\?\\)")
    bad_option(transform, {"strip": None, "lower": None}, "one-key mapping")
    bad_option(transform, {"lower": "x"}, "takes no argument")
    bad_option(transform, {"when": "x"}, "takes options as a mapping")
