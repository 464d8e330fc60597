"""One lead shape for both APIs and the push: the Marketing API's field names.

The legacy CRM pull spells some fields differently (``telphone`` — sic —, ``adv_id``,
``ad_plan_id``, ``appname``, ``create_time`` as a Unix timestamp). Renaming them here lets
the ``leads`` stream ship one mapping whatever API an instance uses. Fields we don't know
pass through untouched. ``_api`` records where the lead came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from connectors.feiyu.timewindows import BEIJING, FORMAT

#: legacy CRM name → Marketing API name
LEGACY_RENAMES = {
    "telphone": "telephone",
    "adv_id": "advertiser_id",
    "adv_name": "advertiser_name",
    "ad_plan_id": "ad_id",
    "ad_plan_name": "ad_name",
    "appname": "app_name",
    "cid": "creative_id",
}

ID_FIELDS = ("clue_id", "advertiser_id", "ad_id", "creative_id", "promotion_id", "site_id", "module_id")


def _ids_as_strings(lead: dict[str, Any]) -> dict[str, Any]:
    for key in ID_FIELDS:
        value = lead.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            lead[key] = str(value) if value else ""
    return lead


def from_marketing(raw: Mapping[str, Any]) -> dict[str, Any]:
    lead = dict(raw)
    lead["_api"] = "marketing"
    return _ids_as_strings(lead)


def from_crm(raw: Mapping[str, Any]) -> dict[str, Any]:
    lead: dict[str, Any] = {}
    for key, value in raw.items():
        lead[LEGACY_RENAMES.get(key, key)] = value
    created = raw.get("create_time")
    if isinstance(created, (int, float)) or (isinstance(created, str) and created.isdigit()):
        moment = datetime.fromtimestamp(int(created), BEIJING)
        lead["create_time_detail"] = moment.strftime(FORMAT)
        lead["create_time"] = moment.strftime("%Y-%m-%d")
    lead["_api"] = "crm"
    return _ids_as_strings(lead)


def from_push(raw: Mapping[str, Any], field_map: Mapping[str, str]) -> dict[str, Any]:
    """Undo the push rule's renaming (``field_map``: Marketing API name → pushed name)."""
    pushed_to_ours = {theirs: ours for ours, theirs in field_map.items()}
    lead = {pushed_to_ours.get(key, key): value for key, value in raw.items()}
    # A push rule may also forward legacy names (``telphone``…); rename those unless the
    # Marketing API name is present too.
    for legacy, ours in LEGACY_RENAMES.items():
        if legacy in lead and ours not in lead:
            lead[ours] = lead.pop(legacy)
    lead["_api"] = "push"
    return _ids_as_strings(lead)
