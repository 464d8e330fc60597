"""A compiled mapping: ``apply`` one record, ``apply_many`` a batch, ``explain`` one.

``apply`` is the hot path: a few loops over lists of closures, no look-ups of the spec.
A record that fails raises :class:`MappingRecordError` naming the field path and the
offending value; ``apply_many`` collects those and carries on with the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from hub.mapping.errors import MappingRecordError, TransformError
from hub.mapping.paths import is_blank
from hub.mapping.transforms import DEFAULT_TIMEZONE
from hub.mapping.values import CompiledValue

#: The keys of the canonical view an outbound mapping reads (see docs/mappings.md).
VIEW_KEYS = ("contact_id", "attributes", "identities", "tags", "native_id", "changed", "event", "automation")

_TZ = ZoneInfo(DEFAULT_TIMEZONE)


def canonical_view(
    contact_id: Any,
    attributes: dict[str, Any] | None = None,
    identities: dict[str, list[str]] | None = None,
    tags: list[str] | None = None,
    native_id: str | None = None,
    changed: list[str] | None = None,
    event: dict[str, Any] | None = None,
    automation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The dict an outbound mapping reads: one contact as the destination should see it.
    ``event``: the push that triggered an urgent write (:class:`hub.connector.UrgentWrite`),
    present only for those. ``automation``: for a write an automation renders through the
    mapping, ``{tag, match, keyword}`` of that action (:mod:`hub.automations.actions`)."""
    view = {
        "contact_id": contact_id,
        "attributes": dict(attributes or {}),
        "identities": {k: list(v) for k, v in (identities or {}).items()},
        "tags": list(tags or []),
        "native_id": native_id,
        "changed": list(changed or []),
    }
    if event is not None:
        view["event"] = dict(event)
    if automation is not None:
        view["automation"] = dict(automation)
    return view


def as_datetime(value: Any) -> datetime | None:
    """Event times and ``updated_at`` are datetimes; accept what the ``datetime`` transform
    emits (ISO text) or a datetime; naive ones are taken as Asia/Shanghai."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=_TZ)
    if value.__class__ is str:
        try:
            d = datetime.fromisoformat(value)
        except ValueError:
            raise TransformError(f"not an ISO date/time {value!r} (add the datetime transform)", value) from None
        return d if d.tzinfo is not None else d.replace(tzinfo=_TZ)
    raise TransformError(f"not a date/time {value!r} (add the datetime transform)", value)


@dataclass
class CompiledEvent:
    name: str
    label: str
    kind: CompiledValue
    occurred_at: CompiledValue | None
    summary: CompiledValue | None
    native_id: CompiledValue | None
    data: list[tuple[str, CompiledValue]]
    condition: Callable[[Any, Any], bool] | None = None

    def values(self) -> list[CompiledValue]:
        out = [self.kind] + [v for v in (self.occurred_at, self.summary, self.native_id) if v is not None]
        return out + [v for _, v in self.data]


@dataclass
class FieldTrace:
    """What ``explain`` reports for one value: where it came from and each step."""

    label: str
    target: str
    source: str | None
    raw: Any
    steps: list[tuple[str, Any]] = field(default_factory=list)
    value: Any = None
    error: str | None = None
    skipped: bool = False


@dataclass
class Explanation:
    traces: list[FieldTrace]
    result: Any = None
    error: MappingRecordError | None = None


class CompiledMapping:
    """A mapping ready to run. ``direction`` is ``inbound`` (native → CanonicalRecord) or
    ``outbound`` (canonical view → native payload dict)."""

    def __init__(self, *, direction: str, file: str, files: list[str], connector: str | None, stream: str | None,
                 sink: str | None, instance: str | None, fields: list[CompiledValue], events: list[CompiledEvent],
                 updated_at: CompiledValue | None, deleted: CompiledValue | None):
        self.direction = direction
        self.file = file
        self.files = files
        self.connector = connector
        self.stream = stream
        self.sink = sink
        self.instance = instance
        self.fields = fields
        self.events = events
        self.updated_at = updated_at
        self.deleted = deleted
        #: ``file:line key.path: message`` lines for things that load but look wrong
        #: (see :class:`~hub.mapping.errors.MappingWarning`); set by the compiler.
        self.warnings: list[str] = []
        self._by_label = {v.label: v for v in self.all_values()}
        from hub.mapping.codegen import inbound_function, outbound_function

        build = outbound_function if direction == "outbound" else inbound_function
        self.apply = build(self)  # type: ignore[method-assign]

    def __repr__(self) -> str:
        return f"<CompiledMapping {self.direction} {self.file} ({len(self.fields)} fields, {len(self.events)} events)>"

    def all_values(self) -> list[CompiledValue]:
        out = list(self.fields)
        for e in self.events:
            out += e.values()
        out += [v for v in (self.updated_at, self.deleted) if v is not None]
        return out

    def apply(self, record: dict) -> Any:  # replaced per instance in __init__
        raise NotImplementedError

    def apply_many(self, records: Iterable[dict]) -> tuple[list[Any], list[tuple[int, MappingRecordError]]]:
        """Map a batch. ``results[i]`` is record *i*'s result, or ``None`` if it was
        rejected; ``rejected`` lists ``(i, error)`` so the caller can store the reason."""
        apply = self.apply
        results: list[Any] = []
        rejected: list[tuple[int, MappingRecordError]] = []
        for i, record in enumerate(records):
            try:
                results.append(apply(record))
            except MappingRecordError as exc:
                results.append(None)
                rejected.append((i, exc))
        return results, rejected

    # --- failures -----------------------------------------------------------------------

    def _record_error(self, label: str, record: Any, exc: BaseException) -> MappingRecordError:
        if isinstance(exc, MappingRecordError):
            return exc
        cv = self._by_label.get(label)
        if isinstance(exc, TransformError) and exc.value is not None:
            value = exc.value
        else:
            value = cv.source_value(record)[1] if cv is not None else None
        if isinstance(exc, ValueError):
            reason = str(exc)
        else:  # a bug in a (plugin) transform still names the field, and the batch goes on
            reason = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, TransformError) and exc.args and exc.args[0] == "required value is missing":
            value = cv.source_value(record)[1] if cv is not None else None
        return MappingRecordError(label, value, reason)

    # --- explain ------------------------------------------------------------------------

    def explain(self, record: dict) -> Explanation:
        """Every value's source path, raw value and each transform's output, then the
        result (or the error ``apply`` raises). For ``hub mappings test``."""
        traces = [self._trace(v, record) for v in self.all_values()]
        try:
            result = self.apply(record)
        except MappingRecordError as exc:
            return Explanation(traces, None, exc)
        return Explanation(traces, result, None)

    @staticmethod
    def _trace(cv: CompiledValue, record: dict) -> FieldTrace:
        source, raw = cv.source_value(record)
        trace = FieldTrace(cv.label, cv.target, source, raw)
        v = raw
        if cv.condition is not None and not cv.condition(v, record):
            trace.skipped = True
            return trace
        try:
            for name, fn in cv.steps:
                v = fn(v, record)
                trace.steps.append((name, v))
        except Exception as exc:
            trace.error = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            return trace
        if cv.required and is_blank(v):
            trace.error = "required value is missing"
        trace.value = v
        return trace
