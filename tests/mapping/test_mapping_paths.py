"""Source paths: dotted keys, indices, wildcards, quoted keys, fallbacks, bad syntax."""

import pytest

from hub.mapping.paths import PathSyntaxError, compile_fallback, compile_path, parse_path

RECORD = {
    "name": "张三",
    "contact": {"mobile": "13800138000", "address": {"city": "深圳"}},
    "items": [{"sku": "A1", "qty": 2}, {"sku": "B2", "qty": 1}],
    "groups": [{"tags": ["a", "b"]}, {"tags": ["c"]}, {"tags": None}],
    "odd.key": "dotted",
    "blank": "",
    "by_id": {"0": "zero"},
}


@pytest.mark.parametrize(
    "path, expected",
    [
        ("name", "张三"),
        ("contact.mobile", "13800138000"),
        ("contact.address.city", "深圳"),
        ("contact.address.city.deeper", None),
        ("items[0].sku", "A1"),
        ("items[-1].sku", "B2"),
        ("items[5].sku", None),
        ("items[*].sku", ["A1", "B2"]),
        ("groups[*].tags[*]", ["a", "b", "c"]),
        ('["odd.key"]', "dotted"),
        ("missing.path", None),
        ("name[0]", None),
        ("by_id[0]", "zero"),
        ("contact[*]", ["13800138000", {"city": "深圳"}]),
        ("items[*].missing", None),
        ("name[*]", None),
    ],
)
def test_paths(path, expected):
    assert compile_path(path)(RECORD) == expected


def test_non_dict_record_gives_none():
    assert compile_path("a.b")(["not", "a", "dict"]) is None
    assert compile_path("a")(None) is None


@pytest.mark.parametrize("bad", ["", "a..b", "a.", ".a", "a[", "a[x]", "a.[0]", "a]b"])
def test_bad_syntax(bad):
    with pytest.raises(PathSyntaxError):
        parse_path(bad)


def test_fallback_skips_blank_values():
    get = compile_fallback(["blank", "missing", "contact.mobile", "name"])
    assert get(RECORD) == "13800138000"
    assert compile_fallback(["blank", "missing"])(RECORD) is None
