"""Convergence in the UI (issue 13): the hub's own writes and a tier change on a customer's
timeline with their delivery state, and a destination holding one person twice as a review
item that an operator acknowledges. Screenshots: ``docs/images/timeline-writes.png``,
``docs/images/duplicate-review.png`` (``HUB_UPDATE_SCREENSHOTS=1``)."""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.identity.review import list_conflicts, resolve_conflict
from hub.runtime import set_current
from hub.store.models import AuditEntry, MergeConflict
from hub.web import create_app
from hub.web.auth import create_token

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))

from convergence_world import CRM, WECOM, Person, World  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture
def world(tmp_path, db, database_url, redis_url, redis_conn):
    built = World(tmp_path, database_url, redis_url)
    set_current(built.runtime)
    yield built
    built.runtime.close()
    set_current(None)


@pytest.fixture
def served(world):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, create_app(world.runtime), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def sign_in(page, base: str, token: str) -> None:
    page.goto(f"{base}/signin")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/(\?.*)?$"))


def token(world, role: str) -> str:
    return create_token(world.runtime.db, f"{role}-browser", role)[1]


def test_the_timeline_shows_the_hubs_writes_with_their_delivery_state(world, served, page, shoot):
    p = Person(21, crm_row=True, wecom=True, upgrade=True)
    world.crm_insert(p)
    world.wecom_add(p)
    world.pull(CRM)
    world.pull(WECOM)  # she becomes addressable in WeCom: her tier goes out as a tag
    world.crm_upgrade(p)
    world.pull(CRM)
    contact = world.contact_of("phone", p.e164)
    sign_in(page, served, token(world, "support"))
    page.goto(f"{served}/contacts/{contact}")
    writes = page.locator(".event[data-kind=outbound_write]")
    assert writes.count() == 2
    newest = writes.first
    assert "汇流写入" in newest.inner_text() and "打标签 客户等级/重要客户" in newest.inner_text()
    newest.locator("summary").click()
    assert newest.locator("tr[data-field=delivery] td").inner_text() == "已送达"
    assert newest.locator("tr[data-field=action] td").inner_text() == "更新记录"
    change = page.locator(".event[data-kind=attribute_changed]")
    assert change.count() == 1 and "tier: 普通会员 → 金卡" in change.inner_text()
    change.locator("summary").click()
    assert change.locator("tr[data-field=source] td").inner_text() == CRM
    assert p.mobile not in page.content(), "a support agent saw the phone"
    shoot(page, "timeline-writes")


def test_a_destination_holding_one_person_twice_is_a_review_item_an_operator_acknowledges(world, served, page, shoot):
    p = Person(22, crm_row=True)
    world.crm_insert(p)
    world.crm_insert(p)
    world.pull(CRM)
    with world.runtime.db.session() as s:
        (clash,) = list_conflicts(s)
        resolve_conflict(s, clash.id, "merge", "reviewer", rules=world.runtime.rules, policies=world.runtime.config.fields,
                         runtime=world.runtime)
        s.commit()
    sign_in(page, served, token(world, "operator"))
    page.goto(f"{served}/conflicts")
    item = page.locator(".conflict").first
    assert "重复记录" in item.inner_text() and "2 records for one person" in item.inner_text()
    assert item.locator("button[value=merge]").count() == 0
    shoot(page, "duplicate-review")
    item.locator("button[value=acknowledge]").click()
    page.wait_for_url(re.compile(r"/conflicts$"))
    with world.runtime.db.session() as s:
        assert s.scalar(select(MergeConflict.status).where(MergeConflict.kind == "duplicate_record")) == "acknowledged"
        assert s.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(1)) == "conflict.acknowledge"
