"""An hour-level WeCom block holds the instance's writes without using up their attempts.

WeCom (主动调用频率限制, doc 90454 as of 2023): over the per-corp per-API hour limit
(150,000/h) an API answers ``45009 api freq out of limit`` for 60 minutes. The old code
retried every 45009 after 60 s as a counted attempt, so tag writes were dead-lettered after
``max_attempts``; now the first write that meets the hour block pauses the instance, the
other writes are held without calling WeCom, no attempt is counted, the connectors page shows
the pause, and everything goes out once it lifts.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select, update

from test_pipeline_wecom_crm import CRM, WECOM, hub  # noqa: F401  (the fixture)

from hub.pipeline.deliver import deliver, due_outbox_ids
from hub.pipeline.inline import sync_inline
from hub.pipeline.pauses import KEY, paused_for
from hub.store.models import ConnectorState, OutboxRow
from hub.store.types import utcnow
from hub.web.queries import connector_statuses

MARK_TAG = "externalcontact/mark_tag"


def outbox(runtime, after: int = 0):
    with runtime.db.session() as s:
        return list(s.scalars(select(OutboxRow).where(OutboxRow.connector == WECOM, OutboxRow.id > after).order_by(OutboxRow.id)))


def test_an_hour_block_pauses_the_instance_and_spends_no_attempts(hub, redis_conn):
    runtime, crm, wecom, router = hub
    sync_inline(runtime, CRM, "rows")
    for cid in ("1", "2"):
        wecom.add_friend(name=f"客户{cid}", userid="zhangsan", remark_mobiles=[crm.row(cid)["phone"]], remark="crm")
    assert sync_inline(runtime, WECOM, "external_contacts")["error"] is None
    earlier = max([r.id for r in outbox(runtime)], default=0)  # first renderings, delivered
    assert all(r.status == "delivered" for r in outbox(runtime))

    # WeCom has answered 45009 on mark_tag for two minutes (another app used up the hour).
    redis_conn.set(f"hub:wecom:block:{wecom.corp_id}:{MARK_TAG}", repr(time.time() - 120))
    wecom.fail_next("45009", times=10, path=MARK_TAG)
    crm.update_record("rows", "1")
    crm.update_record("rows", "2")
    calls_before = router.calls.count(("POST", f"/sandbox/{WECOM}/cgi-bin/{MARK_TAG}"))
    run = sync_inline(runtime, CRM, "rows")
    assert run["delivered"] == 0 and run["dead"] == 0 and run["retrying"] == 2, run
    # one write met the block; the other was held without calling WeCom
    assert router.calls.count(("POST", f"/sandbox/{WECOM}/cgi-bin/{MARK_TAG}")) == calls_before + 1
    rows = outbox(runtime, earlier)
    assert [(r.status, r.attempts) for r in rows] == [("pending", 0), ("pending", 0)]
    assert all((r.next_attempt_at - utcnow()).total_seconds() > 3000 for r in rows)
    assert 3000 < paused_for(runtime.db, WECOM) <= 3480
    with runtime.db.session() as s:
        (status,) = connector_statuses(runtime, s, [WECOM])
    assert status.paused and "45009" in status.paused["reason"]

    # Retried early (e.g. an operator's replay), the rows stay held: still no attempt counted.
    with runtime.db.session() as s:
        s.execute(update(OutboxRow).values(next_attempt_at=OutboxRow.created_at))
    calls_before = router.calls.count(("POST", f"/sandbox/{WECOM}/cgi-bin/{MARK_TAG}"))
    deliver(runtime, due_outbox_ids(runtime.db))
    assert [(r.status, r.attempts) for r in outbox(runtime, earlier)] == [("pending", 0), ("pending", 0)]
    assert router.calls.count(("POST", f"/sandbox/{WECOM}/cgi-bin/{MARK_TAG}")) == calls_before

    # The hour is over: the block has lifted and both writes go out.
    wecom.failures.clear()
    with runtime.db.session() as s:
        s.execute(update(ConnectorState).where(ConnectorState.key == KEY)
                  .values(value={"until": (utcnow() - timedelta(seconds=1)).isoformat(), "reason": "lifted"}))
        s.execute(update(OutboxRow).values(next_attempt_at=OutboxRow.created_at))
    time.sleep(1.1)  # past the pause cache of this process (pauses.CHECK_EVERY)
    deliver(runtime, due_outbox_ids(runtime.db))
    assert [(r.status, r.attempts) for r in outbox(runtime, earlier)] == [("delivered", 1), ("delivered", 1)]
    with runtime.db.session() as s:
        (status,) = connector_statuses(runtime, s, [WECOM])
    assert status.paused is None
