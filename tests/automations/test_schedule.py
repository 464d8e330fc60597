"""Schedule (cron) triggers: local firing times, catch-up once after downtime, one firing per
instant across workers, where-filters, preview and pause, config errors, show and dry run."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from hub.automations.schedule import fire_due
from hub.cli import cli
from hub.config import ConfigError, load_config
from hub.store.models import AutomationAction, AutomationSchedule, ContactTag, Event

from automation_hub import at, config_text

#: A weekday-morning push to everyone evaluating prices (Asia/Shanghai, the default zone).
PRICE_FOLLOWUP = """
price_followup:
  on: {schedule: "0 9 * * 1-5", where: {attribute: stage, is: 评估价格}}
  do: {sink: wecom_sales.messages, payload: {sender: "{attributes.owner}", external_userid: "{identities.wecom_external_userid}", text: 价格方案}}
"""
A = {"id": 1, "name": "王女士", "wxid": "wmAAA", "owner": "zhangsan", "stage": "评估价格"}
B = {"id": 2, "name": "李先生", "wxid": "wmBBB", "owner": "lisi", "stage": "兴趣"}
C = {"id": 3, "name": "赵总", "wxid": "wmCCC", "owner": "lisi", "stage": "评估价格"}


def receivers(hub) -> list[list[str]]:
    return [r.payload["external_userid"] for r in hub.outbox("messages")]


def schedule_row(hub, name: str) -> AutomationSchedule:
    with hub.runtime.db.session() as s:
        return s.get(AutomationSchedule, name)


def test_fires_at_local_weekday_mornings_once_per_instant(make_auto_hub):
    hub = make_auto_hub(PRICE_FOLLOWUP, settings="daily_messages: null")
    hub.approve("price_followup")
    hub.feed(A, B)
    # Wednesday 2026-12-02, 08:30 in Shanghai (00:30 UTC): first seen, nothing due yet.
    first = fire_due(hub.runtime, now=at("2026-12-02T08:30:00+08:00"))
    assert first.firings == [] and receivers(hub) == []
    assert fire_due(hub.runtime, now=at("2026-12-02T08:59:59+08:00")).firings == []
    fired = fire_due(hub.runtime, now=at("2026-12-02T09:00:00+08:00"))
    assert fired.firings == [("price_followup", at("2026-12-02T01:00:00+00:00"))] and fired.contacts == 1
    assert receivers(hub) == [["wmAAA"]]  # only the contact in 评估价格
    # Later ticks of the same morning: the instant has fired.
    for t in ("2026-12-02T09:00:30+08:00", "2026-12-02T12:00:00+08:00", "2026-12-02T23:59:00+08:00"):
        assert fire_due(hub.runtime, now=at(t)).firings == []
    assert len(receivers(hub)) == 1
    # Thursday 09:00 fires again; Saturday and Sunday do not.
    hub.feed({**B, "stage": "评估价格"})
    assert fire_due(hub.runtime, now=at("2026-12-03T09:01:00+08:00")).contacts == 2
    assert fire_due(hub.runtime, now=at("2026-12-04T09:00:00+08:00")).contacts == 2  # Friday
    for t in ("2026-12-05T09:00:00+08:00", "2026-12-06T09:00:00+08:00", "2026-12-07T08:59:59+08:00"):
        assert fire_due(hub.runtime, now=at(t)).firings == []  # the weekend
    assert len(receivers(hub)) == 5
    row = schedule_row(hub, "price_followup")
    assert row.instant == at("2026-12-04T09:00:00+08:00") and row.status == "done" and row.missed == 0
    assert fire_due(hub.runtime, now=at("2026-12-07T09:00:00+08:00")).contacts == 2  # Monday


def test_times_are_judged_in_the_configured_time_zone(make_auto_hub):
    hub = make_auto_hub("""
    nightly:
      on: {cron: "0 9 * * *", where: {tag: 价格异议}}
      do: {tag: 已跟进}
    """, settings="timezone: America/New_York")
    hub.approve("nightly")
    hub.feed(A)
    with hub.runtime.db.session() as s:
        s.add(ContactTag(contact_id=1, tag="价格异议", connector="test"))
    fire_due(hub.runtime, now=at("2026-12-02T12:00:00+00:00"))  # 07:00 in New York: first seen
    assert fire_due(hub.runtime, now=at("2026-12-02T13:59:00+00:00")).firings == []  # 08:59 EST
    assert fire_due(hub.runtime, now=at("2026-12-02T14:00:00+00:00")).contacts == 1  # 09:00 EST
    # In July New York is on daylight time: 09:00 EDT is 13:00 UTC.
    assert fire_due(hub.runtime, now=at("2027-07-01T12:59:00+00:00")).firings == [("nightly", at("2027-06-30T13:00:00+00:00"))]
    assert fire_due(hub.runtime, now=at("2027-07-01T13:00:00+00:00")).firings == [("nightly", at("2027-07-01T13:00:00+00:00"))]


def test_catch_up_after_downtime_fires_once_for_the_latest_instant(make_auto_hub):
    hub = make_auto_hub("""
    hourly:
      on: {schedule: "0 * * * *", where: {attribute: stage, is: [评估价格, 兴趣]}}
      do: {sink: wecom_sales.messages, payload: {sender: "{attributes.owner}", external_userid: "{identities.wecom_external_userid}", text: 提醒}}
    """, settings="daily_messages: null")
    hub.approve("hourly")
    hub.feed(A, B)
    fire_due(hub.runtime, now=at("2026-12-02T10:10:00+08:00"))
    assert fire_due(hub.runtime, now=at("2026-12-02T11:00:05+08:00")).contacts == 2
    # Down from 11:01 to 17:20: the 12:00 … 17:00 instants were missed; one firing, for 17:00.
    back = fire_due(hub.runtime, now=at("2026-12-02T17:20:00+08:00"))
    assert back.firings == [("hourly", at("2026-12-02T17:00:00+08:00"))] and back.contacts == 2
    assert len(hub.outbox("messages")) == 4
    row = schedule_row(hub, "hourly")
    assert row.missed == 5 and row.status == "done"
    out = CliRunner().invoke(cli, ["automations", "show", "hourly"], obj={"config_file": hub.runtime.config.source_file, "runtime": hub.runtime})
    assert "caught up after downtime (5 earlier instant(s) skipped)" in out.output and "next firing:" in out.output


def test_large_populations_fire_in_batches_and_resume_after_a_kill(make_auto_hub):
    hub = make_auto_hub("everyone: {on: {schedule: '30 8 * * *', where: {attribute: stage, is: 评估价格}}, do: {tag: 早报}}")
    hub.approve("everyone")
    hub.feed(*[{**A, "id": 100 + i, "wxid": f"wx{i}"} for i in range(7)])
    fire_due(hub.runtime, now=at("2026-12-02T08:00:00+08:00"))
    # A worker that did one batch of 3 and died: the row remembers the last contact done.
    fire_due(hub.runtime, now=at("2026-12-02T08:30:00+08:00"), batch=3, budget=-1)
    row = schedule_row(hub, "everyone")
    assert row.status == "firing" and row.cursor is not None and row.contacts == 3
    rest = fire_due(hub.runtime, now=at("2026-12-02T08:45:00+08:00"), batch=3)
    assert rest.firings == [] and rest.contacts == 4  # the same firing goes on, no new one
    assert [a.status for a in hub.actions("everyone")] == ["done"] * 7
    assert schedule_row(hub, "everyone").status == "done"


def test_where_filters_tags_lists_not_and_current_values(make_auto_hub):
    hub = make_auto_hub("""
    objection_followup:
      on:
        schedule: "0 10 * * *"
        where: [{tag: 价格异议}, {not: {attribute: stage, is: 购买}}]
      do: {tag: 跟进}
    """)
    hub.approve("objection_followup")
    hub.feed(A, B, C)
    with hub.runtime.db.session() as s:
        s.add_all([ContactTag(contact_id=1, tag="价格异议", connector="t"), ContactTag(contact_id=3, tag="价格异议", connector="t")])
    hub.feed({**C, "stage": "购买"})  # bought since: left out
    fire_due(hub.runtime, now=at("2026-12-02T09:00:00+08:00"))
    fire_due(hub.runtime, now=at("2026-12-02T10:00:00+08:00"))
    assert [(a.contact_id, a.payload) for a in hub.actions("objection_followup")] == [(1, {"tag": "跟进"})]
    hub.feed({**A, "stage": "购买"}, {**C, "stage": "评估价格"})  # the population is judged at each firing
    fire_due(hub.runtime, now=at("2026-12-03T10:00:00+08:00"))
    assert [a.contact_id for a in hub.actions("objection_followup")] == [1, 3]


def test_preview_records_pause_skips_and_resume_fires_from_the_next_instant(make_auto_hub):
    from hub.automations.control import approve, pause, resume

    hub = make_auto_hub(PRICE_FOLLOWUP, settings="daily_messages: null")
    hub.feed(A)
    fire_due(hub.runtime, now=at("2026-12-01T08:00:00+08:00"))
    fire_due(hub.runtime, now=at("2026-12-01T09:00:00+08:00"))  # in preview: recorded, not sent
    assert [a.status for a in hub.actions()] == ["preview"] and hub.outbox() == []
    approve(hub.runtime, "price_followup", actor="t")
    assert fire_due(hub.runtime, now=at("2026-12-01T09:30:00+08:00")).firings == []  # previewed instants are not sent late
    fire_due(hub.runtime, now=at("2026-12-02T09:00:00+08:00"))
    assert len(hub.outbox("messages")) == 1
    pause(hub.runtime, "price_followup", actor="t")
    fire_due(hub.runtime, now=at("2026-12-03T09:00:00+08:00"))
    assert len(hub.outbox("messages")) == 1 and schedule_row(hub, "price_followup").status == "skipped"
    resume(hub.runtime, "price_followup", actor="t")
    assert fire_due(hub.runtime, now=at("2026-12-03T11:00:00+08:00")).firings == []  # the paused instant stays skipped
    assert fire_due(hub.runtime, now=at("2026-12-04T09:00:00+08:00")).contacts == 1
    assert len(hub.outbox("messages")) == 2


def test_a_changed_expression_fires_from_its_next_instant(make_auto_hub, tmp_path):
    hub = make_auto_hub(PRICE_FOLLOWUP)
    hub.approve("price_followup")
    hub.feed(A)
    fire_due(hub.runtime, now=at("2026-12-02T08:00:00+08:00"))
    fire_due(hub.runtime, now=at("2026-12-02T09:00:00+08:00"))
    assert len(hub.actions()) == 1
    hub2 = make_auto_hub(PRICE_FOLLOWUP.replace("0 9 * * 1-5", "30 9 * * 1-5"))  # same database, new expression
    assert fire_due(hub2.runtime, now=at("2026-12-02T10:00:00+08:00")).firings == []  # not 09:30 at once
    assert fire_due(hub2.runtime, now=at("2026-12-03T09:30:00+08:00")).contacts == 1


def test_a_schedule_enrolls_into_a_journey(make_auto_hub):
    from hub.automations.journeys import advance_due

    hub = make_auto_hub("""
    price_sop:
      enroll: {attribute: stage, becomes: 不会发生}
      steps: [{after: 0m, do: {tag: 价格SOP}}]
    monday_price_sop:
      on: {schedule: "0 9 * * 1", where: {attribute: stage, is: 评估价格}}
      do: {enroll: price_sop}
    """)
    hub.approve("price_sop", "monday_price_sop")
    hub.feed(A, B)
    fire_due(hub.runtime, now=at("2026-12-06T12:00:00+08:00"))
    fire_due(hub.runtime, now=at("2026-12-07T09:00:00+08:00"))  # Monday
    (row,) = hub.enrollments()
    assert row.contact_id == 1 and row.journey == "price_sop" and row.status == "active"
    advance_due(hub.runtime, now=at("2026-12-07T09:00:01+08:00"))
    with hub.runtime.db.session() as s:
        assert s.scalars(select(ContactTag.tag).where(ContactTag.contact_id == 1)).all() == ["价格SOP"]
        assert "进入旅程" in s.scalars(select(Event.summary).where(Event.contact_id == 1, Event.connector == "automation")).first()


def test_two_workers_fire_one_instant_once(make_auto_hub):
    """Two workers (own runtimes, own connections) fire the same instant at the same moment:
    one firing, one action per contact (on PostgreSQL the row lock makes the second skip)."""
    from hub.runtime import Runtime

    hub = make_auto_hub("race: {on: {schedule: '0 9 * * *', where: {attribute: stage, is: 评估价格}}, do: {tag: 早安}}")
    hub.approve("race")
    hub.feed(*[{**A, "id": 300 + i, "wxid": f"wr{i}"} for i in range(20)])
    fire_due(hub.runtime, now=at("2026-12-02T08:00:00+08:00"))
    other = Runtime(load_config(hub.runtime.config.source_file, env={}))
    try:
        for day in range(2, 6):
            now = at(f"2026-12-0{day}T09:00:00+08:00")
            barrier, results, errors = threading.Barrier(2), [], []

            def worker(runtime):
                try:
                    barrier.wait()
                    results.append(fire_due(runtime, now=now, batch=4))
                except Exception as exc:  # surfaced below
                    errors.append(exc)

            threads = [threading.Thread(target=worker, args=(r,)) for r in (hub.runtime, other)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            assert sum(len(r.firings) for r in results) == 1
            assert sum(r.contacts for r in results) == 20
        with hub.runtime.db.session() as s:
            assert s.scalar(select(func.count()).select_from(AutomationAction)) == 80
            assert s.scalar(select(func.count(func.distinct(AutomationAction.key)))) == 80
    finally:
        other.close()


def test_the_ticker_queues_the_schedules_job(make_auto_hub, redis_conn):
    from hub.automations.jobs import schedules_job
    from hub.pipeline.scheduler import tick
    from hub.queue import get_queue

    hub = make_auto_hub(PRICE_FOLLOWUP)
    tick(hub.runtime)
    job = get_queue(redis_conn).fetch_job("schedules")
    assert job is not None and job.func is schedules_job
    assert schedules_job()["skipped"] == 1  # first seen: the schedule's row now exists in SQL
    assert schedule_row(hub, "price_followup") is not None


def test_show_and_dry_run_describe_the_schedule(make_auto_hub):
    hub = make_auto_hub(PRICE_FOLLOWUP)
    hub.feed(A, B, C)

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), obj={"config_file": hub.runtime.config.source_file, "runtime": hub.runtime})

    shown = invoke("automations", "show", "price_followup")
    assert shown.exit_code == 0, shown.output
    assert "on: schedule 0 9 * * 1-5 where stage = 评估价格" in shown.output
    assert "next firing: " in shown.output and "(Asia/Shanghai)" in shown.output
    run = invoke("automations", "run", "price_followup", "--dry-run")
    assert run.exit_code == 0, run.output
    assert "would act on 2 contact(s)" in run.output and "next firing" in run.output
    assert '"external_userid": ["wmAAA"]' in run.output and '"external_userid": ["wmCCC"]' in run.output
    assert "wmBBB" not in run.output and hub.actions() == []


@pytest.mark.parametrize("on, message", [
    ('{schedule: "0 25 * * *", where: {tag: x}}', "automations.bad.on.schedule: invalid cron expression '0 25 * * *'"),
    ('{cron: "0 9 * *", where: {tag: x}}', "automations.bad.on.cron: expected 5 fields (minute hour day month weekday)"),
    ('{schedule: "@dialy", where: {tag: x}}', "automations.bad.on.schedule: unknown cron alias '@dialy' (did you mean '@daily'?)"),
    ('{schedule: "0 9 * * *"}', "automations.bad.on: a schedule needs where:"),
    ('{schedule: "0 9 * * *", where: {atribute: stage, is: x}}', "automations.bad.on.where.atribute: unknown key (did you mean 'attribute'?)"),
    ('{schedule: "0 9 * * *", where: {attribute: stage}}', "automations.bad.on.where: give is: VALUE"),
    ('{schedule: "0 9 * * *", cron: "0 9 * * *", where: {tag: x}}', "automations.bad.on.cron: schedule: and cron: are the same key"),
])
def test_invalid_schedules_are_config_errors_with_file_and_line(tmp_path, on, message):
    path = tmp_path / "hub.yaml"
    path.write_text(config_text(tmp_path, "sqlite:///:memory:", "redis://x", f"bad:\n  on: {on}\n  do: {{tag: t}}"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    line = next(i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text.strip().startswith("on:"))
    assert any(e.startswith(f"{path}:{line} {message}") for e in info.value.errors), info.value.errors


def test_hub_check_exits_2_on_a_bad_cron(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "hub.yaml"
    path.write_text(config_text(tmp_path, "sqlite:///:memory:", "redis://x", 'bad: {on: {schedule: "61 9 * * *", where: {tag: x}}, do: {tag: t}}'),
                    encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "hub", "--config", str(path), "check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "automations.bad.on.schedule: invalid cron expression '61 9 * * *'" in done.stderr + done.stdout


def test_a_schedule_cannot_enroll_a_journey_directly(tmp_path):
    path = tmp_path / "hub.yaml"
    path.write_text(config_text(tmp_path, "sqlite:///:memory:", "redis://x",
                                "sop:\n  enroll: {schedule: '0 9 * * *', where: {tag: x}}\n  steps: [{after: 0m, do: {tag: t}}]"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert any("automations.sop.enroll: a schedule is a rule trigger" in e for e in info.value.errors)


# -- property: whatever the order of the workers' clocks and however often they tick, each
# instant fires at most once, exactly the instants a single in-order clock would reach fire,
# and replaying every tick again acts on nobody twice.

_hubs: dict = {}
HOURS = st.lists(st.integers(0, 72), min_size=1, max_size=10)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(hours=HOURS, minutes=st.lists(st.integers(0, 59), min_size=10, max_size=10))
def test_property_each_instant_fires_once_whatever_the_order_of_ticks(make_auto_hub, hours, minutes):
    from hub.automations.schedule import Schedule

    made = _hubs.get(id(make_auto_hub))
    if made is None or made[0] is not make_auto_hub:
        hub = make_auto_hub("every6h: {on: {schedule: '0 */6 * * *', where: {attribute: stage, is: 评估价格}}, do: {tag: 定时}}")
        hub.approve("every6h")
        hub.feed(A, B, C)
        made = _hubs[id(make_auto_hub)] = (make_auto_hub, hub, [0])
    hub, run = made[1], made[2]
    run[0] += 1
    base = at("2026-12-01T00:00:00+08:00") + timedelta(days=10 * run[0])  # each example on days of its own
    times = [base + timedelta(hours=h, minutes=m) for h, m in zip(hours, minutes)]
    sched: Schedule = hub.runtime.config.automations.automations["every6h"].on.schedule
    tz = hub.runtime.config.automations.tz
    # The model: the row starts at the instant before the first tick of this example (as if
    # fired), then an instant fires whenever a tick's latest instant is newer than the last.
    last = sched.latest(base - timedelta(seconds=1), tz)
    fire_due(hub.runtime, now=base - timedelta(seconds=1))
    expected = []
    for t in times:
        due = sched.latest(t, tz)
        if due > last:
            expected.append(due)
            last = due
    fired = [f for t in times for f in fire_due(hub.runtime, now=t).firings]
    assert fired == [("every6h", e) for e in expected]
    before = [(a.key, a.status) for a in hub.actions("every6h")]
    for t in times:  # replay every tick
        assert fire_due(hub.runtime, now=t).firings == []
    assert [(a.key, a.status) for a in hub.actions("every6h")] == before
    keys = [k for k, _ in before]
    assert len(keys) == len(set(keys))
    with hub.runtime.db.session() as s:
        mine = s.scalar(select(func.count()).select_from(AutomationAction).where(
            AutomationAction.key.like("every6h:%"), AutomationAction.created_at >= base))
    assert mine == 2 * len(expected)  # A and C match, once per fired instant
