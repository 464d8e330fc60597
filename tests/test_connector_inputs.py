"""hub.connector.inputs: the shared input layer every webhook door parses hostile input with.

Each case here is an input that once crashed a door (a 500) or slipped through; every one must
come back as a :class:`WebhookRejected` with a 4xx status and a message naming the field."""

from __future__ import annotations

import io
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.connector import WebhookRejected, inputs

CHINA = timezone(timedelta(hours=8))


def rejected(fn, *args, **kwargs) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as info:
        fn(*args, **kwargs)
    assert 400 <= info.value.status < 500
    return info.value


# -- bodies -------------------------------------------------------------------------------

class CountingStream(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.consumed = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def test_declared_oversize_body_is_refused_before_reading():
    stream = CountingStream(b"x" * 10)
    exc = rejected(inputs.read_bounded, stream, 200 * 1024 * 1024, 64 * 1024)
    assert exc.status == 413 and "65536" in exc.message
    assert stream.consumed == 0


def test_undeclared_body_is_cut_off_just_past_the_limit():
    stream = CountingStream(b"x" * (10 * 1024 * 1024))
    exc = rejected(inputs.read_bounded, stream, None, 100_000)
    assert exc.status == 413
    assert stream.consumed <= 100_001


def test_body_within_the_limit_is_read_whole():
    assert inputs.read_bounded(io.BytesIO(b"a" * 1000), 1000, 1000) == b"a" * 1000
    assert inputs.read_bounded(io.BytesIO(b"a" * 1000), None, 1000) == b"a" * 1000
    assert rejected(inputs.check_body_size, b"a" * 11, 10).status == 413


# -- JSON ---------------------------------------------------------------------------------

@pytest.mark.parametrize("body, says", [
    (b'{"a": NaN}', "NaN"),
    (b'{"a": Infinity}', "Infinity"),
    (b'{"a": -Infinity}', "-Infinity"),
    (b'{"a": 1e400}', "out of range"),
    (b'{"a": -1e400}', "out of range"),
    (b'{"a": ' + b"9" * 401 + b"}", "401 digits"),
    (b'{"a": "\\u0000"}', "$.a"),
    (b'{"a": ["x", "\\ud800"]}', "$.a[1]"),
    (b'{"a": {"b\\u0000": 1}}', "key at $.a"),
    (b'{"a": "\\udc00x"}', "lone surrogate"),
    (b'{"a": 1, "a": 2}', "'a' twice"),
    (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
    (b'{"a":' * 50 + b"1" + b"}" * 50, "nested deeper"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b'{"a": 1', "line 1 column 8"),
    (b"", "not JSON"),
])
def test_hostile_json_is_refused_with_400(body, says):
    exc = rejected(inputs.parse_json, body)
    assert exc.status == 400 and says in exc.message


def test_good_json_parses_unchanged_including_surrogate_pairs_and_big_ids():
    body = '{"id": 7301234567000000011, "name": "林晓雯 \\ud83d\\ude00", "x": [1.5, {"y": null}]}'.encode()
    assert inputs.parse_json(body) == {"id": 7301234567000000011, "name": "林晓雯 😀", "x": [1.5, {"y": None}]}
    nested = b'{"a":' * 31 + b"1" + b"}" * 31
    assert inputs.parse_json(nested)  # 31 levels: within the limit
    # A literal backslash-u in a string is not an escape of NUL.
    assert inputs.parse_json(b'{"a": "\\\\u0000"}') == {"a": "\\u0000"}


@pytest.mark.parametrize("value, says", [
    ({"a": "x\x00"}, "$.a"),
    ({"a": ["\ud800"]}, "$.a[0]"),
    ({"k\x00": 1}, "key at $"),
    ({"a": float("nan")}, "$.a"),
    ({"a": [float("inf")]}, "$.a[0]"),
])
def test_ensure_storable_names_the_unstorable_place(value, says):
    exc = rejected(inputs.ensure_storable, value, what="record 1")
    assert exc.status == 400 and says in exc.message and "record 1" in exc.message


def test_ensure_storable_passes_clean_payloads_through():
    value = {"a": "林", "b": [1, 2.5, None, True], "when": datetime(2026, 1, 5, tzinfo=CHINA)}
    assert inputs.ensure_storable(value) is value


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_parse_json_never_raises_anything_but_a_rejection(body):
    try:
        value = inputs.parse_json(body)
    except WebhookRejected as exc:
        assert exc.status == 400
    else:
        inputs.ensure_storable(value)  # whatever it accepts is storable


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
                    max_leaves=20))
def test_accepted_json_round_trips_through_strict_utf8(value):
    """Anything parse_json accepts can be encoded as UTF-8 (what JSONB needs)."""
    body = json.dumps(value).encode()
    try:
        parsed = inputs.parse_json(body)
    except WebhookRejected:
        return
    json.dumps(parsed, allow_nan=False).encode("utf-8")
    assert "\x00" not in json.dumps(parsed, ensure_ascii=False)


# -- ids, numbers and times ---------------------------------------------------------------

@pytest.mark.parametrize("value", ["²", "١٢٣٤٥", "12３", "", " ", "1_000", "+1", "-1", "1.0", "1e3", True, 1.0, None, [],
                                   "9" * 25, "0x10"])
def test_parse_id_refuses_anything_but_ascii_digits(value):
    exc = rejected(inputs.parse_id, value, "clue_id")
    assert "clue_id" in exc.message


def test_parse_id_accepts_ints_and_digit_strings():
    assert inputs.parse_id(7301234567000000011, "id") == "7301234567000000011"
    assert inputs.parse_id(" 42 ", "id") == "42"


@pytest.mark.parametrize("value", ["²", "9" * 401, "1e400", "-5", "123", "99999999999999", 4_102_444_801])
def test_parse_epoch_refuses_junk_and_times_outside_2000_to_2100(value):
    rejected(inputs.parse_epoch, value, "CreateTime")


def test_parse_epoch_reads_seconds_and_milliseconds():
    assert inputs.parse_epoch("1767579302", "t") == 1767579302
    assert inputs.parse_epoch(1767579302123, "t") == 1767579302


def test_check_timestamp_statuses():
    now = time.time()
    assert inputs.check_timestamp(str(int(now)), "ts", 300) == str(int(now))
    assert rejected(inputs.check_timestamp, None, "ts", 300).status == 401
    assert rejected(inputs.check_timestamp, "", "ts", 300, missing_status=400).status == 400
    assert rejected(inputs.check_timestamp, "²", "ts", 300).status == 400
    assert rejected(inputs.check_timestamp, "9" * 400, "ts", 300).status == 400
    assert rejected(inputs.check_timestamp, str(int(now) - 301), "ts", 300).status == 401


@pytest.mark.parametrize("value, expected", [
    ("2026-01-05T10:15:02.000+08:00", datetime(2026, 1, 5, 2, 15, 2, tzinfo=timezone.utc)),
    ("2026-01-05 10:15:02 +0800", datetime(2026, 1, 5, 2, 15, 2, tzinfo=timezone.utc)),
    ("2026-01-05T02:15:02Z", datetime(2026, 1, 5, 2, 15, 2, tzinfo=timezone.utc)),
    ("2026-01-05 10:15:02", datetime(2026, 1, 5, 2, 15, 2, tzinfo=timezone.utc)),  # naive → the zone (UTC+8)
    (1767579302, datetime(2026, 1, 5, 2, 15, 2, tzinfo=timezone.utc)),
    ("1767579302000", datetime(2026, 1, 5, 2, 15, 2, tzinfo=timezone.utc)),
])
def test_parse_time_is_always_aware(value, expected):
    parsed = inputs.parse_time(value, "updated_at", CHINA)
    assert parsed.tzinfo is not None and parsed == expected


@pytest.mark.parametrize("value", ["yesterday", "9" * 401, "²", "2026-13-45 99:99:99", "２０２６-01-05", 1.5, None, {},
                                   "2026-01-05T10:15:02" + "0" * 40, "1800-01-01 00:00:00"])
def test_parse_time_refuses_junk(value):
    exc = rejected(inputs.parse_time, value, "start_time", CHINA)
    assert "start_time" in exc.message


def test_zone_of_reads_the_connector_config():
    assert inputs.zone_of({}).utcoffset(datetime(2026, 1, 5)) == timedelta(hours=8)
    assert inputs.zone_of({"timezone": "UTC"}).utcoffset(datetime(2026, 1, 5)) == timedelta(0)


def test_timezone_config_field_refuses_unknown_zones():
    from marshmallow import Schema, ValidationError

    class Config(Schema):
        timezone = inputs.TimeZone(load_default=inputs.DEFAULT_ZONE)

    assert Config().load({}) == {"timezone": "Asia/Shanghai"}
    with pytest.raises(ValidationError, match="unknown time zone"):
        Config().load({"timezone": "Mars/Olympus"})


def test_parse_json_can_leave_unstorable_text_to_the_caller():
    """The API's schemas refuse NUL per field (422); everything else stays strict."""
    assert inputs.parse_json(b'{"a": "x\\u0000"}', storable=False) == {"a": "x\x00"}
    rejected(inputs.parse_json, b'{"a": NaN}', storable=False)
    rejected(inputs.parse_json, b"[" * 100, storable=False)
