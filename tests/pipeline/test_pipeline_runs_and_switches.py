"""Runs record webhooks and deliveries (as bursts), and a connector switched off in the ops
UI gets no pulls and no writes until it is switched back on — without a restart."""

from __future__ import annotations

import time

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from hub.pipeline.inline import run_inline, sync_inline
from hub.pipeline.pull import SwitchedOff, pull
from hub.pipeline.runs import burst, flush_webhook_tallies
from hub.pipeline.scheduler import due_pulls
from hub.pipeline.switches import deliverable, is_switched_off, set_switch, switched_off
from hub.queue import get_queue
from hub.store.models import AuditEntry, OutboxRow, Run
from hub.store.types import utcnow
from hub.web import create_app


def runs(db, kind: str, connector: str | None = None) -> list[Run]:
    with db.session() as s:
        stmt = select(Run).where(Run.kind == kind).order_by(Run.id)
        if connector:
            stmt = stmt.where(Run.connector == connector)
        return list(s.scalars(stmt))


def test_deliveries_are_recorded_per_sink_with_counts_and_the_last_error(make_hub):
    hub = make_hub()
    hub.a.add_records("contacts", 3)
    hub.b.fail_writes(422, times=2)
    out = sync_inline(hub.runtime, "crm_a", "contacts")
    assert out["dead"] == 2 and out["delivered"] == 1, out
    (run,) = runs(hub.runtime.db, "deliver")
    assert (run.connector, run.stream) == ("crm_b", "contacts")
    assert run.counts == {"delivered": 1, "dead": 2}
    assert run.status == "succeeded" and "HTTP 422" in run.error and run.finished_at is not None

    # the next sweep within the burst window joins the same run; a sweep where nothing got
    # through is a failed run (once the window has passed)
    hub.a.add_records("contacts", 1)
    hub.b.fail_writes(500, times=1)
    sync_inline(hub.runtime, "crm_a", "contacts")
    (run,) = runs(hub.runtime.db, "deliver")
    assert run.counts == {"delivered": 1, "dead": 2, "retrying": 1}
    with hub.runtime.db.session() as s:
        late = burst(s, "crm_b", "deliver", "contacts", window=0, retrying=1, error="HTTP 503")
    assert late.id != run.id and late.status == "failed"


def test_rows_that_were_not_due_are_not_counted(make_hub):
    hub = make_hub()
    hub.a.add_records("contacts", 2)
    hub.b.fail_writes(500, times=2)
    sync_inline(hub.runtime, "crm_a", "contacts")
    before = runs(hub.runtime.db, "deliver")[0].counts
    with hub.runtime.db.session() as s:  # full jitter may have drawn ~0 s: make both wait for sure
        s.execute(update(OutboxRow).values(next_attempt_at=utcnow() + timedelta(hours=1)))
        ids = list(s.scalars(select(OutboxRow.id)))
    run_inline(hub.runtime, outbox_ids=ids)  # both wait for their backoff: not this sweep's work
    assert runs(hub.runtime.db, "deliver")[0].counts == before == {"retrying": 2}


def test_webhook_pushes_are_counted_at_the_door_and_flushed_into_a_burst(make_hub):
    hub = make_hub()
    client = create_app(hub.runtime).test_client()
    config = hub.runtime.config.connectors["crm_a"].config
    push = hub.a.signed_push(config)
    for _ in range(2):  # the sender retries: one new record, one duplicate
        assert client.post("/webhooks/crm_a", data=push.body, headers=push.headers).status_code == 200
    forged = hub.a.signed_push({**config, "webhook_secret": "not-the-secret"})
    assert client.post("/webhooks/crm_a", data=forged.body, headers=forged.headers).status_code == 401
    assert runs(hub.runtime.db, "webhook") == []  # the door wrote no runs row itself

    assert flush_webhook_tallies(hub.runtime) == 1
    (run,) = runs(hub.runtime.db, "webhook")
    assert run.connector == "crm_a" and run.status == "succeeded"
    assert run.counts == {"requests": 2, "read": 2, "new": 1, "duplicates": 1, "rejected": 1}
    assert "ignature" in run.error
    assert flush_webhook_tallies(hub.runtime) == 0  # flushed counts are gone: never counted twice
    assert runs(hub.runtime.db, "webhook")[0].counts["requests"] == 2


def test_a_webhook_burst_of_only_rejections_is_a_failed_run(make_hub):
    hub = make_hub()
    client = create_app(hub.runtime).test_client()
    forged = hub.a.signed_push({**hub.runtime.config.connectors["crm_a"].config, "webhook_secret": "x"})
    client.post("/webhooks/crm_a", data=forged.body, headers=forged.headers)
    flush_webhook_tallies(hub.runtime)
    (run,) = runs(hub.runtime.db, "webhook")
    assert run.status == "failed" and run.counts == {"rejected": 1}


def test_a_switched_off_destination_holds_its_writes_until_switched_on(make_hub, redis_conn):
    hub = make_hub()
    assert set_switch(hub.runtime, "crm_b", False, actor="token:1:管理员") is True
    assert set_switch(hub.runtime, "crm_b", False, actor="token:1:管理员") is False  # already off: no second audit
    assert is_switched_off(hub.runtime.db, "crm_b") and set(switched_off(hub.runtime.db)) == {"crm_b"}

    hub.a.add_records("contacts", 2)
    out = sync_inline(hub.runtime, "crm_a", "contacts")
    assert out["delivered"] == 0 and out["dead"] == 0
    with hub.runtime.db.session() as s:
        held = list(s.scalars(select(OutboxRow).where(OutboxRow.connector == "crm_b")))
    assert len(held) == 2 and {r.status for r in held} == {"pending"} and {r.attempts for r in held} == {0}
    assert len(hub.b.contacts) == 0
    assert deliverable(hub.runtime.db, [r.id for r in held]) == []
    # and no pulls: neither scheduled nor asked for
    assert all(name != "crm_b" for name, _ in due_pulls(hub.runtime))
    with pytest.raises(SwitchedOff, match="crm_b"):
        pull(hub.runtime, "crm_b", "contacts")
    assert runs(hub.runtime.db, "pull", "crm_b") == []

    get_queue(redis_conn).empty()
    assert set_switch(hub.runtime, "crm_b", True, actor="token:1:管理员") is True
    assert get_queue(redis_conn).count == 1  # the held writes were queued again at once
    run_inline(hub.runtime, outbox_ids=[r.id for r in held])
    assert len(hub.b.contacts) == 2
    with hub.runtime.db.session() as s:
        audit = [(e.action, e.target) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert audit == [("connector.disable", "connector:crm_b"), ("connector.enable", "connector:crm_b")]


def test_a_switched_off_instance_still_keeps_the_pushes_it_sends(make_hub):
    hub = make_hub()
    set_switch(hub.runtime, "crm_a", False, actor="admin")
    client = create_app(hub.runtime).test_client()
    push = hub.a.signed_push(hub.runtime.config.connectors["crm_a"].config)
    assert client.post("/webhooks/crm_a", data=push.body, headers=push.headers).status_code == 200


def test_switching_an_unknown_instance_is_an_error(make_hub):
    hub = make_hub()
    with pytest.raises(KeyError):
        set_switch(hub.runtime, "nope", False, actor="admin")


def _webhook_totals(db) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    for run in runs(db, "webhook"):
        for key, value in (run.counts or {}).items():
            totals.setdefault(run.connector, {}).setdefault(key, 0)
            totals[run.connector][key] += value
    return totals


def test_webhook_counts_are_never_lost_or_doubled_however_pushes_and_flushes_interleave(make_hub):
    """Property: whatever the order of door counts and flushes (the ticker, an ops page, `hub
    runs`), the webhook runs add up to exactly what the door counted."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from sqlalchemy import delete

    from hub.pipeline.runs import tally_webhook

    hub = make_hub()
    push = st.tuples(st.sampled_from(["crm_a", "crm_b"]), st.integers(0, 3), st.integers(0, 2))
    steps = st.lists(st.one_of(st.just("flush"), push), max_size=25)

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(steps)
    def check(ops):
        with hub.runtime.db.session() as s:
            s.execute(delete(Run))
        flush_webhook_tallies(hub.runtime)
        with hub.runtime.db.session() as s:
            s.execute(delete(Run))
        expected: dict[str, dict[str, int]] = {}
        for op in ops:
            if op == "flush":
                flush_webhook_tallies(hub.runtime)
                continue
            instance, new, rejected = op
            counts = {"requests": 1, "new": new} if not rejected else {"rejected": rejected}
            tally_webhook(hub.runtime, instance, **counts)
            for key, value in counts.items():
                if value:
                    expected.setdefault(instance, {}).setdefault(key, 0)
                    expected[instance][key] += value
        flush_webhook_tallies(hub.runtime)
        assert _webhook_totals(hub.runtime.db) == expected

    check()


def test_concurrent_doors_and_flushers_count_every_push_once(make_hub):
    import threading

    from hub.pipeline.runs import tally_webhook

    hub = make_hub()
    errors: list[BaseException] = []

    def door():
        try:
            for _ in range(100):
                tally_webhook(hub.runtime, "crm_a", requests=1, new=1)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def flusher(stop):
        import redis

        try:
            while not stop.is_set():
                try:
                    flush_webhook_tallies(hub.runtime)
                except redis.exceptions.ConnectionError:
                    continue  # a flush that cannot reach Redis is retried next tick; it must lose nothing
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    stop = threading.Event()
    flushers = [threading.Thread(target=flusher, args=(stop,)) for _ in range(2)]
    doors = [threading.Thread(target=door) for _ in range(3)]
    for t in flushers + doors:
        t.start()
    for t in doors:
        t.join()
    stop.set()
    for t in flushers:
        t.join()
    for _ in range(5):  # the final flush, retried like the ticker would
        try:
            flush_webhook_tallies(hub.runtime)
            break
        except Exception:  # noqa: BLE001
            time.sleep(0.2)
    assert not errors, errors
    assert _webhook_totals(hub.runtime.db) == {"crm_a": {"requests": 300, "new": 300}}


def test_hub_sync_of_a_switched_off_instance_says_so_in_one_line(make_hub):
    from click.testing import CliRunner

    from hub.cli import cli

    hub = make_hub()
    set_switch(hub.runtime, "crm_a", False, actor="admin")
    out = CliRunner().invoke(cli, ["sync", "crm_a.contacts", "--inline"],
                             obj={"config_file": hub.runtime.config.source_file, "runtime": hub.runtime})
    assert out.exit_code == 1, out.output
    assert "crm_a is switched off" in out.output and "Traceback" not in out.output


def test_the_ticker_moves_the_doors_counts_into_runs(make_hub, redis_conn):
    from hub.pipeline.runs import tally_webhook
    from hub.pipeline.scheduler import LOCK_KEY, tick

    hub = make_hub()
    tally_webhook(hub.runtime, "crm_b", requests=2, read=2, new=2)
    redis_conn.delete(LOCK_KEY)
    tick(hub.runtime)
    (run,) = runs(hub.runtime.db, "webhook")
    assert run.connector == "crm_b" and run.counts == {"requests": 2, "read": 2, "new": 2}
