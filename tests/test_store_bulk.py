"""The store's bulk helpers (``hub.store.upsert`` / ``hub.contacts.bulk``) on the selected
backend: on PostgreSQL they go set-based (``hub.store.pgbulk``: ``INSERT … SELECT FROM
unnest(arrays)``), on SQLite through executemany — with the same results either way."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import event as sa_event, select

from hub.contacts.bulk import insert_ignore_many, upsert_many
from hub.identity.merge import create_contacts
from hub.store.models import Contact, ContactAttribute, InboxRow, Link
from hub.store.upsert import column_in, insert_ignore, upsert
from hub.testing.store import truncate

T = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


def inbox_row(key: str, **extra) -> dict:
    return {"connector": "crm", "stream": "rows", "native_id": key, "dedupe_key": key, "payload": {"k": key}, **extra}


def test_insert_ignore_returns_only_new_rows_and_fills_python_defaults(db):
    with db.session() as s:
        got = insert_ignore(s, InboxRow, [inbox_row("a"), inbox_row("b")], ["connector", "stream", "dedupe_key"],
                            returning=[InboxRow.id, InboxRow.dedupe_key])
        again = insert_ignore(s, InboxRow, [inbox_row("b"), inbox_row("c")], ["connector", "stream", "dedupe_key"],
                              returning=[InboxRow.dedupe_key])
    assert sorted(r[1] for r in got) == ["a", "b"] and [r[0] for r in again] == ["c"]
    with db.session() as s:
        rows = s.execute(select(InboxRow).order_by(InboxRow.dedupe_key)).scalars().all()
        assert [(r.status, r.attempts, r.deleted, r.payload) for r in rows] == [("pending", 0, False, {"k": k}) for k in "abc"]
        assert all(r.received_at.tzinfo is not None and abs(r.received_at - datetime.now(timezone.utc)) < timedelta(minutes=5)
                   for r in rows)


def test_values_round_trip_as_through_the_orm(db):
    """JSON of every shape (None stays JSON null), Chinese text, aware timestamps in UTC."""
    values = [None, {"名字": "王伟", "tags": ["私域", 1, None]}, [1, 2], "文本", 3.5, True]
    with db.session() as s:
        (cid,) = create_contacts(s, 1)
        upsert_many(s, ContactAttribute, [
            {"contact_id": cid, "name": f"a{i}", "value": v, "connector": "crm",
             "source_ts": T.astimezone(timezone(timedelta(hours=8))), "updated_at": T}
            for i, v in enumerate(values)], keys=("contact_id", "name"), update=("value",))
    with db.session() as s:
        rows = s.execute(select(ContactAttribute.name, ContactAttribute.value, ContactAttribute.source_ts)
                         .where(ContactAttribute.contact_id == cid).order_by(ContactAttribute.name)).all()
    assert [r.value for r in rows] == values
    assert all(r.source_ts == T and r.source_ts.utcoffset() == timedelta(0) for r in rows)


def test_upsert_overwrites_only_the_named_columns(db):
    with db.session() as s:
        (cid,) = create_contacts(s, 1)
        link = {"connector": "crm", "stream": "rows", "native_id": "1", "contact_id": cid, "state": "active",
                "last_read_hash": "r1", "last_written_hash": "w1"}
        upsert(s, Link, [link], ["connector", "stream", "native_id"], ["last_read_hash"])
        upsert(s, Link, [link | {"last_read_hash": "r2", "last_written_hash": "w2"}], ["connector", "stream", "native_id"],
               ["last_read_hash"])
    with db.session() as s:
        assert s.execute(select(Link.last_read_hash, Link.last_written_hash)).one() == ("r2", "w1")


def test_a_naive_timestamp_is_refused_as_by_the_orm(db):
    with pytest.raises(Exception, match="naive datetime"):
        with db.session() as s:
            insert_ignore(s, InboxRow, [inbox_row("x", source_updated_at=datetime(2025, 1, 1))],
                          ["connector", "stream", "dedupe_key"])


def test_lookups_never_match_a_truncated_value(db):
    """The array casts drop varchar lengths: a longer value must not match a stored prefix."""
    with db.session() as s:
        (cid,) = create_contacts(s, 1)
        upsert(s, Link, [{"connector": "crm", "stream": "rows", "native_id": "n" * 255, "contact_id": cid}],
               ["connector", "stream", "native_id"])
    with db.session() as s:
        assert s.execute(select(Link.id).where(column_in(s, Link.native_id, ["n" * 300]))).all() == []
        assert len(s.execute(select(Link.id).where(column_in(s, Link.native_id, ["n" * 255, "x"]))).all()) == 1


def test_the_statement_does_not_grow_with_the_batch(db):
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        if "inbox" in statement and statement.lstrip().upper().startswith("INSERT"):
            statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", record)
    try:
        for size in (3, 700):
            with db.session() as s:
                insert_ignore(s, InboxRow, [inbox_row(f"{size}-{i}") for i in range(size)],
                              ["connector", "stream", "dedupe_key"], returning=[InboxRow.id])
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", record)
    with db.session() as s:
        assert len(s.execute(select(InboxRow.id)).all()) == 703
    if db.dialect == "postgresql":
        assert len(statements) == 2 and statements[0] == statements[1] and "unnest" in statements[0]


def test_contacts_are_created_in_one_statement_with_ascending_ids(db):
    with db.session() as s:
        ids = create_contacts(s, 250)
    assert ids == sorted(ids) and len(set(ids)) == 250
    with db.session() as s:
        assert len(s.execute(select(Contact.id).where(column_in(s, Contact.id, ids))).all()) == 250


batches = st.lists(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3)), max_size=8), min_size=1, max_size=5)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches)
def test_claims_keep_the_first_writer_and_upserts_the_last(db, batches):
    """``insert_ignore_many``: a key keeps the value of the first batch that claimed it;
    ``upsert_many`` (distinct keys per batch): the value of the last — on both backends."""
    truncate(db)
    with db.session() as s:
        (cid,) = create_contacts(s, 1)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for batch in batches:
        distinct = {f"k{k}": v for k, v in batch}
        with db.session() as s:
            insert_ignore_many(s, InboxRow, [inbox_row(k, attempts=v) for k, v in batch],
                               keys=("connector", "stream", "dedupe_key"))
            upsert_many(s, ContactAttribute, [{"contact_id": cid, "name": k, "value": v, "connector": "crm"}
                                              for k, v in distinct.items()],
                        keys=("contact_id", "name"), update=("value",))
        for k, v in batch:
            first.setdefault(str(k), v)
        last.update(distinct)
    with db.session() as s:
        assert dict(s.execute(select(InboxRow.dedupe_key, InboxRow.attempts)).all()) == first
        assert dict(s.execute(select(ContactAttribute.name, ContactAttribute.value)).all()) == last


def test_display_names_follow_the_name_attribute_in_one_update(db):
    from hub.contacts.attributes import write_attributes
    from hub.contacts.policy import AttrValue

    with db.session() as s:
        ids = create_contacts(s, 3)
        created = {cid: at for cid, at in s.execute(select(Contact.id, Contact.updated_at).where(column_in(s, Contact.id, ids)))}
    updates: list[str] = []

    def record(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE") and "contacts" in statement.split("SET")[0]:
            updates.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.session() as s:
            write_attributes(s, {(cid, "name"): AttrValue(f"客户{i}" * 50, "crm", T) for i, cid in enumerate(ids)}
                             | {(ids[0], "city"): AttrValue("杭州", "crm", T)})
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", record)
    with db.session() as s:
        got = {cid: (name, at) for cid, name, at in s.execute(select(Contact.id, Contact.display_name, Contact.updated_at)
                                                               .where(column_in(s, Contact.id, ids)))}
    assert {cid: name for cid, (name, _) in got.items()} == {cid: (f"客户{i}" * 50)[:200] for i, cid in enumerate(ids)}
    assert all(at >= created[cid] for cid, (_, at) in got.items())
    if db.dialect == "postgresql":
        assert len(updates) == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_jsonable_equals_the_json_round_trip(value):
    """``jsonable`` skips the round trip for scalars: the result must be the round trip's."""
    import json

    from hub.pipeline.hashing import canonical_json, jsonable

    expected = json.loads(canonical_json(value))
    got = jsonable(value)
    assert got == expected and type(got) is type(expected)
