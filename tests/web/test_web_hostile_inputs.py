"""Issue 15's hostile inputs, replayed through the real app onto the real store: every one gets
a 4xx (never a 500) and nothing is stored. Run on PostgreSQL too, where an unstorable JSON value
used to fail only at insert time (after the sender was verified)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from doors import DOORS, clink_cdr, config_of, signed, udesk_ticket, wecom_event
from hub.store.models import InboxRow

DEEP = b"[" * 100_000 + b"]" * 100_000


def inbox(app) -> list[InboxRow]:
    with app.extensions["hub"].db.session() as s:
        return list(s.scalars(select(InboxRow)))


def push(client, app, door: str, body: bytes, *, timestamp: str | None = None, extra_query: dict | None = None):
    headers, query, wire = signed(door, config_of(app, door), body, timestamp=timestamp)
    return client.post(f"/webhooks/{DOORS[door]}", data=wire, headers=headers, query_string={**query, **(extra_query or {})})


def assert_refused(resp, app, status: int | tuple = 400):
    statuses = status if isinstance(status, tuple) else (status,)
    assert resp.status_code in statuses, (resp.status_code, resp.get_data(as_text=True))
    assert inbox(app) == []


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


# -- 500 without any credential -----------------------------------------------------------

@pytest.mark.parametrize("timestamp", ["²", "9" * 400, "١٢٣٤٥٦٧٨٩٠"])
def test_wecom_malformed_timestamp_is_400_without_a_signature(app, client, timestamp):
    resp = client.post(f"/webhooks/{DOORS['wecom']}", data=b"<xml><Encrypt>AAAA</Encrypt></xml>",
                       query_string={"msg_signature": "0" * 40, "timestamp": timestamp, "nonce": "1"})
    assert_refused(resp, app, 400)
    assert "timestamp" in resp.get_data(as_text=True)


@pytest.mark.parametrize("timestamp", ["²", "9" * 400])
def test_clink_malformed_timestamp_header_is_400(app, client, timestamp):
    resp = client.post(f"/webhooks/{DOORS['clink']}", data=b"{}",
                       headers={"X-Hub-Timestamp": timestamp, "X-Hub-Signature": "0" * 64})
    assert_refused(resp, app, 400)
    assert "X-Hub-Timestamp" in resp.get_data(as_text=True)


def test_clink_non_ascii_signature_is_401_not_a_crash(app, client):
    headers, _, body = signed("clink", config_of(app, "clink"), json.dumps(clink_cdr()).encode())
    headers["X-Hub-Signature"] = "é" * 64
    assert_refused(client.post(f"/webhooks/{DOORS['clink']}", data=body, headers=headers), app, 401)


# -- 500 with a valid signature or token --------------------------------------------------

@pytest.mark.parametrize("body", [
    b'{"clue_id": "7301234567000000011", "telephone": "13912345678", "score": NaN}',
    b'{"clue_id": "7301234567000000011", "telephone": "13912345678", "score": Infinity}',
    b'{"clue_id": "7301234567000000011", "telephone": "13912345678", "score": 1e400}',
    b'{"clue_id": "7301234567000000011", "telephone": "13912345678", "name": "a\\u0000b"}',
    b'{"clue_id": "7301234567000000011", "telephone": "13912345678", "name": "\\ud800"}',
    b'{"clue_id": "7301234567000000011", "telephone": "13912345678", "remark": {"k\\u0000": 1}}',
    DEEP,
], ids=["NaN", "Infinity", "1e400", "NUL", "lone-surrogate", "NUL-key", "deep"])
def test_feiyu_unstorable_or_hostile_json_is_400(app, client, body):
    assert_refused(push(client, app, "feiyu", body), app, 400)


@pytest.mark.parametrize("door", ["udesk", "clink"])
def test_deeply_nested_json_is_400(app, client, door):
    assert_refused(push(client, app, door, DEEP), app, 400)


def test_udesk_overflowing_id_is_400(app, client):
    body = json.dumps({"action": "Ticket_update", "message": udesk_ticket(id=0)}).replace('"id": 0', '"id": 1e400').encode()
    resp = push(client, app, "udesk", body)
    assert_refused(resp, app, 400)


@pytest.mark.parametrize("ticket_id", [1.5, "²", True, "-3", "9" * 30])
def test_udesk_non_integer_ids_are_400(app, client, ticket_id):
    body = json.dumps({"action": "Ticket_update", "message": udesk_ticket(id=ticket_id)}).encode()
    assert_refused(push(client, app, "udesk", body), app, 400)


def test_udesk_naive_updated_at_is_read_in_the_connector_zone(app, client):
    """Udesk sent ``updated_at`` without an offset: the time is the instance's zone (Beijing by
    default), stored aware — it used to reach the store naive and fail there."""
    body = json.dumps({"action": "Ticket_update", "message": udesk_ticket(updated_at="2026-01-05 10:20:00")}).encode()
    resp = push(client, app, "udesk", body)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    (row,) = inbox(app)
    assert row.source_updated_at == datetime(2026, 1, 5, 2, 20, tzinfo=timezone.utc)


def test_clink_401_digit_start_time_is_400(app, client):
    body = json.dumps(clink_cdr(begin_at="9" * 401)).encode()
    resp = push(client, app, "clink", body)
    assert_refused(resp, app, 400)
    assert "begin_at" in resp.get_data(as_text=True)


@pytest.mark.parametrize("field", ["begin_at", "end_at", "talk_seconds"])
@pytest.mark.parametrize("value", ["²", "1e400", [1], {"a": 1}])
def test_clink_junk_times_and_durations_are_400(app, client, field, value):
    resp = push(client, app, "clink", json.dumps(clink_cdr(**{field: value})).encode())
    assert_refused(resp, app, 400)


@pytest.mark.parametrize("created", ["²", "9" * 400, "yesterday"])
def test_wecom_event_with_a_junk_create_time_is_400(app, client, created):
    config = config_of(app, "wecom")
    resp = push(client, app, "wecom", wecom_event(config, CreateTime=created))
    assert_refused(resp, app, 400)
    assert "CreateTime" in resp.get_data(as_text=True)


def test_a_good_wecom_event_is_still_stored(app, client):
    resp = push(client, app, "wecom", wecom_event(config_of(app, "wecom")))
    assert resp.status_code == 200 and resp.get_data() == b"success"
    assert len(inbox(app)) == 1


# -- Unicode digits as ids ----------------------------------------------------------------

@pytest.mark.parametrize("clue_id", ["²", "١٢٣٤٥", "１２３", "12 34", "0x1F", -5, 1.0, True])
def test_feiyu_clue_id_must_be_ascii_digits(app, client, clue_id):
    body = json.dumps({"clue_id": clue_id, "telephone": "13912345678"}, ensure_ascii=False).encode()
    resp = push(client, app, "feiyu", body)
    assert_refused(resp, app, 400)
    assert "clue_id" in resp.get_data(as_text=True)


# -- body limits --------------------------------------------------------------------------

class CountingStream:
    """A request body that counts what the server reads of it."""

    def __init__(self, size: int):
        self.size, self.consumed = size, 0

    # The test client measures the body by seeking to its end and back.
    def tell(self) -> int:
        return self.consumed

    def seek(self, offset: int, whence: int = 0) -> int:
        self.consumed = self.size if whence == 2 else offset
        return self.consumed

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.consumed if n is None or n < 0 else min(n, self.size - self.consumed)
        self.consumed += n
        return b"x" * n

    readline = read


@pytest.mark.parametrize("door", sorted(DOORS))
def test_200_mib_unauthenticated_post_is_refused_before_reading(app, client, door):
    stream = CountingStream(200 * 1024 * 1024)
    resp = client.post(f"/webhooks/{DOORS[door]}", input_stream=stream, content_type="application/json",
                       environ_overrides={"CONTENT_LENGTH": str(stream.size)})
    assert_refused(resp, app, 413)
    assert stream.consumed == 0


def test_chunked_body_without_a_length_is_cut_off_at_the_door_limit(app, client):
    from connectors.feiyu.webhook import FeiyuPushWebhook

    stream = CountingStream(200 * 1024 * 1024)
    resp = client.post(f"/webhooks/{DOORS['feiyu']}", input_stream=stream, content_type="application/json",
                       environ_overrides={"wsgi.input_terminated": True})
    assert_refused(resp, app, 413)
    assert stream.consumed <= FeiyuPushWebhook.max_body + 64 * 1024


def test_app_wide_cap_bounds_every_other_route(app, client):
    stream = CountingStream(app.config["MAX_CONTENT_LENGTH"] + 1)
    resp = client.post("/api/v1/contacts/search", input_stream=stream, content_type="application/json",
                       environ_overrides={"CONTENT_LENGTH": str(stream.size)})
    assert resp.status_code in (401, 405, 413)
    assert stream.consumed == 0


def test_a_20000_lead_push_is_refused_and_5000_are_stored(app, client):
    from connectors.feiyu.webhook import FeiyuPushWebhook

    def leads(n):
        return json.dumps([{"clue_id": str(7301234567000000000 + i), "telephone": f"139{i:08d}"} for i in range(n)]).encode()

    resp = push(client, app, "feiyu", leads(20_000))
    assert_refused(resp, app, 413)
    limit = FeiyuPushWebhook.max_records
    resp = push(client, app, "feiyu", leads(limit))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    with app.extensions["hub"].db.session() as s:
        assert s.scalar(select(func.count()).select_from(InboxRow)) == limit


@pytest.mark.parametrize("field", ["CreateTime", "JoinScene", "QuitScene", "MemChangeCnt"])
@pytest.mark.parametrize("value", ["²", "9" * 400])
def test_wecom_group_event_with_junk_numbers_is_400(app, client, field, value):
    """``change_external_chat`` callbacks have their own numeric fields (JoinScene …)."""
    config = config_of(app, "wecom")
    body = wecom_event(config, Event="change_external_chat", ChangeType="dismiss", ChatId="wrOgQhDgAAcwMTB7YmDkbeBsgT_AAAAA",
                       **{field: value})
    resp = push(client, app, "wecom", body)
    assert_refused(resp, app, 400)
    assert field in resp.get_data(as_text=True)


@pytest.mark.parametrize("action", [["Ticket_update"], {"a": 1}, 1.5, True])
def test_udesk_action_that_is_not_text_is_400(app, client, action):
    body = json.dumps({"action": action, "message": udesk_ticket()}).encode()
    assert_refused(push(client, app, "udesk", body), app, 400)


# -- the UI's own query and form values ---------------------------------------------------

@pytest.mark.parametrize("value", ["²", "١٢", "9" * 40, "-1", "1e3"])
def test_ui_ids_in_queries_and_forms_are_never_a_500(app, value):
    from hub.web.auth import create_token, hash_token

    _, token = create_token(app.extensions["hub"].db, "ui-admin", "admin")
    client = app.test_client()
    with client.session_transaction() as session:
        session["token_hash"] = hash_token(token)
        session["csrf"] = "t"
    for path in (f"/connectors/{DOORS['feiyu']}?before={value}", f"/audit?before={value}", f"/contacts/1?before={value}"):
        assert client.get(path).status_code < 500, path
    assert client.post("/contacts/1/unmerge", data={"csrf": "t", "edge_id": value}).status_code < 500
    resp = client.post("/writes/approve", data={"csrf": "t", "target": "x", "action": "discard", "id": value})
    assert resp.status_code < 500
