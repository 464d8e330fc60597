"""The shipped mappings fit what the connector reads from and writes to the sandbox CRM."""

from __future__ import annotations

from pathlib import Path

from hub.connector import DictState
from hub.mapping import canonical_view, load_mapping
from hub.testing import read_all

from connectors.sql.connector import SqlConnector
from connectors.sql.sandbox import SqlSandbox

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"


def _connector(sandbox: SqlSandbox) -> SqlConnector:
    return SqlConnector("crm_main", SqlConnector.validate_config(sandbox.config_for("")), state=DictState())


def test_inbound_mapping_turns_sandbox_rows_into_contacts():
    sandbox = SqlSandbox(seed_count=2)
    connector = _connector(sandbox)
    sandbox.soft_delete("2")
    records, _ = read_all(connector, "rows")
    mapping = load_mapping(MAPPINGS / "sql.rows.yaml", instance="crm_main")
    results, rejected = mapping.apply_many([r.data for r in records])
    assert rejected == []
    first, second = results
    assert ("crm_id", "crm_main:1") in first.identities
    assert any(kind == "phone" and value.startswith("+861") for kind, value in first.identities)
    assert first.attributes["name"] and first.attributes["tier"] and first.attributes["city"]
    assert first.source_updated_at is not None and not first.deleted
    assert second.deleted is True


def test_outbound_mapping_yields_a_payload_the_sink_accepts():
    sandbox = SqlSandbox(seed_count=1)
    connector = _connector(sandbox)
    mapping = load_mapping(MAPPINGS / "sql.rows.out.yaml", instance="crm_main")
    view = canonical_view(
        42,
        attributes={"name": "王小明", "tier": "金卡", "city": "杭州", "stage": "已加微"},
        identities={"phone": ["+8613912345678"]},
        native_id="1",
    )
    payload = mapping.apply(view)
    result = connector.write("rows", payload, idempotency_key="outbox:1", native_id=view["native_id"])
    assert result.native_id == "1"
    row = sandbox.row("1")
    assert (row["name"], row["phone"], row["tier"], row["city"]) == ("王小明", "+8613912345678", "金卡", "杭州")


def test_inbound_mapping_reads_a_stage_column_where_the_table_has_one():
    """The sales stage (销售阶段) comes from a ``stage`` column when the table has it (the
    demo's CRM adds one); the sandbox's table has none and its rows set no stage."""
    sandbox = SqlSandbox(seed_count=2)
    connector = _connector(sandbox)
    mapping = load_mapping(MAPPINGS / "sql.rows.yaml", instance="crm_main")
    records, _ = read_all(connector, "rows")
    results, _ = mapping.apply_many([r.data for r in records])
    assert all("stage" not in r.attributes for r in results)
    sandbox.execute("ALTER TABLE customers ADD COLUMN stage TEXT")
    sandbox.execute("UPDATE customers SET stage = ' 要求试用 ' WHERE id = 1")
    records, _ = read_all(_connector(sandbox), "rows")
    results, rejected = mapping.apply_many([r.data for r in records])
    assert rejected == [] and [r.attributes.get("stage") for r in results] == ["要求试用", None]
