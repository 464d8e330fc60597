"""Display labels, icons and value formats that plugins register for what they bring.

A connector brings event kinds (``call``), event detail keys (``talk_seconds``), attributes
and channels the core cannot know. Through :func:`hub.hookspecs.hub_register_labels` it
says how to show them::

    register("field", "talk_seconds", {"zh-CN": "通话时长", "en": "Talk time"}, format="duration")
    register("event", "call", {"zh-CN": "通话", "en": "Call"}, icon="M6.6 10.8a15.2 …Z")

so the timeline reads ``通话时长 6分12秒``, not ``talk_seconds 372``.

Groups: ``channel`` (a connector type), ``event`` (an event kind), ``field`` (a key of an
event's detail), ``attr`` (a contact attribute), ``kind`` (an identity kind). Formats:
``text`` (as is), ``duration`` (seconds → 6分12秒), ``member`` (a staff user id → the
display name the connector keeps in its member directory, see :func:`member_names`),
``datetime``, ``yesno``. ``values`` gives coded values their words (``direction``
``inbound`` → 呼入). Icons are SVG path data for a 24×24 view box — data, not markup,
so a plugin cannot inject HTML into the page.

Bad registrations raise :class:`ValueError` naming the plugin, group, name and problem
when the web app first renders a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

GROUPS = ("channel", "event", "field", "attr", "kind")
FORMATS = ("text", "duration", "member", "datetime", "yesno")
LANGS = ("zh-CN", "en")
_PATH_DATA = re.compile(r"^[MmLlHhVvCcSsQqTtAaZz0-9eE\s,.\-+]{1,8000}$")

#: Formats the core knows for its own attributes (plugins may add more).
CORE_FORMATS = {("attr", "owner"): "member"}
#: ``connector_state`` key prefix of a connector's member directory: ``member:<userid>`` →
#: ``{"name": "张三", …}``. The WeCom connector keeps its 企业成员 there; any connector
#: that knows its staff's display names may do the same.
MEMBER_KEY = "member:"


@dataclass
class Labels:
    texts: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    icons: dict[tuple[str, str], str] = field(default_factory=dict)
    formats: dict[tuple[str, str], str] = field(default_factory=lambda: dict(CORE_FORMATS))
    #: ``(group, name) -> {value: {lang: text}}``: how a field's coded values read (``inbound`` → 呼入).
    values: dict[tuple[str, str], dict[str, dict[str, str]]] = field(default_factory=dict)

    def register(self, group: str, name: str, labels: Mapping[str, str] | str | None = None, *, icon: str | None = None,
                 format: str | None = None, values: Mapping[Any, Mapping[str, str] | str] | None = None,
                 plugin: str = "?") -> None:
        where = f"plugin {plugin!r}: hub_register_labels {group}.{name}"
        if group not in GROUPS:
            raise ValueError(f"{where}: unknown group {group!r} (use one of {', '.join(GROUPS)})")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: the name must be non-empty text")
        if isinstance(labels, str):
            labels = {lang: labels for lang in LANGS}
        for lang, text in (labels or {}).items():
            if lang not in LANGS:
                raise ValueError(f"{where}: unknown language {lang!r} (use {' or '.join(LANGS)})")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{where}: the {lang} label must be non-empty text")
            self.texts.setdefault((group, name), {})[lang] = text
        if icon is not None:
            if not isinstance(icon, str) or not _PATH_DATA.match(icon):
                raise ValueError(f"{where}: icon must be SVG path data for a 24×24 view box (M…Z), not markup")
            self.icons[(group, name)] = icon
        if format is not None:
            if format not in FORMATS:
                raise ValueError(f"{where}: unknown format {format!r} (use one of {', '.join(FORMATS)})")
            self.formats[(group, name)] = format
        if values is not None:
            if not isinstance(values, Mapping):
                raise ValueError(f"{where}: values must map a value to its label ({{'inbound': {{'zh-CN': '呼入'}}}})")
            table = self.values.setdefault((group, name), {})
            for value, text in values.items():
                texts = {lang: text for lang in LANGS} if isinstance(text, str) else dict(text or {})
                if not texts or any(lang not in LANGS or not isinstance(t, str) or not t.strip() for lang, t in texts.items()):
                    raise ValueError(f"{where}: the label of value {value!r} must be text or {{'zh-CN': …, 'en': …}}")
                table[str(value)] = texts

    def text(self, group: str, name: str, lang: str) -> str | None:
        texts = self.texts.get((group, name)) or {}
        return texts.get(lang) or texts.get("zh-CN") or next(iter(texts.values()), None)

    def icon(self, group: str, name: str) -> str | None:
        return self.icons.get((group, name))

    def format(self, group: str, name: str) -> str:
        return self.formats.get((group, name), "text")

    def value(self, group: str, name: str, value: Any, lang: str) -> str | None:
        """The label of a coded value (``direction`` ``inbound`` → 呼入), if registered."""
        if isinstance(value, (dict, list)) or value is None:
            return None
        texts = (self.values.get((group, name)) or {}).get(str(value))
        return (texts.get(lang) or texts.get("zh-CN") or next(iter(texts.values()), None)) if texts else None


def collect(pm) -> Labels:
    """Ask every plugin's ``hub_register_labels`` (the plugin's name goes into errors)."""
    from hub.web.core_labels import register_core_labels

    labels = Labels()
    register_core_labels(lambda group, name, labels_=None, **kw: labels.register(group, name, labels_, plugin="hub", **kw))
    hook = getattr(pm.hook, "hub_register_labels", None)
    for impl in (hook.get_hookimpls() if hook is not None else []):
        def register(group, name, labels_=None, *, icon=None, format=None, values=None, _plugin=impl.plugin_name, **kw):
            if kw:
                raise ValueError(f"plugin {_plugin!r}: hub_register_labels {group}.{name}: unknown option(s) {', '.join(sorted(kw))}")
            labels.register(group, name, labels_, icon=icon, format=format, values=values, plugin=_plugin)

        impl.function(register=register)
    return labels


def app_labels() -> Labels:
    """The labels of the current Flask app's plugins, collected on first use."""
    from flask import current_app

    labels = current_app.extensions.get("hub.labels")
    if labels is None:
        labels = current_app.extensions["hub.labels"] = collect(current_app.extensions["hub"].registry.pm)
    return labels


def member_names(session, user_ids: Iterable[Any]) -> dict[str, str]:
    """Display names of staff user ids from the connectors' member directories (one query)."""
    from sqlalchemy import select

    from hub.store.models import ConnectorState

    keys = sorted({f"{MEMBER_KEY}{u}" for u in user_ids if isinstance(u, str) and u and len(u) < 150})
    if not keys:
        return {}
    out: dict[str, str] = {}
    for key, value in session.execute(select(ConnectorState.key, ConnectorState.value).where(ConnectorState.key.in_(keys))):
        if isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"]:
            out.setdefault(key[len(MEMBER_KEY):], value["name"])
    return out


def format_duration(seconds: Any, lang: str) -> str | None:
    """``372`` → ``6分12秒`` / ``6 min 12 s``; None when it is not a number of seconds."""
    try:
        total = int(float(seconds))
    except (TypeError, ValueError):
        return None
    if total < 0:
        return None
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if lang == "zh-CN":
        parts = [f"{hours}小时" if hours else "", f"{minutes}分" if minutes else "", f"{secs}秒" if secs or not (hours or minutes) else ""]
        return "".join(parts)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs or not (hours or minutes) else ""]
    return " ".join(p for p in parts if p)
