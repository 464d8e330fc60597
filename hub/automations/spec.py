"""What a loaded automation is: triggers, actions, journey steps and send windows.

Plain dataclasses, built once by :mod:`hub.automations.loader` from the YAML and read by the
rule engine (:mod:`hub.automations.rules`) and the journey engine
(:mod:`hub.automations.journeys`). Matching lives here too, because a trigger is the same
thing whether it starts a rule, enrolls a contact in a journey or ends its journey.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Callable
from zoneinfo import ZoneInfo

#: ``becomes:`` not given (any new value fires).
ANY = object()

DEFAULT_TIMEZONE = "Asia/Shanghai"
#: Where an event's text is looked for when ``text_matches`` names no ``path``.
TEXT_PATHS = (("data", "text"), ("data", "content"), ("summary",))


@dataclass
class TextMatch:
    """``text_matches``: keywords (``{太贵了: 价格异议}``) and regexes (``{"\\d+元": 报价}``),
    each with the label ``{match}`` renders to. The first that matches wins (keywords first,
    in the order written)."""

    keywords: dict[str, str] = field(default_factory=dict)
    patterns: list[tuple[re.Pattern, str]] = field(default_factory=list)
    path: tuple[str, ...] | None = None

    def text_of(self, event: dict[str, Any]) -> str | None:
        for path in [self.path] if self.path else TEXT_PATHS:
            value: Any = event
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, str) and value:
                return value
        return None

    def match(self, event: dict[str, Any]) -> tuple[str, str] | None:
        """``(label, matched text)`` of the first keyword or pattern found, else None."""
        text = self.text_of(event)
        if not text:
            return None
        for keyword, label in self.keywords.items():
            if keyword in text:
                return label, keyword
        for pattern, label in self.patterns:
            found = pattern.search(text)
            if found:
                return label.replace("{0}", found.group(0)), found.group(0)
        return None


@dataclass
class Trigger:
    """An attribute entering a value / changing, or an event of some kinds with conditions."""

    attribute: str | None = None
    becomes: Any = ANY
    events: list[str] = field(default_factory=list)
    #: ``from: customer`` — the event's ``data.from`` must equal this.
    sender: str | None = None
    #: The mapping condition language, applied to ``{kind, summary, data, connector}``.
    condition: Callable[[Any, Any], bool] | None = None
    text: TextMatch | None = None
    #: ``{member: left}``: a member's departure (:mod:`hub.automations.departure`), never a
    #: processed record's change.
    member: str | None = None
    #: ``{schedule: "0 9 * * 1-5", where: …}``: a :class:`hub.automations.schedule.Schedule`
    #: (fired by the worker's ticker, never by processing).
    schedule: Any = None

    @property
    def on_attribute(self) -> bool:
        return self.attribute is not None

    def attribute_fires(self, name: str, old: Any, new: Any) -> bool:
        """Whether a change of ``name`` from ``old`` to ``new`` fires this trigger."""
        if name != self.attribute or old == new:
            return False
        return self.becomes is ANY or _same(new, self.becomes)

    def event_fires(self, event: dict[str, Any]) -> dict[str, str] | None:
        """The template context (``match``, ``keyword``) if ``event`` fires this trigger."""
        if self.attribute is not None or event.get("kind") not in self.events:
            return None
        data = event.get("data") or {}
        if self.sender is not None and not _same(data.get("from"), self.sender):
            return None
        if self.condition is not None and not self.condition(event, event):
            return None
        if self.text is None:
            return {}
        found = self.text.match(event)
        if found is None:
            return None
        return {"match": found[0], "keyword": found[1]}

    def describe(self) -> str:
        if self.member is not None:
            return f"member {self.member}"
        if self.schedule is not None:
            return self.schedule.describe()
        if self.attribute is not None:
            return f"{self.attribute} → {self.becomes}" if self.becomes is not ANY else f"{self.attribute} changes"
        out = "event " + "|".join(self.events)
        if self.text is not None:
            out += " text matches " + "/".join(list(self.text.keywords) + [p.pattern for p, _ in self.text.patterns])
        return out


def _same(a: Any, b: Any) -> bool:
    return a == b or (a is not None and b is not None and str(a) == str(b))


@dataclass
class Action:
    """One thing to do: set a hub tag, or write to a sink (payload, template or its mapping)."""

    tag: str | None = None
    sink: tuple[str, str] | None = None
    payload: dict[str, Any] | None = None
    template: str | None = None
    #: Whether it counts against the per-customer daily message cap; None: the sink decides
    #: (``Sink.sends_message``).
    message: bool | None = None
    #: ``{enroll: journey}`` / ``{exit: journey}``: enroll the contact in, or end its
    #: enrollment in, another automation that is a journey.
    enroll: str | None = None
    leave: str | None = None
    #: The ``tag:`` written in the same ``do:`` item as this sink action: a sink rendered by
    #: its outbound mapping sees it as ``automation.tag`` (and only ``tags`` as changed).
    with_tag: str | None = None
    #: ``{transfer_customers: {to: …, fallback: …}}``: a
    #: :class:`hub.automations.departure.Transfer` (departure rules only).
    transfer: Any = None
    #: ``{set: {segment: 高意向}}``: ``(attribute, value)`` set on the contact through the
    #: field policy (:mod:`hub.automations.setattr`); the value may hold placeholders.
    assign: tuple[str, Any] | None = None

    @property
    def target(self) -> str:
        if self.transfer is not None:
            return "transfer_customers"
        if self.assign is not None:
            return f"set:{self.assign[0]}"
        if self.sink is not None:
            return f"{self.sink[0]}.{self.sink[1]}"
        if self.enroll is not None:
            return f"enroll:{self.enroll}"
        if self.leave is not None:
            return f"exit:{self.leave}"
        return f"tag:{self.tag}"

    @property
    def uses_mapping(self) -> bool:
        """No inline payload and no template: the sink's outbound mapping renders it."""
        return self.sink is not None and self.payload is None and self.template is None


@dataclass
class Window:
    """``at: "10:00-20:00"``: sends only within these local hours (end exclusive; a window
    may wrap midnight, ``"20:00-08:00"``)."""

    start: time
    end: time
    tz: ZoneInfo

    def contains(self, when: datetime) -> bool:
        local = when.astimezone(self.tz).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_open(self, when: datetime) -> datetime:
        """``when`` if inside the window, else the window's next start (aware, UTC-comparable)."""
        if self.contains(when):
            return when
        local = when.astimezone(self.tz)
        start = local.replace(hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0)
        if start <= local:
            start += timedelta(days=1)
        return start

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass
class Step:
    after: float  # seconds after enrollment
    actions: list[Action]
    window: Window | None = None


@dataclass
class Automation:
    """A rule (``on`` + ``do``) or a journey (``enroll`` + ``steps``, optional ``exit``)."""

    name: str
    source: str  # file:line, for show and errors
    on: Trigger | None = None
    actions: list[Action] = field(default_factory=list)
    enroll: Trigger | None = None
    exits: list[Trigger] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    description: str = ""

    @property
    def kind(self) -> str:
        return "journey" if self.enroll is not None else "rule"

    @property
    def triggers(self) -> list[Trigger]:
        return [t for t in (self.on, self.enroll) if t is not None]


@dataclass
class AutomationSet:
    """Everything under ``automations:`` (``config/hub.yaml`` and ``automations/*.yaml``)."""

    automations: dict[str, Automation] = field(default_factory=dict)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Messages one customer may receive per local day, across all automations.
    daily_messages: int = 1
    timezone: str = DEFAULT_TIMEZONE
    #: A window applied to every message action without its own ``at``; None: any time.
    send_window: Window | None = None
    #: Names declared as journeys (known before any automation is parsed, so an
    #: ``{enroll: NAME}`` action can be checked wherever it is written).
    journey_names: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.automations)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def journeys(self) -> dict[str, Automation]:
        return {n: a for n, a in self.automations.items() if a.kind == "journey"}
