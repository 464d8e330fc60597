"""A deadlock with another transaction is nobody's record's fault: processing rolls the
whole batch back and runs it again instead of rejecting its records (hub.store.transient).

Found by running an initial load with two queued workers (``benchmarks/pipeline.py
--compare --contenders workers=2``): their batches met in lock cycles on contacts and
identity keys, PostgreSQL aborted one, and the record-by-record fallback rejected the
victim's records as if they were poison. Here the cycle is made on purpose, on a real
PostgreSQL: a second connection holds the contact the batch needs and then asks for the
batch's claimed inbox row."""

from __future__ import annotations

import logging
import os
import threading
import time

import psycopg
import pytest
from sqlalchemy import select

from hub.connector import Record
from hub.pipeline.ingest import store_push
from hub.pipeline.process import process_inbox
from hub.store import transient
from hub.store.models import InboxRow, Link

pytestmark = pytest.mark.skipif(not os.environ.get("HUB_DATABASE_URL", "").startswith("postgres"),
                                reason="a lock cycle between two transactions needs row locks (PostgreSQL)")


def push(hub, cid: int, key: str) -> int:
    record = Record(native_id=str(cid), data=dict(hub.a.contacts[cid]), dedupe_key=key)
    return store_push(hub.runtime.db, "crm_a", [("contacts", record)])["contacts"][0]


def libpq(db) -> str:
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def lock_waiters(conn, besides: int) -> int:
    return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> %s "
                        "AND datname = current_database()", (besides,)).fetchone()[0]


def test_a_deadlocked_batch_is_retried_not_rejected(make_hub, caplog):
    hub = make_hub()
    db = hub.runtime.db
    cid = int(hub.a.add_records("contacts", 1)[0])
    first = push(hub, cid, "evt_1")
    assert process_inbox(hub.runtime, [first]).processed == 1
    with db.session() as s:
        contact = s.scalar(select(Link.contact_id).where(Link.connector == "crm_a", Link.native_id == str(cid)))
    hub.a.contacts[cid]["name"] = "王伟（改）"
    second = push(hub, cid, "evt_2")  # processing it locks `contact`

    other = psycopg.connect(libpq(db))
    watch = psycopg.connect(libpq(db), autocommit=True)
    # the other transaction never detects the cycle itself: the batch's transaction does
    other.execute("SET deadlock_timeout = '60s'")
    other.execute("SET statement_timeout = '30s'")
    other.execute("SELECT 1 FROM contacts WHERE id = %s FOR UPDATE", (contact,))
    outcome: list = []

    def batch() -> None:
        try:
            outcome.append(process_inbox(hub.runtime, [second]))
        except BaseException as exc:  # surfaced below
            outcome.append(exc)

    caplog.set_level(logging.WARNING, logger="hub.pipeline.process")
    worker = threading.Thread(target=batch)
    worker.start()
    deadline = time.monotonic() + 20
    while lock_waiters(watch, other.info.backend_pid) == 0:  # the batch waits for `contact`
        assert time.monotonic() < deadline, "the batch never waited for the locked contact"
        time.sleep(0.02)
    # now wait for the batch's claimed row: a cycle, which the batch's backend detects
    other.execute("SELECT 1 FROM inbox WHERE id = %s FOR UPDATE", (second,))
    other.commit()
    worker.join(60)
    other.close()
    watch.close()

    assert not worker.is_alive()
    assert not isinstance(outcome[0], BaseException), outcome[0]
    assert outcome[0].rejected == 0
    assert any("deadlock detected" in r.getMessage() for r in caplog.records), "no deadlock happened: the test proves nothing"
    # the retry may have found the row still held by the other transaction and skipped it
    # (a claim skips locked rows); then the next job takes it, as a worker's would
    process_inbox(hub.runtime, [second])
    with db.session() as s:
        status, error = s.execute(select(InboxRow.status, InboxRow.error).where(InboxRow.id == second)).one()
    assert (status, error) == ("processed", None)


def test_transient_errors_are_told_from_record_errors(make_hub):
    """What counts as "try again": the driver's deadlock / serialization / lock-not-available
    errors, raw or wrapped by SQLAlchemy, and SQLite's "database is locked"; not a
    constraint violation or any other error."""
    import sqlite3

    from sqlalchemy.exc import IntegrityError, OperationalError

    hub = make_hub()
    db = hub.runtime.db
    with psycopg.connect(libpq(db)) as conn:
        with pytest.raises(psycopg.Error) as lock:
            conn.execute("SET lock_timeout = '1ms'")
            with psycopg.connect(libpq(db)) as holder:
                holder.execute("LOCK TABLE contacts IN ACCESS EXCLUSIVE MODE")
                conn.execute("SELECT 1 FROM contacts")
    assert transient.is_transient(lock.value)
    assert transient.is_transient(OperationalError("SELECT 1", {}, lock.value))
    assert transient.describe(OperationalError("SELECT 1", {}, lock.value)) == "lock not available"
    with psycopg.connect(libpq(db)) as conn:
        with pytest.raises(psycopg.Error) as unique:
            conn.execute("CREATE TEMP TABLE t (k int PRIMARY KEY)")
            conn.execute("INSERT INTO t VALUES (1), (1)")
    assert not transient.is_transient(unique.value)
    assert not transient.is_transient(IntegrityError("INSERT", {}, unique.value))
    assert not transient.is_transient(ValueError("bad record"))
    assert transient.is_transient(OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked")))
    assert not transient.is_transient(OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")))
