"""Phone numbers: the one place a phone value is parsed, normalised and formatted.

``phonenumbers`` (Google's libphonenumber) is the reference and handles everything, but
its parse + validate + format costs some 50 µs a number (about 19,000 a second on one core)
— most of a mapped record's time (issue 14). Nearly every phone a Chinese system holds is a mainland mobile written in a
handful of shapes (``13800138000``, ``+86 138 0013 8000``, ``0086-138…``, ``86138…``,
full-width digits), so :func:`format_phone` first tries a fast path for exactly those
shapes and hands everything else (landlines, 400 numbers, foreign numbers, extensions,
letters, brackets, odd prefixes) to ``phonenumbers`` unchanged.

The fast path must give *exactly* the ``phonenumbers`` result, never a plausible one:

* the mobile number plan it accepts is ``phonenumbers``' own CN mobile pattern, read from
  the installed metadata (so a new number range arrives with a ``phonenumbers`` upgrade);
* it only takes shapes whose ``phonenumbers`` parse is fixed: digits, ASCII spaces and
  hyphens, one leading ``+``; the 11-digit national number after ``+86``/``86``/``0086``
  (a national number starting ``1[3-9]`` is never eaten by CN's carrier-prefix or
  national-prefix stripping, which need ``0``, ``1[12]`` or ``179``);
* ``tests/mapping/test_phones.py`` compares both paths on generated inputs (hypothesis),
  on one number of every 4-digit block ``1000``–``1999`` and on a sample of 7-digit blocks.

``benchmarks/mapping.py`` prints both rates.
"""

from __future__ import annotations

import re
from typing import Literal

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberFormat

PhoneFormat = Literal["e164", "national", "digits"]
#: ``e164`` ``+8613800138000`` (identities), ``national`` ``138 0013 8000`` (as dialled
#: inside ``region``; other countries' numbers get the international dialling form
#: ``00 852 5123 4567``), ``digits`` the same without spaces (``13800138000``,
#: ``01012345678``, ``0085251234567``) — what a CRM column usually holds.
FORMATS: tuple[str, ...] = ("e164", "national", "digits")

#: ``phonenumbers`` refuses longer input ("too long to parse"); the fast path must too.
_MAX_INPUT = 250

_CN = PhoneMetadata.metadata_for_region("CN")
#: The mainland mobile plan exactly as the installed phonenumbers metadata defines it.
_CN_MOBILE = re.compile(f"(?:{_CN.mobile.national_number_pattern})")
#: The shapes the fast path takes: one optional leading ASCII ``+``, then ASCII or
#: full-width digits separated by ASCII spaces and hyphens.
_SHAPE = re.compile(r"(\+?)([0-9０-９ \-]+)")
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_SEPARATORS = str.maketrans("", "", " -")


def cn_mobile(text: str, region: str = "CN") -> str | None:
    """The 11-digit national number when ``text`` (already stripped) is a mainland mobile in
    a shape whose ``phonenumbers`` result is certain; ``None`` means "ask phonenumbers"
    (which may still find a valid number: ``None`` is not "invalid")."""
    if len(text) > _MAX_INPUT:
        return None
    shape = _SHAPE.fullmatch(text)
    if shape is None:
        return None
    raw = shape.group(2).translate(_SEPARATORS)
    digits = raw.translate(_FULLWIDTH)
    n = len(digits)
    if shape.group(1):
        national = digits[2:] if n == 13 and digits[:2] == "86" else None
    elif n == 11:
        # A bare national number is a CN number only when parsed with region CN.
        national = digits if region == "CN" else None
    elif n == 13 and digits[:2] == "86":
        # normalize_phone reads ASCII "86" + 11 digits as +86 in any region; with region
        # CN phonenumbers itself strips a leading country code from a too-long number.
        national = digits[2:] if raw[:2] == "86" or region == "CN" else None
    elif n == 15 and digits[:4] == "0086":
        national = digits[4:] if region == "CN" else None  # 00 is CN's international prefix
    else:
        return None
    if national is None or national[0] != "1" or not _CN_MOBILE.fullmatch(national):
        return None
    return national


def _fast_format(national: str, fmt: str) -> str:
    if fmt == "e164":
        return "+86" + national
    if fmt == "digits":
        return national
    return f"{national[:3]} {national[3:7]} {national[7:]}"


def parse_phone(value: object, region: str = "CN", *, valid_only: bool = False) -> phonenumbers.PhoneNumber | None:
    """The ``phonenumbers`` parse of a phone as Chinese systems write it, or ``None``.

    ``86`` + 11 digits without a ``+`` is read as a mainland number in every region
    (CRMs store ``8613800138000``). ``valid_only`` also rejects numbers of a possible
    length with no real number plan behind them (``12345678901``). The extension, if
    any, is dropped: a phone identity is the line, not the desk.
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
    parsed.extension = None
    return parsed


def phonenumbers_format(value: object, region: str = "CN", fmt: str = "e164", *, valid_only: bool = False) -> str | None:
    """The reference result: :func:`parse_phone` then ``phonenumbers`` formatting, no fast path.

    The fast path is tested and benchmarked against this."""
    parsed = parse_phone(value, region, valid_only=valid_only)
    if parsed is None:
        return None
    if fmt == "e164":
        return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    national = phonenumbers.format_out_of_country_calling_number(parsed, region)
    if fmt == "national":
        return national
    if fmt == "digits":
        return "".join(ch for ch in national if ch.isdigit())
    raise ValueError(f"phone format must be one of {', '.join(FORMATS)}, got {fmt!r}")


def format_phone(value: object, region: str = "CN", fmt: str = "e164", *, valid_only: bool = False) -> str | None:
    """A phone in ``fmt`` (see :data:`FORMATS`), or ``None`` when it is not a (valid) number.

    Exactly :func:`phonenumbers_format`'s result; mainland mobiles in the common shapes skip
    the ``phonenumbers`` parse (every mobile the fast path accepts is valid, so
    ``valid_only`` changes nothing there).
    """
    if fmt not in FORMATS:
        raise ValueError(f"phone format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    cls = value.__class__
    if cls is str or cls is int:  # CRM columns often hold mobiles as integers
        text = value.strip() if cls is str else str(value)
        national = cn_mobile(text, region) if text else None
        # national/digits are "as dialled inside region": the short forms only from CN.
        if national is not None and (fmt == "e164" or region == "CN"):
            return _fast_format(national, fmt)
    return phonenumbers_format(value, region, fmt, valid_only=valid_only)


__all__ = ["FORMATS", "PhoneFormat", "cn_mobile", "format_phone", "parse_phone", "phonenumbers_format"]
