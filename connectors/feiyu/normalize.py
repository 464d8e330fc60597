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
    """A pushed lead in Marketing API names.

    Real pushes (as saoxia/erpnext_china receives them) carry the lead id as ``id``, the phone
    as ``telphone`` (sic), ``create_time`` as Unix seconds, ``adv_name`` and ``location`` as
    ``省+市``. Those are renamed here; a push that already uses the Marketing API names
    (``clue_id``, ``telephone`` …) is accepted too, and ``field_map`` (Marketing API name →
    pushed name) undoes any further renaming by the push rule."""
    pushed_to_ours = {theirs: ours for ours, theirs in field_map.items()}
    lead = {pushed_to_ours.get(key, key): value for key, value in raw.items()}
    if "clue_id" not in lead and "id" in lead:
        lead["clue_id"] = lead.pop("id")
    # Legacy spellings (``telphone``, ``adv_name`` …), unless the Marketing API name is present too.
    for legacy, ours in LEGACY_RENAMES.items():
        if legacy in lead and ours not in lead:
            lead[ours] = lead.pop(legacy)
    created = lead.get("create_time")
    if isinstance(created, (int, str)) and not isinstance(created, bool) and str(created).isascii() and str(created).isdigit():
        moment = datetime.fromtimestamp(int(created), BEIJING)
        lead.setdefault("create_time_detail", moment.strftime(FORMAT))
        lead["create_time"] = moment.strftime("%Y-%m-%d")
    location = lead.get("location")
    if isinstance(location, str) and location and not (lead.get("province_name") or lead.get("city_name")):
        province, _, city = location.partition("+")
        lead["province_name"], lead["city_name"] = province, city or province
    lead["_api"] = "push"
    return _ids_as_strings(lead)
