"""The shipped mappings turn what the connector really reads into contact + lead_created,
and a contact's stage into a payload the clue_status sink accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.mapping import load_mapping
from hub.testing import read_all

MAPPINGS = Path(__file__).resolve().parents[3] / "mappings"


@pytest.fixture(params=["marketing", "crm"])
def api(request):
    return request.getfixturevalue(request.param)


def test_leads_map_to_a_contact_and_a_lead_created_event(api, make_connector):
    sandbox, config = api
    clue_id = sandbox.add_lead(gender=2)
    sandbox.fill_late_fields(clue_id)
    source = sandbox.leads[clue_id]
    (record,), _ = read_all(make_connector(config), "leads")
    canonical = load_mapping(MAPPINGS / "feiyu.leads.yaml", instance="feiyu_test").apply(record.data)
    assert [tuple(i) for i in canonical.identities] == [("phone", "+86" + source["telephone"])]
    assert canonical.attributes["gender"] == "女"
    assert canonical.attributes["city"] == source["city_name"]
    assert canonical.attributes["feiyu_clue_id"] == clue_id
    (event,) = canonical.events
    assert event.kind == "lead_created"
    assert event.native_id == clue_id
    assert event.data["site_id"] == source["site_id"]
    assert event.data["channel"] == source["app_name"]


def test_stage_maps_to_a_write_the_sink_accepts(marketing, make_connector):
    sandbox, config = marketing
    clue_id = sandbox.add_lead()
    lead = sandbox.leads[clue_id]
    view = {
        "contact_id": 1,
        "attributes": {"stage": "到店", "feiyu_clue_id": clue_id, "feiyu_advertiser_id": lead["advertiser_id"]},
        "identities": {}, "tags": [], "native_id": None, "changed": ["stage"],
    }
    payload = load_mapping(MAPPINGS / "feiyu.clue_status.out.yaml").apply(view)
    make_connector(config).write("clue_status", payload, idempotency_key="o:1")
    assert sandbox.effects("clue_status")[-1]["clue_convert_state"] == 527
