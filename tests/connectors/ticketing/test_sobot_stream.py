"""Sobot (智齿) tickets stream through Open Platform 5.0 ``query_tickets_by_update_time``.

Request and answer shapes from taadis/zhichi ``ticket/query_tickets_by_update_time.go``
(``update_start_datetime`` / ``update_end_datetime`` "2018-09-18 00:00:00", at most one month
apart; ``page_no``; ``page_size`` default 15, max 50; rows ``ticketid, ticket_title,
ticket_code, ticket_from, ticket_level, ticket_status, start_type, start_name,
ticket_type_name, deal_agent_name, deal_group_name, create_datetime, update_datetime,
user_nick, user_name, user_tels, user_emails``) and a public integration's reference notes
(answer key ``items`` with ``page_count`` / ``total_count``). None of this was read before:
the old connector had no stream.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from hub.mapping import load_mapping

from connectors.ticketing.sobot.streams import CHINA, FORMAT, annotate, page_rows

MAPPING = Path(__file__).resolve().parents[3] / "mappings" / "sobot.tickets.yaml"
QUERY = "/api/ws/5/ticket/query_tickets_by_update_time"

#: One row as taadis/zhichi's QueryTicketsByUpdateTimeResponse declares it (values invented,
#: formats as its comments give them: "2018-09-18 12:00:00", comma-separated tels).
PUBLISHED_ROW = {
    "ticketid": "8a1f3c2e9b7d4c6a8e5f1a2b3c4d5e6f", "ticket_title": "安装预约", "ticket_code": "20180918000123",
    "ticket_from": "1", "ticket_level": "1", "ticket_status": "0", "start_type": "1", "start_name": "王小明",
    "ticket_type_name": "售后服务/安装预约", "deal_agent_name": "", "deal_group_name": "",
    "create_datetime": "2018-09-18 12:00:00", "update_datetime": "2018-09-18 12:00:00",
    "user_nick": "王小明", "user_name": "王小明", "user_tels": "13812345678,13900000001",
    "user_emails": "wangxm@example.cn",
}


def read(connector, cursor=None):
    records, last = [], cursor
    for batch in connector.stream("tickets").read(cursor):
        records.extend(batch.records)
        last = batch.cursor
    return records, last


def test_a_published_row_reaches_the_timeline_like_a_udesk_ticket():
    mapped = load_mapping(MAPPING, instance="sobot_main").apply(annotate(PUBLISHED_ROW))
    # The first of Sobot's comma-separated tels, the e-mail as given.
    assert sorted(tuple(i) for i in mapped.identities) == [("email", "wangxm@example.cn"), ("phone", "+8613812345678")]
    (event,) = mapped.events
    assert event.kind == "ticket_opened" and event.native_id == f"{PUBLISHED_ROW['ticketid']}:opened"
    assert event.occurred_at == datetime(2018, 9, 18, 12, 0, tzinfo=CHINA)
    assert event.data["category"] == "售后服务/安装预约" and "20180918000123" in event.summary
    updated = load_mapping(MAPPING, instance="sobot_main").apply(annotate({**PUBLISHED_ROW, "update_datetime": "2018-09-18 13:00:00",
                                                    "ticket_status": "1"}))
    assert {e.kind for e in updated.events} == {"ticket_opened", "ticket_updated"}


def test_both_answer_keys_are_read():
    """The reference notes name the list ``items``; taadis/zhichi's struct reads ``item``."""
    assert page_rows({"items": [PUBLISHED_ROW]}) == [PUBLISHED_ROW] == page_rows({"item": [PUBLISHED_ROW]})
    assert page_rows({"ret_code": "000000"}) == []


def test_a_read_pages_by_50_within_a_month_and_resumes_from_its_cursor(make_sobot, sobot_router):
    sandbox, connector = sobot_router.sandbox, make_sobot()
    created = sandbox.add_records("tickets", 120)
    records, cursor = read(connector)
    assert sorted(r.native_id for r in records) == sorted(created)
    for query in sandbox.queries:
        start = datetime.strptime(query["update_start_datetime"], FORMAT)
        end = datetime.strptime(query["update_end_datetime"], FORMAT)
        assert int(query["page_size"]) <= 50 and end - start <= timedelta(days=28)
    assert {q["page_no"] for q in sandbox.queries} == {"1", "2", "3"}
    sandbox.update_record("tickets", created[5])
    again, cursor = read(connector, cursor)
    assert [r.native_id for r in again] == [created[5]]
    assert read(connector, cursor)[0] == []


def test_a_long_backlog_is_read_in_windows_of_at_most_a_month(make_sobot, sobot_router):
    sandbox = sobot_router.sandbox
    sandbox._clock -= timedelta(days=70)  # tickets from ten weeks ago
    old = sandbox.add_records("tickets", 3)
    sandbox._clock += timedelta(days=69)
    new = sandbox.add_records("tickets", 2)
    records, _ = read(make_sobot(initial_days=90))
    assert {r.native_id for r in records} == set(old) | set(new)
    starts = sorted({q["update_start_datetime"] for q in sandbox.queries})
    assert len(starts) == 4  # 90 days in 28-day windows; Sobot refuses more than a month


def test_a_ticket_leaving_the_window_mid_scan_does_not_hide_another(make_sobot, sobot_router):
    sandbox, connector = sobot_router.sandbox, make_sobot(initial_days=7)  # one window
    created = sandbox.add_records("tickets", 120)
    pages = connector.stream("tickets").read(None)
    first = next(pages)
    assert len(first.records) == 50
    # An agent updates a page-1 ticket now: its time jumps past the window's end and every
    # ticket behind it moves up one place.
    moved = first.records[0].native_id
    sandbox.tickets[moved]["update_datetime"] = (datetime.now(CHINA) + timedelta(hours=1)).strftime(FORMAT)
    rest = [r for batch in pages for r in batch.records]
    ids = [r.native_id for r in first.records + rest]
    assert len(ids) == len(set(ids))
    assert set(created) - {moved} <= set(ids)


def test_no_update_is_ever_skipped_whatever_the_interleaving(sobot_router, make_sobot):
    """Property: tickets opened and updated in any order between reads (several in one second,
    as the sandbox's clock does) are each read again after every change — the cursor's
    (second, ids) floor never skips a same-second update, and reads across pages lose nothing."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    ops = st.lists(st.one_of(st.tuples(st.just("add"), st.integers(1, 60)), st.tuples(st.just("update"), st.integers(0, 500)),
                             st.just(("read", 0))), min_size=1, max_size=12)

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ops)
    def check(steps):
        sandbox = sobot_router.sandbox
        sandbox.tickets.clear()
        connector = make_sobot(initial_days=7, page_size=7)
        cursor, delivered = None, {}
        for op, n in [*steps, ("read", 0)]:
            if op == "add":
                sandbox.add_records("tickets", n)
            elif op == "update" and sandbox.tickets:
                sandbox.update_record("tickets", sorted(sandbox.tickets)[n % len(sandbox.tickets)])
            elif op == "read":
                for batch in connector.stream("tickets").read(cursor):
                    for record in batch.records:
                        delivered[record.native_id] = record.data["update_datetime"]
                    cursor = batch.cursor
                stale = {tid: t["update_datetime"] for tid, t in sandbox.tickets.items() if delivered.get(tid) != t["update_datetime"]}
                assert not stale, f"missed the latest version of {sorted(stale)[:5]}"

    check()
