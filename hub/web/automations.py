"""Automations as the API and the UI show them: :mod:`hub.automations.views` figures, with
personal data masked (:mod:`hub.web.pii`) and journey times in the automations' time zone
(``automation_settings.timezone``, default Asia/Shanghai) — one shape for both, so the same
role sees the same thing in either."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.web.pii import mask_identity, mask_value


def local_time(runtime: Any, value: datetime | None) -> str | None:
    """``12-05 10:00`` in the automations' time zone (how the progress bar reads)."""
    if value is None:
        return None
    return value.astimezone(runtime.config.automations.tz).strftime("%m-%d %H:%M")


def _who(item: dict[str, Any], masked: bool) -> dict[str, Any]:
    if masked:
        item["display_name"] = mask_value(item.get("display_name"))
        item["phone"] = mask_identity("phone", item["phone"]) if item.get("phone") else None
    return item


def full_time(runtime: Any, value: datetime | None) -> str | None:
    """``2026-12-07 09:00`` in the automations' time zone (a schedule's firings)."""
    if value is None:
        return None
    return value.astimezone(runtime.config.automations.tz).strftime("%Y-%m-%d %H:%M")


def _schedule(runtime: Any, info: dict[str, Any] | None) -> None:
    """A schedule rule's times as the pages read them (local, in its time zone)."""
    if info is None:
        return
    info["next_local"] = full_time(runtime, info["next_at"])
    if info["last"] is not None:
        info["last"]["instant_local"] = full_time(runtime, info["last"]["instant"])


def _handover(session: Any, info: dict[str, Any] | None) -> None:
    """Staff names from the member directory (the departed member's as handed over, else
    the directory's) next to their ids; the job's last note with anything phone-shaped
    masked."""
    if info is None:
        return
    from hub.web.labels import member_names

    ids = [m["member"] for m in info["members"]] + [t["takeover"] for m in info["members"] for t in m["takeovers"] if t["takeover"]]
    names = member_names(session, ids)
    for m in info["members"]:
        m["member_name"] = names.get(m["member"]) or m["member_name"]
        m["detail"] = mask_value(m["detail"])
        for t in m["takeovers"]:
            t["takeover_name"] = names.get(t["takeover"]) if t["takeover"] else None


def automation_list(runtime: Any, session: Any) -> list[dict[str, Any]]:
    from hub.automations.views import overview

    out = overview(runtime, session)
    for a in out:
        _schedule(runtime, a["schedule"])
    return out


def automation_detail(runtime: Any, session: Any, name: str, *, masked: bool = True) -> dict[str, Any] | None:
    """One automation's page: definition, figures, contacts (masked) and latest actions
    (payloads and reasons masked: a message text or a remark may carry a number)."""
    from hub.automations.views import detail

    found = detail(runtime, session, name)
    if found is None:
        return None
    found["timezone"] = runtime.config.automations.timezone
    _schedule(runtime, found["schedule"])
    _handover(session, found["handover"])
    for c in found["contacts"]:
        _who(c, masked)
        if "next_at" in c:
            c["next_due_local"] = local_time(runtime, c["next_at"]) if c["status"] == "active" else None
        if masked and c.get("exit_reason"):
            c["exit_reason"] = mask_value(c["exit_reason"])
    transfers = [a for a in found["recent_actions"] if a["kind"] == "transfer" and isinstance(a["payload"], dict)]
    if transfers:  # the members of a hand-over by name (staff, not customers: never masked)
        from hub.web.labels import member_names

        names = member_names(session, [a["payload"].get(k) for a in transfers for k in ("member", "takeover")])
        for a in transfers:
            a["member_name"] = names.get(a["payload"].get("member")) or a["payload"].get("member_name")
            a["takeover_name"] = names.get(a["payload"].get("takeover"))
    for a in found["recent_actions"]:
        _who(a, masked)
        if masked:
            a["payload"] = mask_value(a["payload"])
            a["detail"] = mask_value(a["detail"])
    return found


def contact_journeys(runtime: Any, session: Any, contact_ids: list[int], *, masked: bool = True) -> list[dict[str, Any]]:
    """The journeys of a contact (with the ids merged into it): the step it is at of how
    many, when the next step runs (``next_at``: its due time within its send window) in the
    automations' time zone, how it ended."""
    from hub.automations.views import contact_journeys as journeys

    out = journeys(runtime, session, contact_ids)
    for j in out:
        j["next_due_local"] = local_time(runtime, j["next_at"])
        j["timezone"] = runtime.config.automations.timezone
        if masked and j["exit_reason"]:
            j["exit_reason"] = mask_value(j["exit_reason"])
    return out


def contact_handovers(session: Any, contact_ids: list[int], *, masked: bool = True) -> list[dict[str, Any]]:
    """The departure hand-overs of a contact (with the ids merged into it), latest first,
    with the members' names from the directory; a failure's reason masked."""
    from hub.automations.views import contact_handovers as handovers
    from hub.web.labels import member_names

    out = handovers(session, contact_ids)
    names = member_names(session, [h["member"] for h in out] + [h["takeover"] for h in out])
    for h in out:
        h["member_name"] = names.get(h["member"]) or h["member_name"]
        h["takeover_name"] = names.get(h["takeover"])
        if masked and h["reason"]:
            h["reason"] = mask_value(h["reason"])
    return out
