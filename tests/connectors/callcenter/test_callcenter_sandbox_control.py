"""The Clink sandbox's control method for ``hub demo``: a scripted call with consistent
times, durations and status, read back by the real connector."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from hub.testing import read_all

from connectors.callcenter.sandbox import ClinkSandbox

CHINA = timezone(timedelta(hours=8))


@pytest.mark.parametrize("direction,answered,status", [("outbound", True, "双方接听"), ("outbound", False, "客户未接听"),
                                                        ("inbound", True, "座席接听"), ("inbound", False, "已呼叫座席，座席未接听")])
def test_new_call_is_consistent(direction, answered, status):
    start = datetime.now(CHINA).replace(microsecond=0) - timedelta(hours=5)
    row = ClinkSandbox().new_call(direction, "13912345678", start.isoformat(), answered=answered, talk_seconds=120,
                                  agent="0102", province="浙江", city="杭州")
    assert row["startTime"] == int(start.timestamp())
    assert row["customerNumber"] == "13912345678" and (row["customerProvince"], row["customerCity"]) == ("浙江", "杭州")
    assert (row["cno"], row["clientName"], row["status"]) == ("0102", "王芳", status)
    if answered:
        assert row["bridgeTime"] > row["startTime"] and row["bridgeDuration"] == 120 and row["recordFile"]
    else:
        assert row["bridgeTime"] == 0 and row["bridgeDuration"] == 0 and row["recordFile"] == ""
    assert row["endTime"] - row["startTime"] == row["totalDuration"] >= row["bridgeDuration"]


def test_new_call_refuses_bad_input():
    sandbox = ClinkSandbox()
    with pytest.raises(ValueError, match="direction"):
        sandbox.new_call("sideways", "13912345678", 1767571200)
    with pytest.raises(ValueError, match="agent"):
        sandbox.new_call("outbound", "13912345678", 1767571200, agent="9999")
    assert not any(sandbox.cdrs.values())


def test_scripted_calls_are_read_by_the_connector(clink_router, make_clink):
    sandbox = clink_router.sandbox
    start = int(time.time()) - 4 * 3600
    out = sandbox.new_call("outbound", "13912345678", start, answered=True, agent="0101")
    inb = sandbox.new_call("inbound", "02158836612", start + 600, answered=False)
    connector = make_clink()
    assert [r.native_id for r in read_all(connector, "cdr_outbound")[0]] == [out["uniqueId"]]
    assert [r.native_id for r in read_all(connector, "cdr_inbound")[0]] == [inb["uniqueId"]]
