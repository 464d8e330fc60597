"""Masking rules for what support agents see."""

import pytest

from hub.web.pii import mask_email, mask_identity, mask_phone, mask_text, mask_value


@pytest.mark.parametrize("raw, masked", [
    ("+8613800138000", "138****8000"),
    ("13912345678", "139****5678"),
    ("+862150001234", "215****1234"),   # a Shanghai landline
    ("+14155550123", "+1 415****0123"),
    ("12345", "1****45"),
    ("", "****"),
])
def test_mask_phone(raw, masked):
    assert mask_phone(raw) == masked


@pytest.mark.parametrize("raw, masked", [
    ("linxw@example.cn", "l****w@example.cn"),
    ("ab@example.cn", "a****@example.cn"),
    ("not-an-email", "****"),
])
def test_mask_email(raw, masked):
    assert mask_email(raw) == masked


def test_only_personal_identity_kinds_are_masked():
    assert mask_identity("phone", "+8613912345678") == "139****5678"
    assert mask_identity("wecom_external_userid", "wmABC") == "wmABC"


def test_free_text_masks_mobiles_and_emails_but_not_long_ids():
    text = "回拨 13912345678 或 +86 139 1234 5678，邮件 linxw@example.cn；线索 7301234567000132859"
    assert mask_text(text) == "回拨 139****5678 或 139****5678，邮件 l****w@example.cn；线索 7301234567000132859"
    assert mask_value({"a": ["tel 013912345678", 5], "b": None}) == {"a": ["tel 139****5678", 5], "b": None}
