"""The UI in headless Chromium, over a hub the real pipeline filled from four connectors.

Run with ``HUB_UPDATE_SCREENSHOTS=1`` to refresh the screenshots in ``docs/images/``.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from hub.store.models import AuditEntry, InboxRow

from demo_data import NAME, PHONE, PHONE_E164, PHONE_MASKED

pytestmark = pytest.mark.browser


def sign_in(page, base: str, token: str) -> None:
    page.goto(f"{base}/signin")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/(\?.*)?$"))


def test_support_finds_a_customer_by_phone_and_reads_one_masked_history(live_server, tokens, page, shoot):
    page.goto(f"{live_server}/contacts/1")
    assert "/signin" in page.url  # not signed in: sent to the sign-in page
    assert page.locator("h1").inner_text() == "登录汇流"
    shoot(page, "signin", full_page=False)

    sign_in(page, live_server, tokens["support"])
    # support sees no operator pages in the navigation
    assert page.locator(".nav a").all_inner_texts() == ["客户搜索"]
    page.fill("input[name=q]", PHONE)
    page.press("input[name=q]", "Enter")
    hit = page.locator(".hit").first
    hit.wait_for()
    assert page.locator(".hit").count() == 1
    assert NAME in hit.inner_text()
    assert PHONE_MASKED in hit.inner_text() and PHONE not in hit.inner_text()
    assert hit.locator(".ch").count() == 4  # feiyu, clink, udesk, wecom
    shoot(page, "search", full_page=False)

    hit.locator("a").click()
    page.wait_for_url(re.compile(r"/contacts/\d+$"))
    assert NAME in page.locator("h1").inner_text()
    html = page.content()
    assert PHONE not in html and PHONE_E164 not in html, "an unmasked phone reached a support agent's page"
    assert PHONE_MASKED in page.locator(".head-ids").inner_text()

    events = page.locator(".timeline .event")
    assert events.count() >= 5
    channels = events.evaluate_all("els => els.map(e => e.dataset.channel)")
    times = events.evaluate_all("els => els.map(e => e.dataset.occurredAt)")
    assert len(set(channels)) >= 3 and {"feiyu", "clink", "udesk"} <= set(channels)
    assert times == sorted(times, reverse=True), "the timeline is not newest first"
    # every event has its channel icon, a time and a summary
    for i in range(events.count()):
        ev = events.nth(i)
        assert ev.locator(".ev-icon .ch").get_attribute("data-channel") == channels[i]
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d", ev.locator("time").inner_text())
        assert ev.locator(".ev-summary").inner_text().strip()
    # attributes say where each value came from
    gender = page.locator("tr[data-attr=gender]")
    assert "女" in gender.inner_text() and "feiyu_ads" in gender.locator(".prov").inner_text()

    # expand one event's detail
    call = page.locator(".event[data-channel=clink]").first
    assert not call.locator(".ev-data").is_visible()
    call.locator("summary").click()
    assert call.locator(".ev-data").is_visible()
    assert "4008208820" in call.locator(".ev-data").inner_text()
    shoot(page, "contact")

    # filter by channel
    page.click("a[data-filter-channel=clink]")
    page.wait_for_url(re.compile(r"channel=clink"))
    assert set(page.locator(".timeline .event").evaluate_all("els => els.map(e => e.dataset.channel)")) == {"clink"}

    # and operator pages are refused
    response = page.goto(f"{live_server}/deadletters")
    assert response.status == 403 and "无权访问" in page.locator("h1").inner_text()


def test_admin_replays_a_dead_letter(live_server, tokens, page, shoot, app):
    sign_in(page, live_server, tokens["admin"])
    page.click("text=连接器")
    page.wait_for_url(re.compile(r"/connectors$"))
    cards = page.locator("article.conn")
    assert cards.count() == 4
    assert page.locator("article.conn[data-connector=udesk_main]").get_attribute("data-health") == "degraded"
    assert page.locator("article.conn[data-connector=feiyu_ads]").get_attribute("data-health") == "ok"
    shoot(page, "connectors")

    page.click(".nav >> text=死信队列")
    page.wait_for_url(re.compile(r"/deadletters$"))
    rows = page.locator("tr[data-ref]")
    assert rows.count() == 1
    ref = rows.first.get_attribute("data-ref")
    assert "日期时间无法识别" in rows.first.inner_text()  # a localised reason (the raw error is behind a click)
    shoot(page, "deadletters", full_page=False)

    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"button[data-replay='{ref}']")
    page.wait_for_selector(".flash-ok")
    assert "已重放" in page.locator(".flash-ok").inner_text()
    assert page.locator("tr[data-ref]").count() == 0

    runtime = app.extensions["hub"]
    with runtime.db.session() as s:
        assert s.get(InboxRow, int(ref.split(":")[1])).status == "pending"
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "dlq.replay"))
    assert entry.target == ref and "admin-tester" in entry.actor

    # the audit log shows it
    page.click(".nav >> text=审计日志")
    assert page.locator("tr[data-action='dlq.replay']").count() == 1


def test_operator_reviews_a_merge_conflict_and_reveals_a_phone(live_server, tokens, page, shoot, app):
    sign_in(page, live_server, tokens["operator"])
    page.goto(f"{live_server}/conflicts")
    conflict = page.locator("article.conflict")
    assert conflict.count() == 1
    assert "135****4321" in conflict.inner_text()
    shoot(page, "conflicts", full_page=False)
    conflict.locator("button[value=keep_apart]").click()
    page.wait_for_selector(".flash-ok")
    assert page.locator("article.conflict").count() == 0

    page.goto(f"{live_server}/?q={PHONE}")
    page.locator(".hit a").click()
    page.wait_for_url(re.compile(r"/contacts/\d+$"))
    assert PHONE_E164 not in page.content()
    page.click("text=显示完整信息")
    page.wait_for_selector("[data-revealed]")
    assert PHONE_E164 in page.content()
    with app.extensions["hub"].db.session() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["conflict.keep_apart", "contact.search", "contact.reveal"]  # searches are audited too


def test_english_is_one_click_away(live_server, tokens, page, shoot):
    sign_in(page, live_server, tokens["admin"])
    page.click("a.lang")
    assert page.locator(".nav a").first.inner_text() == "Search"
    page.fill("input[name=q]", "晓雯")
    page.press("input[name=q]", "Enter")
    page.locator(".hit a").click()
    page.wait_for_url(re.compile(r"/contacts/\d+$"))
    assert page.locator(".timeline-wrap h2").inner_text() == "Timeline"  # the language is remembered (cookie)
    shoot(page, "contact-en")
    page.click("a.lang")
    assert page.locator(".timeline-wrap h2").inner_text() == "统一时间线"
