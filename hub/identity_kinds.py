"""The identifier kinds the hub knows without any plugin, and their normalisers.

Strong kinds identify exactly one person; two different values of a strong kind are
never merged. Weak kinds (phone, email) are shared by families, offices and
placeholder entries, so they merge only within a per-contact limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import phonenumbers


def normalize_phone(value: str, region: str = "CN", *, valid_only: bool = False) -> str | None:
    """E.164 for any phone a Chinese system writes (``138 0013 8000``, ``+86…``, ``86…``,
    landlines ``010-12345678``, ``400``/``800`` numbers).

    ``valid_only`` also rejects numbers that have a plausible length but no real number
    plan behind them (``12345``); the mapping ``phone`` transform uses it so a typo is
    rejected with its record instead of becoming an identity.
    """
    text = str(value).strip()
    if not text:
        return None
    digits = "".join(ch for ch in text if ch.isdigit())
    if not text.startswith("+") and len(digits) == 13 and digits.startswith("86"):
        text = "+" + digits
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    if valid_only and not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str) -> str | None:
    text = str(value).strip().lower()
    if "@" not in text or text.startswith("@") or text.endswith("@"):
        return None
    return text


def normalize_token(value: str) -> str | None:
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class BuiltinKind:
    kind: str
    strong: bool
    max_per_contact: int
    normalize: Callable[[str], str | None]


BUILTIN_KINDS = (
    BuiltinKind("crm_id", True, 1, normalize_token),
    BuiltinKind("wechat_unionid", True, 1, normalize_token),
    BuiltinKind("wecom_external_userid", True, 1, normalize_token),
    BuiltinKind("phone", False, 5, normalize_phone),
    BuiltinKind("email", False, 5, normalize_email),
)
