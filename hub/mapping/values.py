"""One compiled value: a source (paths, const or template), a chain of transforms and
the closure that runs them, plus the pieces ``explain`` replays step by step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from hub.mapping.errors import TransformError
from hub.mapping.paths import Getter, is_blank

Step = tuple[str, Callable[[Any, Any], Any]]


@dataclass
class CompiledValue:
    label: str                      # "fields.phone" — what errors name
    target: str                     # "identities.phone", "attributes.name", "payload.Mobile", …
    sources: list[tuple[str, Getter]]  # (description, getter) in fallback order
    steps: list[Step]
    condition: Callable[[Any, Any], bool] | None = None
    required: bool = False
    fn: Callable[[Any], Any] = field(default=None)  # type: ignore[assignment]
    extra: dict[str, Any] = field(default_factory=dict)

    def source_value(self, record: Any) -> tuple[str | None, Any]:
        """The source description that supplied the value, and the raw value."""
        for desc, getter in self.sources:
            v = getter(record)
            if not is_blank(v):
                return desc, v
        return (self.sources[0][0] if self.sources else None), None


def _required_missing(v: Any) -> Any:
    raise TransformError("required value is missing", v)


def compose(getter: Getter, steps: list[Step], condition=None, required: bool = False) -> Callable[[Any], Any]:
    """Fuse getter, condition and transforms into one ``fn(record)``, unrolled for the
    common short chains so a field costs a couple of calls and no loop."""
    fns = [fn for _, fn in steps]
    if condition is None and not required:
        if not fns:
            return getter
        if len(fns) == 1:
            (t0,) = fns
            return lambda r: t0(getter(r), r)
        if len(fns) == 2:
            t0, t1 = fns
            return lambda r: t1(t0(getter(r), r), r)
        if len(fns) == 3:
            t0, t1, t2 = fns
            return lambda r: t2(t1(t0(getter(r), r), r), r)

    def run(r: Any) -> Any:
        v = getter(r)
        if condition is not None and not condition(v, r):
            return None
        for t in fns:
            v = t(v, r)
        if required and is_blank(v):
            _required_missing(v)
        return v

    return run
