"""Send windows and text matching on their own (pure functions)."""

from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

from hub.automations.spec import TextMatch, Trigger, Window

SH = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def test_a_day_window_opens_at_its_start_the_same_or_next_day():
    w = Window(time(10), time(20), SH)
    assert w.contains(local("2026-12-02T10:00")) and not w.contains(local("2026-12-02T20:00"))
    assert w.next_open(local("2026-12-02T07:30")) == local("2026-12-02T10:00")
    assert w.next_open(local("2026-12-02T21:00")) == local("2026-12-03T10:00")
    noon = local("2026-12-02T12:00")
    assert w.next_open(noon) == noon
    # An aware UTC time is judged in Shanghai time: 03:00 UTC is 11:00 there.
    assert w.contains(datetime.fromisoformat("2026-12-02T03:00+00:00"))


def test_a_window_may_wrap_midnight():
    w = Window(time(20), time(8), SH)
    assert w.contains(local("2026-12-02T23:00")) and w.contains(local("2026-12-03T07:59"))
    assert not w.contains(local("2026-12-02T12:00"))
    assert w.next_open(local("2026-12-02T12:00")) == local("2026-12-02T20:00")


def test_keywords_win_over_patterns_and_labels_render_the_match():
    m = TextMatch(keywords={"太贵了": "价格异议", "多少钱": "意向"}, patterns=[(re.compile(r"\d+元"), "报价 {0}")])
    assert m.match({"data": {"text": "300元太贵了"}}) == ("价格异议", "太贵了")
    assert m.match({"data": {"content": "300元可以吗"}}) == ("报价 300元", "300元")
    assert m.match({"summary": "问一下多少钱"}) == ("意向", "多少钱")
    assert m.match({"data": {"text": "好的"}}) is None and m.match({"data": {}}) is None


def test_event_triggers_check_kind_sender_and_text():
    t = Trigger(events=["chat_message"], sender="customer", text=TextMatch(keywords={"发货": "复购"}))
    fires = {"kind": "chat_message", "data": {"from": "customer", "text": "什么时候发货"}}
    assert t.event_fires(fires) == {"match": "复购", "keyword": "发货"}
    assert t.event_fires({**fires, "kind": "call"}) is None
    assert t.event_fires({**fires, "data": {"from": "member", "text": "发货了"}}) is None
    assert Trigger(attribute="stage", becomes="购买").attribute_fires("stage", "试用", "购买")
    assert not Trigger(attribute="stage", becomes="购买").attribute_fires("stage", "购买", "购买")
