"""``hub automations list|show|approve|pause|resume|run --dry-run``."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from hub.cli import cli
from hub.store.models import AuditEntry, AutomationAction, OutboxRow

AUTOS = """
price_tag:
  on: {event: chat_message, text_matches: {keywords: {太贵了: 价格异议}}}
  do: [{tag: "{match}"}, {sink: wecom_sales.tags, payload: {external_userid: "{identities.wecom_external_userid[0]}", userid: "{attributes.owner}", add: "{match}"}}]
trial_sop:
  enroll: {attribute: stage, becomes: 要求试用}
  steps:
    - {after: 0m, do: {sink: wecom_sales.messages, template: trial_guide}}
"""


def invoke(hub, *args):
    return CliRunner().invoke(cli, list(args), obj={"config_file": hub.runtime.config.source_file, "runtime": hub.runtime})


def test_list_show_approve_pause_resume(make_auto_hub):
    hub = make_auto_hub(AUTOS)
    out = invoke(hub, "automations", "list")
    assert out.exit_code == 0, out.output
    assert "price_tag" in out.output and "rule" in out.output and "preview" in out.output
    assert "trial_sop" in out.output and "journey" in out.output
    hub.feed({"id": 1, "wxid": "wmA", "owner": "zs", "stage": "兴趣", "msg_id": "m1", "text": "太贵了", "sender": "customer"})
    shown = invoke(hub, "automations", "show", "price_tag")
    assert shown.exit_code == 0 and "preview 2" in shown.output and "价格异议" in shown.output
    assert "hub automations approve price_tag" in shown.output
    assert invoke(hub, "automations", "approve", "price_tag").output.strip() == "price_tag: live"
    assert invoke(hub, "automations", "approve", "price_tag").exit_code == 1  # not in preview any more
    assert invoke(hub, "automations", "pause", "price_tag").output.strip() == "price_tag: paused"
    assert invoke(hub, "automations", "resume", "price_tag").output.strip() == "price_tag: live"
    with hub.runtime.db.session() as s:
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.target == "price_tag").order_by(AuditEntry.id)).all() == [
            "automation.approve", "automation.pause", "automation.resume"]
    missing = invoke(hub, "automations", "show", "price_tg")
    assert missing.exit_code == 1 and "did you mean 'price_tag'" in missing.output


def test_dry_run_shows_who_and_what_and_writes_nothing(make_auto_hub):
    hub = make_auto_hub(AUTOS)
    hub.feed({"id": 1, "wxid": "wmA", "owner": "zs", "stage": "要求试用"})
    hub.feed({"id": 2, "wxid": "wmB", "owner": "ls", "stage": "兴趣", "msg_id": "m2", "text": "有点太贵了", "sender": "customer"})
    with hub.runtime.db.session() as s:
        before = (s.scalar(select(func.count()).select_from(AutomationAction)), s.scalar(select(func.count()).select_from(OutboxRow)))
    out = invoke(hub, "automations", "run", "price_tag", "--dry-run")
    assert out.exit_code == 0, out.output
    assert "would act on 1 contact(s)" in out.output and "chat_message 太贵了 → 价格异议" in out.output
    assert '"add": "价格异议"' in out.output and '"userid": "ls"' in out.output
    sop = invoke(hub, "automations", "run", "trial_sop", "--dry-run")
    assert "stage = 要求试用" in sop.output and "enroll trial_sop" in sop.output and "试用指南" in sop.output
    with hub.runtime.db.session() as s:
        after = (s.scalar(select(func.count()).select_from(AutomationAction)), s.scalar(select(func.count()).select_from(OutboxRow)))
    assert after == before
    assert invoke(hub, "automations", "run", "price_tag").exit_code == 2


def test_show_a_journey_counts_enrollments_per_step(make_auto_hub):
    from datetime import timedelta

    from hub.automations.journeys import advance_due

    hub = make_auto_hub(AUTOS)
    hub.approve("trial_sop")
    hub.feed({"id": 1, "wxid": "wmA", "owner": "zs", "stage": "兴趣"}, {"id": 2, "wxid": "wmB", "owner": "zs", "stage": "兴趣"})
    hub.feed({"id": 1, "wxid": "wmA", "owner": "zs", "stage": "要求试用"}, {"id": 2, "wxid": "wmB", "owner": "zs", "stage": "要求试用"})
    out = invoke(hub, "automations", "show", "trial_sop")
    assert "trial_sop (journey, live)" in out.output and "enrolled: 2 active {1: 2}, 0 exited, 0 completed" in out.output
    advance_due(hub.runtime, now=hub.enrollments()[0].enrolled_at + timedelta(seconds=1))
    out = invoke(hub, "automations", "show", "trial_sop")
    assert "enrolled: 0 active {}, 0 exited, 2 completed" in out.output and "queued 2" in out.output


def test_run_acts_on_current_data_once(make_auto_hub):
    """An automation approved after the facts: `run` tags the chat lines already stored and
    enrolls the contacts already in the stage — once, however often it is run, and not again
    for what processing already did."""
    from hub.store.models import ContactTag, JourneyEnrollment

    hub = make_auto_hub(AUTOS)
    hub.feed({"id": 1, "wxid": "wmA", "owner": "zs", "stage": "要求试用"})
    hub.feed({"id": 2, "wxid": "wmB", "owner": "ls", "stage": "兴趣", "msg_id": "m2", "text": "有点太贵了", "sender": "customer"})
    refused = invoke(hub, "automations", "run", "price_tag")  # still in preview
    assert refused.exit_code == 2 and "preview" in refused.output
    invoke(hub, "automations", "approve", "price_tag")
    invoke(hub, "automations", "approve", "trial_sop")
    hub.feed({"id": 3, "wxid": "wmC", "owner": "ww", "stage": "兴趣", "msg_id": "m3", "text": "太贵了", "sender": "customer"})  # live: acts now
    with hub.runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxRow)) == 1

    tagged = invoke(hub, "automations", "run", "price_tag")
    assert tagged.exit_code == 0, tagged.output
    assert "2 contact(s) match now; acted on 1, 1 already done; 1 write(s) queued" in tagged.output
    enrolled = invoke(hub, "automations", "run", "trial_sop")
    assert "acted on 1" in enrolled.output, enrolled.output
    again = [invoke(hub, "automations", "run", n).output for n in ("price_tag", "trial_sop")]
    assert all("acted on 0" in o for o in again), again
    with hub.runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.sink == "tags")) == 2
        assert sorted(s.scalars(select(ContactTag.tag))) == ["价格异议", "价格异议"]
        (e,) = s.scalars(select(JourneyEnrollment)).all()
        assert e.status == "active"
    # a journey run does not restart a finished enrollment
    with hub.runtime.db.session() as s:
        s.execute(JourneyEnrollment.__table__.update().values(status="completed", next_due_at=None))
    assert "acted on 0" in invoke(hub, "automations", "run", "trial_sop").output
    invoke(hub, "automations", "pause", "price_tag")
    assert invoke(hub, "automations", "run", "price_tag").exit_code == 2
