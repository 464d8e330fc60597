"""``TableSink.write_many`` on real databases: a batch has exactly the effect and results of
its writes made one by one with ``write`` — on PostgreSQL through the set-based path
(COPY into a staging table, ``UPDATE … FROM``, ``INSERT … SELECT``), elsewhere row by row."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import event as sa_event

from hub.connector import PermanentError, WriteResult

NAMES = ["王伟", "李娜", "张敏", "刘洋"]
TIERS = ["普通会员", "银卡", "金卡"]


def _rows(crm) -> list[tuple]:
    return crm.execute("SELECT id, member_no, name, phone, tier, city FROM customers ORDER BY id")


def test_a_mixed_batch_inserts_updates_and_creates_missing_keyed_rows(crm, customers_sink, caplog):
    caplog.set_level(logging.INFO, logger="connectors.sql.sinks")
    (existing,) = crm.add_customers([{"name": "王伟", "tier": "银卡", "updated_at": "2020-01-01 00:00:00"}])
    connector = crm.connector(sinks={"customers": customers_sink})
    sink = connector.sink("customers")
    results = sink.write_many([
        ({"name": "李娜", "phone": "13912345678"}, "k1", None),      # no key: a new row
        ({"tier": "金卡"}, "k2", existing),                           # partial update; NOT NULL name kept
        ({"name": "张敏", "tier": "银卡"}, "k3", "9001"),             # keyed, missing: created
        ({"name": "刘洋"}, "k4", None),                               # another new row
        ({"city": "杭州"}, "k5", existing),                           # the same row again, later in the batch
        ({"name": "李娜", "phone": "13912345678"}, "k1", None),      # k1 repeated in the batch: one effect
    ])
    assert all(isinstance(r, WriteResult) for r in results)
    assert "writing them one by one" not in caplog.text  # the batch path itself succeeded
    new1, new2 = results[0].native_id, results[3].native_id
    assert results[0].created and results[3].created and new1 != new2
    assert (results[1].native_id, results[1].created) == (existing, False)
    assert (results[2].native_id, results[2].created) == ("9001", True)
    assert (results[4].native_id, results[4].created) == (existing, False)
    assert (results[5].native_id, results[5].created) == (new1, False)
    row = crm.customer(existing)
    assert (row["name"], row["tier"], row["city"]) == ("王伟", "金卡", "杭州")
    assert crm.customer(new1)["phone"] == "13912345678" and crm.customer("9001")["name"] == "张敏"
    assert crm.count("customers") == 4
    assert crm.count("hub_applied_writes") == 5
    assert str(crm.customer(existing)["updated_at"]) > "2020-01-01"  # stamped by the batch


def test_a_replayed_batch_changes_nothing(crm, customers_sink, caplog):
    caplog.set_level(logging.INFO, logger="connectors.sql.sinks")
    connector = crm.connector(sinks={"customers": customers_sink})
    sink = connector.sink("customers")
    first = sink.write_many([({"name": "王伟"}, "a", None), ({"name": "李娜"}, "b", "77")])
    before = _rows(crm)
    again = sink.write_many([({"name": "改名"}, "a", None), ({"name": "改名"}, "b", "77")])
    assert [r.native_id for r in again] == [r.native_id for r in first]
    assert not any(r.created for r in again)
    assert _rows(crm) == before
    assert "writing them one by one" not in caplog.text  # the ledger lookup itself answered


def test_a_refused_payload_fails_alone_and_a_database_rejection_falls_back_to_single_writes(crm, customers_sink, caplog):
    caplog.set_level(logging.INFO, logger="connectors.sql.sinks")
    connector = crm.connector(sinks={"customers": customers_sink})
    sink = connector.sink("customers")
    results = sink.write_many([
        ({"name": "王伟"}, "a", None),
        ({"name": "李娜", "is_deleted": 1}, "b", None),  # not a writable column
        ({"name": None}, "c", None),                     # NOT NULL: the database refuses it
        ({"name": "张敏"}, "d", None),
    ])
    assert isinstance(results[1], PermanentError) and "is_deleted" in results[1].message
    assert isinstance(results[2], PermanentError)
    assert isinstance(results[0], WriteResult) and isinstance(results[3], WriteResult)
    assert sorted(r[2] for r in _rows(crm)) == ["张敏", "王伟"]
    assert "writing them one by one" in caplog.text


def test_a_batch_is_a_few_statements_whatever_its_size_on_postgresql(crm, customers_sink):
    connector = crm.connector(sinks={"customers": customers_sink})
    sink = connector.sink("customers")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sink.write_many([({"name": "预热"}, "warm", None)])  # creates the ledger table
    sa_event.listen(connector.engine, "before_cursor_execute", count)
    try:
        results = sink.write_many([({"name": f"客户{i}", "tier": "银卡"}, f"n{i}", None) for i in range(200)]
                                  + [({"name": "老客户", "tier": "金卡"}, f"u{i}", str(5000 + i)) for i in range(100)])
    finally:
        sa_event.remove(connector.engine, "before_cursor_execute", count)
    assert all(isinstance(r, WriteResult) for r in results) and crm.count("customers") == 301
    if crm.backend == "postgresql":
        # ledger lookup, key allocation, 2 × (staging table, COPY-free statements), ledger COPY
        assert len(statements) <= 12, statements
        assert not any(s.lstrip().upper().startswith("INSERT INTO \"CUSTOMERS\" (") and "VALUES" in s.upper()
                       for s in statements)
    else:
        assert len(statements) >= 300  # the portable path: a statement per row


# -- equivalence with one-by-one writes ------------------------------------------------------
write = st.tuples(
    st.one_of(st.none(), st.sampled_from(["9001", "9002", "9003"])),          # native id (None: new row)
    st.dictionaries(st.sampled_from(["name", "tier", "city"]),
                    st.sampled_from(NAMES + TIERS), min_size=1, max_size=3),  # the columns it carries
    st.integers(0, 5),                                                          # idempotency key
)


def _normalised(crm, results: list[Any], explicit: set[str]) -> tuple[list, list]:
    """Table rows and results with generated ids replaced by the index of the write that
    created them (the two runs draw different ids from the sequence)."""
    alias: dict[str, str] = {}
    out = []
    for i, r in enumerate(results):
        if isinstance(r, WriteResult):
            if r.native_id not in alias:
                alias[r.native_id] = r.native_id if r.native_id in explicit else f"w{i}"
            out.append((alias[r.native_id], r.created))
        else:
            out.append(type(r).__name__)
    rows = sorted((alias.get(str(row[0]), str(row[0])), *row[2:]) for row in _rows(crm))
    return rows, out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=st.lists(write, min_size=1, max_size=12))
def test_write_many_equals_the_same_writes_one_by_one(crm, customers_sink, writes):
    payloads = []
    for native, values, key in writes:
        payload = dict(values)
        if native is None:
            payload.setdefault("name", "新客户")  # a new row needs its NOT NULL name
        payloads.append((payload, f"key{key}", native))
    explicit = {native for _payload, _key, native in payloads if native is not None}
    crm.execute("DELETE FROM customers")
    # A generated id must never be one of the explicit ones (9001–9003): SQLite and MariaDB
    # continue after the highest id ever used, so push that far beyond them once.
    crm.execute("INSERT INTO customers (id, name) VALUES (1000000, 'x')")
    crm.execute("DELETE FROM customers")
    for ledger in ("ledger_one", "ledger_many"):
        crm.execute(f"DROP TABLE IF EXISTS {ledger}")
    one = crm.connector(sinks={"customers": customers_sink}, idempotency_table="ledger_one")
    many = crm.connector(sinks={"customers": customers_sink}, idempotency_table="ledger_many")
    try:
        sequential = []
        for payload, key, native in payloads:
            try:
                sequential.append(one.sink("customers").write(payload, idempotency_key=key, native_id=native))
            except PermanentError as exc:
                sequential.append(exc)
        expected = _normalised(crm, sequential, explicit)
        crm.execute("DELETE FROM customers")
        batched = many.sink("customers").write_many(payloads)
        assert _normalised(crm, batched, explicit) == expected
    finally:
        for connector in (one, many):
            connector.close()
            crm.connectors.remove(connector)


def test_keys_come_from_an_identity_column_too(crm, caplog):
    """``GENERATED ALWAYS AS IDENTITY`` (PostgreSQL) / AUTO_INCREMENT / AUTOINCREMENT keys:
    rows without a key get the database's next key, in the order of the writes."""
    ddl = {
        "postgresql": "CREATE TABLE tickets (tid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title TEXT NOT NULL)",
        "sqlite": "CREATE TABLE tickets (tid INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL)",
        "mariadb": "CREATE TABLE tickets (tid BIGINT AUTO_INCREMENT PRIMARY KEY, title TEXT NOT NULL)",
    }
    caplog.set_level(logging.INFO, logger="connectors.sql.sinks")
    crm.execute("DROP TABLE IF EXISTS tickets")
    crm.execute(ddl[crm.backend])
    try:
        connector = crm.connector(sinks={"tickets": {"table": "tickets", "key": "tid", "columns": ["title"]}})
        results = connector.sink("tickets").write_many([({"title": f"工单{i}"}, f"t{i}", None) for i in range(5)])
        ids = [int(r.native_id) for r in results]
        assert "writing them one by one" not in caplog.text  # the batch path itself succeeded
        assert ids == sorted(ids) and len(set(ids)) == 5 and all(r.created for r in results)
        assert crm.execute("SELECT tid, title FROM tickets ORDER BY tid") == [(i, f"工单{n}") for n, i in enumerate(ids)]
        # and a later single write continues the same sequence
        single = connector.write("tickets", {"title": "单独"}, idempotency_key="t-single")
        assert int(single.native_id) > max(ids)
    finally:
        crm.execute("DROP TABLE IF EXISTS tickets")


def _plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def test_the_ledger_lookup_probes_the_key_on_a_ledger_without_statistics(crm, customers_sink):
    """Which of a batch's writes were applied is one primary-key probe per key, however the
    planner sees the ledger: a new ledger (or any, on a server without autovacuum) has no
    statistics, and a plain join of the keys with it was planned as a read of every key of
    the instance — per delivered batch, so delivery slowed as the ledger grew."""
    if crm.backend != "postgresql":
        pytest.skip("the set-based ledger lookup is PostgreSQL's (connectors.sql.pgcopy)")
    from connectors.sql.pgcopy import recorded_sql

    connector = crm.connector(sinks={"customers": customers_sink})
    connector.sink("customers").write_many([({"name": "预热"}, "warm", None)])  # creates the ledger
    crm.execute("INSERT INTO hub_applied_writes (instance, idempotency_key, sink, native_id, applied_at) "
                "SELECT 'crm', 'key-' || g, 'customers', g::text, now() FROM generate_series(1, 20000) g")
    keys = [f"key-{g}" for g in range(1, 1001, 2)] + [f"absent-{g}" for g in range(100)]
    with crm.engine.connect() as conn:
        (plan,) = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + recorded_sql("hub_applied_writes"), (keys, "crm")).one()
        found = dict(conn.exec_driver_sql(recorded_sql("hub_applied_writes"), (keys, "crm")).all())
    ledger = [n for n in _plan_nodes(plan[0]["Plan"]) if n.get("Relation Name") == "hub_applied_writes"]
    assert ledger and all(n["Node Type"] in ("Index Scan", "Index Only Scan") and "idempotency_key" in n.get("Index Cond", "")
                          for n in ledger), plan
    assert found == {f"key-{g}": str(g) for g in range(1, 1001, 2)}
