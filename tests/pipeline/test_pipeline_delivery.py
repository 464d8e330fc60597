"""Delivery failures: retries with backoff, rate limits, dead letters and replay."""


from click.testing import CliRunner
from sqlalchemy import select, update

from hub.pipeline.deliver import deliver, due_outbox_ids
from hub.pipeline.inline import sync_inline
from hub.store.models import AuditEntry, OutboxRow


def rows(db):
    with db.session() as s:
        return list(s.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def make_due(db):
    """Let scheduled retries come due now (the backoff itself is tested elsewhere)."""
    with db.session() as s:
        s.execute(update(OutboxRow).where(OutboxRow.status == "pending").values(next_attempt_at=OutboxRow.created_at))


def drain(runtime, rounds=10):
    for _ in range(rounds):
        make_due(runtime.db)
        ids = due_outbox_ids(runtime.db)
        if not ids:
            return
        deliver(runtime, ids)


def test_transient_errors_and_throttling_are_retried_until_delivered(make_hub):
    hub = make_hub()
    hub.a.add_records("contacts", 3)
    hub.b.fail_writes(500, times=2)
    hub.b.fail_writes(429, times=1, retry_after="1")
    out = sync_inline(hub.runtime, "crm_a", "contacts")
    assert out["delivered"] == 0 and out["retrying"] == 3, out
    pending = rows(hub.runtime.db)
    assert all(r.status == "pending" and r.attempts == 1 and r.last_error for r in pending)
    assert any("HTTP 429" in r.last_error for r in pending)
    throttled = next(r for r in pending if "HTTP 429" in r.last_error)
    assert (throttled.next_attempt_at - throttled.created_at).total_seconds() >= 1  # Retry-After honoured
    drain(hub.runtime)
    assert [r.status for r in rows(hub.runtime.db)] == ["delivered"] * 3
    assert len(hub.b.contacts) == 3 and len(hub.b.effects("contacts")) == 3


def test_permanent_errors_go_to_dead_letters_and_replay_delivers(make_hub):
    from hub.cli import cli

    hub = make_hub()
    hub.a.add_records("contacts", 2)
    hub.b.fail_writes(422, times=2)
    out = sync_inline(hub.runtime, "crm_a", "contacts")
    assert out["dead"] == 2, out
    dead = rows(hub.runtime.db)
    assert all(r.status == "dead" and "HTTP 422" in r.last_error for r in dead)

    runner = CliRunner()
    obj = {"config_file": hub.runtime.config.source_file, "runtime": hub.runtime}
    listed = runner.invoke(cli, ["dlq", "list"], obj=obj)
    assert listed.exit_code == 0 and f"outbox:{dead[0].id}" in listed.output and "HTTP 422" in listed.output

    replayed = runner.invoke(cli, ["dlq", "replay", "--all", "--inline"], obj=obj)
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 2 deliveries" in replayed.output
    assert [r.status for r in rows(hub.runtime.db)] == ["delivered"] * 2
    assert len(hub.b.contacts) == 2
    with hub.runtime.db.session() as s:
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.target == f"outbox:{dead[0].id}")) == "dlq.replay"

    again = runner.invoke(cli, ["dlq", "replay", f"outbox:{dead[0].id}"], obj=obj)
    assert again.exit_code == 2 and "not dead letters" in again.output


def test_retry_budget_is_finite(make_hub):
    hub = make_hub()  # max_attempts: 3
    hub.a.add_records("contacts", 1)
    hub.b.fail_writes(503, times=10)
    sync_inline(hub.runtime, "crm_a", "contacts")
    drain(hub.runtime)
    (row,) = rows(hub.runtime.db)
    assert row.status == "dead" and row.attempts == 3
    assert "gave up after 3 attempts" in row.last_error


def test_token_bucket_defers_without_spending_attempts(make_hub):
    from hub_example.connector import ExampleConnector

    from hub.connector import RateLimit

    hub = make_hub()
    ExampleConnector.rate_limits, saved = (RateLimit(calls=2, per_seconds=3600),), ExampleConnector.rate_limits
    try:
        hub.a.add_records("contacts", 5)
        out = sync_inline(hub.runtime, "crm_a", "contacts")
    finally:
        ExampleConnector.rate_limits = saved
    assert out["delivered"] == 2 and out["retrying"] == 3, out
    deferred = [r for r in rows(hub.runtime.db) if r.status == "pending"]
    assert all(r.attempts == 0 and r.last_error is None for r in deferred)


def test_a_stuck_send_is_handed_back_by_the_reconciler(make_hub):
    from hub.pipeline.reconcile import sweep
    from hub.store.types import utcnow
    from datetime import timedelta

    hub = make_hub()
    hub.a.add_records("contacts", 1)
    hub.b.fail_writes(500)
    sync_inline(hub.runtime, "crm_a", "contacts")
    with hub.runtime.db.session() as s:  # as if a worker died between claim and answer
        s.execute(update(OutboxRow).values(status="sending", claimed_at=utcnow() - timedelta(minutes=10), next_attempt_at=utcnow() - timedelta(minutes=10)))
    found = sweep(hub.runtime.db, threshold=60)
    assert found.reclaimed == 1 and len(found.outbox_ids) == 1
    deliver(hub.runtime, found.outbox_ids)
    assert rows(hub.runtime.db)[0].status == "delivered"


def test_reconciler_requeues_rows_whose_job_a_killed_worker_left_started(make_hub, redis_conn):
    """A SIGKILLed worker leaves its job "started" under the batch's stable id; the
    reconciler must still get the rows delivered (under a fresh job id)."""
    from datetime import timedelta

    from rq.job import JobStatus

    from hub.pipeline.jobs import _batch_id, enqueue_deliver, reconcile_job
    from hub.queue import get_queue, run_worker
    from hub.store.types import utcnow

    hub = make_hub()
    hub.a.add_records("contacts", 3)
    hub.b.fail_writes(500, times=3)
    sync_inline(hub.runtime, "crm_a", "contacts")
    ids = [r.id for r in rows(hub.runtime.db)]
    enqueue_deliver(hub.runtime, ids)
    stuck = get_queue(redis_conn).fetch_job(_batch_id("deliver", sorted(ids)))
    stuck.set_status(JobStatus.STARTED)
    get_queue(redis_conn).remove(stuck)
    with hub.runtime.db.session() as s:
        s.execute(update(OutboxRow).values(next_attempt_at=utcnow() - timedelta(minutes=10)))
    reconcile_job()
    assert get_queue(redis_conn).count == 1 and stuck.id not in get_queue(redis_conn).job_ids
    run_worker(redis_conn, burst=True)
    assert [r.status for r in rows(hub.runtime.db)] == ["delivered"] * 3
