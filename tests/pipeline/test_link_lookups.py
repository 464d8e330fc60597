"""Lookups of links by connector and native id use the links' unique index on both columns.

:func:`hub.pipeline.links.written_values` runs once per processed batch with the batch's
native ids and no stream (what the hub wrote to those records through any of the
connector's sinks). While the unique key was (connector, stream, native_id) no index served
it, and every batch read every link of the connector: processing slowed as links grew."""

from __future__ import annotations

from sqlalchemy import event as sa_event

from hub.identity.merge import create_contacts
from hub.pipeline.links import written_values
from hub.store.models import Link
from hub.store.types import utcnow
from hub.store.upsert import insert_ignore


def _links(db, count: int) -> None:
    with db.session() as s:
        cids = create_contacts(s, count)
        now = utcnow()
        read = [{"connector": "crm", "stream": "rows", "native_id": str(n), "contact_id": cid, "origin_contact_id": cid,
                 "state": "active", "last_read_at": now} for n, cid in enumerate(cids)]
        written = [{"connector": "crm", "stream": "members" if n % 2 else "accounts", "native_id": str(n), "contact_id": cid,
                    "state": "active", "last_written_values": {"tier": f"t{n}"}, "last_written_at": now} for n, cid in enumerate(cids)]
        for rows in (read, written):
            insert_ignore(s, Link, rows, ["connector", "stream", "native_id"])
    with db.engine.begin() as conn:  # statistics, as autovacuum (PostgreSQL) or a long-lived store would have
        conn.exec_driver_sql("ANALYZE links" if db.dialect == "postgresql" else "ANALYZE")


def _plan(db, statement: str, params) -> str:
    """The plan of ``statement`` as text."""
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
        return "\n".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))


def test_written_values_are_found_by_connector_and_native_id_through_the_unique_index(db):
    _links(db, 5000)
    statements = []

    def capture(conn, cursor, statement, params, context, executemany):
        if "last_written_values" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, params))

    sa_event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.session() as s:
            got = written_values(s, "crm", ["3", "4", "x404"])
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", capture)
    assert got == {"3": {"tier": "t3"}, "4": {"tier": "t4"}}  # across the connector's sinks
    (statement, params), = statements
    plan = _plan(db, statement, params)
    if db.dialect == "postgresql":
        assert "uq_links_connector_native_id_stream" in plan, plan
        index_cond = [line for line in plan.splitlines() if "Index Cond" in line]
        assert index_cond and all("native_id" in line for line in index_cond), plan
    else:
        assert "(connector=? AND native_id=?)" in plan, plan
