"""Generate the ``apply`` function of a compiled mapping as Python source, once.

Closures alone cost a few nested calls per field (getter → chain → transform); the
generated function inlines simple key paths, skips transforms for missing values and
writes each result straight into its target, so a field costs about one call per
transform — the same work a hand-written function does. The source contains only
literals produced by ``repr`` and names bound to compiled callables; nothing from a
mapping file is evaluated as code.
"""

from __future__ import annotations

from typing import Any, Callable

from hub.canonical import CanonicalEvent, CanonicalRecord
from hub.mapping.errors import MappingRecordError
from hub.mapping.paths import KEY, parse_path
from hub.mapping.values import CompiledValue


def _add_identities(identities: list, kind: str, prefix: str, value: Any) -> None:
    for x in value if value.__class__ is list else (value,):
        if x is None:
            continue
        s = (x if x.__class__ is str else str(x)).strip()
        if s:
            pair = (kind, prefix + s)
            if pair not in identities:
                identities.append(pair)


def _add_tags(tags: list, value: Any) -> None:
    for x in value if value.__class__ is list else (value,):
        if x is None:
            continue
        s = (x if x.__class__ is str else str(x)).strip()
        if s and s not in tags:
            tags.append(s)


def _set_nested(payload: dict, keys: list[str], value: Any) -> None:
    node = payload
    for k in keys[:-1]:
        nxt = node.get(k)
        if not isinstance(nxt, dict):
            nxt = node[k] = {}
        node = nxt
    node[keys[-1]] = value


def _not_object(record: Any) -> MappingRecordError:
    return MappingRecordError("", record, f"a record must be a JSON object, got {type(record).__name__}")


class _Source:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ns: dict[str, Any] = {
            "_Record": CanonicalRecord,
            "_Event": CanonicalEvent,
            "_add_ids": _add_identities,
            "_add_tags": _add_tags,
            "_set": _set_nested,
            "_not_object": _not_object,
        }
        self.count = 0

    def bind(self, obj: Any, prefix: str) -> str:
        self.count += 1
        name = f"_{prefix}{self.count}"
        self.ns[name] = obj
        return name

    def add(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def value(self, cv: CompiledValue, indent: int) -> None:
        """Lines that leave ``cv``'s value for ``record`` in the local ``v``."""
        paths = [desc for desc, _ in cv.sources]
        plain = cv.condition is None and not cv.required and cv.sources and all(
            desc not in ("const",) and not desc.startswith("template ") for desc in paths)
        if not plain:
            self.add(indent, f"v = {self.bind(cv.fn, 'f')}(record)")
            return
        for i, (desc, getter) in enumerate(cv.sources):
            level = indent + i
            if i:
                self.add(level - 1, 'if v is None or v == "" or v == []:')
            self._path(desc, getter, level)
        if len(cv.sources) > 1:
            self.add(indent + len(cv.sources) - 1, 'if v == "" or v == []:')
            self.add(indent + len(cv.sources), "v = None")
        for _, fn in cv.steps:
            call = f"v = {self.bind(fn, 't')}(v, record)"
            if getattr(fn, "passes_none", False):
                self.add(indent, "if v is not None:")
                self.add(indent + 1, call)
            else:
                self.add(indent, call)

    def _path(self, text: str, getter: Callable, indent: int) -> None:
        steps = parse_path(text)
        if len(steps) <= 3 and all(kind == KEY for kind, _ in steps):
            self.add(indent, f"v = record.get({steps[0][1]!r})")
            for _, key in steps[1:]:
                self.add(indent, f"v = v.get({key!r}) if isinstance(v, dict) else None")
        else:
            self.add(indent, f"v = {self.bind(getter, 'g')}(record)")

    def compile(self, name: str, filename: str) -> Callable:
        source = "\n".join(self.lines) + "\n"
        code = compile(source, f"<mapping {filename}>", "exec")
        exec(code, self.ns)  # noqa: S102 — generated from repr'd literals and bound names only
        fn = self.ns[name]
        fn.__source__ = source  # for debugging: print(mapping.apply.__source__)
        return fn


def inbound_function(mapping: Any) -> Callable[[dict], CanonicalRecord]:
    src = _Source()
    src.ns["_record_error"] = mapping._record_error
    src.ns["_as_dt"] = _as_datetime()
    add = src.add
    add(0, "def apply(record):")
    add(1, "if not isinstance(record, dict):")
    add(2, "raise _not_object(record)")
    add(1, "attributes = {}")
    add(1, "identities = []")
    add(1, "tags = []")
    add(1, "events = []")
    add(1, "source_updated_at = None")
    add(1, "deleted = False")
    add(1, "label = ''")
    add(1, "try:")
    for cv in mapping.fields:
        add(2, f"label = {cv.label!r}")
        src.value(cv, 2)
        if cv.target == "tags":
            add(2, "if v is not None:")
            add(3, "_add_tags(tags, v)")
        elif "kind" in cv.extra:
            kind, prefix = cv.extra["kind"], cv.extra.get("prefix", "")
            add(2, "if v is not None:")
            add(3, "if v.__class__ is str:")
            add(4, "v = v.strip()")
            add(4, "if v:")
            add(5, f"v = ({kind!r}, {prefix!r} + v)" if prefix else f"v = ({kind!r}, v)")
            add(5, "if v not in identities:")
            add(6, "identities.append(v)")
            add(3, "else:")
            add(4, f"_add_ids(identities, {kind!r}, {prefix!r}, v)")
        else:
            name = cv.extra["attribute"]
            if cv.extra.get("keep_null"):
                add(2, f"attributes[{name!r}] = v")
            else:
                add(2, "if v is not None:")
                add(3, f"attributes[{name!r}] = v")
    for event in mapping.events:
        _event(src, event)
    if mapping.updated_at is not None:
        add(2, f"label = {mapping.updated_at.label!r}")
        src.value(mapping.updated_at, 2)
        add(2, "source_updated_at = _as_dt(v)")
    if mapping.deleted is not None:
        add(2, f"label = {mapping.deleted.label!r}")
        src.value(mapping.deleted, 2)
        add(2, "deleted = bool(v)")
    add(2, "pass")
    add(1, "except Exception as exc:")
    add(2, "raise _record_error(label, record, exc) from exc")
    add(1, "return _Record(identities, attributes, tags, events, source_updated_at, deleted)")
    return src.compile("apply", mapping.file)


def _event(src: _Source, event: Any) -> None:
    add = src.add
    indent = 2
    add(indent, f"label = {event.label!r}")
    if event.condition is not None:
        add(indent, f"if {src.bind(event.condition, 'c')}(None, record):")
        indent += 1
    literal = event.kind.extra.get("literal")
    if literal is not None:
        add(indent, f"e_kind = {literal!r}")
        add(indent, "if True:")
    else:
        add(indent, f"label = {event.kind.label!r}")
        src.value(event.kind, indent)
        add(indent, 'if not (v is None or v == "" or v == []):')
        add(indent + 1, "e_kind = str(v)")
    indent += 1
    add(indent, "e_at = None")
    if event.occurred_at is not None:
        add(indent, f"label = {event.occurred_at.label!r}")
        src.value(event.occurred_at, indent)
        add(indent, "e_at = _as_dt(v)")
    add(indent, "e_summary = ''")
    if event.summary is not None:
        add(indent, f"label = {event.summary.label!r}")
        src.value(event.summary, indent)
        add(indent, "if v is not None:")
        add(indent + 1, "e_summary = v if v.__class__ is str else str(v)")
    add(indent, "e_nid = None")
    if event.native_id is not None:
        add(indent, f"label = {event.native_id.label!r}")
        src.value(event.native_id, indent)
        add(indent, 'if not (v is None or v == "" or v == []):')
        add(indent + 1, "e_nid = v if v.__class__ is str else str(v)")
    add(indent, "e_data = {}")
    for key, cv in event.data:
        add(indent, f"label = {cv.label!r}")
        src.value(cv, indent)
        add(indent, "if v is not None:")
        add(indent + 1, f"e_data[{key!r}] = v")
    add(indent, "events.append(_Event(e_kind, e_at, e_summary, e_data, e_nid))")


def outbound_function(mapping: Any) -> Callable[[dict], dict]:
    src = _Source()
    src.ns["_record_error"] = mapping._record_error
    add = src.add
    add(0, "def apply(record):")
    add(1, "if not isinstance(record, dict):")
    add(2, "raise _not_object(record)")
    add(1, "payload = {}")
    add(1, "label = ''")
    add(1, "try:")
    for cv in mapping.fields:
        keys = cv.extra["keys"]
        add(2, f"label = {cv.label!r}")
        src.value(cv, 2)
        store = f"payload[{keys[0]!r}] = v" if len(keys) == 1 else f"_set(payload, {keys!r}, v)"
        if cv.extra.get("keep_null"):
            add(2, store)
        else:
            add(2, "if v is not None:")
            add(3, store)
    add(2, "pass")
    add(1, "except Exception as exc:")
    add(2, "raise _record_error(label, record, exc) from exc")
    add(1, "return payload")
    return src.compile("apply", mapping.file)


def _as_datetime() -> Callable[[Any], Any]:
    from hub.mapping.compiled import as_datetime

    return as_datetime
