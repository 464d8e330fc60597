"""Load and validate automations like the rest of the config.

Automations come from ``automations:`` in ``config/hub.yaml`` and from every
``automations/*.yaml`` file (keys ``automations:`` and ``templates:``); message templates
from ``automation_templates:`` in ``config/hub.yaml`` or ``templates:`` in those files, and
the guardrails from ``automation_settings:``. Every problem is reported at once, as
``file:line key.path: message``, through the config loader's collector, so ``hub check``
and every command exit 2 on a bad automation exactly as on a bad connector.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.automations.spec import ANY, Action, Automation, AutomationSet, Step, TextMatch, Trigger, Window
from hub.config.errors import did_you_mean
from hub.mapping.conditions import compile_condition

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
RULE_KEYS = ("on", "do", "description")
JOURNEY_KEYS = ("enroll", "exit", "steps", "description")
TRIGGER_KEYS = ("attribute", "becomes", "changes", "event", "from", "when", "text_matches")
ACTION_KEYS = ("tag", "set", "sink", "payload", "template", "message", "enroll", "exit")
STEP_KEYS = ("after", "do", "at")
SETTINGS_KEYS = ("daily_messages", "timezone", "send_window", "dir")
FILE_KEYS = ("automations", "templates")
#: Parts of the issue not built yet: named so a config using them fails clearly, not silently.
NOT_YET = {
}


def load_automations(col: Any, top: dict[str, Any], connectors: dict[str, Any]) -> AutomationSet:
    """Build the :class:`AutomationSet` of a config; problems go to ``col`` (the config
    loader's collector), those of ``automations/*.yaml`` to one collector per file whose
    lines are appended to ``col.errors``."""
    from hub.config.loader import _Collector
    from hub.yamlfile import YamlError, load_located_file

    out = AutomationSet()
    settings = top.get("automation_settings") or {}
    directory = _settings(col, settings, out)
    sources: list[tuple[Any, tuple, dict, dict]] = []  # (collector, base, automations, templates)
    sources.append((col, (), _mapping(col, ("automations",), top.get("automations")),
                    _mapping(col, ("automation_templates",), top.get("automation_templates"))))
    folder = Path(directory)
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            located = load_located_file(path)
        except YamlError as exc:
            col.errors.append(str(exc))
            continue
        fcol = _Collector(located)
        data = located.data or {}
        if not isinstance(data, dict):
            fcol.add((), "expected a mapping with automations: and templates:")
            col.errors.extend(fcol.errors)
            continue
        for key in data:
            if key not in FILE_KEYS:
                fcol.add((key,), f"unknown key{did_you_mean(key, FILE_KEYS)}; an automations file has {list(FILE_KEYS)}")
        sources.append((fcol, (), _mapping(fcol, ("automations",), data.get("automations")),
                        _mapping(fcol, ("templates",), data.get("templates"))))
    where: dict[str, str] = {}
    for _, _, automations, _ in sources:
        out.journey_names |= {str(n) for n, raw in automations.items() if isinstance(raw, dict) and ("enroll" in raw or "steps" in raw)}
    for c, _, _, templates in sources:
        for name, body in templates.items():
            if not isinstance(body, dict):
                c.add(("templates" if c is not col else "automation_templates", name), "a template is a mapping of payload keys")
                continue
            out.templates[str(name)] = body
    for c, _, automations, _ in sources:
        for name, raw in automations.items():
            base = ("automations", name)
            here = c.located.where(base)
            if name in where:
                c.add(base, f"automation {name!r} is already defined at {where[name]}")
                continue
            where[name] = here
            auto = _automation(c, base, str(name), raw, connectors, out)
            if auto is not None:
                auto.source = here
                out.automations[str(name)] = auto
    for c, _, _, _ in sources:
        if c is not col:
            col.errors.extend(c.errors)
    return out


def _mapping(col: Any, path: tuple, value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        col.add(path, f"expected a mapping, got {type(value).__name__}")
        return {}
    return value


def _settings(col: Any, raw: Any, out: AutomationSet) -> str:
    base = ("automation_settings",)
    raw = _mapping(col, base, raw)
    _unknown(col, base, raw, SETTINGS_KEYS)
    if "timezone" in raw:
        try:
            ZoneInfo(str(raw["timezone"]))
            out.timezone = str(raw["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            col.add(base + ("timezone",), f"unknown time zone {raw['timezone']!r} (e.g. Asia/Shanghai)")
    if "daily_messages" in raw:
        value = raw["daily_messages"]
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            col.add(base + ("daily_messages",), f"expected a whole number ≥ 1, or null for no cap; got {value!r}")
        else:
            out.daily_messages = value
    if raw.get("send_window") is not None:
        out.send_window = _window(col, base + ("send_window",), raw["send_window"], out)
    return str(raw.get("dir") or "automations")


def _unknown(col: Any, base: tuple, raw: dict, known: tuple) -> None:
    for key in raw:
        if key not in known:
            col.add(base + (key,), f"unknown key{did_you_mean(str(key), known)}")


def _window(col: Any, path: tuple, raw: Any, out: AutomationSet) -> Window | None:
    match = WINDOW.match(str(raw))
    if match:
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60 and (h1, m1) != (h2, m2):
            return Window(time(h1, m1), time(h2, m2), out.tz)
    col.add(path, f"expected a send window like \"10:00-20:00\" ({out.timezone}), got {raw!r}")
    return None


def _automation(col: Any, base: tuple, name: str, raw: Any, connectors: dict, out: AutomationSet) -> Automation | None:
    if not NAME.match(name):
        col.add(base, "automation names are lower-case letters, digits and '_', starting with a letter")
    if not isinstance(raw, dict):
        col.add(base, "expected a mapping: a rule (on, do) or a journey (enroll, steps, exit)")
        return None
    raw = _yaml11_on(col, base, raw)
    errors = len(col.errors)
    is_journey = "enroll" in raw or "steps" in raw
    known = JOURNEY_KEYS if is_journey else RULE_KEYS
    for key in raw:
        if key in NOT_YET:
            col.add(base + (key,), NOT_YET[key])
        elif key not in known:
            hint = " (a rule has on and do; a journey has enroll, steps and exit)" if key in RULE_KEYS + JOURNEY_KEYS else ""
            col.add(base + (key,), f"unknown key{did_you_mean(str(key), known)}{hint}")
    auto = Automation(name=name, source="", description=str(raw.get("description") or ""))
    if is_journey:
        for key in ("enroll", "steps"):
            if key not in raw:
                col.add(base, f"a journey needs {key}:")
        if "enroll" in raw:
            auto.enroll = _trigger(col, base + ("enroll",), raw["enroll"])
        exits = raw.get("exit") or []
        if not isinstance(exits, list):
            exits = [exits]
        auto.exits = [t for i, e in enumerate(exits) if (t := _trigger(col, base + ("exit", i) if isinstance(raw.get("exit"), list) else base + ("exit",), e))]
        steps = raw.get("steps")
        if "steps" in raw and (not isinstance(steps, list) or not steps):
            col.add(base + ("steps",), "expected a list of steps ({after: 2d, do: {...}, at: \"10:00-20:00\"})")
        elif isinstance(steps, list):
            last = 0.0
            for i, s in enumerate(steps):
                step = _step(col, base + ("steps", i), s, connectors, out)
                if step is not None:
                    if step.after < last:
                        col.add(base + ("steps", i, "after"), f"steps run in order: after must be ≥ the previous step's ({last:g}s)")
                    last = max(last, step.after)
                    auto.steps.append(step)
        for where, trigger in [(("enroll",), auto.enroll)] + [(("exit", i), t) for i, t in enumerate(auto.exits)]:
            if trigger is not None and trigger.schedule is not None:
                col.add(base + where, "a schedule is a rule trigger: on: {schedule: …, where: …} with do: {enroll: "
                        f"{name}}} enrolls the contacts it matches")
    else:
        if isinstance(raw.get("on"), dict) and "member" in raw["on"]:  # a departure (hub.automations.departure)
            from hub.automations.departure import parse_rule

            return parse_rule(col, base, raw, connectors, auto, errors)
        for key in ("on", "do"):
            if key not in raw:
                col.add(base, f"a rule needs {key}:")
        if "on" in raw:
            auto.on = _trigger(col, base + ("on",), raw["on"])
        if "do" in raw:
            auto.actions = _actions(col, base + ("do",), raw["do"], connectors, out)
    return auto if len(col.errors) == errors else None


def _yaml11_on(col: Any, base: tuple, raw: dict) -> dict:
    """YAML 1.1 reads an unquoted ``on:`` key as ``true``: take it back as ``on`` (and move
    the line numbers of its subtree along, so errors under it still name their line)."""
    if True not in raw:
        return raw
    lines = col.located.lines
    for path in [p for p in lines if p[: len(base) + 1] == base + (True,)]:
        lines[base + ("on",) + path[len(base) + 1:]] = lines[path]
    return {("on" if k is True else k): v for k, v in raw.items()}


def _trigger(col: Any, path: tuple, raw: Any) -> Trigger | None:
    if not isinstance(raw, dict):
        col.add(path, "a trigger is a mapping: {attribute: stage, becomes: 要求试用} or {event: chat_message, …}")
        return None
    for key in raw:
        if key in NOT_YET:
            col.add(path + (key,), NOT_YET[key])
            return None
    if "schedule" in raw or "cron" in raw:  # hub.automations.schedule
        from hub.automations.schedule import parse

        schedule = parse(col, path, raw)
        return Trigger(schedule=schedule) if schedule is not None else None
    if "member" in raw:
        col.add(path + ("member",), "a member trigger starts a departure rule: on: {member: left} with do: {transfer_customers: …}")
        return None
    _unknown(col, path, raw, TRIGGER_KEYS)
    if "attribute" in raw:
        extra = [k for k in raw if k not in ("attribute", "becomes", "changes")]
        if extra:
            col.add(path + (extra[0],), f"{extra[0]!r} belongs to event triggers, not attribute triggers")
        if not isinstance(raw["attribute"], str) or not raw["attribute"]:
            col.add(path + ("attribute",), "expected an attribute name")
            return None
        if ("becomes" in raw) == bool(raw.get("changes")):
            col.add(path, "give either becomes: VALUE (entering a value) or changes: true (any change)")
            return None
        return Trigger(attribute=raw["attribute"], becomes=raw["becomes"] if "becomes" in raw else ANY)
    if "event" not in raw:
        col.add(path, "a trigger needs attribute: or event:")
        return None
    kinds = raw["event"] if isinstance(raw["event"], list) else [raw["event"]]
    if not kinds or not all(isinstance(k, str) and k for k in kinds):
        col.add(path + ("event",), "expected an event kind or a list of kinds")
        return None
    trigger = Trigger(events=list(kinds), sender=str(raw["from"]) if raw.get("from") is not None else None)
    if raw.get("when") is not None:
        try:
            trigger.condition = compile_condition(raw["when"])
        except ValueError as exc:
            col.add(path + ("when",), str(exc))
    if raw.get("text_matches") is not None:
        trigger.text = _text_match(col, path + ("text_matches",), raw["text_matches"])
    return trigger


def _text_match(col: Any, path: tuple, raw: Any) -> TextMatch | None:
    if not isinstance(raw, dict):
        col.add(path, "expected {keywords: {词: 标签}, regex: {pattern: 标签}, path: data.text}")
        return None
    _unknown(col, path, raw, ("keywords", "regex", "path"))
    out = TextMatch()
    keywords = raw.get("keywords") or {}
    if isinstance(keywords, list):
        keywords = {str(k): str(k) for k in keywords}
    if not isinstance(keywords, dict):
        col.add(path + ("keywords",), "expected a mapping of keyword → label (or a list of keywords)")
    else:
        out.keywords = {str(k): str(v if v is not None else k) for k, v in keywords.items() if str(k)}
    regex = raw.get("regex") or {}
    if isinstance(regex, list):
        regex = {str(p): "{0}" for p in regex}
    if not isinstance(regex, dict):
        col.add(path + ("regex",), "expected a mapping of pattern → label (or a list of patterns)")
        regex = {}
    for pattern, label in regex.items():
        try:
            out.patterns.append((re.compile(str(pattern)), str(label if label is not None else "{0}")))
        except re.error as exc:
            col.add(path + ("regex", pattern), f"invalid regex: {exc}")
    if raw.get("path"):
        out.path = tuple(str(raw["path"]).split("."))
    if not out.keywords and not out.patterns:
        col.add(path, "give keywords: or regex:")
    return out


def _actions(col: Any, path: tuple, raw: Any, connectors: dict, out: AutomationSet) -> list[Action]:
    items = raw if isinstance(raw, list) else [raw]
    actions: list[Action] = []
    for i, item in enumerate(items):
        here = path + (i,) if isinstance(raw, list) else path
        if not isinstance(item, dict) or not item:
            col.add(here, "an action is a mapping: {tag: 价格异议} or {sink: instance.sink, payload: {...} | template: NAME}")
            continue
        for key in item:
            if key in NOT_YET:
                col.add(here + (key,), NOT_YET[key])
        if "transfer_customers" in item:
            col.add(here + ("transfer_customers",), "transfer_customers is the action of a departure rule (on: {member: left})")
            continue
        _unknown(col, here, {k: v for k, v in item.items() if k not in NOT_YET}, ACTION_KEYS)
        if "tag" in item:
            if not isinstance(item["tag"], str) or not item["tag"].strip():
                col.add(here + ("tag",), "expected a tag name (may use {match})")
            else:
                actions.append(Action(tag=item["tag"].strip()))
        if "set" in item:  # hub.automations.setattr
            from hub.automations.setattr import parse_set

            actions.extend(parse_set(col, here + ("set",), item["set"]))
        for key in ("enroll", "exit"):
            if key in item:
                journey = str(item[key])
                if journey not in out.journey_names:
                    col.add(here + (key,), f"no journey {journey!r}{did_you_mean(journey, out.journey_names)}; "
                            f"journeys: {sorted(out.journey_names) or 'none'}")
                else:
                    actions.append(Action(enroll=journey) if key == "enroll" else Action(leave=journey))
        if "sink" not in item:
            for key in ("payload", "template"):
                if key in item:
                    col.add(here + (key,), f"{key} needs sink: instance.sink")
            if not {"tag", "set", "enroll", "exit"} & set(item) and not any(k in NOT_YET for k in item):
                col.add(here, "an action needs tag:, set:, sink:, enroll: or exit:")
            continue
        sink = _sink(col, here + ("sink",), item["sink"], connectors)
        payload = item.get("payload")
        if payload is not None and not isinstance(payload, dict):
            col.add(here + ("payload",), "expected a mapping of payload keys")
            payload = None
        template = item.get("template")
        if template is not None and str(template) not in out.templates:
            col.add(here + ("template",), f"no template {template!r}{did_you_mean(str(template), out.templates)}; "
                    "define it under automation_templates: (config/hub.yaml) or templates: (automations/*.yaml)")
        message = item.get("message")
        if message is not None and not isinstance(message, bool):
            col.add(here + ("message",), "expected true or false")
            message = None
        if sink is not None:
            with_tag = item["tag"].strip() if isinstance(item.get("tag"), str) and item["tag"].strip() else None
            actions.append(Action(sink=sink, payload=payload, template=str(template) if template is not None else None, message=message,
                                  with_tag=with_tag))
    return actions


def _sink(col: Any, path: tuple, raw: Any, connectors: dict) -> tuple[str, str] | None:
    instance, _, sink = str(raw).partition(".")
    if not instance or not sink:
        col.add(path, f"expected instance.sink (e.g. wecom_sales.messages), got {raw!r}")
        return None
    inst = connectors.get(instance)
    if inst is None:
        col.add(path, f"no connector instance {instance!r}{did_you_mean(instance, connectors)}")
        return None
    offered = inst.connector_class.sink_names(inst.config)
    if sink not in offered:
        col.add(path, f"{instance} ({inst.type}) has no sink {sink!r}{did_you_mean(sink, offered)}; it has {offered}")
        return None
    return instance, sink


def _step(col: Any, path: tuple, raw: Any, connectors: dict, out: AutomationSet) -> Step | None:
    from hub.config.schema import parse_duration

    if not isinstance(raw, dict):
        col.add(path, "a step is {after: 2d, do: {...}, at: \"10:00-20:00\"}")
        return None
    _unknown(col, path, raw, STEP_KEYS)
    errors = len(col.errors)
    try:
        after = parse_duration(raw.get("after", 0))
    except Exception as exc:  # marshmallow ValidationError: its message names the problem
        col.add(path + ("after",), getattr(exc, "messages", [str(exc)])[0] if getattr(exc, "messages", None) else str(exc))
        after = 0.0
    if "do" not in raw:
        col.add(path, "a step needs do:")
        return None
    actions = _actions(col, path + ("do",), raw["do"], connectors, out)
    window = _window(col, path + ("at",), raw["at"], out) if raw.get("at") is not None else None
    return Step(after=after, actions=actions, window=window) if len(col.errors) == errors else None
