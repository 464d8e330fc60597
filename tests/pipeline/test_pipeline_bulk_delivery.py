"""Batched delivery: ``Sink.write_many`` on the SQL connector and the deliver path that uses
it (a real SQLite CRM from the connector's sandbox; the hub on the test backends)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from hub.config import load_config
from hub.connector import DictState, PermanentError, WriteResult
from hub.pipeline.deliver import deliver
from hub.pipeline.inline import sync_inline
from hub.runtime import Runtime, set_current
from hub.store.models import Link, OutboxRow

from connectors.sql.connector import SqlConnector
from connectors.sql.sandbox import SqlSandbox


def sink_of(box: SqlSandbox):
    connector = SqlConnector("members", SqlConnector.validate_config(box.config_for("")), state=DictState())
    return connector, connector.sink("rows")


def test_write_many_has_each_write_s_own_effect_and_result():
    box = SqlSandbox(seed_count=0)
    (existing,) = box.add_records("rows", 1)
    connector, sink = sink_of(box)
    try:
        results = sink.write_many([
            ({"name": "王小明", "phone": "13912345678", "tier": "金卡"}, "k1", None),          # new row
            ({"tier": "钻石卡"}, "k2", existing),                                            # keyed update
            ({"name": "李娜", "is_deleted": 1}, "k3", None),                                  # refused column
            ({"name": "张伟", "tier": "银卡"}, "k4", "9001"),                                 # keyed, row missing
        ])
        assert isinstance(results[0], WriteResult) and results[0].created and results[0].native_id
        assert (results[1].native_id, results[1].created) == (existing, False)
        assert isinstance(results[2], PermanentError) and "is_deleted" in results[2].message
        assert (results[3].native_id, results[3].created) == ("9001", True)
        assert box.row(existing)["tier"] == "钻石卡" and box.row("9001")["name"] == "张伟"
        effects = len(box.effects("rows"))
        # A replay (same keys) changes nothing and returns the recorded ids, like write() does.
        again = sink.write_many([({"name": "王小明"}, "k1", None), ({"tier": "银卡"}, "k2", existing)])
        assert [r.native_id for r in again] == [results[0].native_id, existing]
        assert not any(r.created for r in again)
        assert len(box.effects("rows")) == effects and box.row(existing)["tier"] == "钻石卡"
        single = connector.write("rows", {"tier": "普通会员"}, idempotency_key="k4", native_id="9001")
        assert single.native_id == "9001" and box.row("9001")["tier"] == "银卡"  # ledger shared with write()
    finally:
        connector.close()


def test_a_row_the_database_rejects_fails_alone():
    box = SqlSandbox(seed_count=0)
    connector, sink = sink_of(box)
    try:
        results = sink.write_many([
            ({"name": "王芳", "tier": "金卡"}, "a", None),
            ({"name": None, "tier": "金卡"}, "b", None),  # customers.name is NOT NULL
            ({"name": "刘洋"}, "c", None),
        ])
        assert isinstance(results[0], WriteResult) and isinstance(results[2], WriteResult)
        assert isinstance(results[1], PermanentError)
        names = sorted(e["name"] for e in box.effects("rows"))
        assert names == ["刘洋", "王芳"]
    finally:
        connector.close()


@pytest.fixture
def crm_to_members(tmp_path, db, database_url, redis_url, redis_conn):
    src, dst = SqlSandbox(seed_count=0), SqlSandbox(seed_count=0)
    path = tmp_path / "hub.yaml"
    path.write_text(
        f"""hub:
  database_url: "{database_url}"
  redis_url: "{redis_url}"
  var_dir: "{tmp_path}/var"
  batch_size: 40
  max_attempts: 3
connectors:
  crm:
    type: sql
    config: {json.dumps({**src.config_for(""), "batch_size": 40})}
    streams:
      rows: {{}}
  members:
    type: sql
    config: {json.dumps(dst.config_for(""))}
    sinks:
      rows: {{}}
""",
        encoding="utf-8",
    )
    runtime = Runtime(load_config(path, env={}))
    set_current(runtime)
    yield runtime, src, dst
    runtime.close()
    set_current(None)


def test_a_sync_through_the_batched_path_delivers_each_contact_once(crm_to_members):
    runtime, src, dst = crm_to_members
    src.add_records("rows", 95)
    out = sync_inline(runtime, "crm", "rows")
    assert (out["processed"], out["delivered"], out["dead"], out["retrying"]) == (95, 95, 0, 0)
    inserts = [e for e in dst.effects("rows") if e["op"] == "insert"]
    assert len(inserts) == 95
    with runtime.db.session() as s:
        links = s.execute(select(func.count()).select_from(Link).where(Link.connector == "members",
                                                                    Link.last_written_hash.is_not(None))).scalar_one()
        assert links == 95
        # each outbox row is marked delivered, once, with the native id the sink returned
        marks = s.execute(select(OutboxRow.status, OutboxRow.attempts, OutboxRow.native_id, OutboxRow.delivered_at,
                                 OutboxRow.last_error).where(OutboxRow.connector == "members")).all()
        assert len(marks) == 95 and all(m.status == "delivered" and m.attempts == 1 and m.native_id
                                        and m.delivered_at is not None and m.last_error is None for m in marks)
        assert sorted(int(m.native_id) for m in marks) == sorted(int(e["customer_id"]) for e in inserts)
    # An edit in the CRM reaches the member row by its recorded native id, once.
    native = inserts[0]["customer_id"]
    with runtime.db.session() as s:
        contact = s.execute(select(Link.contact_id).where(Link.connector == "members", Link.native_id == str(native))).scalar_one()
        src_id = s.execute(select(Link.native_id).where(Link.connector == "crm", Link.contact_id == contact)).scalar_one()
    src.update_record("rows", src_id)
    again = sync_inline(runtime, "crm", "rows")
    assert again["delivered"] == 1
    updates = [e for e in dst.effects("rows") if e["op"] == "update"]
    assert [u["customer_id"] for u in updates] == [native]
    # Delivering the same rows again is a no-op (already delivered: not claimed).
    with runtime.db.session() as s:
        ids = list(s.scalars(select(OutboxRow.id)))
    counts = deliver(runtime, ids)
    assert counts.delivered == 0 and counts.skipped == len(ids)


def test_a_refused_payload_is_dead_and_the_rest_of_the_batch_delivered(crm_to_members):
    runtime, src, dst = crm_to_members
    src.add_records("rows", 5)
    sync_inline(runtime, "crm", "rows")
    with runtime.db.session() as s:
        rows = list(s.scalars(select(OutboxRow).order_by(OutboxRow.id)))
        assert all(r.status == "delivered" for r in rows)
        # Two new writes owed to members: one with a column the sink may not write.
        good = OutboxRow(connector="members", sink="rows", contact_id=rows[0].contact_id, idempotency_key="t:good",
                         payload={"tier": "钻石卡"}, payload_hash="h-good", native_id=rows[0].native_id, status="pending")
        bad = OutboxRow(connector="members", sink="rows", contact_id=rows[1].contact_id, idempotency_key="t:bad",
                        payload={"is_deleted": 1}, payload_hash="h-bad", native_id=rows[1].native_id, status="pending")
        s.add_all([good, bad])
        s.flush()
        ids = [good.id, bad.id]
    counts = deliver(runtime, ids)
    assert (counts.delivered, counts.dead) == (1, 1)
    with runtime.db.session() as s:
        status = dict(s.execute(select(OutboxRow.idempotency_key, OutboxRow.status).where(OutboxRow.id.in_(ids))).all())
        assert status == {"t:good": "delivered", "t:bad": "dead"}
        last = s.execute(select(Link.last_written_hash).where(Link.connector == "members", Link.native_id == rows[0].native_id)).scalar_one()
        assert last == "h-good"
    assert dst.row(rows[0].native_id)["tier"] == "钻石卡"
