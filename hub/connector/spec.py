"""A connector type's config schema, described for people: ``hub connectors spec TYPE``.

An IT admin writing ``connectors.<name>.config`` needs each key's type, whether it is
required, secret or defaulted, and what values it takes — all of which the connector's
marshmallow schema already says. :func:`describe_config` walks the schema (nested schemas
and ``Dict``-of-``Nested`` sections such as the SQL connector's ``streams.<name>``
included) so the description cannot disagree with what the hub validates.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from marshmallow import Schema, fields, missing, validate

from hub.connector.fields import Secret


@dataclass
class ConfigKey:
    """One config key: ``path`` is dotted (``streams.<name>.table`` for a named section)."""

    path: str
    type: str
    required: bool
    secret: bool
    #: The default the schema fills in, or ``None`` with ``has_default`` False.
    default: Any = None
    has_default: bool = False
    #: What the validators allow: ``one of timestamp, integer``, ``1..10000``, ``length >= 1``.
    constraints: list[str] = field(default_factory=list)
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_SIMPLE = (
    (fields.Url, "url"),
    (fields.Email, "email"),
    (fields.String, "text"),
    (fields.Boolean, "boolean"),
    (fields.Integer, "integer"),
    (fields.Number, "number"),
    (fields.AwareDateTime, "datetime"),
    (fields.DateTime, "datetime"),
    (fields.Date, "date"),
    (fields.TimeDelta, "duration"),
)


def _nested_schema(f: fields.Field) -> Schema | None:
    if isinstance(f, fields.Nested):
        schema = f.schema
        return schema if isinstance(schema, Schema) else None
    return None


def _type_name(f: fields.Field) -> str:
    nested = _nested_schema(f)
    if nested is not None:
        return "list of objects" if nested.many or getattr(f, "many", False) else "object"
    if isinstance(f, fields.List):
        return f"list of {_plural(_type_name(f.inner))}"
    if isinstance(f, fields.Dict):
        values = f.value_field
        if values is None:
            return "mapping"
        inner = "object" if _nested_schema(values) is not None else _type_name(values)
        return f"mapping of name → {inner}"
    for cls, name in _SIMPLE:
        if isinstance(f, cls):
            return name
    return "any"


def _plural(name: str) -> str:
    return {"text": "text", "any": "values", "object": "objects"}.get(name, name + "s")


def _default(f: fields.Field) -> tuple[Any, bool]:
    value = f.load_default
    if value is missing:
        return None, False
    if callable(value):
        if value in (dict, list, set, tuple):
            return value(), True
        return "(computed)", True
    return value, True


def _constraints(f: fields.Field) -> list[str]:
    out: list[str] = []
    validators = list(getattr(f, "validators", []) or [])
    for v in validators:
        if isinstance(v, validate.OneOf):
            out.append("one of " + ", ".join(str(c) for c in v.choices))
        elif isinstance(v, validate.Range):
            lo = "" if v.min is None else str(v.min)
            hi = "" if v.max is None else str(v.max)
            out.append(f"{lo}..{hi}" if lo and hi else (f">= {lo}" if lo else f"<= {hi}"))
        elif isinstance(v, validate.Length):
            if v.equal is not None:
                out.append(f"length {v.equal}")
            elif v.min is not None and v.max is not None:
                out.append(f"length {v.min}..{v.max}")
            elif v.min is not None:
                out.append(f"length >= {v.min}")
            elif v.max is not None:
                out.append(f"length <= {v.max}")
        elif isinstance(v, validate.URL):
            schemes = set(v.schemes or ())
            if schemes and schemes != set(validate.URL.default_schemes):
                out.append("scheme " + "/".join(sorted(schemes)))
        elif isinstance(v, validate.Regexp):
            # A connector's own message ("not a plain SQL column name") reads better than the regex.
            error = v.error if isinstance(v.error, str) and "{" not in v.error else None
            out.append(error[4:] if error and error.startswith("not ") else f"matches {v.regex.pattern}")
    if f.allow_none and f.load_default is not None:
        out.append("may be null")
    return out


def describe_config(schema: Schema | type[Schema], prefix: str = "") -> list[ConfigKey]:
    """Every key ``schema`` accepts, depth first, in declaration order."""
    if isinstance(schema, type):
        schema = schema()
    keys: list[ConfigKey] = []
    for name, f in schema.fields.items():
        if f.dump_only:
            continue
        key = f.data_key or name
        path = f"{prefix}{key}"
        default, has_default = _default(f)
        secret = bool(f.metadata.get("secret")) or isinstance(f, Secret)
        if secret and default is not None:
            default = "(set)"  # a secret's default is a secret too: never printed
        keys.append(ConfigKey(
            path=path,
            type=_type_name(f),
            required=bool(f.required),
            secret=secret,
            default=default,
            has_default=has_default,
            constraints=_constraints(f),
            description=str(f.metadata.get("description", "")),
        ))
        nested = _nested_schema(f)
        if nested is None and isinstance(f, fields.List):
            nested = _nested_schema(f.inner)
            if nested is not None:
                keys += describe_config(nested, f"{path}[].")
                continue
        if nested is not None:
            keys += describe_config(nested, f"{path}.")
        elif isinstance(f, fields.Dict) and f.value_field is not None and _nested_schema(f.value_field) is not None:
            keys += describe_config(_nested_schema(f.value_field), f"{path}.<name>.")
    return keys


__all__ = ["ConfigKey", "describe_config"]
