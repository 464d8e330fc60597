"""Journeys: enrollment, due steps from the ticker, exits, send windows, the daily cap,
and the kill-safety that per-step keys give."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from hub.automations import journeys
from hub.automations.journeys import advance_due
from hub.store.models import ContactAttribute

from automation_hub import LEAD, TRIAL_SOP

SHANGHAI = ZoneInfo("Asia/Shanghai")

@pytest.fixture
def sop(make_auto_hub):
    hub = make_auto_hub(TRIAL_SOP)
    hub.approve("trial_sop")
    hub.feed(LEAD)
    hub.feed({**LEAD, "stage": "要求试用"})
    return hub


def test_stage_change_enrolls_and_the_ticker_runs_each_step_once(sop):
    (e,) = sop.enrollments()
    assert (e.status, e.step, e.round) == ("active", 0, 1) and e.next_due_at == e.enrolled_at
    first = advance_due(sop.runtime, now=e.enrolled_at + timedelta(seconds=1))
    assert first.steps == 1 and len(first.outbox_ids) == 1
    assert [r.payload["text"] for r in sop.outbox("messages")] == ["试用指南：三步上手"]
    (e,) = sop.enrollments()
    assert e.step == 1 and e.next_due_at == e.enrolled_at + timedelta(days=2)
    # Not due yet: nothing happens.
    assert advance_due(sop.runtime, now=e.enrolled_at + timedelta(days=1)).steps == 0
    # Step 2 at a time inside its window; step 3 (a hub tag) three days later; then done.
    local = (e.enrolled_at + timedelta(days=2)).astimezone(SHANGHAI)
    inside = max(local, local.replace(hour=10, minute=0, second=0, microsecond=0))
    inside = inside if inside.hour < 20 else (local + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    assert advance_due(sop.runtime, now=inside).steps == 1
    assert advance_due(sop.runtime, now=e.enrolled_at + timedelta(days=6)).steps == 1
    (e,) = sop.enrollments()
    assert (e.status, e.step, e.next_due_at) == ("completed", 3, None)
    assert [r.payload["text"] for r in sop.outbox("messages")] == ["试用指南：三步上手", "客户案例"]
    assert [a.status for a in sop.actions("trial_sop")] == ["done", "queued", "queued", "done"]


def test_a_step_processed_twice_writes_one_outbox_row(make_auto_hub):
    sop = make_auto_hub(TRIAL_SOP, settings="daily_messages: null")  # no cap: only the key stops it
    sop.approve("trial_sop")
    sop.feed(LEAD)
    sop.feed({**LEAD, "stage": "要求试用"})
    (e,) = sop.enrollments()
    now = e.enrolled_at + timedelta(seconds=1)
    advance_due(sop.runtime, now=now)
    # A second worker with a stale view runs the same step again (the row is put back as
    # it was before the first run committed): the step's key is taken, nothing is written.
    from hub.store.models import JourneyEnrollment

    with sop.runtime.db.session() as s:
        s.execute(update(JourneyEnrollment).values(step=0, next_due_at=e.enrolled_at))
    again = advance_due(sop.runtime, now=now)
    assert again.steps == 1 and again.outbox_ids == []
    assert len(sop.outbox("messages")) == 1


def test_a_worker_killed_mid_step_loses_nothing_and_sends_once(sop, monkeypatch):
    (e,) = sop.enrollments()
    now = e.enrolled_at + timedelta(seconds=1)
    real = journeys.perform_many

    def dies_after_writing(*args, **kwargs):
        real(*args, **kwargs)
        raise SystemExit("killed")  # the process dies before the transaction commits

    monkeypatch.setattr(journeys, "perform_many", dies_after_writing)
    with pytest.raises(SystemExit):
        advance_due(sop.runtime, now=now)
    assert sop.outbox() == [] and sop.enrollments()[0].step == 0  # rolled back: the step is still due
    monkeypatch.setattr(journeys, "perform_many", real)
    assert advance_due(sop.runtime, now=now).steps == 1
    assert advance_due(sop.runtime, now=now).steps == 0
    assert len(sop.outbox("messages")) == 1


def test_an_exit_processed_before_a_due_step_wins(sop):
    (e,) = sop.enrollments()
    sop.feed({**LEAD, "stage": "要求试用", "msg_id": "c1", "text": "我自己先看看", "sender": "customer"})
    (e,) = sop.enrollments()
    assert e.status == "exited" and "chat_message" in e.exit_reason
    from sqlalchemy import select

    from hub.store.models import Event

    with sop.runtime.db.session() as s:
        said = s.scalars(select(Event.summary).where(Event.kind == "automation").order_by(Event.id)).all()
    assert said[0].startswith("trial_sop: 进入旅程（stage → 要求试用）") and said[1].startswith("trial_sop: 退出旅程：chat_message")
    assert advance_due(sop.runtime, now=e.enrolled_at + timedelta(seconds=1)).steps == 0
    assert sop.outbox() == []


def test_a_step_sent_before_the_exit_is_the_last_one(sop):
    (e,) = sop.enrollments()
    advance_due(sop.runtime, now=e.enrolled_at + timedelta(seconds=1))
    sop.feed({**LEAD, "stage": "购买"})  # stage changes: exit
    later = advance_due(sop.runtime, now=e.enrolled_at + timedelta(days=10))
    assert later.steps == 0 and len(sop.outbox("messages")) == 1
    assert sop.enrollments()[0].status == "exited"


def test_exit_conditions_are_checked_again_before_each_step(sop):
    """A change the rule engine never saw (here written straight to SQL) still ends the
    journey when the next step falls due."""
    (e,) = sop.enrollments()
    with sop.runtime.db.session() as s:
        s.execute(update(ContactAttribute).where(ContactAttribute.name == "stage").values(value="购买"))
    done = advance_due(sop.runtime, now=e.enrolled_at + timedelta(seconds=1))
    assert (done.steps, done.exited) == (0, 1) and sop.outbox() == []
    assert "要求试用 → 购买" in sop.enrollments()[0].exit_reason


def test_quiet_hours_move_a_step_to_the_window_start(sop):
    (e,) = sop.enrollments()
    advance_due(sop.runtime, now=e.enrolled_at + timedelta(seconds=1))
    # Step 2 falls due at night (22:00 Shanghai time, after its 2 days): not sent, moved to 10:00.
    night = (e.enrolled_at + timedelta(days=3)).astimezone(SHANGHAI).replace(hour=22, minute=0, second=0, microsecond=0)
    done = advance_due(sop.runtime, now=night)
    assert (done.steps, done.deferred) == (0, 1) and len(sop.outbox("messages")) == 1
    (e2,) = sop.enrollments()
    assert e2.next_due_at.astimezone(SHANGHAI) == (night + timedelta(days=1)).replace(hour=10)
    assert advance_due(sop.runtime, now=e2.next_due_at).steps == 1
    assert len(sop.outbox("messages")) == 2


def test_the_daily_cap_spans_automations_and_defers_journey_steps(make_auto_hub):
    hub = make_auto_hub(TRIAL_SOP + """
welcome_push:
  on: {attribute: stage, becomes: 要求试用}
  do: {sink: wecom_sales.messages, template: trial_case}
another_push:
  on: {attribute: stage, becomes: 要求试用}
  do: {sink: wecom_sales.messages, template: trial_case}
""")
    hub.approve("trial_sop", "welcome_push", "another_push")
    hub.feed(LEAD)
    hub.feed({**LEAD, "stage": "要求试用"})
    # One message a day (the default): the first rule sent it, the second is capped …
    statuses = {a.automation: a.status for a in hub.actions() if a.kind == "sink"}
    assert sorted(statuses.values()) == ["capped", "queued"]
    assert len(hub.outbox("messages")) == 1
    # … and the journey's first step waits for the next day instead of being skipped.
    (e,) = hub.enrollments()
    created = hub.actions()[0].created_at
    done = advance_due(hub.runtime, now=created + timedelta(seconds=1))
    assert (done.steps, done.deferred) == (0, 1)
    (e,) = hub.enrollments()
    tomorrow = (created.astimezone(SHANGHAI) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert e.next_due_at == tomorrow
    assert advance_due(hub.runtime, now=tomorrow).steps == 1
    assert len(hub.outbox("messages")) == 2


def test_a_journey_in_preview_enrolls_nobody(make_auto_hub):
    hub = make_auto_hub(TRIAL_SOP)
    hub.feed(LEAD)
    hub.feed({**LEAD, "stage": "要求试用"})
    assert hub.enrollments() == []
    assert [(a.kind, a.status) for a in hub.actions()] == [("enroll", "preview")]


def test_leaving_and_entering_again_starts_a_new_round(sop):
    (e,) = sop.enrollments()
    advance_due(sop.runtime, now=e.enrolled_at + timedelta(seconds=1))
    sop.feed({**LEAD, "stage": "资料"})
    sop.feed({**LEAD, "stage": "要求试用"})
    (e,) = sop.enrollments()
    assert (e.status, e.round, e.step) == ("active", 2, 0)
    advance_due(sop.runtime, now=e.enrolled_at + timedelta(days=1))  # the next day: under the cap
    assert len(sop.outbox("messages")) == 2  # round 2's first step is its own key


def test_two_workers_advancing_at_once_send_each_step_once(make_auto_hub):
    """Two tickers' jobs on separate connections (real concurrent transactions on
    PostgreSQL; the write lock on SQLite) drain the same due steps."""
    import threading

    hub = make_auto_hub(TRIAL_SOP, settings="daily_messages: null")
    hub.approve("trial_sop")
    leads = [{**LEAD, "id": 100 + i, "wxid": f"wm{i}"} for i in range(12)]
    hub.feed(*leads)
    hub.feed(*[{**lead, "stage": "要求试用"} for lead in leads])
    assert len(hub.enrollments()) == 12
    now = max(e.enrolled_at for e in hub.enrollments()) + timedelta(seconds=1)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while advance_due(hub.runtime, now=now, limit=3).steps:
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    rows = hub.outbox("messages")
    assert len(rows) == 12 and len({r.contact_id for r in rows}) == 12
    assert {(e.step, e.status) for e in hub.enrollments()} == {(1, "active")}


def test_rules_can_enroll_in_and_exit_from_a_journey(make_auto_hub):
    # The rule comes first and the journey exits on any stage change: the change that
    # enrolls must not also end the enrollment, whatever the order of the automations.
    hub = make_auto_hub("""
vip_into_sop:
  on: {attribute: stage, becomes: 资料}
  do: {enroll: trial_sop}
""" + TRIAL_SOP + """
stop_on_complaint:
  on: {event: chat_message, text_matches: {keywords: [投诉]}}
  do: {exit: trial_sop}
""")
    hub.approve("trial_sop", "vip_into_sop", "stop_on_complaint")
    hub.feed(LEAD)
    hub.feed({**LEAD, "stage": "资料"})
    (e,) = hub.enrollments()
    assert (e.status, e.step) == ("active", 0)
    hub.feed({**LEAD, "stage": "资料", "msg_id": "x1", "text": "我要投诉", "sender": "member"})
    (e,) = hub.enrollments()
    assert e.status == "exited" and "stop_on_complaint" in e.exit_reason
    assert [(a.automation, a.kind, a.status) for a in hub.actions() if a.automation != "trial_sop"] == [
        ("vip_into_sop", "enroll", "done"), ("stop_on_complaint", "exit", "done")]


def test_an_enroll_action_into_a_journey_in_preview_enrolls_nobody(make_auto_hub):
    hub = make_auto_hub(TRIAL_SOP + """
vip_into_sop:
  on: {attribute: stage, becomes: 资料}
  do: {enroll: trial_sop}
""")
    hub.approve("vip_into_sop")  # the journey itself is still in preview
    hub.feed(LEAD)
    hub.feed({**LEAD, "stage": "资料"})
    assert hub.enrollments() == []
    assert [(a.automation, a.kind, a.status) for a in hub.actions()] == [("vip_into_sop", "enroll", "done"), ("trial_sop", "enroll", "preview")]


def test_the_default_send_window_applies_to_message_steps_without_their_own(make_auto_hub):
    hub = make_auto_hub(TRIAL_SOP, settings='send_window: "09:00-21:00"')
    hub.approve("trial_sop")
    hub.feed(LEAD)
    hub.feed({**LEAD, "stage": "要求试用"})
    (e,) = hub.enrollments()
    night = (e.enrolled_at + timedelta(days=1)).astimezone(SHANGHAI).replace(hour=23, minute=30, second=0, microsecond=0)
    assert advance_due(hub.runtime, now=night).deferred == 1 and hub.outbox() == []
    (e,) = hub.enrollments()
    assert e.next_due_at.astimezone(SHANGHAI) == (night + timedelta(days=1)).replace(hour=9, minute=0)


def _merge(hub, a: int, b: int) -> int:
    """Merge two contacts as a reviewer does (no rendering follows); the survivor."""
    from hub.identity.merge import merge_now

    with hub.runtime.db.session() as s:
        survivor, _ = merge_now(s, hub.runtime.rules, hub.runtime.config.fields, a, b, "crm_id", "review", "review:tester", force=True)
    return survivor


def test_a_merge_hands_the_merged_contacts_journey_to_the_survivor(make_auto_hub):
    """The enrolled contact merges into an older one that is not enrolled: the person keeps
    their SOP (it used to stay on the merged contact, whose messages had no one to go to)."""
    hub = make_auto_hub(TRIAL_SOP)
    hub.approve("trial_sop")
    hub.feed({"id": 1, "name": "李先生", "wxid": "wmAAA", "owner": "lisi", "stage": "兴趣"})
    hub.feed({"id": 2, "name": "李先生", "wxid": "wmBBB", "owner": "lisi", "stage": "要求试用"})
    (e,) = hub.enrollments()
    older = e.contact_id - 1
    survivor = _merge(hub, older, e.contact_id)
    assert survivor == older
    (e,) = hub.enrollments()
    assert (e.contact_id, e.status) == (survivor, "active")
    assert advance_due(hub.runtime, now=e.enrolled_at + timedelta(seconds=1)).steps == 1
    (message,) = hub.outbox("messages")
    assert message.contact_id == survivor and message.payload["text"] == "试用指南：三步上手"
    assert [a.contact_id for a in hub.actions("trial_sop")] == [survivor] * len(hub.actions("trial_sop"))


def test_two_enrollments_of_one_person_become_one_when_they_merge(make_auto_hub):
    hub = make_auto_hub(TRIAL_SOP)
    hub.approve("trial_sop")
    hub.feed({"id": 1, "name": "李先生", "wxid": "wmAAA", "owner": "lisi", "stage": "兴趣"},
             {"id": 2, "name": "李先生", "wxid": "wmBBB", "owner": "lisi", "stage": "兴趣"})
    hub.feed({"id": 1, "name": "李先生", "wxid": "wmAAA", "owner": "lisi", "stage": "要求试用"},
             {"id": 2, "name": "李先生", "wxid": "wmBBB", "owner": "lisi", "stage": "要求试用"})
    first, second = hub.enrollments()
    survivor = _merge(hub, first.contact_id, second.contact_id)
    by_contact = {e.contact_id: e for e in hub.enrollments()}
    assert by_contact[survivor].status == "active"
    merged = by_contact[second.contact_id if survivor == first.contact_id else first.contact_id]
    assert merged.status == "exited" and f"contact {survivor}" in merged.exit_reason
    assert advance_due(hub.runtime, now=first.enrolled_at + timedelta(seconds=1)).steps == 1
    assert [r.contact_id for r in hub.outbox("messages")] == [survivor], "one person, one message per step"


@pytest.mark.parametrize("active", ["older", "newer"])
def test_the_persons_active_journey_survives_a_merge_whichever_contact_holds_it(make_auto_hub, active):
    """One contact went through the journey to its end, the other is in it now: after the
    merge the person is in the journey, whichever contact was created first (the survivor is
    the older one)."""
    hub = make_auto_hub(TRIAL_SOP, settings="daily_messages: 5")
    hub.approve("trial_sop")
    older = {"id": 1, "name": "李先生", "wxid": "wmAAA", "owner": "lisi", "stage": "兴趣"}
    newer = {"id": 2, "name": "李先生", "wxid": "wmBBB", "owner": "lisi", "stage": "兴趣"}
    hub.feed(older, newer)
    done, live = (older, newer) if active == "newer" else (newer, older)
    hub.feed({**done, "stage": "要求试用"})
    (e,) = hub.enrollments()
    for days in (0, 3, 6):  # every step, each inside its send window
        local = (e.enrolled_at + timedelta(days=days, seconds=1)).astimezone(SHANGHAI)
        advance_due(hub.runtime, now=local.replace(hour=12) if days else local)
    assert [x.status for x in hub.enrollments()] == ["completed"]
    hub.feed({**live, "stage": "要求试用"})
    first, second = hub.enrollments()
    survivor = _merge(hub, first.contact_id, second.contact_id)
    mine = [x for x in hub.enrollments() if x.contact_id == survivor]
    assert [(x.status, x.step) for x in mine] == [("active", 0)]
    sent = len(hub.outbox("messages"))
    assert advance_due(hub.runtime, now=mine[0].enrolled_at + timedelta(seconds=1)).steps == 1
    assert [r.contact_id for r in hub.outbox("messages")[sent:]] == [survivor]
