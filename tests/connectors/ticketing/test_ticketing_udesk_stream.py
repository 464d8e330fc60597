"""Udesk tickets stream: v2 signature with single-use nonces, newest-first scan, exact cursor."""

from datetime import timedelta

import pytest
import requests

from hub.connector import CheckFailed, RateLimitedError
from hub.testing import read_all

from connectors.ticketing.udesk.sandbox import API_TOKEN, EMAIL
from connectors.ticketing.udesk.signing import auth_params, udesk_sign


def test_sign_is_sha256_of_email_token_timestamp_nonce_version():
    import hashlib

    expected = hashlib.sha256(b"a@b.cn&tok&1494474404&n1&v2").hexdigest()
    assert udesk_sign("a@b.cn", "tok", "1494474404", "n1") == expected


def test_every_call_gets_a_fresh_nonce_and_a_replayed_one_is_refused(udesk_router):
    first, second = auth_params(EMAIL, API_TOKEN), auth_params(EMAIL, API_TOKEN)
    assert first["nonce"] != second["nonce"]
    url = udesk_router.base_url + "/open_api_v1/tickets"
    assert requests.get(url, params=first).json()["code"] == 1000
    replay = requests.get(url, params=first).json()
    assert replay["code"] == 20623 and "nonce" in replay["code_message"]  # Udesk's replay code


def test_full_read_spans_pages_then_nothing_new(make_udesk, udesk_router):
    created = udesk_router.sandbox.add_records("tickets", 35)
    connector = make_udesk()
    records, cursor = read_all(connector, "tickets")
    assert sorted(r.native_id for r in records) == sorted(created)
    assert read_all(connector, "tickets", cursor)[0] == []


def test_a_ticket_updated_later_in_the_cursor_second_is_not_skipped(make_udesk, udesk_router):
    sandbox = udesk_router.sandbox
    low, high = sandbox.add_records("tickets", 2)
    # Put both in the same second, read, then touch the lower id within that very second.
    second = sandbox._clock + timedelta(seconds=5)
    for tid in (high,):
        sandbox.tickets[int(tid)]["updated_at"] = second.astimezone().isoformat()
    connector = make_udesk()
    _, cursor = read_all(connector, "tickets")
    sandbox.tickets[int(low)]["updated_at"] = second.astimezone().isoformat()
    records, cursor2 = read_all(connector, "tickets", cursor)
    assert [r.native_id for r in records] == [low]
    assert read_all(connector, "tickets", cursor2)[0] == []


def test_a_crash_mid_scan_resumes_without_losing_older_pages(make_udesk, udesk_router):
    sandbox = udesk_router.sandbox
    first = sandbox.add_records("tickets", 5)
    connector = make_udesk()
    _, cursor = read_all(connector, "tickets")
    added = sandbox.add_records("tickets", 25)
    batches = connector.stream("tickets").read(cursor)
    page1 = next(batches)  # the hub commits this page and its cursor, then crashes
    assert "scan" in page1.cursor
    sandbox.add_records("tickets", 3)  # more arrive before the restart
    rest, final = read_all(connector, "tickets", page1.cursor)
    got = {r.native_id for r in page1.records} | {r.native_id for r in rest}
    assert set(added) <= got and not set(first) & got
    assert "scan" not in final


def test_bad_token_fails_check_with_udesks_code_and_no_secret(make_udesk):
    with pytest.raises(CheckFailed) as info:
        make_udesk(api_token="definitely-wrong-token").check()
    assert "2059" in str(info.value) and "definitely-wrong-token" not in str(info.value)


def test_rate_limit_surfaces_as_rate_limited(make_udesk, udesk_router):
    udesk_router.sandbox.rate_limit_per_minute = 2
    connector = make_udesk()
    for _ in range(2):
        connector.client.call("GET", "/open_api_v1/tickets", params={"page": 1, "per_page": 1})
    with pytest.raises(RateLimitedError) as info:
        connector.client.call("GET", "/open_api_v1/tickets", params={"page": 1, "per_page": 1})
    assert info.value.retry_after == 60


def test_a_ticket_with_an_unreadable_timestamp_does_not_stop_the_pull(make_udesk, udesk_router):
    from hub.testing import read_all

    sandbox = udesk_router.sandbox
    ids = sandbox.add_records("tickets", 5)
    sandbox.tickets[int(ids[2])]["updated_at"] = "not a time"
    records, cursor = read_all(make_udesk(), "tickets")
    assert {r.native_id for r in records} == set(ids)
    broken = next(r for r in records if r.native_id == ids[2])
    assert broken.updated_at is None
    assert cursor["updated_at"] is not None  # the cursor moved on the readable tickets


def test_customers_are_read_in_full_and_only_changes_handed_over(make_udesk, udesk_router):
    """GET /open_api_v1/customers?page&page_size (≤ 100; udesk.cn/doc/apiv2/customers) has no
    "changed since" filter: a second read hands over only the changed and the new customers."""
    sandbox, connector = udesk_router.sandbox, make_udesk()
    made = sandbox.add_records("customers", 25)
    first = [r for batch in connector.stream("customers").read(None) for r in batch.records]
    assert set(made) <= {r.native_id for r in first}
    batches = list(connector.stream("customers").read(None))
    cursor = batches[-1].cursor
    assert batches[-1].complete
    sandbox.update_record("customers", made[3])
    (new,) = sandbox.add_records("customers", 1)
    again = [r for batch in connector.stream("customers").read(cursor) for r in batch.records]
    assert sorted(r.native_id for r in again) == sorted([made[3], new])
