"""The worker's ticker queues the journeys job; the job advances due steps and queues their
delivery. Without journeys nothing extra is queued."""

from __future__ import annotations

from hub.pipeline.scheduler import tick
from hub.queue import get_queue

from automation_hub import LEAD, TRIAL_SOP


def test_the_ticker_queues_the_journeys_job_which_sends_due_steps(make_auto_hub, redis_conn):
    hub = make_auto_hub(TRIAL_SOP)
    hub.approve("trial_sop")
    hub.feed(LEAD)
    hub.feed({**LEAD, "stage": "要求试用"})
    tick(hub.runtime)
    queue = get_queue(redis_conn)
    assert "journeys" in queue.job_ids
    job = queue.fetch_job("journeys")
    from hub.automations.jobs import journeys_job

    assert job.func is journeys_job
    result = journeys_job()  # what the worker runs (step 1 is due at once)
    assert result["steps"] == 1 and result["outbox"] == 1
    (row,) = hub.outbox("messages")
    assert row.status == "pending" and any(j.startswith("deliver-") for j in queue.job_ids)


def test_no_journeys_no_journeys_job(make_auto_hub, redis_conn):
    hub = make_auto_hub("only_rule: {on: {attribute: stage, changes: true}, do: {tag: t}}")
    tick(hub.runtime)
    assert "journeys" not in get_queue(redis_conn).job_ids


def test_one_journeys_job_drains_every_due_batch(make_auto_hub, redis_conn, monkeypatch):
    from automation_hub import LEAD as lead
    from hub.automations import jobs

    monkeypatch.setattr(jobs, "BATCH", 3)  # 7 due enrollments: three batches in one job
    hub = make_auto_hub(TRIAL_SOP, settings="daily_messages: null")
    hub.approve("trial_sop")
    leads = [{**lead, "id": 200 + i, "wxid": f"wx{i}"} for i in range(7)]
    hub.feed(*leads)
    hub.feed(*[{**x, "stage": "要求试用"} for x in leads])
    assert jobs.journeys_job()["steps"] == 7
    assert len(hub.outbox("messages")) == 7
