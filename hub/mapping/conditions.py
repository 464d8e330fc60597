"""``when`` conditions, shared by the ``when`` transform and a field's ``when:`` key.

A condition is a mapping of tests that must all hold::

    {path: clue_state, in: [1, 2]}          # tests the record at ``path``
    {matches: "^VIP"}                       # no path: tests the current value
    {any: [{path: a, present: true}, {path: b, present: true}]}

Values compare loosely (``1`` equals ``"1"``) because the same field arrives as a number
from one API and as text from the next.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from hub.config.errors import did_you_mean
from hub.mapping.paths import compile_path, is_blank

Predicate = Callable[[Any, Any], bool]

OPERATORS = ("path", "equals", "not_equals", "in", "not_in", "matches", "present", "contains", "all", "any", "not")


def _same(a: Any, b: Any) -> bool:
    return a == b or (a is not None and b is not None and str(a) == str(b))


def compile_condition(spec: Any) -> Predicate:
    """Compile a condition mapping into ``pred(value, record) -> bool``; ``ValueError`` if malformed."""
    if not isinstance(spec, dict) or not spec:
        raise ValueError(f"a condition is a mapping of tests ({', '.join(OPERATORS)}), got {spec!r}")
    for key in spec:
        if key not in OPERATORS:
            raise ValueError(f"unknown condition test {key!r}{did_you_mean(key, OPERATORS)}")
    tests: list[Predicate] = []
    for key, arg in spec.items():
        if key == "path":
            continue
        tests.append(_compile_test(key, arg))
    if not tests:
        raise ValueError("a condition needs a test (equals, in, matches, present, …), not only a path")
    getter = compile_path(spec["path"]) if "path" in spec else None

    if len(tests) == 1:
        (only,) = tests
        if getter is None:
            return only
        return lambda value, record: only(getter(record), record)

    def all_tests(value: Any, record: Any) -> bool:
        subject = getter(record) if getter is not None else value
        return all(t(subject, record) for t in tests)

    return all_tests


def _compile_test(key: str, arg: Any) -> Predicate:
    if key == "equals":
        return lambda v, r: _same(v, arg)
    if key == "not_equals":
        return lambda v, r: not _same(v, arg)
    if key in ("in", "not_in"):
        if not isinstance(arg, list):
            raise ValueError(f"{key!r} takes a list of values, got {arg!r}")
        texts = {str(a) for a in arg if a is not None}
        has_none = any(a is None for a in arg)

        def contained(v: Any, r: Any) -> bool:
            return (v is None and has_none) if v is None else str(v) in texts

        return contained if key == "in" else (lambda v, r: not contained(v, r))
    if key == "matches":
        try:
            rx = re.compile(str(arg))
        except re.error as exc:
            raise ValueError(f"invalid regex {arg!r}: {exc}") from None
        return lambda v, r: v is not None and rx.search(v if isinstance(v, str) else str(v)) is not None
    if key == "present":
        if not isinstance(arg, bool):
            raise ValueError(f"'present' takes true or false, got {arg!r}")
        return (lambda v, r: not is_blank(v)) if arg else (lambda v, r: is_blank(v))
    if key == "contains":
        def contains(v: Any, r: Any) -> bool:
            if isinstance(v, (list, tuple, set)):
                return any(_same(x, arg) for x in v)
            return v is not None and str(arg) in str(v)

        return contains
    if key in ("all", "any"):
        if not isinstance(arg, list) or not arg:
            raise ValueError(f"{key!r} takes a non-empty list of conditions")
        subs = [compile_condition(s) for s in arg]
        if key == "all":
            return lambda v, r: all(s(v, r) for s in subs)
        return lambda v, r: any(s(v, r) for s in subs)
    # "not"
    sub = compile_condition(arg)
    return lambda v, r: not sub(v, r)
