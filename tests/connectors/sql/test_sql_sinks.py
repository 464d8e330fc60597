"""Upserts by key, the idempotency ledger and error classes, on real databases."""

from __future__ import annotations

import threading

import pytest

from hub.connector import PermanentError, TransientError
from hub.testing import read_all


def test_insert_without_a_key_then_update_by_native_id(crm, customers_sink):
    connector = crm.connector(sinks={"customers": customers_sink})
    first = connector.write("customers", {"name": "王小明", "phone": "13912345678", "tier": "银卡"}, idempotency_key="out:1")
    assert first.created is True and first.native_id
    row = crm.customer(first.native_id)
    assert (row["name"], row["phone"], row["tier"]) == ("王小明", "13912345678", "银卡")

    second = connector.write("customers", {"tier": "金卡", "city": "杭州"}, idempotency_key="out:2", native_id=first.native_id)
    assert (second.native_id, second.created) == (first.native_id, False)
    row = crm.customer(first.native_id)
    assert (row["name"], row["tier"], row["city"]) == ("王小明", "金卡", "杭州")  # untouched columns kept
    assert crm.count("customers") == 1


def test_upsert_by_a_natural_key_column(crm):
    sink = {"table": "customers", "key": "member_no", "columns": ["name", "tier"]}
    connector = crm.connector(sinks={"members": sink})
    created = connector.write("members", {"member_no": "M-0001", "name": "李娜", "tier": "银卡"}, idempotency_key="k1")
    updated = connector.write("members", {"member_no": "M-0001", "name": "李娜", "tier": "钻石卡"}, idempotency_key="k2")
    assert (created.native_id, created.created) == ("M-0001", True)
    assert (updated.native_id, updated.created) == ("M-0001", False)
    assert crm.execute("SELECT member_no, tier FROM customers") == [("M-0001", "钻石卡")]


def test_updated_at_column_is_stamped_on_every_write_and_the_stream_sees_it(crm, customers_sink, customers_stream):
    (cid,) = crm.add_customers([{"name": "王伟", "updated_at": "2020-01-01 00:00:00"}])
    connector = crm.connector({"customers": customers_stream}, {"customers": customers_sink})
    _, cursor = read_all(connector, "customers")
    connector.write("customers", {"tier": "金卡"}, idempotency_key="k1", native_id=cid)
    records, _ = read_all(connector, "customers", cursor)
    assert [(r.native_id, r.data["tier"]) for r in records] == [(cid, "金卡")]
    assert str(crm.customer(cid)["updated_at"]) > "2020-01-01 00:00:00"


def test_a_column_not_listed_as_writable_is_a_permanent_error_naming_it(crm, customers_sink):
    connector = crm.connector(sinks={"customers": customers_sink})
    with pytest.raises(PermanentError) as info:
        connector.write("customers", {"name": "王伟", "is_deleted": 1}, idempotency_key="k1")
    assert "is_deleted" in info.value.message
    assert crm.count("customers") == 0


def test_same_idempotency_key_twice_has_one_effect(crm, customers_sink):
    connector = crm.connector(sinks={"customers": customers_sink})
    payload = {"name": "王小明", "tier": "银卡"}
    first = connector.write("customers", payload, idempotency_key="out:7")
    again = connector.write("customers", payload, idempotency_key="out:7")
    assert again.native_id == first.native_id and again.created is False
    assert crm.count("customers") == 1  # a keyless insert replayed did not add a row
    assert crm.count("hub_applied_writes") == 1


def test_a_late_replay_does_not_revert_a_newer_write(crm, customers_sink):
    (cid,) = crm.add_customers([{"name": "王伟", "updated_at": "2026-03-01 10:00:00"}])
    connector = crm.connector(sinks={"customers": customers_sink})
    connector.write("customers", {"tier": "金卡"}, idempotency_key="out:1", native_id=cid)
    connector.write("customers", {"tier": "钻石卡"}, idempotency_key="out:2", native_id=cid)
    connector.write("customers", {"tier": "金卡"}, idempotency_key="out:1", native_id=cid)  # retried delivery
    assert crm.customer(cid)["tier"] == "钻石卡"


def test_the_ledger_is_per_connector_instance(crm, customers_sink):
    a = crm.connector(sinks={"customers": customers_sink})
    b = crm.connector(sinks={"customers": customers_sink})
    b.instance = "crm_branch"
    a.write("customers", {"name": "甲"}, idempotency_key="out:1")
    b.write("customers", {"name": "乙"}, idempotency_key="out:1")
    assert crm.count("customers") == 2


def test_very_long_idempotency_keys_are_stored_as_digests(crm, customers_sink):
    connector = crm.connector(sinks={"customers": customers_sink})
    key = "outbox:" + "x" * 400
    first = connector.write("customers", {"name": "甲"}, idempotency_key=key)
    assert connector.write("customers", {"name": "甲"}, idempotency_key=key).native_id == first.native_id
    assert connector.write("customers", {"name": "乙"}, idempotency_key=key[:-1] + "y").native_id != first.native_id


def test_without_a_ledger_only_keyed_upserts_are_accepted(crm, customers_sink):
    connector = crm.connector(sinks={"customers": customers_sink}, idempotency_table=None)
    with pytest.raises(PermanentError) as info:
        connector.write("customers", {"name": "王伟"}, idempotency_key="k1")
    assert "idempotency_table" in info.value.message
    (cid,) = crm.add_customers([{"name": "王伟", "updated_at": "2026-03-01 10:00:00"}])
    connector.write("customers", {"tier": "金卡"}, idempotency_key="k2", native_id=cid)
    connector.write("customers", {"tier": "金卡"}, idempotency_key="k2", native_id=cid)
    assert crm.customer(cid)["tier"] == "金卡" and crm.count("customers") == 1
    assert "hub_applied_writes" not in _tables(crm)


def _tables(crm) -> set[str]:
    from sqlalchemy import inspect

    return set(inspect(crm.engine).get_table_names())


def test_integrity_errors_are_permanent(crm, customers_sink):
    connector = crm.connector(sinks={"customers": customers_sink})
    with pytest.raises(PermanentError) as info:
        connector.write("customers", {"name": None, "phone": "13912345678"}, idempotency_key="k1")
    assert not isinstance(info.value, TransientError)
    assert "13912345678" not in info.value.message  # no bound parameters (PII) in messages
    assert crm.count("hub_applied_writes") == 0  # the failed write was not recorded as applied
    connector.write("customers", {"name": "王伟"}, idempotency_key="k1")  # so a fixed retry applies
    assert crm.count("customers") == 1


def test_payload_key_contradicting_the_native_id_is_refused(crm, customers_sink):
    connector = crm.connector(sinks={"customers": customers_sink})
    with pytest.raises(PermanentError):
        connector.write("customers", {"id": 5, "name": "王伟"}, idempotency_key="k1", native_id="6")


def test_lists_are_written_as_json_text(crm):
    sink = {"table": "notes", "key": "note_id", "columns": ["body"]}
    crm.execute("CREATE UNIQUE INDEX notes_note_id ON notes (note_id)")
    connector = crm.connector(sinks={"notes": sink})
    connector.write("notes", {"note_id": 1, "body": ["高意向", "已加微信"]}, idempotency_key="k1")
    assert crm.execute("SELECT body FROM notes") == [('["高意向", "已加微信"]',)]


def test_connection_failures_are_transient():
    from connectors.sql.connector import SqlConnector

    raw = {
        "url": "postgresql://crm:pw-not-shown@127.0.0.1:9/crm",
        "sinks": {"rows": {"table": "customers", "key": "id", "columns": ["name"]}},
        "connect_timeout": 2,
    }
    connector = SqlConnector("crm_main", SqlConnector.validate_config(raw))
    with pytest.raises(TransientError) as info:
        connector.write("rows", {"name": "王伟"}, idempotency_key="k1")
    assert "pw-not-shown" not in str(info.value)


def test_a_concurrent_delivery_of_the_same_key_returns_the_first_writers_row(crm, customers_sink):
    """Another hub worker has written the ledger row for ``out:9`` but not committed yet.
    Our write blocks on it, then sees the key taken: its own insert is rolled back and the
    other worker's native id is returned — still one effect."""
    if crm.backend != "postgresql":
        pytest.skip("row-lock waits are observed through PostgreSQL's pg_stat_activity")
    from datetime import datetime, timezone

    from connectors.sql.sinks import ledger_table

    connector = crm.connector(sinks={"customers": customers_sink})
    connector.write("customers", {"name": "预热"}, idempotency_key="warm-up")  # creates the ledger
    (theirs,) = crm.add_customers([{"name": "王伟", "updated_at": "2026-03-01 10:00:00"}])
    ledger = ledger_table("hub_applied_writes")
    other = crm.engine.connect()
    transaction = other.begin()
    other.execute(
        ledger.insert().values(
            instance="crm_main", idempotency_key="out:9", sink="customers", native_id=theirs, applied_at=datetime.now(timezone.utc)
        )
    )
    outcome: dict = {}

    def deliver() -> None:
        try:
            outcome["result"] = connector.write("customers", {"name": "并发写入"}, idempotency_key="out:9")
        except Exception as exc:  # reported below
            outcome["error"] = exc

    worker = threading.Thread(target=deliver)
    worker.start()
    for _ in range(200):  # until our write waits on the other worker's uncommitted key
        waiting = crm.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
        if waiting[0][0]:
            break
        threading.Event().wait(0.05)
    transaction.commit()
    other.close()
    worker.join(30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].native_id == theirs
    assert crm.count("customers") == 2  # the warm-up row and theirs; our insert was rolled back
