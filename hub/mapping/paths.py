"""Source paths: ``a.b``, ``items[0].name``, ``items[-1]``, ``items[*].sku``,
``["key.with.dots"]``, and fallback lists of paths.

A path is parsed once into steps and compiled into a small closure; a missing key, an
index out of range or a step into a non-container all give ``None`` (a missing value is
not an error — ``required: true`` on a field makes it one). A ``[*]`` step makes the
result a list (nested wildcards flatten; no match at all is ``None``).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

Getter = Callable[[Any], Any]

_TOKEN = re.compile(
    r"""
    (?P<key>[^.\[\]"']+)                          # bare key
  | \[\s*(?P<index>-?\d+)\s*\]                    # [3] / [-1]
  | \[\s*(?P<wild>\*)\s*\]                        # [*]
  | \[\s*(?P<q>["'])(?P<qkey>(?:(?!(?P=q)).)*)(?P=q)\s*\]   # ["odd.key"]
  | (?P<dot>\.)
    """,
    re.VERBOSE,
)

KEY, INDEX, WILD = "key", "index", "wild"


class PathSyntaxError(ValueError):
    pass


def parse_path(text: str) -> list[tuple[str, Any]]:
    """``"a.items[*].sku"`` → ``[("key","a"), ("key","items"), ("wild",None), ("key","sku")]``."""
    if not isinstance(text, str):
        raise PathSyntaxError(f"a path must be a string, got {type(text).__name__} {text!r}")
    text = text.strip()
    if not text:
        raise PathSyntaxError("empty path")
    steps: list[tuple[str, Any]] = []
    pos = 0
    expect_key = True  # at the start or right after a dot
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise PathSyntaxError(f"invalid path {text!r} at position {pos}")
        if m.group("dot") is not None:
            if expect_key:
                raise PathSyntaxError(f"invalid path {text!r}: empty key at position {pos}")
            expect_key = True
        elif m.group("key") is not None:
            if not expect_key:
                raise PathSyntaxError(f"invalid path {text!r}: missing '.' before {m.group('key')!r}")
            steps.append((KEY, m.group("key").strip()))
            expect_key = False
        else:
            if expect_key and steps:
                raise PathSyntaxError(f"invalid path {text!r}: '.' followed by '[' at position {pos}")
            if m.group("index") is not None:
                steps.append((INDEX, int(m.group("index"))))
            elif m.group("wild") is not None:
                steps.append((WILD, None))
            else:
                steps.append((KEY, m.group("qkey")))
            expect_key = False
        pos = m.end()
    if expect_key:
        raise PathSyntaxError(f"invalid path {text!r}: ends with '.'")
    return steps


def _step(value: Any, kind: str, arg: Any) -> Any:
    if kind == KEY:
        return value.get(arg) if isinstance(value, dict) else None
    if isinstance(value, (list, tuple)):
        try:
            return value[arg]
        except IndexError:
            return None
    if isinstance(value, dict):  # {"0": ...} addressed as [0]
        return value.get(arg, value.get(str(arg)))
    return None


def compile_path(text: str) -> Getter:
    """A ``getter(record) -> value`` for one path; specialised for the common shapes."""
    steps = parse_path(text)
    if any(kind == WILD for kind, _ in steps):
        return _compile_wild(steps)
    if all(kind == KEY for kind, _ in steps):
        keys = [arg for _, arg in steps]
        if len(keys) == 1:
            (k0,) = keys

            def get1(record: Any) -> Any:
                return record.get(k0) if isinstance(record, dict) else None

            return get1
        if len(keys) == 2:
            k0, k1 = keys

            def get2(record: Any) -> Any:
                v = record.get(k0) if isinstance(record, dict) else None
                return v.get(k1) if isinstance(v, dict) else None

            return get2

        def getn(record: Any) -> Any:
            v = record
            for k in keys:
                if not isinstance(v, dict):
                    return None
                v = v.get(k)
            return v

        return getn

    def get_mixed(record: Any) -> Any:
        v = record
        for kind, arg in steps:
            if v is None:
                return None
            v = _step(v, kind, arg)
        return v

    return get_mixed


def _compile_wild(steps: list[tuple[str, Any]]) -> Getter:
    def walk(value: Any, i: int, out: list) -> None:
        while i < len(steps):
            if value is None:
                return
            kind, arg = steps[i]
            if kind == WILD:
                if isinstance(value, dict):
                    items = list(value.values())
                elif isinstance(value, (list, tuple)):
                    items = value
                else:
                    return
                for item in items:
                    walk(item, i + 1, out)
                return
            value = _step(value, kind, arg)
            i += 1
        if value is not None:
            out.append(value)

    def get_wild(record: Any) -> list | None:
        out: list = []
        walk(record, 0, out)
        return out or None  # nothing matched is a missing value, like a missing key

    return get_wild


def is_blank(value: Any) -> bool:
    """``None``, ``""`` and ``[]`` are blank: a fallback list skips them."""
    return value is None or value == "" or value == []


def compile_fallback(texts: Sequence[str]) -> Getter:
    """The first non-blank value among several paths (``from: [mobile, phone, tel]``)."""
    getters = [compile_path(t) for t in texts]
    if len(getters) == 1:
        return getters[0]

    def first_present(record: Any) -> Any:
        for g in getters:
            v = g(record)
            if v is not None and v != "" and v != []:
                return v
        return None

    return first_present
