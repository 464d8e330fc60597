"""The shared input layer for webhook doors: everything a sender controls goes through here.

A webhook body, header or query value is hostile until proven otherwise. Hand-rolled parsing
went wrong in the same ways at every door (``'²'.isdigit()`` is True and ``int('²')`` fails;
``json.loads`` accepts ``NaN`` and ``1e400`` and recurses until ``RecursionError``; PostgreSQL
refuses a ``\\u0000`` or a lone surrogate in JSONB at insert time; a naive vendor time reaches
the store). Each helper here turns bad input into :class:`~hub.connector.errors.WebhookRejected`
with a 4xx status and a message naming the field, so nothing is stored and nothing crashes:

* :func:`read_bounded` — read a body, refusing it (413) *before* reading when its
  ``Content-Length`` is over the door's limit and stopping a chunked body at the limit. The hub's
  webhook endpoint calls it with :attr:`WebhookHandler.max_body`; :func:`check_body_size` is the
  same rule for a handler given an already-read :class:`WebhookRequest`.
* :func:`parse_json` — strict UTF-8, no ``NaN``/``Infinity``, finite floats only, integers of at
  most :data:`MAX_INT_DIGITS` digits, no duplicate keys (two parsers could read different
  values), nesting at most :data:`MAX_JSON_DEPTH` deep, and every string storable.
* :func:`ensure_storable` — the JSONB rule on its own (no NUL, no lone surrogate, finite numbers),
  for payloads built from XML or form fields; the hub also applies it to every webhook record.
* :func:`digits` / :func:`parse_id` / :func:`parse_int` / :func:`parse_epoch` — ASCII digits
  (``[0-9]`` with :data:`re.ASCII`, never :meth:`str.isdigit`), a length cap and a range.
* :func:`check_timestamp` — a signature timestamp: well-formed (else 400) and within the replay
  window (else 401).
* :func:`parse_time` — epoch seconds/milliseconds or an ISO-8601 / ``yyyy-MM-dd HH:mm:ss`` time,
  always timezone-aware: a vendor time without an offset is in the connector's zone
  (:func:`zone_of`, config key ``timezone``, default ``Asia/Shanghai``).
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, BinaryIO, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import ValidationError, fields

from hub.connector.errors import WebhookRejected

#: Default body limit of a webhook door (bytes) when its handler declares none.
DEFAULT_MAX_BODY = 64 * 1024
#: Deepest JSON nesting a door accepts (vendor payloads are 3–4 levels deep).
MAX_JSON_DEPTH = 32
#: Longest integer literal accepted in JSON (a 64-bit id has 19–20 digits).
MAX_INT_DIGITS = 24
#: Longest id accepted by :func:`parse_id`.
MAX_ID_DIGITS = 24
#: Epoch seconds accepted as a real time: 2000-01-01 .. 2100-01-01 UTC.
EPOCH_MIN, EPOCH_MAX = 946_684_800, 4_102_444_800
#: Longest time string :func:`parse_time` looks at.
MAX_TIME_TEXT = 40
#: The zone of naive vendor times when a connector configures none.
DEFAULT_ZONE = "Asia/Shanghai"

_DIGITS = re.compile(r"-?[0-9]+", re.ASCII)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# In json.dumps(ensure_ascii=True) output every NUL / surrogate is an escape like these.
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|d[89a-f][0-9a-f]{2})", re.IGNORECASE)
_READ_CHUNK = 64 * 1024


def rejected(message: str, status: int = 400) -> WebhookRejected:
    """A :class:`WebhookRejected` for bad input (400 unless said otherwise)."""
    return WebhookRejected(message, status=status)


# -- bodies -------------------------------------------------------------------------------

def too_large(limit: int) -> WebhookRejected:
    return rejected(f"body larger than this door's limit of {limit} bytes", status=413)


def check_body_size(body: bytes, limit: int) -> None:
    """Refuse (413) an already-read body over ``limit`` bytes."""
    if len(body) > limit:
        raise too_large(limit)


def read_bounded(stream: BinaryIO, content_length: int | None, limit: int) -> bytes:
    """At most ``limit`` bytes from ``stream``, else 413.

    A declared ``Content-Length`` over the limit is refused before a byte is read; a body
    without one (chunked) is read in chunks and refused as soon as it passes the limit, so a
    200 MiB push never sits in a worker's memory."""
    if content_length is not None and content_length > limit:
        raise too_large(limit)
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
    return b"".join(parts)


# -- JSON ---------------------------------------------------------------------------------

def _where(path: list[Any]) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _refuse_constant(name: str) -> Any:
    raise rejected(f"JSON constant {name} is not accepted (not a finite number)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise rejected(f"JSON number {text[:20]}… is out of range" if len(text) > 20 else f"JSON number {text} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise rejected(f"JSON integer of {len(text.lstrip('-'))} digits is out of range (at most {MAX_INT_DIGITS})")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise rejected(f"JSON object has the key {key[:40]!r} twice")
            seen.add(key)
    return out


def parse_json(body: bytes | str, *, what: str = "body", max_depth: int = MAX_JSON_DEPTH, storable: bool = True) -> Any:
    """``body`` parsed as strict JSON, or :class:`WebhookRejected` (400) saying what is wrong
    and where. The result is storable (see :func:`ensure_storable`) — unless ``storable=False``,
    for a caller whose own validation refuses NUL and lone surrogates field by field (the API's
    schemas answer those with 422)."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise rejected(f"{what} is not UTF-8 (byte {exc.start})") from None
    else:
        text = body
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int,
                           object_pairs_hook=_unique_keys)
    except WebhookRejected as exc:
        raise rejected(f"{what}: {exc.message}") from None
    except RecursionError:
        raise rejected(f"{what} is nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        detail = f"{exc.msg} at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise rejected(f"{what} is not JSON: {detail}") from None
    _check_tree(value, what, max_depth, strings=storable and "\\" in text and bool(_UNSTORABLE_ESCAPE.search(text)))
    return value


def _check_tree(value: Any, what: str, max_depth: int, *, strings: bool) -> None:
    """Depth (always) and, when ``strings``, every key and string value, iteratively (a
    recursive walk would itself hit the recursion limit)."""
    stack: list[tuple[Any, list[Any]]] = [(value, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            if len(path) >= max_depth:
                raise rejected(f"{what} is nested deeper than {max_depth} levels (at {_where(path)})")
            for key, item in node.items():
                if strings and isinstance(key, str) and _UNSTORABLE.search(key):
                    raise rejected(f"{what}: key at {_where(path)} holds a NUL or a lone surrogate, which cannot be stored")
                if isinstance(item, (dict, list)) or (strings and isinstance(item, str)) or isinstance(item, float):
                    stack.append((item, path + [key]))
        elif isinstance(node, list):
            if len(path) >= max_depth:
                raise rejected(f"{what} is nested deeper than {max_depth} levels (at {_where(path)})")
            for index, item in enumerate(node):
                if isinstance(item, (dict, list)) or (strings and isinstance(item, str)) or isinstance(item, float):
                    stack.append((item, path + [index]))
        elif isinstance(node, str):
            if _UNSTORABLE.search(node):
                raise rejected(f"{what}: {_where(path)} holds a NUL or a lone surrogate, which cannot be stored")
        elif isinstance(node, float) and not math.isfinite(node):
            raise rejected(f"{what}: {_where(path)} is not a finite number")


def ensure_storable(value: Any, *, what: str = "payload", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``value`` unchanged when PostgreSQL's JSONB can hold it, else :class:`WebhookRejected` (400).

    JSONB refuses ``\\u0000`` and lone surrogates in strings and keys and has no NaN or
    Infinity; SQLite would take them and PostgreSQL would fail at insert — a 500 after the
    sender was verified. One ``json.dumps`` pass (C speed) finds the common clean case; only a
    payload that may hold such a value is walked, to name the place. (Depth is
    :func:`parse_json`'s concern: JSONB stores what ``json.dumps`` could write.)"""
    try:
        text = json.dumps(value, ensure_ascii=True, allow_nan=False, default=str)
    except ValueError:  # NaN / Infinity (or a circular structure)
        _check_tree(value, what, max_depth, strings=True)
        raise rejected(f"{what} is not storable as JSON") from None
    except RecursionError:
        raise rejected(f"{what} is nested deeper than {max_depth} levels") from None
    if "\\u" in text and _UNSTORABLE_ESCAPE.search(text):
        _check_tree(value, what, 10**6, strings=True)
    return value


# -- numbers, ids and times ---------------------------------------------------------------

def digits(value: Any, field: str, *, max_len: int = MAX_ID_DIGITS, signed: bool = False) -> str:
    """``value`` as a string of ASCII digits (an int, or a str matching ``[0-9]+``), else 400.

    ``str.isdigit`` accepts ``'²'`` and ``'١٢٣'``; ``int`` accepts ``' 1_0 '``: neither is
    an id a vendor sends. Booleans are not numbers here."""
    if isinstance(value, bool):
        raise rejected(f"{field} must be a number, not {str(value).lower()}")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise rejected(f"{field} must be digits, not {type(value).__name__}")
    if len(text) > max_len or not _DIGITS.fullmatch(text) or (text.startswith("-") and not signed):
        shown = text[:max_len] + ("…" if len(text) > max_len else "")
        raise rejected(f"{field} must be {'an integer' if signed else 'ASCII digits'} of at most {max_len} digits, got {shown!r}")
    return text


def parse_id(value: Any, field: str, *, max_len: int = MAX_ID_DIGITS) -> str:
    """A numeric vendor id as its canonical string (no sign, ASCII digits, ≤ ``max_len``)."""
    return digits(value, field, max_len=max_len)


def parse_int(value: Any, field: str, *, minimum: int | None = None, maximum: int | None = None,
              max_len: int = 18) -> int:
    """An integer from an int or a digit string, within [``minimum``, ``maximum``], else 400."""
    number = int(digits(value, field, max_len=max_len, signed=True))
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise rejected(f"{field} = {number} is outside [{minimum}, {maximum}]")
    return number


def parse_epoch(value: Any, field: str, *, millis: bool | None = None) -> int:
    """Unix seconds from epoch seconds (or milliseconds: ``millis=True``, or ``None`` to tell by
    size), in 2000–2100, else 400."""
    number = parse_int(value, field, minimum=0, max_len=16)
    if millis or (millis is None and number > 10**11):
        number //= 1000
    if not EPOCH_MIN <= number <= EPOCH_MAX:
        raise rejected(f"{field} = {value} is not a time between 2000 and 2100")
    return number


def check_timestamp(value: str | None, field: str, tolerance: float, *, now: float | None = None,
                    missing_status: int = 401) -> str:
    """A request's signature timestamp (Unix seconds): ``missing_status`` when absent (an
    unsigned request), 400 when malformed, 401 when more than ``tolerance`` seconds from our
    clock (a replayed or forged request). Returns the text as sent, for the signature base."""
    text = (value or "").strip()
    if not text:
        raise rejected(f"{field} is required", status=missing_status)
    seconds = int(digits(text, field, max_len=12))
    if abs((time.time() if now is None else now) - seconds) > tolerance:
        raise rejected(f"{field} is outside the accepted window (replayed or clock skew)", status=401)
    return text


def zone_of(config: Mapping[str, Any], default: str = DEFAULT_ZONE) -> tzinfo:
    """The zone naive vendor times are in: the connector config's ``timezone`` (an IANA name)."""
    name = config.get("timezone") or default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone(timedelta(hours=8)) if name == DEFAULT_ZONE else ZoneInfo("UTC")


def parse_time(value: Any, field: str, zone: tzinfo) -> datetime:
    """A timezone-aware datetime from epoch seconds/ms (int or digit string) or an ISO-8601 /
    ``yyyy-MM-dd HH:mm:ss[ +0800]`` string; a time without an offset is in ``zone``. 400 otherwise."""
    if isinstance(value, (int, str)) and not isinstance(value, bool) and _DIGITS.fullmatch(str(value).strip()):
        return datetime.fromtimestamp(parse_epoch(value, field), timezone.utc)
    if not isinstance(value, str):
        raise rejected(f"{field} must be a time, not {type(value).__name__}")
    text = value.strip()
    if len(text) > MAX_TIME_TEXT or not text.isascii():
        raise rejected(f"{field} is not a time: {text[:MAX_TIME_TEXT]!r}")
    candidate = text.replace("Z", "+00:00") if text.endswith("Z") else text
    if " " in candidate and len(candidate) > 6 and candidate[-5] in "+-" and candidate[-6] == " ":
        candidate = candidate[:-6] + candidate[-5:-2] + ":" + candidate[-2:]  # '… +0800' → '…+08:00'
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise rejected(f"{field} is not a time: {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    if not EPOCH_MIN <= parsed.timestamp() <= EPOCH_MAX:
        raise rejected(f"{field} = {text!r} is not a time between 2000 and 2100")
    return parsed


class TimeZone(fields.String):
    """A config field holding an IANA zone name (``Asia/Shanghai``), checked at load."""

    def _deserialize(self, value, attr, data, **kwargs):
        name = super()._deserialize(value, attr, data, **kwargs)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"unknown time zone {name!r}") from None
        return name


__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_ZONE",
    "MAX_INT_DIGITS",
    "MAX_JSON_DEPTH",
    "TimeZone",
    "check_body_size",
    "check_timestamp",
    "digits",
    "ensure_storable",
    "parse_epoch",
    "parse_id",
    "parse_int",
    "parse_json",
    "parse_time",
    "read_bounded",
    "rejected",
    "zone_of",
]
