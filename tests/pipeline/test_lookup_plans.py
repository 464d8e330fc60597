"""Batch lookups by id keep an index plan on PostgreSQL when the statistics are stale.

During an initial load autovacuum lags: the statistics still say what the outbox and inbox
held at the last ANALYZE (nothing pending), while thousands of rows are pending now. Given a
status condition, the planner then prefers the status index and walks *every* pending row,
testing each against the batch's ``= ANY`` array — a cost that grows with the backlog on
every batch. The lookups by id / contact id must be planned on the id / contact id index
whatever the statistics say (``docs/operations.md``, "Throughput and sizing").
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event, text

from hub.pipeline import outbound
from hub.pipeline.claims import claim_inbox
from hub.pipeline.deliver import DeliveryCounts, deliver
from hub.pipeline.runs import track_deliveries
from hub.store import pgbulk
from hub.store.models import Contact, InboxRow, OutboxRow
from hub.store.types import utcnow

from tests.pipeline.sql_pair import crm_to_members  # noqa: F401 (fixture)

ROWS = 4000


@pytest.fixture
def stale(db):
    if db.dialect != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    now = utcnow()
    with db.session() as s:
        ids = [r[0] for r in pgbulk.fetch(s, "INSERT INTO contacts (created_at, updated_at) SELECT %s, %s FROM generate_series(1, %s) RETURNING id",
                                          (now, now, ROWS))]
        # What the last ANALYZE saw: a few rows, all of them done.
        done = [{"connector": "crm", "sink": "rows", "contact_id": ids[i], "idempotency_key": f"done-{i}", "payload": {},
                 "payload_hash": "x", "status": "delivered"} for i in range(20)]
        pgbulk.insert_rows(s, OutboxRow, done)
        pgbulk.insert_rows(s, InboxRow, [{"connector": "crm", "stream": "rows", "native_id": str(i), "dedupe_key": f"d{i}",
                                          "payload": {}, "status": "processed"} for i in range(20)])
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE outbox"))
        conn.execute(text("ANALYZE inbox"))
        conn.commit()
    # Then the load: thousands of pending rows the statistics know nothing of.
    with db.session() as s:
        out = pgbulk.insert_rows(s, OutboxRow, [
            {"connector": "members", "sink": "rows", "contact_id": cid, "idempotency_key": f"k-{cid}", "payload": {"name": f"n{cid}"}, "payload_hash": "y",
             "status": "pending", "next_attempt_at": now - timedelta(seconds=1)} for cid in ids], returning=["id"])
        inbox = pgbulk.insert_rows(s, InboxRow, [{"connector": "crm", "stream": "rows", "native_id": f"n{i}", "dedupe_key": f"p{i}",
                                                  "payload": {}} for i in range(ROWS)], returning=["id"])
    return db, ids, sorted(r[0] for r in out), sorted(r[0] for r in inbox)


def _plans(db, run, engine=None) -> list[str]:
    """EXPLAIN of every lookup (or claiming UPDATE) ``run`` sends to the outbox or inbox,
    with its parameters."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().upper()
        if (head.startswith("SELECT") and ("FROM outbox" in statement or "FROM inbox" in statement)
                or head.startswith("UPDATE OUTBOX SET STATUS=")):
            seen.append((statement, parameters))

    engine = engine if engine is not None else db.engine
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    assert seen, "no lookups captured"
    plans = []
    with db.engine.connect() as conn:
        for statement, parameters in seen:
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
            plans.append(f"{statement}\n{plan}")
    return plans


def test_outbox_histories_use_the_contact_index(stale):
    db, contacts, _outbox, _inbox = stale
    batch = contacts[-500:]

    def run():
        with db.session() as s:
            history = outbound.histories(s, batch)
            assert len(history) == 500 and all(h.pending_ids for h in history.values())

    for plan in _plans(db, run):
        assert "ix_outbox_status_next" not in plan, plan


def test_delivery_tally_reads_the_batch_by_primary_key(stale):
    db, _contacts, outbox, _inbox = stale
    batch = outbox[-500:]
    plans = _plans(db, lambda: track_deliveries(db, batch, lambda ids: DeliveryCounts()))
    for plan in plans:
        assert "ix_outbox_status_next" not in plan, plan


def test_claiming_inbox_rows_by_id_uses_the_primary_key(stale):
    db, _contacts, _outbox, inbox = stale
    batch = inbox[-500:]

    def run():
        with db.session() as s:
            rows = claim_inbox(s, (InboxRow.id,), ids=batch)
            assert [r.id for r in rows] == batch

    for plan in _plans(db, run):
        assert "ix_inbox_status_received" not in plan, plan


def test_delivery_claims_a_batch_by_primary_key(stale, crm_to_members):  # noqa: F811
    db, _contacts, outbox, _inbox = stale
    runtime = crm_to_members[0]
    batch = outbox[-500:]
    plans = _plans(db, lambda: deliver(runtime, batch), engine=runtime.db.engine)
    assert any("UPDATE outbox" in plan for plan in plans)  # the batch claim (Sink.write_many) was seen
    for plan in plans:
        # (The claim's "no older rendering is being sent" check may use the status index:
        # rows in 'sending' are few at any time. The pending rows must not be found by it.)
        assert not [line for line in plan.splitlines() if "Index Cond" in line and "'pending'" in line], plan
