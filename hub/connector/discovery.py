"""What ``hub discover`` reports: a connector's streams and sinks with their fields.

Why it exists: an admin writing a mapping needs the source's real field names (a path typo
such as ``mobil`` for ``mobile`` silently drops every phone), and ``hub check`` compares each
mapping's paths with what discovery finds. A connector overrides
:meth:`hub.connector.Connector.discover` when it can describe itself exactly (the SQL
connector reads the database catalogue); the default reads a few records of each stream and
infers the fields from them (:func:`infer_fields`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Iterable, Mapping

#: Records the default discovery reads per stream to infer its fields.
INFER_RECORDS = 20


@dataclass
class FieldInfo:
    """One field: ``name`` is the path a mapping uses (dotted for nested objects)."""

    name: str
    type: str
    nullable: bool | None = None
    key: bool = False
    writable: bool | None = None   # sinks: whether the hub may write it


@dataclass
class StreamInfo:
    """A stream (``kind="stream"``) or sink (``kind="sink"``) and its fields.

    ``fields_complete`` is False when the fields were inferred from a handful of records, so
    a field missing here may still exist (``hub check`` then warns instead of failing).
    ``configured`` is False for something the remote offers that the config does not use
    (a table of the database no stream reads yet)."""

    name: str
    kind: str = "stream"
    description: str = ""
    source: str = ""
    fields: list[FieldInfo] = field(default_factory=list)
    fields_complete: bool = True
    configured: bool = True
    samples: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def json_type(value: Any) -> str:
    """The JSON-ish type name of one value, as discovery reports it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, (datetime, date)):
        return "timestamp"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _walk(value: Any, prefix: str, out: dict[str, set[str]]) -> None:
    for key, sub in value.items():
        name = f"{prefix}{key}"
        out.setdefault(name, set()).add(json_type(sub))
        if isinstance(sub, Mapping) and sub:
            _walk(sub, f"{name}.", out)


def infer_fields(records: Iterable[Mapping[str, Any]], key: str | None = None) -> list[FieldInfo]:
    """Fields seen in ``records`` (nested objects as dotted paths), in first-seen order, with
    every type seen (``string|null``); a field absent from some records is nullable."""
    seen: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    total = 0
    for record in records:
        total += 1
        flat: dict[str, set[str]] = {}
        _walk(record, "", flat)
        for name, types in flat.items():
            seen.setdefault(name, set()).update(types)
            counts[name] = counts.get(name, 0) + 1
    out = []
    for name, types in seen.items():
        nullable = "null" in types or counts[name] < total
        shown = sorted(types - {"null"}) or ["null"]
        out.append(FieldInfo(name, "|".join(shown), nullable=nullable, key=name == key))
    return out
