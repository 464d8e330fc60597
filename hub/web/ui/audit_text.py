"""Audit entries as sentences: "王芳（管理员）停用了连接器 crm_b", not ``connector.disable``
and a JSON blob.

Each known action has a catalogue sentence (``audit.do.<action>``) filled from the entry's
target and detail; an action this module does not know (a plugin's, a newer version's) is
shown by its code with its detail as ``key: value`` pairs, so nothing is ever hidden.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from flask import url_for

_TOKEN_ACTOR = re.compile(r"^(?P<name>.*) \(token #(?P<id>\d+), (?P<role>\w+)\)$")


def actor_parts(actor: str, t: Callable[..., str]) -> dict[str, str]:
    """``{"name", "role"}``: a token holder's name and localised role, or the CLI user."""
    match = _TOKEN_ACTOR.match(actor or "")
    if match:
        return {"name": match["name"], "role": t(f"role.{match['role']}") if match["role"] in ("support", "operator", "admin") else match["role"]}
    if (actor or "").startswith("cli"):
        user = actor.partition(":")[2]
        return {"name": t("audit.cli", user=user) if user else t("audit.cli_anon"), "role": ""}
    return {"name": actor or "—", "role": ""}


def _target(target: str | None, t: Callable[..., str]) -> tuple[str, str | None]:
    """The target as text, and a link when there is a page for it."""
    kind, _, ident = (target or "").partition(":")
    if kind == "contact" and ident.isdigit():
        return t("audit.t.contact", id=ident), url_for("ui.contact", contact_id=int(ident))
    if kind == "connector" and ident:
        return ident, url_for("ui.connector", name=ident)
    if kind in ("inbox", "outbox") and ident.isdigit():
        return t(f"audit.t.{kind}", id=ident), None
    if kind == "token" and ident.isdigit():
        return t("audit.t.token", id=ident), None
    if kind == "merge_conflict" and ident.isdigit():
        return t("audit.t.conflict", id=ident), None
    return target or "", None


def describe(entry: Any, t: Callable[..., str]) -> dict[str, Any]:
    """What the audit page shows for one entry."""
    detail = entry.detail if isinstance(entry.detail, dict) else {}
    target, link = _target(entry.target, t)
    if str(entry.action).startswith("automation.") and entry.target:  # the target is the automation's name
        link = url_for("ui.automation", name=entry.target)
    values: dict[str, Any] = {"target": target}
    for key, value in detail.items():
        if isinstance(value, list):
            value = "、".join(str(v) for v in value[:10]) + ("…" if len(value) > 10 else "")
        values[key] = value
    if "role" in values and values["role"] in ("support", "operator", "admin"):
        values["role"] = t(f"role.{values['role']}")
    key = f"audit.do.{entry.action}"
    template = t(key)  # unformatted: values fill it below, a missing one as nothing
    known = template != key
    sentence = template.format_map(_Defaults(values)) if known else key
    extra = {} if known else {k: v for k, v in detail.items()}
    return {"actor": actor_parts(entry.actor, t), "text": sentence if known else entry.action, "known": known,
            "target": target, "link": link, "extra": extra}


class _Defaults(dict):
    """``str.format_map`` values where a missing key shows as nothing, not a KeyError."""

    def __missing__(self, key: str) -> str:
        return ""
