"""Masking personal data for people who may read a history but not copy a phone list.

Support agents see ``138****8000`` for ``+8613800138000`` and ``l****n@example.cn`` for
``linxw@example.cn``: enough to confirm "the number ending 8000?" on a call, not enough to
export. Operators and admins can *reveal* one contact at a time; that is audited by the caller.

Identities are masked by kind. Free text (attribute values, event summaries and details)
goes through :func:`mask_text`, which masks anything shaped like a mainland mobile or an
e-mail address, because a ticket subject or a CRM remark may carry a number too.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

#: Identity kinds whose values are personal data to mask.
MASKED_KINDS = {"phone", "email"}

# A mainland mobile, optionally with +86/86/0 in front, not inside a longer run of digits
# (so 19-digit lead ids and order numbers are left alone).
_MOBILE = re.compile(r"(?<![\d])(?:\+?86[- ]?|0)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![\d])")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mask_phone(value: str) -> str:
    """``+8613800138000`` → ``138****8000``; other numbers keep 3 leading and 4 trailing digits."""
    text = str(value or "")
    national = text
    try:
        parsed = phonenumbers.parse(text, "CN")
        national = str(parsed.national_number)
        if parsed.country_code != 86:
            national = f"+{parsed.country_code} {national}"
    except phonenumbers.NumberParseException:
        pass
    prefix, _, digits = national.rpartition(" ")
    digits = "".join(ch for ch in digits if ch.isdigit())
    if len(digits) >= 8:
        masked = f"{digits[:3]}****{digits[-4:]}"
    elif len(digits) >= 5:
        masked = f"{digits[:1]}****{digits[-2:]}"
    else:
        masked = "****"
    return f"{prefix} {masked}" if prefix else masked


def mask_email(value: str) -> str:
    """``linxw@example.cn`` → ``l****w@example.cn`` (one-letter names become ``*``)."""
    local, sep, domain = str(value or "").partition("@")
    if not sep:
        return "****"
    if len(local) <= 2:
        return f"{local[:1]}****@{domain}"
    return f"{local[0]}****{local[-1]}@{domain}"


def mask_identity(kind: str, value: str) -> str:
    if kind == "phone":
        return mask_phone(value)
    if kind == "email":
        return mask_email(value)
    return value


def mask_text(text: str) -> str:
    """Mask every mobile- or e-mail-shaped substring of free text."""
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _EMAIL.sub(lambda m: mask_email(m.group(0)), text)


def mask_value(value: Any) -> Any:
    """:func:`mask_text` applied to every string in a JSON-like value (dict keys are kept)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v) for v in value]
    return value
