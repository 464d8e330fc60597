"""Property: replaying the same inputs never acts twice.

Any sequence of CRM records (stage changes, chat lines with and without keywords, for a
few customers) is fed and the journeys advanced; then every inbox row is processed again
and the ticker runs again at the same moments. No new action row and no new outbox row
may appear: every action is keyed by (automation, contact, trigger, action) and every
journey step by (journey, contact, round, step)."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from hub.automations.journeys import advance_due
from hub.store.models import AutomationAction, OutboxRow
from hub.store.types import utcnow

AUTOMATIONS = """
trial_sop:
  enroll: {attribute: stage, becomes: 要求试用}
  exit: [{attribute: stage, changes: true}]
  steps:
    - {after: 0m, do: {sink: wecom_sales.messages, template: trial_guide}}
    - {after: 1d, do: [{tag: 试用跟进}, {sink: wecom_sales.messages, template: trial_case}]}
price_tag:
  on: {event: chat_message, text_matches: {keywords: {太贵了: 价格异议, 多少钱: 意向}}}
  do: [{tag: "{match}"}, {sink: wecom_sales.tags, payload: {external_userid: "{identities.wecom_external_userid[0]}", userid: "{attributes.owner}", add: "{match}"}}]
"""

STAGES = ["兴趣", "资料", "要求试用", "购买"]
TEXTS = ["太贵了", "多少钱一个", "好的", "这个太贵了多少钱"]

inputs = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(STAGES), st.one_of(st.none(), st.sampled_from(TEXTS))),
    min_size=1, max_size=8,
)

_example = count()
_hubs: dict = {}


def _counts(runtime) -> tuple[int, int]:
    with runtime.db.session() as s:
        return (s.scalar(select(func.count()).select_from(AutomationAction)),
                s.scalar(select(func.count()).select_from(OutboxRow)))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=inputs)
def test_replaying_the_same_inputs_never_sends_twice(make_auto_hub, steps):
    n = next(_example)
    # One hub per test run (the fixture is function-scoped; hypothesis runs every example in it).
    made = _hubs.get(id(make_auto_hub))
    if made is None or made[0] is not make_auto_hub:
        hub = make_auto_hub(AUTOMATIONS, settings="daily_messages: null")
        hub.approve("trial_sop", "price_tag")
        _hubs.clear()
        _hubs[id(make_auto_hub)] = (make_auto_hub, hub)
    hub = _hubs[id(make_auto_hub)][1]
    base = n * 10  # fresh customers per example: the database is shared across examples
    start = utcnow()
    moments = [start + timedelta(seconds=1), start + timedelta(days=2)]
    for i, (who, stage, text) in enumerate(steps):
        record = {"id": base + who, "name": f"客户{who}", "wxid": f"wm{base + who}", "owner": "zhangsan", "stage": stage,
                  "updated_at": f"2026-12-01T00:{i:02d}:00+00:00"}
        if text is not None:
            record.update(msg_id=f"{base}-{i}", text=text, sender="customer")
        hub.feed(record)
    for moment in moments:
        advance_due(hub.runtime, now=moment)
    before = _counts(hub.runtime)
    if any(text and ("太贵了" in text or "多少钱" in text) for _, _, text in steps):
        assert before[0] > 0 and before[1] > 0  # the rule did act: the replay has something to repeat
    hub.reprocess_all()
    for moment in moments:
        advance_due(hub.runtime, now=moment)
    assert _counts(hub.runtime) == before
