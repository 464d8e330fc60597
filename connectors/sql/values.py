"""Database values ↔ JSON: cursors, record payloads, timestamps and soft-delete flags.

A cursor must be JSON (the hub stores it in a JSON column) and yet compare in SQL exactly
as the column compares. So the cursor keeps the value *as the driver returned it*: a
PostgreSQL / MariaDB timestamp comes back as a ``datetime`` and is stored as
``{"$dt": "<ISO 8601>"}`` and bound back as a ``datetime`` (naive stays naive, aware stays
aware, microseconds kept); SQLite has no timestamp type and returns the stored text, which
is kept verbatim and compared as text — the very ordering SQLite's ``ORDER BY`` used.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any

_TAGS = ("$dt", "$date", "$dec", "$uuid")


def encode(value: Any) -> Any:
    """A JSON value for one cursor component, reversible by :func:`decode`."""
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, uuid.UUID):
        return {"$uuid": str(value)}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def decode(value: Any) -> Any:
    """The value to bind in SQL for a cursor component made by :func:`encode`."""
    if isinstance(value, dict) and len(value) == 1:
        tag, text = next(iter(value.items()))
        if tag == "$dt":
            return datetime.fromisoformat(text)
        if tag == "$date":
            return date.fromisoformat(text)
        if tag == "$dec":
            return Decimal(text)
        if tag == "$uuid":
            return uuid.UUID(text)
    return value


#: Cell types that are JSON as they are (what :func:`jsonable` returns unchanged).
PLAIN = frozenset((str, int, float, bool, type(None)))


def jsonable(value: Any) -> Any:
    """A record field as JSON: timestamps ISO 8601, decimals as exact strings, bytes hex."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    return value


def parse_timestamp(value: Any, zone: tzinfo) -> datetime | None:
    """An aware datetime for a timestamp cell (naive ones are in ``zone``); None if it isn't one."""
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


_TEXT_TS = re.compile(r"^\d{4}-\d{2}-\d{2}(?P<sep>[ T])\d{2}:\d{2}(:\d{2})?(?P<frac>\.\d+)?(?P<tz>Z|[+-]\d{2}:?\d{2})?$")


def shift_back(value: Any, seconds: int) -> Any:
    """``value`` moved ``seconds`` earlier, in the same representation (for the overlap)."""
    if not seconds or value is None:
        return value
    if isinstance(value, datetime):
        return value - timedelta(seconds=seconds)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value - seconds  # epoch seconds
    if isinstance(value, str):
        match = _TEXT_TS.match(value.strip())
        if not match:
            return value  # not a timestamp we can do arithmetic on: no overlap, no harm
        parsed = datetime.fromisoformat(value.strip()) - timedelta(seconds=seconds)
        full = parsed.replace(tzinfo=None).isoformat(sep=match.group("sep"), timespec="microseconds")
        frac = match.group("frac") or ""
        out = full[:19] + full[19 : 19 + len(frac)]
        tz = match.group("tz")
        return out + (tz or "")
    return value


_FALSE_TEXT = {"", "0", "f", "false", "n", "no", "off"}


def is_deleted(value: Any) -> bool:
    """Soft-delete flag or ``deleted_at`` timestamp → deleted? NULL, 0, false, '' are not."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE_TEXT
    return True  # a deleted_at timestamp, bytes, …
