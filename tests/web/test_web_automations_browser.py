"""Automations in headless Chromium, over the hub :func:`test_web_automations.build_hub` makes
with the real pipeline and journey engine (a journey with contacts completed, at step 2,
exited and failed; a live keyword rule; a rule in preview): an admin reads the list and a
journey's page, advances a step and sees the counts move, approves the rule in preview; the
contact page shows each journey's progress bar and the automation entries on the timeline; a
support agent sees the pages without buttons and with masked phones. Screenshots for
docs/automations.md (``HUB_UPDATE_SCREENSHOTS=1``): automation-page.png, contact-journey.png, and over the
second hub (a schedule rule, a departure hand-over) automation-schedule.png and
automation-departure.png."""

from __future__ import annotations

import re

import pytest

from hub.automations.journeys import advance_due

from test_web_automations import app, auto_hub, more_hub, shown, tokens  # noqa: F401  (fixtures)
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


class TestScheduleAndHandOver:
    """The second hub of :func:`test_web_automations.build_more_hub`: a schedule rule fired
    after downtime with a set action, and 李四's departure handed over to 张三 through the
    WeCom sandbox. Screenshots: automation-schedule.png, automation-departure.png."""

    @pytest.fixture
    def app(self, more_hub):
        from hub.web import create_app

        return create_app(more_hub.runtime)

    @pytest.fixture
    def tokens(self, app):
        from hub.web.auth import ROLES, create_token

        return {role: create_token(app.extensions["hub"].db, f"{role}-tester", role)[1] for role in ROLES}

    def test_an_operator_reads_the_schedule_and_the_hand_over(self, live_server, tokens, page, shoot, more_hub):
        sign_in(page, live_server, tokens["operator"])
        page.click(".nav >> text=自动化")
        page.wait_for_url(re.compile(r"/automations$"))
        sched = page.locator("tr[data-automation=price_followup] .sched-line")
        assert sched.locator("[data-cron-words]").inner_text() == "每周一至周五 09:00"
        assert re.fullmatch(r"下次 \d{4}-\d\d-\d\d 09:00", sched.locator("[data-next]").inner_text())
        assert sched.locator("[data-last]").inner_text() == "上次 2026-12-07 09:00：已触发，2 位"
        assert "离职成员 2 位" in page.locator("tr[data-automation=departure] [data-handover]").inner_text()

        page.click("tr[data-automation=price_followup] a")
        page.wait_for_url(re.compile(r"/automations/price_followup$"))
        box = page.locator("section[data-section=schedule]")
        assert box.locator("[data-sched=words]").inner_text() == "每周一至周五 09:00"
        assert box.locator("[data-sched=expression]").inner_text() == "0 9 * * 1-5"
        assert box.locator("[data-sched=timezone]").inner_text() == "Asia/Shanghai"
        assert box.locator("[data-instant]").inner_text() == "2026-12-07 09:00"
        assert box.locator("[data-last-status]").inner_text() == "已触发"
        assert box.locator("[data-matched]").inner_text() == "符合条件 2 位" and box.locator("[data-acted]").inner_text() == "已执行 2 位"
        assert box.locator("[data-missed]").inner_text() == "停机后只补触发一次，跳过了 2 个更早的时刻"
        assert page.locator("[data-def=do] [data-set=segment]").inner_text() == "设置属性 segment = 高意向"
        assert page.locator(".auto-stats [data-fig=unchanged] dd").inner_text() == "1"
        unchanged = page.locator("section[data-section=actions] tr[data-status=unchanged]")
        assert "未变化" in unchanged.inner_text() and "segment is already 高意向" in unchanged.inner_text()
        assert "139****9012" in page.content() and "13900139012" not in page.content()
        shoot(page, "automation-schedule")

        page.goto(f"{live_server}/automations/departure")
        row = page.locator("section[data-section=handovers] tr[data-member=lisi]")
        assert row.get_attribute("data-departure-status") == "open"
        assert row.locator("td").first.locator("b").inner_text() == "李四 lisi"
        takeover = row.locator("[data-takeover=zhangsan]")
        states = takeover.locator("[data-state]").evaluate_all("els => els.map(e => e.dataset.state)")
        assert states == ["waiting", "done", "refused", "limit", "failed"]
        assert takeover.locator("[data-state=limit]").inner_text() == "1 接替成员客户已满"
        assert row.locator("[data-batches]").get_attribute("data-batches") == "2"
        assert page.locator("section[data-section=handovers] tr[data-member=zhaoliu]").count() == 1
        assert page.locator("button[data-switch=pause]").count() == 1  # an operator may pause it
        shoot(page, "automation-departure")

        # From a customer in the latest actions to their page: the hand-over card and the timeline.
        chen = more_hub.contacts[11]
        page.goto(f"{live_server}/contacts/{chen}")
        card = page.locator("section[data-section=handovers] li")
        assert card.get_attribute("data-state") == "done" and "李四 → 张三" in card.inner_text() and "已接替" in card.inner_text()
        said = page.locator(".timeline li.event[data-kind=automation] .ev-summary").all_inner_texts()
        assert "departure: 离职交接：已由 张三（zhangsan） 接替" in said
        assert page.locator(".timeline li.event[data-kind=attribute_changed] [data-by-automation=price_followup]").count() == 1
        page.goto(f"{live_server}/contacts/{chen}?lang=en")
        said = page.locator(".timeline [data-handover-said]").all_inner_texts()
        assert "departure: Hand-over: taken over by 张三" in said
        assert "李四 → 张三 taken over" in page.locator("section[data-section=handovers]").inner_text()
