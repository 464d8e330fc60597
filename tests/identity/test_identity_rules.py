"""Effective identity rules: defaults, config overrides, normalisation, block-list, parsing."""

import pytest

from hub.config import load_config
from hub.identity import IdentityError, build_rules

from .conftest import BUILTIN


def test_default_kinds_strength_and_limits(rules):
    assert {k for k, r in rules.kinds.items() if r.strong} == {"crm_id", "wechat_unionid", "wecom_external_userid"}
    assert not rules.kinds["phone"].strong and not rules.kinds["email"].strong
    assert rules.kinds["crm_id"].max_per_contact == 1
    assert rules.kinds["phone"].max_per_contact == 5
    # strong kinds are looked at (and kept) before weak ones
    assert max(rules.sort_key(k) for k in ("crm_id", "wechat_unionid", "wecom_external_userid")) < rules.sort_key("phone")


@pytest.mark.parametrize("kind,raw", [
    ("phone", "13800138000"), ("phone", "+86 138 0013 8000"), ("phone", "00000000000"), ("phone", "0"),
    ("phone", "000-0000"), ("email", "null"), ("email", "unknown"), ("wechat_unionid", "NULL"),
    ("wecom_external_userid", "unknown"), ("crm_id", "0"), ("crm_id", "-1"),
])
def test_default_block_list(rules, kind, raw):
    assert rules.blocked(kind, raw, rules.normalize(kind, raw, "crm_main"))


@pytest.mark.parametrize("kind,raw", [("phone", "13800138001"), ("email", "wang@example.cn"), ("crm_id", "1001")])
def test_ordinary_values_are_not_blocked(rules, kind, raw):
    assert not rules.blocked(kind, raw, rules.normalize(kind, raw, "crm_main"))


def test_normalisation_per_kind(rules):
    assert rules.normalize("phone", "138 0013 8001") == "+8613800138001"
    assert rules.normalize("phone", "8613800138001") == "+8613800138001"
    assert rules.normalize("phone", "abc") is None
    assert rules.normalize("email", " Wang@Example.CN ") == "wang@example.cn"
    assert rules.normalize("crm_id", "1001", "crm_main") == "crm_main:1001"
    assert rules.normalize("crm_id", "crm_b:77", "wecom") == "crm_b:77"
    assert rules.scope("crm_id", "crm_main:1001") == "crm_id:crm_main"
    assert rules.scope("crm_id", "crm_b:1001") != rules.scope("crm_id", "crm_main:1001")


def test_config_overrides_extend_defaults(make_rules):
    rules = make_rules(kinds={"phone": {"max_per_contact": 2}, "email": {"strong": True}},
                       block_values=["4001234567"], block_patterns=[r"^\+1555"], default_region="US")
    assert rules.kinds["phone"].max_per_contact == 2
    assert rules.kinds["email"].strong
    assert rules.blocked("phone", "4001234567", None)
    assert rules.blocked("phone", "13800138000", None)  # defaults stay
    assert rules.normalize("phone", "(415) 555-0100") == "+14155550100"
    assert rules.blocked("phone", "+1 555 123 4567", rules.normalize("phone", "+1 555 123 4567"))


def test_rules_from_yaml_config(tmp_path):
    path = tmp_path / "hub.yaml"
    path.write_text(
        "identity:\n"
        "  kinds:\n"
        "    phone: {max_per_contact: 3}\n"
        "  block_list:\n"
        "    values: ['4008001234']\n"
        "    patterns: ['^9+$']\n"
    )
    config = load_config(path, env={}, registry=BUILTIN)
    rules = build_rules(BUILTIN, config.identity)
    assert rules.kinds["phone"].max_per_contact == 3
    assert rules.blocked("phone", "4008001234", None)
    assert rules.blocked("email", "999", None)


def test_parse_identity(rules):
    assert rules.parse("phone:+8613800138001") == ("phone", "+8613800138001")
    assert rules.parse("phone:138 0013 8001") == ("phone", "+8613800138001")
    assert rules.parse("crm_id:crm_main:1001") == ("crm_id", "crm_main:1001")
    assert rules.parse("wecom_external_userid:wmXXXX") == ("wecom_external_userid", "wmXXXX")


@pytest.mark.parametrize("text,message", [
    ("phone:abc", "phone:abc: not a valid phone number"),
    ("crm_id:1001", "namespaced"),
    ("fax:123", "unknown identity kind 'fax'"),
    ("phone", "expected KIND:VALUE"),
    ("email:nobody", "not a valid email"),
])
def test_parse_errors(rules, text, message):
    with pytest.raises(IdentityError, match=message):
        rules.parse(text)
