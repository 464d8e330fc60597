"""The identifier kinds the hub knows without any plugin, and their normalisers.

Strong kinds identify exactly one person; two different values of a strong kind are
never merged. Weak kinds (phone, email) are shared by families, offices and
placeholder entries, so they merge only within a per-contact limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from hub.phones import format_phone


def normalize_phone(value: str, region: str = "CN", *, valid_only: bool = False) -> str | None:
    """E.164 for any phone a Chinese system writes (``138 0013 8000``, ``+86…``, ``86…``,
    landlines ``010-12345678``, ``400``/``800`` numbers).

    ``valid_only`` also rejects numbers that have a plausible length but no real number
    plan behind them (``12345``); the mapping ``phone`` transform uses it so a typo is
    rejected with its record instead of becoming an identity. Mainland mobiles take
    :mod:`hub.phones`' fast path, which gives exactly the ``phonenumbers`` result.
    """
    return format_phone(value, region, "e164", valid_only=valid_only)


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
