"""The leads stream: full windows newest-first, a cursor at window ends, a trailing window
that brings back leads whose late fields filled in, and one lead shape for both APIs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from marshmallow import ValidationError

from hub.testing import read_all

from connectors.feiyu import timewindows
from connectors.feiyu.connector import FeiyuConnector


@pytest.fixture(params=["marketing", "crm"])
def api(request):
    return request.getfixturevalue(request.param)


def test_first_read_pages_every_window_to_its_end(api, make_connector):
    sandbox, config = api
    now = timewindows.now()
    older = [sandbox.add_lead(created=now - timedelta(days=d, hours=1)) for d in (1, 2, 3)]
    recent = sandbox.add_records("leads", 23)
    connector = make_connector(config, start_date=(now - timedelta(days=4)).date().isoformat(), max_window_days=1)
    batches = list(connector.stream("leads").read(None))
    ids = [r.native_id for b in batches for r in b.records]
    assert sorted(ids) == sorted(older + recent)
    # Cursors only ever sit on window ends, move forward, and end at "now".
    untils = [timewindows.parse(b.cursor["until"]) for b in batches]
    assert untils == sorted(untils)
    assert untils[-1] >= now
    assert all(json.loads(json.dumps(b.cursor)) == b.cursor for b in batches)


def test_pages_inside_a_window_keep_the_previous_cursor(marketing, make_connector):
    sandbox, config = marketing
    sandbox.add_records("leads", 25)  # page_size 10 → 3 pages in the window
    connector = make_connector(config)
    cursor = {"until": timewindows.fmt(timewindows.now() - timedelta(minutes=10))}
    batches = list(connector.stream("leads").read(cursor))
    assert len(batches) == 3
    assert [b.cursor == cursor for b in batches] == [True, True, False]
    assert batches[-1].cursor["until"] > cursor["until"]


def test_trailing_window_brings_back_late_filled_leads(api, make_connector):
    sandbox, config = api
    now = timewindows.now()
    old = sandbox.add_lead(created=now - timedelta(hours=3))
    fresh = sandbox.add_records("leads", 3)
    connector = make_connector(config, start_date=(now - timedelta(days=1)).date().isoformat())
    first, cursor = read_all(connector, "leads")
    by_id = {r.native_id: r.data for r in first}
    assert by_id[fresh[0]]["app_name"] == "" and by_id[fresh[0]]["convert_status"] == "数据获取中"

    sandbox.fill_late_fields(fresh[0])  # ~10 minutes later Ocean Engine fills these
    sandbox.fill_late_fields(old)  # outside the 30-minute trailing window
    again, _ = read_all(connector, "leads", cursor)
    by_id = {r.native_id: r.data for r in again}
    assert set(by_id) == set(fresh)  # re-read trailing window; the 3-hour-old lead is not in it
    assert by_id[fresh[0]]["app_name"] and by_id[fresh[0]]["convert_status"] != "数据获取中"
    if config["api"] == "marketing":  # the legacy pull has no intention_estimation
        assert by_id[fresh[0]]["intention_estimation"]


def test_trailing_window_is_configurable(marketing, make_connector):
    sandbox, config = marketing
    now = timewindows.now()
    old = sandbox.add_lead(created=now - timedelta(hours=3))
    connector = make_connector(config, trailing_window_minutes=240)
    _, cursor = read_all(connector, "leads")
    again, _ = read_all(connector, "leads", cursor)
    assert [r.native_id for r in again] == [old]


def test_leads_have_one_shape_in_both_apis(api, make_connector):
    sandbox, config = api
    (clue_id,) = sandbox.add_records("leads", 1)
    source = sandbox.leads[clue_id]
    records, _ = read_all(make_connector(config), "leads")
    (record,) = records
    lead = record.data
    assert record.native_id == clue_id == lead["clue_id"]
    assert lead["telephone"] == source["telephone"] and len(lead["telephone"]) == 11
    assert "telphone" not in lead
    assert lead["advertiser_id"] == source["advertiser_id"]
    assert isinstance(lead["advertiser_id"], str)
    assert lead["ad_id"] == source["ad_id"]
    assert lead["creative_id"] in (source["creative_id"], "")
    assert lead["site_id"] == source["site_id"]
    assert lead["create_time_detail"] == source["create_time_detail"]
    assert lead["name"] == source["name"] and lead["city_name"] == source["city_name"]
    assert lead["_api"] == config["api"]
    assert record.updated_at == timewindows.parse(source["create_time_detail"])


def test_marketing_reads_only_the_configured_advertisers(marketing, make_connector):
    sandbox, config = marketing
    mine = sandbox.add_lead(advertiser_id="1760000000000001")
    sandbox.add_lead(advertiser_id="1760000000000002")
    records, _ = read_all(make_connector(config, advertiser_ids=["1760000000000001"]), "leads")
    assert [r.native_id for r in records] == [mine]


def test_config_rules():
    good = {"api": "crm", "signature_key": "k", "access_token": "t"}
    FeiyuConnector.validate_config(good)
    with pytest.raises(ValidationError) as info:
        FeiyuConnector.validate_config({**good, "page_size": 101})
    assert "page_size" in info.value.messages
    with pytest.raises(ValidationError) as info:
        FeiyuConnector.validate_config({"api": "marketing", "app_id": 1780000000000001, "secret": "s"})
    assert {"refresh_token", "advertiser_ids"} <= set(info.value.messages)
    loaded = FeiyuConnector.validate_config(
        {"app_id": 1780000000000001, "secret": "s", "refresh_token": "r", "advertiser_ids": [1760000000000001]})
    assert loaded["app_id"] == "1780000000000001" and loaded["advertiser_ids"] == ["1760000000000001"]
    assert loaded["trailing_window_minutes"] == 30
    assert loaded["marketing_base_url"] == "https://ad.oceanengine.com"
    assert loaded["crm_base_url"] == "https://feiyu.oceanengine.com"


def test_declares_that_it_rereads_a_trailing_window():
    assert FeiyuConnector.suite_options["rereads_trailing_window"] is True
