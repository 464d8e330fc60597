"""Spec → plain Python closures, once per mapping load.

Nothing here runs per record: paths are parsed, transform factories are called and
their options validated, targets are resolved, and every problem is collected with its
``file:line key.path``. What comes out (:class:`~hub.mapping.compiled.CompiledMapping`)
only calls closures.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping

from hub.config.errors import did_you_mean
from hub.mapping.compiled import VIEW_KEYS, CompiledEvent, CompiledMapping
from hub.mapping.conditions import compile_condition
from hub.mapping.errors import MappingError, MappingWarning
from hub.mapping.paths import compile_fallback, compile_path, parse_path
from hub.mapping.spec import MappingSpec, Node, Problems, read_spec
from hub.mapping.transforms import BUILTIN_TRANSFORMS, NONE_PASSING, Transform, TransformContext, per_element
from hub.mapping.values import CompiledValue, Step, compose

VALUE_KEYS = ("from", "const", "template", "transforms", "when", "required", "description")
INBOUND_FIELD_KEYS = VALUE_KEYS + ("to", "namespace", "keep_null")
OUTBOUND_FIELD_KEYS = VALUE_KEYS + ("to", "keep_null")
EVENT_KEYS = ("kind", "occurred_at", "summary", "native_id", "data", "when", "description")
TARGET_HINTS = ("attributes.<name>", "identities.<kind>", "tags")
DATETIME_TARGETS = ("event.occurred_at", "source_updated_at")


def load_mapping(
    path: str | Path,
    *,
    registry: Any = None,
    lookups: Mapping[str, Mapping[str, Any]] | None = None,
    instance: str | None = None,
) -> CompiledMapping:
    """Read, check and compile a mapping file; :class:`MappingError` lists every problem.

    ``registry`` supplies transforms and identity kinds (default: the process registry);
    ``lookups`` the config's named tables; ``instance`` the connector instance name used
    by ``namespace: instance`` and ``{instance}`` in templates.
    """
    if registry is None:
        from hub.plugins import get_registry

        registry = get_registry()
    problems = Problems()
    spec = read_spec(path, problems)
    if spec is None:
        raise MappingError(problems.errors)
    compiled = compile_spec(spec, registry=registry, lookups=lookups or {}, instance=instance, problems=problems)
    if problems.errors:
        raise MappingError(problems.errors)
    compiled.warnings = list(problems.warnings)
    return compiled


def compile_spec(
    spec: MappingSpec,
    *,
    registry: Any,
    lookups: Mapping[str, Mapping[str, Any]],
    instance: str | None,
    problems: Problems,
) -> CompiledMapping:
    c = _Compiler(spec, registry, lookups, instance, problems)
    return c.build()


class _Compiler:
    def __init__(self, spec: MappingSpec, registry: Any, lookups: Mapping, instance: str | None, problems: Problems):
        self.spec = spec
        self.transforms: dict[str, Callable[..., Transform]] = dict(registry.transforms)
        self.kinds = dict(registry.identity_kinds)
        self.lookups = lookups
        self.instance = instance
        self.problems = problems
        self.outbound = spec.direction == "outbound"

    # --- whole mapping ------------------------------------------------------------------

    def build(self) -> CompiledMapping:
        fields: list[CompiledValue] = []
        for name, node in self.spec.fields.items():
            value = self.field(name, node)
            if value is not None:
                fields.append(value)
        events = [e for e in (self.event(name, node) for name, node in self.spec.events.items()) if e is not None]
        updated_at = self.value(self.spec.updated_at, "source_updated_at", default_from=None) if self.spec.updated_at else None
        deleted = self.value(self.spec.deleted, "deleted", default_from=None) if self.spec.deleted else None
        if not self.spec.fields and not self.spec.events and not self.problems.errors:
            self.problems.add_plain(f"{self.spec.file}:1: the mapping has no fields{'' if self.outbound else ' or events'}")
        return CompiledMapping(
            direction=self.spec.direction,
            file=self.spec.file,
            files=self.spec.files,
            connector=self.spec.connector,
            stream=self.spec.stream,
            sink=self.spec.sink,
            instance=self.instance,
            fields=fields,
            events=events,
            updated_at=updated_at,
            deleted=deleted,
        )

    # --- fields -------------------------------------------------------------------------

    def field(self, name: str, node: Node) -> CompiledValue | None:
        if not isinstance(name, str) or not name:
            self.problems.add(node, "a field name must be text")
            return None
        value = node.value
        opts = value if isinstance(value, dict) else {}
        keys = OUTBOUND_FIELD_KEYS if self.outbound else INBOUND_FIELD_KEYS
        for key in opts:
            if key not in keys:
                self.problems.add(node, f"unknown key{did_you_mean(key, keys)}", path=node.path + (key,))
        target, extra = (self.outbound_target if self.outbound else self.inbound_target)(name, node, opts)
        if target is None:
            return None
        cv = self.value(node, target, default_from=None if self.outbound else name, known_keys=keys)
        if cv is None:
            return None
        cv.extra.update(extra)
        cv.extra["keep_null"] = bool(opts.get("keep_null", False))
        if "keep_null" in opts and not isinstance(opts["keep_null"], bool):
            self.problems.add(node, "keep_null takes true or false", path=node.path + ("keep_null",))
        return cv

    def inbound_target(self, name: str, node: Node, opts: dict) -> tuple[str | None, dict]:
        to = opts.get("to")
        if to is None:
            if name in self.kinds:
                target = f"identities.{name}"
            elif name == "tags":
                target = "tags"
            else:
                target = f"attributes.{name}"
        else:
            target = to
        at = node.path + ("to",) if to is not None else node.path
        extra: dict[str, Any] = {}
        if not isinstance(target, str):
            self.problems.add(node, f"expected one of {', '.join(TARGET_HINTS)}, got {target!r}", path=at)
            return None, extra
        head, _, rest = target.partition(".")
        if target == "tags":
            pass
        elif head == "attributes" and rest:
            extra["attribute"] = rest
        elif head == "identities" and rest:
            if rest not in self.kinds:
                self.problems.add(node, f"unknown identity kind {rest!r}{did_you_mean(rest, self.kinds)}; known: {', '.join(sorted(self.kinds))}", path=at)
                return None, extra
            extra["kind"] = rest
        else:
            self.problems.add(node, f"{target!r} is not a target; use {', '.join(TARGET_HINTS)}{did_you_mean(head, ('attributes', 'identities', 'tags'))}", path=at)
            return None, extra
        namespace = opts.get("namespace")
        if namespace is not None:
            if "kind" not in extra:
                self.problems.add(node, "namespace only applies to identities (e.g. crm_id)", path=node.path + ("namespace",))
            elif not isinstance(namespace, str) or not namespace:
                self.problems.add(node, "namespace takes 'instance' or a fixed prefix text", path=node.path + ("namespace",))
            elif namespace == "instance":
                if not self.instance:
                    self.problems.add(
                        node,
                        "namespace: instance needs the connector instance name (load the mapping for an instance, or pass --instance)",
                        path=node.path + ("namespace",),
                    )
                else:
                    extra["prefix"] = f"{self.instance}:"
            else:
                extra["prefix"] = f"{namespace}:"
        return target, extra

    def outbound_target(self, name: str, node: Node, opts: dict) -> tuple[str | None, dict]:
        to = opts.get("to", name)
        if not isinstance(to, str) or not to.strip() or any(not part for part in to.split(".")):
            self.problems.add(node, f"to: expected a payload key or dotted path, got {to!r}", path=node.path + ("to",) if "to" in opts else node.path)
            return None, {}
        return f"payload.{to}", {"keys": to.split(".")}

    # --- events -------------------------------------------------------------------------

    def event(self, name: str, node: Node) -> CompiledEvent | None:
        if self.outbound:
            return None
        value = node.value
        if isinstance(value, str):
            value = {"occurred_at": value}
            node = Node(value, node.src, node.path)
        if not isinstance(value, dict):
            self.problems.add(node, f"an event is a mapping ({', '.join(EVENT_KEYS)}), got {type(value).__name__}")
            return None
        for key in value:
            if key not in EVENT_KEYS:
                self.problems.add(node, f"unknown key{did_you_mean(key, EVENT_KEYS)}", path=node.path + (key,))
        kind_spec = value.get("kind", name)
        label = node.label
        if isinstance(kind_spec, str):
            kind = CompiledValue(label + ".kind", "event.kind", [("const", lambda r, k=kind_spec: k)], [],
                                 extra={"literal": kind_spec})
            kind.fn = kind.sources[0][1]
        else:
            kind = self.value(node.child("kind"), "event.kind", default_from=None)
        parts: dict[str, CompiledValue | None] = {"kind": kind}
        for key in ("occurred_at", "summary", "native_id"):
            parts[key] = self.value(node.child(key), f"event.{key}", default_from=None) if value.get(key) is not None else None
        data: list[tuple[str, CompiledValue]] = []
        raw_data = value.get("data")
        if raw_data is not None:
            if not isinstance(raw_data, dict):
                self.problems.add(node, "data: expected a mapping of key → value spec", path=node.path + ("data",))
            else:
                for key in raw_data:
                    cv = self.value(node.child("data", key), f"event.data.{key}", default_from=None)
                    if cv is not None:
                        data.append((str(key), cv))
        condition = None
        if value.get("when") is not None:
            condition = self.condition(node.child("when"), label, require_path=True)
        if kind is None:
            return None
        return CompiledEvent(name=str(name), label=label, kind=kind, occurred_at=parts["occurred_at"],
                             summary=parts["summary"], native_id=parts["native_id"], data=data, condition=condition)

    def condition(self, node: Node, label: str, *, require_path: bool = False):
        if require_path and isinstance(node.value, dict) and "path" not in node.value and not ({"all", "any", "not"} & set(node.value)):
            self.problems.add(node, "an event's when needs a path to test", label=label)
            return None
        try:
            return compile_condition(node.value)
        except ValueError as exc:
            self.problems.add(node, f"when: {exc}", label=label)
            return None

    # --- one value ----------------------------------------------------------------------

    def value(self, node: Node, target: str, *, default_from: str | None, known_keys: tuple = VALUE_KEYS) -> CompiledValue | None:
        label = node.label
        spec = node.value
        if isinstance(spec, (str, list)):
            spec = {"from": spec}
            opts_node = Node(spec, node.src, node.path)
            from_path = node.path
        elif isinstance(spec, dict):
            opts_node = node
            from_path = node.path + ("from",)
            if known_keys is VALUE_KEYS:
                for key in spec:
                    if key not in VALUE_KEYS:
                        self.problems.add(node, f"unknown key{did_you_mean(key, VALUE_KEYS)}", path=node.path + (key,))
        else:
            self.problems.add(node, f"expected a source path, a list of paths or a mapping (from, transforms, …), got {spec!r}")
            return None
        given = [k for k in ("from", "const", "template") if k in spec]
        if len(given) > 1:
            self.problems.add(node, f"give only one of from, const, template (got {', '.join(given)})")
            return None
        sources: list[tuple[str, Callable]] = []
        if "const" in spec:
            const = spec["const"]
            sources = [("const", lambda r: const)]
        elif "template" in spec:
            tnode = Node(spec["template"], node.src, node.path + ("template",))
            fn = self.transform("template", spec["template"], tnode, label, has_arg=True)
            if fn is None:
                return None
            sources = [(f"template {spec['template']!r}", lambda r, fn=fn: fn(None, r))]
        else:
            paths = spec.get("from", default_from)
            if paths is None:
                self.problems.add(node, "needs a source: from (a path or list of paths), const or template")
                return None
            if isinstance(paths, str):
                paths = [paths]
            if not isinstance(paths, list) or not paths:
                self.problems.add(node, f"from: expected a path or a list of paths, got {paths!r}", path=from_path, label=label)
                return None
            ok = True
            for i, p in enumerate(paths):
                at = from_path + (i,) if len(paths) > 1 or isinstance(spec.get("from"), list) else from_path
                try:
                    steps = parse_path(p)
                except ValueError as exc:
                    self.problems.add(node, str(exc), path=at, label=label)
                    ok = False
                    continue
                if self.outbound and not (steps[0][0] == "key" and steps[0][1] in VIEW_KEYS):
                    first = steps[0][1]
                    self.problems.add(node, f"outbound paths start with one of {', '.join(VIEW_KEYS)}; got {p!r}{did_you_mean(str(first), VIEW_KEYS)}", path=at, label=label)
                    ok = False
            if not ok:
                return None
            sources = [(p, compile_path(p)) for p in paths]
        getter = sources[0][1] if len(sources) == 1 else compile_fallback([s for s, _ in sources])

        steps: list[Step] = []
        if "transforms" in spec and spec["transforms"] is not None:
            steps = self.chain(opts_node.child("transforms"), label, datetime_slot=target in DATETIME_TARGETS)
            if steps is None:
                return None
        condition = None
        if spec.get("when") is not None:
            condition = self.condition(opts_node.child("when"), label)
        required = spec.get("required", False)
        if not isinstance(required, bool):
            self.problems.add(node, "required takes true or false", path=node.path + ("required",), label=label)
            required = False
        cv = CompiledValue(label=label, target=target, sources=sources, steps=steps, condition=condition, required=required)
        cv.fn = compose(getter, steps, condition, required)
        return cv

    # --- transforms ---------------------------------------------------------------------

    def chain(self, node: Node, label: str, *, datetime_slot: bool = False) -> list[Step] | None:
        items = node.value
        if isinstance(items, (str, dict)):
            items = [items]
            node = Node(items, node.src, node.path)
            indexed = False
        else:
            indexed = True
        if not isinstance(items, list):
            self.problems.add(node, f"transforms: expected a list, got {type(items).__name__}", label=label)
            return None
        steps: list[Step] = []
        ok = True
        for i, item in enumerate(items):
            at = node.path + (i,) if indexed else node.path
            item_node = Node(item, node.src, at)
            if isinstance(item, str):
                name, arg, has_arg = item, None, False
            elif isinstance(item, dict) and len(item) == 1:
                ((name, arg),) = item.items()
                has_arg = True
                item_node = Node(arg, node.src, at + (name,))
            else:
                self.problems.add(item_node, f"a transform is a name (strip) or a one-key mapping ({{phone: {{on_invalid: null}}}}), got {item!r}", label=label)
                ok = False
                continue
            last = datetime_slot and i == len(items) - 1
            fn = self.transform(str(name), arg, item_node, label, has_arg=has_arg, wants_datetime=last)
            if fn is None:
                ok = False
                continue
            steps.append((str(name), fn))
        return steps if ok else None

    def transform(self, name: str, arg: Any, node: Node, label: str, *, has_arg: bool, wants_datetime: bool = False) -> Transform | None:
        factory = self.transforms.get(name)
        if factory is None:
            self.problems.add(node, f"unknown transform {name!r}{did_you_mean(name, self.transforms)}", label=label)
            return None
        try:
            sig = inspect.signature(factory)
        except (TypeError, ValueError):
            sig = None
        params = dict(sig.parameters) if sig else {}
        wants_context = "context" in params
        free_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values()) or sig is None
        names = [n for n, p in params.items() if n != "context" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if not has_arg or arg is None and not names:
            options: dict[str, Any] = {}
        elif isinstance(arg, dict) and not (name in ("const", "default")):
            options = {str(k): v for k, v in arg.items()}
        else:
            first = next((n for n, p in params.items() if n != "context" and p.kind is p.POSITIONAL_OR_KEYWORD), None)
            if first is None:
                self.problems.add(node, f"transform {name!r} takes {'options as a mapping' if names or free_kwargs else 'no argument'}, got {arg!r}", label=label)
                return None
            options = {first: arg}
        if "context" in options:
            self.problems.add(node, f"transform {name!r}: 'context' is not an option", label=label)
            return None
        if not free_kwargs:
            for key in options:
                if key not in names:
                    self.problems.add(node, f"transform {name!r}: unknown option {key!r}{did_you_mean(key, names)}", label=label)
                    return None
        if sig is not None:
            missing = [n for n, p in params.items()
                       if n != "context" and p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in options]
            if missing:
                self.problems.add(node, f"transform {name!r}: missing option {missing[0]!r}", label=label)
                return None
        if wants_datetime and name == "datetime" and factory is BUILTIN_TRANSFORMS["datetime"] and "output" not in options:
            options["output"] = "datetime"  # the slot wants a datetime; skip the ISO round trip
        if wants_context:
            errors_before = len(self.problems.errors)
            ctx = TransformContext(
                lookups=self.lookups,
                instance=self.instance,
                connector=self.spec.connector,
                compile_transforms=lambda spec, sub: self.nested(spec, node, sub, label),
            )
            options["context"] = ctx
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", MappingWarning)
                fn = factory(**options)
        except (ValueError, TypeError, KeyError) as exc:
            self.problems.add(node, f"transform {name!r}: {exc}", label=label)
            return None
        for w in caught:
            if issubclass(w.category, MappingWarning):
                self.problems.warn(node, f"transform {name!r}: {w.message}", label=label)
            else:  # not ours: let it go where warnings go
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
        if wants_context and len(self.problems.errors) > errors_before:
            return None
        if not callable(fn):
            self.problems.add(node, f"transform {name!r}: its factory returned {fn!r}, not a callable", label=label)
            return None
        if name in NONE_PASSING and factory is BUILTIN_TRANSFORMS.get(name):
            try:
                fn.passes_none = True  # type: ignore[attr-defined]
            except AttributeError:
                pass
        return per_element(fn)

    def nested(self, spec: Any, node: Node, sub: str, label: str) -> Transform:
        steps = self.chain(Node(spec, node.src, node.path + (sub,)), label) or []
        fns = [fn for _, fn in steps]

        def run(v: Any, r: Any) -> Any:
            for t in fns:
                v = t(v, r)
            return v

        run.accepts_lists = True  # type: ignore[attr-defined]
        return run
