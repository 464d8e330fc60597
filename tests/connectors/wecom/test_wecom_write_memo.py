"""The sinks' write memo in Redis is per database: a hub on a new or restored database
(whose outbox ids — and idempotency keys — start again), or a second hub sharing the Redis,
never takes another database's memo for its own write."""

from __future__ import annotations

from hub.connector import DictState
from hub.state import SqlState
from hub.store import Database


def _relation(sandbox) -> tuple[str, str]:
    ext, userid = sandbox.add_customer().split(":")
    return ext, userid


def test_the_same_key_on_two_databases_writes_twice_and_once_per_database(make_connector, sandbox, redis_conn, tmp_path):
    ext, userid = _relation(sandbox)
    payload = {"external_userid": ext, "userid": userid, "add": "汇流同步/回访"}
    first_db, second_db = (Database(f"sqlite:///{tmp_path}/{n}.db") for n in ("a", "b"))
    for database in (first_db, second_db):
        database.migrate()
    first = make_connector(cache=redis_conn, state=SqlState(first_db, "wecom_test"))
    first.write("tags", payload, idempotency_key="outbox:1")
    first.write("tags", payload, idempotency_key="outbox:1")  # a retry: the memo answers
    assert len(sandbox.effects("tags")) == 1
    # A fresh database, the same Redis: outbox id 1 again is a new write, not the old one.
    second = make_connector(cache=redis_conn, state=SqlState(second_db, "wecom_test"))
    second.write("tags", payload, idempotency_key="outbox:1")
    assert len(sandbox.effects("tags")) == 2
    # Another process on the first database shares its namespace (and so its memos).
    again = make_connector(cache=redis_conn, state=SqlState(first_db, "wecom_test"))
    assert again.memo_namespace == first.memo_namespace != second.memo_namespace
    again.write("tags", payload, idempotency_key="outbox:1")
    assert len(sandbox.effects("tags")) == 2


def test_state_setdefault_keeps_the_first_value(db):
    state = SqlState(db, "wecom_test")
    assert state.setdefault("k", "first") == "first"
    assert state.setdefault("k", "second") == "first" and state.get("k") == "first"
    plain = DictState()
    assert plain.setdefault("k", 1) == 1 and plain.setdefault("k", 2) == 1
