"""The Feiyu sandbox's control method for ``hub demo``: a scripted lead, read back by the
real connector through the Marketing API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.testing import read_all

from connectors.feiyu import timewindows
from connectors.feiyu.sandbox import FeiyuSandbox


def test_new_lead_has_the_given_time_and_fields_and_is_read_back(marketing, make_connector):
    sandbox, config = marketing
    at = timewindows.now() - timedelta(days=1, hours=2)
    lead = sandbox.new_lead(created=at.astimezone(timewindows.BEIJING).isoformat(), telephone="13912345678", name="林晓雯",
                            gender=2, city_name="杭州市", module_name="少儿编程体验课-预约表单")
    assert lead["create_time_detail"] == timewindows.fmt(at)
    assert (lead["telephone"], lead["name"], lead["gender"], lead["city_name"]) == ("13912345678", "林晓雯", 2, "杭州市")
    connector = make_connector(config, start_date=(at - timedelta(days=1)).date().isoformat())
    records = {r.native_id: r.data for r in read_all(connector, "leads")[0]}
    assert records[lead["clue_id"]]["telephone"] == "13912345678"
    assert records[lead["clue_id"]]["module_name"] == "少儿编程体验课-预约表单"


def test_new_lead_accepts_any_offset_and_reports_beijing_time():
    lead = FeiyuSandbox().new_lead(created="2026-06-01T01:05:00+00:00")
    assert lead["create_time_detail"] == "2026-06-01 09:05:00"


def test_new_lead_refuses_unknown_fields_and_stores_nothing():
    sandbox = FeiyuSandbox()
    with pytest.raises(ValueError, match="telphone"):
        sandbox.new_lead(telphone="13912345678")
    assert sandbox.leads == {}


def test_control_methods_are_listed():
    assert {"add_records", "update_record", "new_lead"} <= set(FeiyuSandbox.control_methods)
