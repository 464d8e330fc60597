"""Mapping files → :class:`MappingSpec`: header checks, ``extends`` merging, locations.

Every piece of the spec keeps the file and key path it came from, so an error in a
field that a custom file inherited from the shipped one names the shipped file's line.
Problems are collected, never raised one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.config.errors import did_you_mean
from hub.mapping.discovery import resolve_extends
from hub.yamlfile import LocatedYaml, YamlError, format_path, load_located_file

INBOUND_KEYS = ("direction", "connector", "stream", "extends", "description", "fields", "events", "updated_at", "deleted")
OUTBOUND_KEYS = ("direction", "connector", "sink", "extends", "description", "fields")
DIRECTIONS = ("inbound", "outbound")


@dataclass
class Node:
    """A value from a mapping file and where it is (for ``file:line key.path`` messages)."""

    value: Any
    src: LocatedYaml
    path: tuple

    @property
    def label(self) -> str:
        return format_path(self.path)

    def child(self, *keys: Any) -> "Node":
        value = self.value
        for k in keys:
            value = value[k]
        return Node(value, self.src, self.path + tuple(keys))


class Problems:
    """Collects ``file:line key.path: message`` lines."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        #: Lines for things that load but are probably wrong (``{strip: "+86"}``).
        self.warnings: list[str] = []

    @staticmethod
    def _line(node_or_src: Node | LocatedYaml, message: str, path: tuple | None, label: str | None) -> str:
        if isinstance(node_or_src, Node):
            src, at = node_or_src.src, node_or_src.path if path is None else path
        else:
            src, at = node_or_src, path or ()
        shown = label if label is not None else format_path(at)
        where = f"{src.file}:{src.line_of(at)}"
        return f"{where} {shown}: {message}" if shown else f"{where}: {message}"

    def add(self, node_or_src: Node | LocatedYaml, message: str, *, path: tuple | None = None, label: str | None = None) -> None:
        self.errors.append(self._line(node_or_src, message, path, label))

    def warn(self, node_or_src: Node | LocatedYaml, message: str, *, path: tuple | None = None, label: str | None = None) -> None:
        line = self._line(node_or_src, message, path, label)
        if line not in self.warnings:
            self.warnings.append(line)

    def add_plain(self, line: str) -> None:
        self.errors.append(line)


@dataclass
class MappingSpec:
    file: str
    direction: str
    connector: str | None = None
    stream: str | None = None
    sink: str | None = None
    description: str = ""
    fields: dict[str, Node] = field(default_factory=dict)
    events: dict[str, Node] = field(default_factory=dict)
    updated_at: Node | None = None
    deleted: Node | None = None
    #: The file and every file it extends, child first.
    files: list[str] = field(default_factory=list)


def _direction_from_name(path: Path) -> str:
    return "outbound" if path.name.endswith(".out.yaml") or path.name.endswith(".out.yml") else "inbound"


def read_spec(path: str | Path, problems: Problems, _chain: tuple[Path, ...] = ()) -> MappingSpec | None:
    """Read one mapping file (and what it extends). ``None`` if it could not be read at all."""
    path = Path(path)
    try:
        src = load_located_file(path)
    except YamlError as exc:
        problems.add_plain(str(exc))
        return None
    data = src.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.add(src, f"a mapping file is a YAML mapping (direction, connector, fields, …), got {type(data).__name__}")
        return None
    root = Node(data, src, ())

    direction = data.get("direction", _direction_from_name(path))
    if direction not in DIRECTIONS:
        problems.add(root, f"direction must be inbound or outbound, got {direction!r}{did_you_mean(direction, DIRECTIONS)}", path=("direction",))
        direction = _direction_from_name(path)
    allowed = INBOUND_KEYS if direction == "inbound" else OUTBOUND_KEYS
    for key in data:
        if key not in allowed:
            if key in INBOUND_KEYS + OUTBOUND_KEYS:
                hint = f" (only {'outbound' if direction == 'inbound' else 'inbound'} mappings have it)"
            else:
                hint = did_you_mean(key, allowed)
            problems.add(root, f"unknown key{hint}", path=(key,))
    for key in ("connector", "stream", "sink", "description", "extends"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            problems.add(root, f"expected text, got {type(data[key]).__name__}", path=(key,))

    spec = MappingSpec(file=str(path), direction=direction, files=[str(path)])

    base: MappingSpec | None = None
    extends = data.get("extends")
    if isinstance(extends, str) and extends:
        target = resolve_extends(extends, path)
        if target is None:
            problems.add(root, f"extends {extends!r}: file not found beside this file or in the mappings directories", path=("extends",))
        elif target.resolve() in _chain or target.resolve() == path.resolve():
            problems.add(root, f"extends {extends!r}: circular extends", path=("extends",))
        else:
            base = read_spec(target, problems, _chain + (path.resolve(),))
            if base is not None and base.direction != direction:
                problems.add(root, f"extends {extends!r}: that mapping is {base.direction}, this one is {direction}", path=("extends",))
                base = None

    if base is not None:
        spec.connector, spec.stream, spec.sink = base.connector, base.stream, base.sink
        spec.description = base.description
        spec.fields = dict(base.fields)
        spec.events = dict(base.events)
        spec.updated_at, spec.deleted = base.updated_at, base.deleted
        spec.files += base.files
    for key in ("connector", "stream", "sink", "description"):
        if isinstance(data.get(key), str):
            setattr(spec, key, data[key])

    for section in ("fields", "events"):
        if section not in data or data[section] is None:
            continue
        if not isinstance(data[section], dict):
            problems.add(root, f"expected a mapping of name → spec, got {type(data[section]).__name__}", path=(section,))
            continue
        target = spec.fields if section == "fields" else spec.events
        for name, value in data[section].items():
            if value is None:  # `city: null` in a custom file removes an inherited field
                target.pop(name, None)
            else:
                target[name] = Node(value, src, (section, name))
    for key in ("updated_at", "deleted"):
        if key in data and direction == "inbound":
            setattr(spec, key, Node(data[key], src, (key,)) if data[key] is not None else None)
    return spec
