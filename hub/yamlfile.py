"""YAML loading that remembers where every value came from.

Config and mapping errors must name file, line and key path
(``config/hub.yaml:14 connectors.wecom_main.config.corp_id: missing required field``),
so we load with PyYAML's node API and keep a ``path -> line`` table beside the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[Any, ...]


class YamlError(Exception):
    """A file that is not valid YAML; the message carries ``file:line``."""


@dataclass
class LocatedYaml:
    """Parsed data plus the 1-based line of every key path (and of the document)."""

    data: Any
    file: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int:
        """The line of ``path`` or of its nearest ancestor that exists in the file."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def where(self, path: Path_) -> str:
        """``file:line key.path`` for messages."""
        dotted = format_path(path)
        return f"{self.file}:{self.line_of(path)} {dotted}" if dotted else f"{self.file}:{self.line_of(path)}"


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class _SafeLineLoader(yaml.SafeLoader):
    pass


class _DuplicateKey(Exception):
    def __init__(self, line: int, path: Path_, key: Any, first: int):
        self.line, self.path, self.key, self.first = line, path, key, first


def _own_keys_unique(node: yaml.MappingNode, path: Path_, loader: yaml.SafeLoader) -> None:
    """A key given twice in one mapping is an error, not "the last one wins": a merge had
    silently moved a sink's ``mode: live`` onto its neighbour. (Keys a ``<<`` merge brings
    in may still be overridden, as YAML intends.)"""
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.setdefault(key, key_node.start_mark.line + 1)
        except TypeError:  # an unhashable key: the caller's schema will complain
            continue
        if first != key_node.start_mark.line + 1:
            raise _DuplicateKey(key_node.start_mark.line + 1, path, key, first)


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.MappingNode):
        _own_keys_unique(node, path, loader)
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            sub = path + (key,)
            lines[sub] = key_node.start_mark.line + 1
            out[key] = _walk(value_node, sub, lines, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            sub = path + (index,)
            lines[sub] = item.start_mark.line + 1
            items.append(_walk(item, sub, lines, loader))
        return items
    return loader.construct_object(node, deep=True)


def load_located(text: str, file: str | Path) -> LocatedYaml:
    """Parse ``text`` (the content of ``file``) keeping line numbers per key path."""
    file = str(file)
    loader = _SafeLineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return LocatedYaml(data=None, file=file, lines={(): 1})
        lines: dict[Path_, int] = {(): node.start_mark.line + 1}
        data = _walk(node, (), lines, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlError(f"{file}:{line}: invalid YAML: {exc.problem or exc}") from None
    except _DuplicateKey as dup:
        where = format_path(dup.path + (dup.key,))
        raise YamlError(f"{file}:{dup.line} {where}: duplicate key {dup.key!r} (first given at line {dup.first})") from None
    finally:
        loader.dispose()
    return LocatedYaml(data=data, file=file, lines=lines)


def load_located_file(path: str | Path) -> LocatedYaml:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlError(f"{path}: file not found") from None
    return load_located(text, path)
