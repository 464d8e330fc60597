"""Stable hashes of JSON-able payloads (dedupe keys, echo suppression)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


#: One encoder for every call (``json.dumps`` with options builds a new one each time).
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default).encode


def canonical_json(value: Any) -> str:
    return _CANONICAL(value)


def payload_hash(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


_SCALARS = (str, int, float, bool, type(None))


def jsonable(value: Any) -> Any:
    """A deep copy of ``value`` that survives a JSON column (datetimes → ISO strings).

    JSON scalars are returned as they are (what the round trip would give back): most
    attribute values are plain strings, and this runs for every attribute of every record."""
    if type(value) in _SCALARS:
        return value
    return json.loads(canonical_json(value))
