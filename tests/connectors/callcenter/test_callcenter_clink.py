"""Clink CDR pull against the sandbox: auth errors, exact settled-window paging, late calls."""

import time

import pytest
import requests

from hub.connector import CheckFailed
from hub.testing import ConnectorSuite, read_all

from connectors.callcenter.connector import ClinkConnector
from connectors.callcenter.sandbox import ACCESS_KEY_SECRET


class TestClinkSuiteWithTrailingWindow(ConnectorSuite):
    """The standard suite, told (as Clink declares in ``suite_options``) that CDR streams
    re-read a trailing window for late-filled fields."""

    connector_class = ClinkConnector
    rereads_trailing_window = ClinkConnector.suite_options["rereads_trailing_window"]


def _settled_start(sandbox, offset_seconds):
    return int(time.time()) - 2 * 3600 + offset_seconds


@pytest.mark.parametrize("stream", ["cdr_inbound", "cdr_outbound"])
def test_read_pages_each_cdr_exactly_once(make_clink, clink_router, stream):
    sandbox = clink_router.sandbox
    created = [sandbox.add_cdr(stream, _settled_start(sandbox, i // 3))["uniqueId"] for i in range(35)]
    connector = make_clink(refresh_seconds=0)
    records, cursor = read_all(connector, stream)
    assert [r.native_id for r in records] == created  # ordered, no dupes, no misses
    paths = [p for _, p in clink_router.calls]
    assert len(paths) >= 4  # 35 CDRs at 10 per page
    again, _ = read_all(connector, stream, cursor)
    assert again == []


def test_a_crash_mid_window_resumes_at_the_offset(make_clink, clink_router):
    sandbox = clink_router.sandbox
    created = [sandbox.add_cdr("cdr_inbound", _settled_start(sandbox, i))["uniqueId"] for i in range(25)]
    connector = make_clink(refresh_seconds=0)
    batches = connector.stream("cdr_inbound").read(None)
    first = next(batches)
    assert "offset" in first.cursor  # the hub commits this with the page
    rest, _ = read_all(connector, "cdr_inbound", first.cursor)
    ids = [r.native_id for r in first.records] + [r.native_id for r in rest]
    assert ids == created


def test_calls_still_running_are_read_once_they_end(make_clink, clink_router):
    sandbox = clink_router.sandbox
    start = _settled_start(sandbox, 0)
    long_call = sandbox.add_cdr("cdr_inbound", start, endTime=int(time.time()) + 600)  # still talking
    connector = make_clink()
    records, cursor = read_all(connector, "cdr_inbound")
    assert long_call["uniqueId"] not in {r.native_id for r in records}
    long_call["endTime"] = int(time.time()) - 1  # hung up; Clink writes the CDR now
    records, _ = read_all(connector, "cdr_inbound", cursor)
    assert long_call["uniqueId"] in {r.native_id for r in records}


def test_late_filled_fields_are_picked_up_by_the_trailing_refresh(make_clink, clink_router):
    sandbox = clink_router.sandbox
    (cdr_id,) = sandbox.add_records("cdr_inbound", 1)
    connector = make_clink()
    _, cursor = read_all(connector, "cdr_inbound")
    sandbox.update_record("cdr_inbound", cdr_id)
    records, _ = read_all(connector, "cdr_inbound", cursor)
    (record,) = [r for r in records if r.native_id == cdr_id]
    assert record.data["evaluation"] == 1 and record.data["tags"] == ["意向客户"]
    # ... and without the refresh the change is not seen.
    _, cursor = read_all(make_clink(refresh_seconds=0), "cdr_inbound")
    assert read_all(make_clink(refresh_seconds=0), "cdr_inbound", cursor)[0] == []


def test_wrong_secret_fails_check_with_clinks_error_and_no_secret(make_clink):
    bad = make_clink(access_key_secret="not-the-secret-at-all")
    with pytest.raises(CheckFailed) as info:
        bad.check()
    assert "SignatureDoesNotMatch" in str(info.value)
    assert "not-the-secret-at-all" not in str(info.value)


def test_unknown_access_key_is_refused(make_clink):
    with pytest.raises(CheckFailed) as info:
        make_clink(access_key_id="unknown-key").check()
    assert "InvalidAccessKeyId.NotFound" in str(info.value)


def test_sandbox_refuses_expired_requests_like_clink(make_clink, clink_router):
    connector = make_clink()
    params = connector.client.signed_params("GET", "/cc/list_cdr_ibs", {"offset": 0, "limit": 10})
    # Re-sign with a timestamp from an hour ago: the signature is right, the request is stale.
    from connectors.callcenter.signing import clink_signature

    params["Timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    params.pop("Signature")
    params["Signature"] = clink_signature(ACCESS_KEY_SECRET, "GET", connector.client.host,
                                          connector.client.base_path + "/cc/list_cdr_ibs", params)
    response = requests.get(clink_router.base_url + "/cc/list_cdr_ibs", params=params,
                            headers={"Host": connector.client.host})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidTimestamp.Expired"


def test_sandbox_enforces_clinks_paging_limits(make_clink):
    connector = make_clink()
    from hub.connector import PermanentError

    with pytest.raises(PermanentError, match="InvalidParameter.Limit"):
        connector.client.get("/cc/list_cdr_ibs", {"offset": 0, "limit": 500})
    with pytest.raises(PermanentError, match="InvalidParameter.Offset"):
        connector.client.get("/cc/list_cdr_ibs", {"offset": 9950, "limit": 100})
