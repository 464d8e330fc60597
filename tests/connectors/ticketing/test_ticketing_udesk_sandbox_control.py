"""The Udesk sandbox's control methods for ``hub demo``: tickets opened and updated at
chosen times, read back by the real connector as opened / updated."""

from __future__ import annotations

import pytest

from hub.testing import read_all

from connectors.ticketing.udesk.sandbox import UdeskSandbox


def test_open_then_update_reads_as_opened_then_updated(make_udesk, udesk_router):
    sandbox = udesk_router.sandbox
    ticket = sandbox.open_ticket(cellphone="13912345678", name="林晓雯", subject="体验课改约", content="想改到周六上午。",
                                 at="2026-06-01T14:20:00+08:00", platform="微信", priority="高")
    assert ticket["created_at"] == ticket["updated_at"] == "2026-06-01T14:20:00.000+08:00"
    assert (ticket["user_cellphone"], ticket["user_name"], ticket["platform"], ticket["status_en"]) == ("13912345678", "林晓雯", "微信", "open")
    connector = make_udesk()
    records, cursor = read_all(connector, "tickets")
    assert [(r.native_id, r.data["_change"]) for r in records] == [(str(ticket["id"]), "opened")]

    updated = sandbox.update_ticket(ticket_id=ticket["id"], status="solved", at="2026-06-01T16:10:00+08:00", assignee="客服-周婷")
    assert (updated["status"], updated["solved_at"], updated["assignee_name"]) == ("已解决", updated["updated_at"], "客服-周婷")
    records, _ = read_all(connector, "tickets", cursor)
    assert [(r.native_id, r.data["_change"], r.data["status"]) for r in records] == [(str(ticket["id"]), "updated", "已解决")]


def test_open_ticket_reuses_the_customer_with_that_mobile():
    sandbox = UdeskSandbox()
    first = sandbox.open_ticket("13812345678", "王小明", "发票", "开发票")  # the sandbox's seeded customer
    assert first["user_id"] == 5001 and first["user_email"] == "wangxm@example.cn"


def test_update_ticket_refuses_unknown_status_and_ticket():
    sandbox = UdeskSandbox()
    ticket = sandbox.open_ticket("13912345678", "林晓雯", "s", "c")
    with pytest.raises(ValueError, match="status"):
        sandbox.update_ticket(ticket["id"], "finished")
    with pytest.raises(KeyError):
        sandbox.update_ticket(99999, "solved")
    assert sandbox.tickets[ticket["id"]]["status_en"] == "open"
