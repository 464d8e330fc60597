"""Incremental reads against real SQLite / PostgreSQL / MariaDB tables and queries."""

from __future__ import annotations

import json
from datetime import timezone

import pytest

from hub.connector import PermanentError, TransientError
from hub.testing import read_all

NAMES = ["王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "黄艳", "赵勇", "吴杰", "周芳"]


def batches(connector, stream, cursor=None):
    out = []
    for batch in connector.stream(stream).read(cursor):
        cursor = json.loads(json.dumps(batch.cursor))  # what the hub stores and gives back
        out.append(([r.native_id for r in batch.records], cursor))
    return out


def test_many_rows_sharing_one_timestamp_cross_page_boundaries_exactly(crm, customers_stream):
    ids = crm.add_customers([{"name": NAMES[i % 10], "updated_at": "2026-03-01 10:00:00"} for i in range(23)])
    connector = crm.connector({"customers": customers_stream}, batch_size=5)

    pages = batches(connector, "customers")
    assert [len(p) for p, _ in pages] == [5, 5, 5, 5, 3]
    assert [i for p, _ in pages for i in p] == ids  # ordered by (updated_at, id), none twice

    # Resuming from any page's cursor returns exactly the rest, although every row
    # shares the same updated_at.
    for n, (_page, cursor) in enumerate(pages):
        rest, _ = read_all(connector, "customers", cursor)
        assert [r.native_id for r in rest] == ids[(n + 1) * 5 :]

    later = crm.add_customers([{"name": "新客户", "updated_at": "2026-03-01 10:00:00"} for _ in range(3)])
    records, _ = read_all(connector, "customers", pages[-1][1])
    assert [r.native_id for r in records] == later


def test_order_follows_the_cursor_column_not_the_key(crm, customers_stream):
    ids = crm.add_customers(
        [
            {"name": "甲", "updated_at": "2026-03-01 10:00:03"},
            {"name": "乙", "updated_at": "2026-03-01 10:00:01"},
            {"name": "丙", "updated_at": "2026-03-01 10:00:02"},
        ]
    )
    connector = crm.connector({"customers": customers_stream}, batch_size=2)
    records, cursor = read_all(connector, "customers")
    assert [r.native_id for r in records] == [ids[1], ids[2], ids[0]]
    crm.execute("UPDATE customers SET tier = '金卡', updated_at = :t WHERE id = :i", {"t": crm.ts("2026-03-01 10:00:05"), "i": int(ids[1])})
    again, _ = read_all(connector, "customers", cursor)
    assert [(r.native_id, r.data["tier"]) for r in again] == [(ids[1], "金卡")]


def test_sub_second_timestamps_round_trip_through_the_json_cursor(crm, customers_stream):
    ids = crm.add_customers(
        [
            {"name": "甲", "updated_at": "2026-03-01 10:00:00.000001"},
            {"name": "乙", "updated_at": "2026-03-01 10:00:00.000002"},
        ]
    )
    connector = crm.connector({"customers": customers_stream}, batch_size=1)
    pages = batches(connector, "customers")
    assert [p for p, _ in pages] == [[ids[0]], [ids[1]]]
    rest, _ = read_all(connector, "customers", pages[0][1])
    assert [r.native_id for r in rest] == [ids[1]]
    assert read_all(connector, "customers", pages[1][1])[0] == []


def test_integer_id_cursor(crm):
    crm.execute(
        "INSERT INTO notes (note_id, body) VALUES (:i, :b)",
        [{"i": i, "b": f"第{i}次回访记录"} for i in (3, 1, 2, 10)],
    )
    stream = {"table": "notes", "key": "note_id", "cursor_column": "note_id", "cursor_type": "integer"}
    connector = crm.connector({"notes": stream}, batch_size=3)
    records, cursor = read_all(connector, "notes")
    assert [r.native_id for r in records] == ["1", "2", "3", "10"]
    assert cursor == {"cursor": 10, "key": 10}
    assert records[0].data == {"note_id": 1, "body": "第1次回访记录", "updated_at": None}
    assert records[0].updated_at is None
    crm.execute("INSERT INTO notes (note_id, body) VALUES (11, '新记录'), (4, '补录的旧记录')")
    again, _ = read_all(connector, "notes", cursor)
    assert [r.native_id for r in again] == ["11"]  # an id cursor only sees higher ids


def test_query_stream_with_colons_and_percent_signs_in_the_sql(crm):
    ids = crm.add_customers(
        [
            {"name": "王伟", "updated_at": "2026-03-01 10:00:00"},
            {"name": "李娜", "updated_at": "2026-03-01 10:00:00"},
            {"name": "张敏", "updated_at": "2026-03-01 10:00:01"},
        ]
    )
    crm.execute(
        "INSERT INTO member_cards (card_no, customer_id, points) VALUES (:c, :i, :p)",
        [{"c": "VIP-001", "i": int(ids[0]), "p": 1200}, {"c": "VIP-002", "i": int(ids[2]), "p": 80}],
    )
    query = """
        SELECT c.id AS member_id, c.name, m.card_no, m.points, c.updated_at
        FROM customers c JOIN member_cards m ON m.customer_id = c.id
        WHERE c.city <> 'x :y' AND m.card_no LIKE 'VIP-%' ;
    """
    stream = {"query": query, "key": "member_id", "cursor_column": "updated_at"}
    connector = crm.connector({"members": stream}, batch_size=1)
    connector.check()
    records, cursor = read_all(connector, "members")
    assert [r.native_id for r in records] == [ids[0], ids[2]]
    assert records[0].data["card_no"] == "VIP-001" and records[0].data["points"] == 1200
    crm.execute("UPDATE member_cards SET points = 1500 WHERE card_no = 'VIP-001'")  # no updated_at bump
    assert read_all(connector, "members", cursor)[0] == []
    crm.execute("UPDATE customers SET updated_at = :t WHERE id = :i", {"t": crm.ts("2026-03-02 08:00:00"), "i": int(ids[0])})
    again, _ = read_all(connector, "members", cursor)
    assert [(r.native_id, r.data["points"]) for r in again] == [(ids[0], 1500)]


def test_columns_limits_what_is_read(crm, customers_stream):
    crm.add_customers([{"name": "王伟", "phone": "13912345678", "updated_at": "2026-03-01 10:00:00"}])
    connector = crm.connector({"customers": {**customers_stream, "columns": ["name", "tier"]}})
    (record,), _ = read_all(connector, "customers")
    assert set(record.data) == {"id", "updated_at", "is_deleted", "name", "tier"}


def test_soft_deleted_rows_come_back_as_deleted_records(crm, customers_stream):
    ids = crm.add_customers([{"name": n, "updated_at": "2026-03-01 10:00:00"} for n in ("王伟", "李娜")])
    connector = crm.connector({"customers": customers_stream})
    records, cursor = read_all(connector, "customers")
    assert [r.deleted for r in records] == [False, False]
    crm.execute("UPDATE customers SET is_deleted = :d, updated_at = :t WHERE id = :i", {"d": True, "t": crm.ts("2026-03-01 11:00:00"), "i": int(ids[1])})
    (record,), _ = read_all(connector, "customers", cursor)
    assert record.native_id == ids[1] and record.deleted is True


def test_record_timestamps_are_aware_in_the_configured_zone(crm, customers_stream):
    crm.add_customers([{"name": "王伟", "updated_at": "2026-03-01 10:00:00"}])
    connector = crm.connector({"customers": customers_stream}, timezone="Asia/Shanghai")
    (record,), cursor = read_all(connector, "customers")
    assert record.updated_at.astimezone(timezone.utc).isoformat() == "2026-03-01T02:00:00+00:00"
    assert record.data["updated_at"].startswith("2026-03-01")
    json.dumps(record.data, ensure_ascii=False)  # everything in a record is JSON


def test_overlap_rereads_a_trailing_window_for_late_commits(crm, customers_stream):
    crm.add_customers([{"name": "王伟", "updated_at": "2026-03-01 10:00:10"}])
    exact = crm.connector({"customers": customers_stream})
    overlapping = crm.connector({"customers": {**customers_stream, "overlap_seconds": 60}})
    _, cursor = read_all(exact, "customers")
    # A transaction that stamped its row at 10:00:05 commits only now, behind the cursor.
    (late,) = crm.add_customers([{"name": "迟到的客户", "updated_at": "2026-03-01 10:00:05"}])
    assert read_all(exact, "customers", cursor)[0] == []
    records, cursor2 = read_all(overlapping, "customers", cursor)
    assert late in [r.native_id for r in records]
    assert cursor2 == cursor  # the window does not move the cursor backwards
    assert all(r.native_id for r in records)


def test_rows_with_a_null_cursor_are_not_read(crm):
    crm.execute("INSERT INTO notes (note_id, body, updated_at) VALUES (1, 'a', NULL), (2, 'b', :t)", {"t": crm.ts("2026-03-01 10:00:00")})
    connector = crm.connector({"notes": {"table": "notes", "key": "note_id", "cursor_column": "updated_at"}})
    records, _ = read_all(connector, "notes")
    assert [r.native_id for r in records] == ["2"]


def test_empty_source_yields_nothing(crm, customers_stream):
    connector = crm.connector({"customers": customers_stream})
    assert read_all(connector, "customers") == ([], None)


def test_a_missing_table_is_a_permanent_error(crm, customers_stream):
    connector = crm.connector({"customers": {**customers_stream, "table": "no_such_table"}})
    with pytest.raises(PermanentError) as info:
        read_all(connector, "customers")
    assert not isinstance(info.value, TransientError)
    assert "customers" in info.value.message  # names the stream


def test_an_unreachable_server_is_transient(tmp_path):
    from connectors.sql.connector import SqlConnector

    raw = {
        "url": "postgresql://crm:pw-not-shown@127.0.0.1:9/crm",
        "streams": {"rows": {"table": "customers", "key": "id", "cursor_column": "updated_at"}},
        "connect_timeout": 2,
    }
    connector = SqlConnector("crm_main", SqlConnector.validate_config(raw))
    with pytest.raises(TransientError) as info:
        read_all(connector, "rows")
    assert "pw-not-shown" not in str(info.value)
    connector.close()
