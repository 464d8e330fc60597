"""The ops pages in headless Chromium: an admin syncs a connector now, switches one off and
on, reads a connector's runs (pulls, webhook bursts, delivery bursts) and one run's detail,
the dead letters with the customer and a localised reason, the audit log as sentences, and
a call's detail with localised labels. Screenshots for docs/web.md
(``HUB_UPDATE_SCREENSHOTS=1``)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from hub.pipeline.runs import burst
from hub.pipeline.switches import is_switched_off
from hub.queue import get_queue
from hub.store.models import ConnectorState, ContactAttribute

from demo_data import PHONE
from test_web_browser import sign_in

pytestmark = pytest.mark.browser


def _traffic(runtime) -> None:
    """A minute of pushes and writes next to the demo's pulls, as the pipeline records them."""
    with runtime.db.session() as s:
        burst(s, "udesk_main", "webhook", requests=12, read=12, new=9, duplicates=3)
        burst(s, "udesk_main", "deliver", "tickets", delivered=5, retrying=1,
              error="TransientError: udesk_main tickets: HTTP 503: upstream unavailable")
        burst(s, "wecom_sales", "webhook", requests=3, read=2, new=2, rejected=1, error="WebhookRejected: msg_signature mismatch")


def test_admin_syncs_now_disables_and_enables_a_connector(live_server, tokens, page, shoot, app, redis_conn):
    runtime = app.extensions["hub"]
    get_queue(redis_conn).empty()
    sign_in(page, live_server, tokens["admin"])
    page.goto(f"{live_server}/connectors")
    card = page.locator("article.conn[data-connector=cc_400]")
    card.locator("button[data-sync]").click()
    page.wait_for_selector(".flash-ok")
    assert "已为 cc_400 排队同步" in page.locator(".flash-ok").inner_text()
    assert [job.args for job in get_queue(redis_conn).jobs] == [("cc_400", "cdr_inbound")]

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("article.conn[data-connector=feiyu_ads] button[data-switch=off]").click()
    page.wait_for_selector("article.conn[data-connector=feiyu_ads][data-health=disabled]")
    assert is_switched_off(runtime.db, "feiyu_ads")
    assert page.locator("article.conn[data-connector=feiyu_ads] button[data-switch=on]").count() == 1
    assert page.locator("article.conn[data-connector=feiyu_ads] button[data-sync]").count() == 0
    shoot(page, "connectors-actions")

    page.locator("article.conn[data-connector=feiyu_ads] button[data-switch=on]").click()
    page.wait_for_selector("article.conn[data-connector=feiyu_ads][data-health=ok]")
    assert not is_switched_off(runtime.db, "feiyu_ads")

    page.click(".nav >> text=审计日志")
    page.wait_for_url(re.compile(r"/audit$"))
    sentences = page.locator("td.what .sentence").all_inner_texts()
    assert sentences[:3] == ["启用了连接器 feiyu_ads", "停用了连接器 feiyu_ads", "手动同步连接器 cc_400（cdr_inbound）"]
    assert "admin-tester" in page.locator("td.actor").first.inner_text()
    shoot(page, "audit", full_page=False)


def test_operator_reads_a_connectors_runs_and_a_runs_detail(live_server, tokens, page, shoot, app):
    _traffic(app.extensions["hub"])
    sign_in(page, live_server, tokens["operator"])
    page.goto(f"{live_server}/connectors")
    page.click("article.conn[data-connector=udesk_main] .conn-title a")
    page.wait_for_url(re.compile(r"/connectors/udesk_main$"))
    rows = page.locator("tr[data-run]")
    kinds = rows.evaluate_all("els => els.map(e => e.dataset.kind)")
    assert {"pull", "webhook", "deliver"} <= set(kinds)
    deliver = page.locator("tr[data-kind=deliver]").first
    assert "已写入" in deliver.inner_text() and "稍后重试" in deliver.inner_text()
    assert "对方系统暂时故障（HTTP 503）" in deliver.inner_text()
    assert page.locator("button[data-sync]").count() == 0  # no admin buttons for operators
    shoot(page, "connector")

    page.click("a.chip[data-filter-kind=pull]")
    page.wait_for_url(re.compile(r"kind=pull"))
    assert set(page.locator("tr[data-run]").evaluate_all("els => els.map(e => e.dataset.kind)")) == {"pull"}
    # the pull that read the broken ticket: its detail lists the rejected record
    found = False
    for row in page.locator("tr[data-run]").all():
        row.locator("a").click()
        page.wait_for_url(re.compile(r"/runs/\d+$"))
        if page.locator("tr[data-ref^='inbox:']").count():
            found = True
            break
        page.go_back()
    assert found, "no pull run lists the rejected ticket"
    assert "日期时间无法识别" in page.locator("tr[data-ref^='inbox:']").first.inner_text()
    assert page.locator("[data-outcome=processed]").count() == 1
    shoot(page, "run", full_page=False)


def test_dead_letters_show_the_customer_and_why_in_chinese(live_server, tokens, page, shoot):
    sign_in(page, live_server, tokens["operator"])
    page.goto(f"{live_server}/deadletters")
    row = page.locator("tr[data-ref]").first
    text = row.inner_text()
    assert "周建国" in text and "136****5432" in text
    assert "日期时间无法识别" in text and "invalid date/time" not in text  # the raw error waits behind a click
    row.locator("details.raw summary").click()
    assert "invalid date/time" in row.locator("details.raw").inner_text()
    shoot(page, "deadletters-detail", full_page=False)


def test_a_calls_detail_reads_in_chinese_with_the_owner_by_name(live_server, tokens, page, shoot, app):
    runtime = app.extensions["hub"]
    sign_in(page, live_server, tokens["support"])
    page.goto(f"{live_server}/?q={PHONE}")
    page.locator(".hit a").click()
    page.wait_for_url(re.compile(r"/contacts/\d+$"))
    contact_id = int(page.url.rsplit("/", 1)[1])
    with runtime.db.session() as s:  # the WeCom member directory knows the owner's name
        userid = s.get(ContactAttribute, (contact_id, "owner")).value
        s.merge(ConnectorState(connector="wecom_sales", key=f"member:{userid}", value={"name": "张三"}))
    page.reload()
    assert "张三" in page.locator(".head-ids [data-attr=owner]").inner_text()
    assert userid not in page.locator("tr[data-attr=owner] td").inner_text()
    call = page.locator(".event[data-channel=clink]").first
    call.locator("summary").click()
    detail = call.locator(".ev-data")
    assert "通话时长" in detail.inner_text() and "talk_seconds" not in detail.inner_text()
    assert re.search(r"\d+(小时|分|秒)", detail.locator("tr[data-field=talk_seconds] td").inner_text())
    assert call.locator(".kind-icon").count() == 1  # the call-center plugin's icon for call events
    friend = page.locator(".event[data-kind=wecom_friend_added]").first
    friend.locator("summary").click()
    assert "张三" in friend.locator("tr[data-field=userid] td").inner_text()
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar belongs at the top of a full-page shot
    shoot(page, "event-detail")


def test_admin_reviews_held_writes_and_releases_them(live_server, tokens, page, shoot, app):
    from test_web_ops import hold_writes

    from hub.store.models import OutboxRow

    runtime = app.extensions["hub"]
    first, second = hold_writes(runtime)
    sign_in(page, live_server, tokens["admin"])
    page.click(".nav >> text=待写入")
    page.wait_for_url(re.compile(r"/writes$"))
    held = page.locator("form[data-held-target='udesk_main.tickets']")
    assert held.locator("tr[data-write]").count() == 2
    assert "跟进客户：林晓雯" in held.inner_text() and "139****5678" in held.inner_text()
    assert held.locator(f"tr[data-write='{first}']").get_attribute("data-action") == "create"
    shoot(page, "writes")

    held.locator(f"input[name=id][value='{first}']").check()
    page.once("dialog", lambda dialog: dialog.accept())
    held.locator("button[value=approve]").click()
    page.wait_for_selector(".flash-ok")
    assert "已放行 udesk_main.tickets 的 1 条写入" in page.locator(".flash-ok").inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[data-approve-all='udesk_main.tickets']")
    page.wait_for_selector("tr[data-target='udesk_main.tickets'][data-holding='0']")
    with runtime.db.session() as s:
        assert {s.get(OutboxRow, i).status for i in (first, second)} == {"pending"}


def test_operator_discards_a_dead_letter(live_server, tokens, page):
    sign_in(page, live_server, tokens["operator"])
    page.goto(f"{live_server}/deadletters")
    ref = page.locator("tr[data-ref]").first.get_attribute("data-ref")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.click(f"button[data-discard='{ref}']")
    page.wait_for_selector(".flash-ok")
    assert "已丢弃" in page.locator(".flash-ok").inner_text() and "不再重试" in questions[0]
    assert page.locator(f"tr[data-ref='{ref}']").count() == 0
