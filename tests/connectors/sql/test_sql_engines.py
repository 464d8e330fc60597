"""One engine per database URL per process (``connectors.sql.db.shared_engine``).

The hub builds a connector object per job — per delivered batch, per pull, per push. Each
object used to build an engine of its own: a new connection to the remote database for
every delivered batch. These tests check that the objects share one pool, and that the
pool is safe across ``fork`` (RQ's ``--fork`` work-horses)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from sqlalchemy import event, text


def test_connector_objects_of_one_url_share_one_pool(crm, customers_sink):
    first = crm.connector(sinks={"customers": customers_sink})
    first.sink("customers").write_many([({"name": "预热"}, "warm", None)])  # the ledger exists
    engine = first.engine
    engine.dispose()  # an empty pool: every connection from here on is counted
    connects = []

    def count(*_args) -> None:
        connects.append(1)

    event.listen(engine, "connect", count)
    try:
        for job in range(5):  # what five delivery jobs do: a new connector object each
            connector = crm.connector(sinks={"customers": customers_sink})
            results = connector.sink("customers").write_many([({"name": f"客户{job}"}, f"job-{job}", None)])
            assert results[0].created
            assert connector.engine is engine
    finally:
        event.remove(engine, "connect", count)
    assert len(connects) == 1
    assert crm.count("customers") == 6


def test_a_forked_child_opens_its_own_connections_and_leaves_the_parents_alone(crm, customers_stream):
    if crm.backend != "postgresql":
        pytest.skip("connections are told apart by PostgreSQL's pg_backend_pid()")
    connector = crm.connector({"customers": customers_stream})
    with connector.engine.connect() as conn:
        parent_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()  # back in the pool after this
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        code = 1
        try:
            os.close(read)
            with crm.connector({"customers": customers_stream}).engine.connect() as conn:
                os.write(write, str(conn.execute(text("SELECT pg_backend_pid()")).scalar_one()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    child_pid = int(os.read(read, 32) or b"0")
    os.close(read)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child_pid and child_pid != parent_pid
    with connector.engine.connect() as conn:  # the parent's pooled connection still works
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == parent_pid


def test_a_child_forked_while_another_thread_makes_an_engine_does_not_hang(crm, customers_stream):
    """RQ's ``--fork`` may fork while the parent's ticker thread is inside ``shared_engine``:
    the child must not inherit that lock held."""
    from connectors.sql import db as sqldb

    sqldb._SHARED_LOCK.acquire()  # as another thread of the parent would hold it, mid-call
    try:
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through its exit code
            code = 1
            try:
                crm.connector({"customers": customers_stream}).engine  # noqa: B018 - must not block
                code = 0
            finally:
                os._exit(code)
    finally:
        sqldb._SHARED_LOCK.release()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        raise AssertionError("the forked child hung on the lock it inherited")
    assert os.waitstatus_to_exitcode(status) == 0
