"""The sandbox is a real SQLite CRM: the connector reads and writes it unchanged."""

from __future__ import annotations

import os

from hub.connector import DictState
from hub.testing import read_all

from connectors.sql.connector import SqlConnector
from connectors.sql.sandbox import SqlSandbox


def _connector(sandbox: SqlSandbox) -> SqlConnector:
    config = SqlConnector.validate_config(sandbox.config_for("http://unused"))
    return SqlConnector("crm_demo", config, state=DictState())


def test_sandbox_serves_no_http_and_holds_realistic_customers():
    sandbox = SqlSandbox()
    assert sandbox.blueprint() is None
    records, _ = read_all(_connector(sandbox), "rows")
    assert len(records) == 5  # seeded
    first = records[0].data
    assert len(first["phone"]) == 11 and first["phone"].startswith("1")
    assert first["tier"] in {"普通会员", "银卡", "金卡", "钻石卡"} and first["city"]
    assert records[0].updated_at is not None and records[0].updated_at.tzinfo is not None


def test_effects_list_only_changes_made_through_the_sink():
    sandbox = SqlSandbox()
    connector = _connector(sandbox)
    (cid,) = sandbox.add_records("rows", 1)
    sandbox.update_record("rows", cid)
    assert sandbox.effects("rows") == []
    connector.write("rows", {"tier": "金卡"}, idempotency_key="k1", native_id=cid)
    (effect,) = sandbox.effects("rows")
    assert (effect["customer_id"], effect["op"], effect["tier"]) == (int(cid), "update", "金卡")


def test_soft_delete_reaches_the_stream_and_new_rows_follow_sink_writes():
    sandbox = SqlSandbox(seed_count=0)
    connector = _connector(sandbox)
    (cid,) = sandbox.add_records("rows", 1)
    _, cursor = read_all(connector, "rows")
    written = connector.write("rows", sandbox.sample_payload("rows"), idempotency_key="k1")
    sandbox.soft_delete(cid)
    later = sandbox.add_records("rows", 2)
    records, _ = read_all(connector, "rows", cursor)
    by_id = {r.native_id: r for r in records}
    assert set(by_id) == {written.native_id, cid, *later}  # the CRM clock never runs behind a sink write
    assert by_id[cid].deleted is True and not by_id[later[0]].deleted


def test_the_database_file_goes_away_with_the_sandbox():
    sandbox = SqlSandbox()
    path = sandbox.path
    assert os.path.exists(path)
    del sandbox
    assert not os.path.exists(path)
