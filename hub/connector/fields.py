"""Marshmallow fields for connector config schemas.

Secret values (app secrets, tokens, passwords) are declared with :class:`Secret`: the
hub masks them in logs, in ``hub check`` output and in the API, whatever the field is
called.
"""

from __future__ import annotations

from marshmallow import Schema, fields


class Secret(fields.String):
    """A string that is never logged or shown."""

    def __init__(self, **kwargs):
        metadata = dict(kwargs.pop("metadata", {}) or {})
        metadata["secret"] = True
        super().__init__(metadata=metadata, **kwargs)


class SecretMap(fields.Dict):
    """A mapping of names to secret strings (e.g. RSA private keys by version): every
    value is masked like a :class:`Secret`."""

    def __init__(self, **kwargs):
        metadata = dict(kwargs.pop("metadata", {}) or {})
        metadata["secret"] = True
        kwargs.setdefault("keys", fields.String())
        kwargs.setdefault("values", fields.String())
        super().__init__(metadata=metadata, **kwargs)


def secret_field_names(schema: Schema) -> list[str]:
    """Top-level and nested field paths marked secret in ``schema``."""
    names: list[str] = []
    for name, field in schema.fields.items():
        if field.metadata.get("secret"):
            names.append(name)
        elif isinstance(field, fields.Nested) and isinstance(field.schema, Schema):
            names.extend(f"{name}.{inner}" for inner in secret_field_names(field.schema))
    return names


def secret_values(schema: Schema, data: dict) -> list[str]:
    """The actual secret strings in loaded config ``data`` (for the log masker)."""
    out: list[str] = []
    for path in secret_field_names(schema):
        node: object = data
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str) and node:
            out.append(node)
        elif isinstance(node, dict):  # a SecretMap
            out.extend(v for v in node.values() if isinstance(v, str) and v)
    return out
