"""Automations in headless Chromium, over the hub :func:`test_web_automations.build_hub` makes
with the real pipeline and journey engine (a journey with contacts completed, at step 2,
exited and failed; a live keyword rule; a rule in preview): an admin reads the list and a
journey's page, advances a step and sees the counts move, approves the rule in preview; the
contact page shows each journey's progress bar and the automation entries on the timeline; a
support agent sees the pages without buttons and with masked phones. Screenshots for
docs/automations.md (``HUB_UPDATE_SCREENSHOTS=1``): automation-page.png, contact-journey.png."""

from __future__ import annotations

import re

import pytest

from hub.automations.journeys import advance_due

from test_web_automations import app, auto_hub, shown, tokens  # noqa: F401  (fixtures)
from test_web_browser import sign_in

pytestmark = pytest.mark.browser


def test_admin_reads_a_journeys_page_advances_a_step_and_approves_a_rule(live_server, tokens, page, shoot, auto_hub):
    sign_in(page, live_server, tokens["admin"])
    page.click(".nav >> text=自动化")
    page.wait_for_url(re.compile(r"/automations$"))
    rows = page.locator("tr[data-automation]")
    assert rows.evaluate_all("els => els.map(e => [e.dataset.automation, e.dataset.kind, e.dataset.status])") == [
        ["trial_sop", "journey", "live"], ["price_objection_tag", "rule", "live"], ["purchase_thanks", "rule", "preview"]]
    sop = page.locator("tr[data-automation=trial_sop]")
    assert "stage → 要求试用" in sop.inner_text() and "2 进行中" in sop.inner_text()
    shoot(page, "automation-list", full_page=False)

    sop.locator("a").first.click()
    page.wait_for_url(re.compile(r"/automations/trial_sop$"))
    assert page.locator("ol.auto-steps > li").evaluate_all("els => els.map(e => [e.dataset.step, e.dataset.waiting])") == [
        ["1", "0"], ["2", "2"], ["3", "0"]]
    stats = page.locator(".auto-stats")
    assert stats.locator("[data-enr=active] dd").inner_text() == "2"
    assert stats.locator("[data-enr=exited] dd").inner_text() == "1"
    assert stats.locator("[data-enr=completed] dd").inner_text() == "1"
    assert stats.locator("[data-fig=sent] dd").inner_text() == "3"
    assert stats.locator("[data-fig=failed] dd").inner_text() == "1"
    li = page.locator(f"section[data-section=contacts] tr[data-contact='{auto_hub.contacts[1]}']")
    assert "李先生" in li.inner_text() and "138****8001" in li.inner_text() and "13800138001" not in page.content()
    due = shown(auto_hub, 1)
    assert li.locator("[data-progress-text]").inner_text() == f"步骤 2/3，下一步 {due}"
    wang = page.locator(f"section[data-section=contacts] tr[data-contact='{auto_hub.contacts[2]}']")
    assert "已退出（停在第 2/3 步前）" in wang.inner_text()
    assert page.locator("button[data-switch=pause]").count() == 1 and page.locator("button[data-switch=approve]").count() == 0
    shoot(page, "automation-page")

    # The engine runs step 2 of 李先生 and 周先生 at its due time (a due time outside the send
    # window first moves to the window's start): the page follows.
    for _ in range(4):
        waiting = [auto_hub.enrollment(i) for i in (1, 4) if auto_hub.enrollment(i).step == 1]
        if not waiting:
            break
        advance_due(auto_hub.runtime, now=max(e.next_due_at for e in waiting))
    page.reload()
    assert page.locator("ol.auto-steps > li").evaluate_all("els => els.map(e => e.dataset.waiting)") == ["0", "0", "2"]
    assert li.locator("[data-progress-text]").inner_text() == f"步骤 3/3，下一步 {shown(auto_hub, 1)}"

    page.goto(f"{live_server}/automations/purchase_thanks")
    assert page.locator(".auto-head").get_attribute("data-status") == "preview"
    assert page.locator("[data-fig=preview] dd").inner_text() == "1"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[data-switch=approve]")
    page.wait_for_selector(".flash-ok")
    assert "已批准 purchase_thanks：现在开始运行。" in page.locator(".flash-ok").inner_text()
    assert page.locator(".auto-head").get_attribute("data-status") == "live"
    assert "admin-tester" in page.locator(".auto-head").inner_text()


def test_the_contact_page_shows_each_journeys_progress_and_the_automation_entries(live_server, tokens, page, shoot, auto_hub):
    sign_in(page, live_server, tokens["support"])
    assert page.locator(".nav a").all_inner_texts() == ["客户搜索"]  # no ops menu; the pages are linked from the timeline
    page.goto(f"{live_server}/automations/trial_sop")
    assert page.locator("button[data-switch]").count() == 0  # support reads, never switches
    page.locator(f"section[data-section=contacts] tr[data-contact='{auto_hub.contacts[1]}'] a").click()
    page.wait_for_url(re.compile(rf"/contacts/{auto_hub.contacts[1]}$"))
    bar = page.locator("section[data-section=journeys] .jprog")
    assert bar.get_attribute("data-journey") == "trial_sop" and bar.get_attribute("data-status") == "active"
    due = shown(auto_hub, 1)
    assert bar.locator(".jtext").inner_text().strip() == f"trial_sop 步骤 2/3，下一步 {due}"
    chips = page.locator(".timeline [data-by-automation=trial_sop]")
    assert chips.count() == 2  # the enrollment and step 1's write to WeCom
    entries = page.locator(".timeline li.event").filter(has=page.locator("[data-by-automation]"))
    kinds = entries.evaluate_all("els => els.map(e => e.dataset.kind)")
    assert sorted(kinds) == ["automation", "outbound_write"]
    write = page.locator(".timeline li.event[data-kind=outbound_write]")
    assert "wecom_sales.messages" in write.inner_text() and "汇流写入" in write.inner_text()
    assert "进入旅程" in page.locator(".timeline li.event[data-kind=automation]").inner_text()
    assert "138****8001" in page.content() and "13800138001" not in page.content()
    shoot(page, "contact-journey")

    page.goto(f"{live_server}/contacts/{auto_hub.contacts[2]}")
    bar = page.locator("section[data-section=journeys] .jprog")
    assert bar.get_attribute("data-status") == "exited"
    assert "已退出（停在第 2/3 步前）" in bar.inner_text()
    assert page.locator(".timeline [data-by-automation=price_objection_tag]").count() == 2  # the hub tag and the WeCom tag write
    page.goto(f"{live_server}/contacts/{auto_hub.contacts[1]}?lang=en")
    assert page.locator("section[data-section=journeys] .jtext").inner_text().strip() == f"trial_sop step 2 of 3, next {due}"
