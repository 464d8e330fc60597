"""Marshmallow schemas for ``config/hub.yaml``.

Unknown keys are errors everywhere (``unknown=RAISE``): a misspelt key silently ignored
is a connector silently misconfigured.
"""

from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

INSTANCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$")


def parse_duration(text: str | int | float) -> float:
    """``500ms``, ``0.5s``, ``30s``, ``5m``, ``2h``, ``1d`` or a number of seconds → seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    match = DURATION.match(str(text).strip())
    if not match:
        raise ValidationError(f"not a duration: {text!r} (use e.g. 30s, 5m, 2h, 1d)")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


class Duration(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        return parse_duration(value)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class HubSettingsSchema(StrictSchema):
    database_url = fields.String(load_default=None)
    redis_url = fields.String(load_default=None)
    var_dir = fields.String(load_default="var")
    log_format = fields.String(load_default="text", validate=validate.OneOf(["text", "json"]))
    log_level = fields.String(load_default="INFO", validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR"]))
    raw_retention = Duration(load_default=parse_duration("30d"))
    pending_threshold = Duration(load_default=parse_duration("2m"))
    tick_interval = Duration(load_default=parse_duration("15s"))
    batch_size = fields.Integer(load_default=500, validate=validate.Range(1, 10000))
    max_attempts = fields.Integer(load_default=8, validate=validate.Range(1, 100))
    backoff_base = Duration(load_default=parse_duration("2s"))
    backoff_cap = Duration(load_default=parse_duration("1h"))
    #: Attributes whose changes appear on the contact's timeline (old → new, and who).
    timeline_attributes = fields.List(fields.String(), load_default=lambda: ["tier", "stage", "owner"])


class IdentityKindSchema(StrictSchema):
    strong = fields.Boolean()
    max_per_contact = fields.Integer(validate=validate.Range(1, 1000))


class BlockListSchema(StrictSchema):
    values = fields.List(fields.String(), load_default=list)
    patterns = fields.List(fields.String(), load_default=list)

    @validates_schema
    def _patterns_compile(self, data, **kwargs):
        for index, pattern in enumerate(data.get("patterns", [])):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValidationError({"patterns": {index: [f"invalid regex: {exc}"]}}) from None


class IdentitySchema(StrictSchema):
    kinds = fields.Dict(keys=fields.String(), values=fields.Nested(IdentityKindSchema), load_default=dict)
    block_list = fields.Nested(BlockListSchema, load_default=lambda: {"values": [], "patterns": []})
    default_region = fields.String(load_default="CN")


class StreamSchema(StrictSchema):
    enabled = fields.Boolean(load_default=True)
    mapping = fields.String(load_default=None)
    schedule = Duration(load_default=None)


class SinkSchema(StrictSchema):
    enabled = fields.Boolean(load_default=True)
    mapping = fields.String(load_default=None)
    #: Which origins feed this sink; default every other connector instance.
    sources = fields.List(fields.String(), load_default=None)
    #: ``preview`` holds writes until ``hub approve`` (the default for a two-way sink until
    #: its first approval); ``live`` writes at once. None: decided by hub.pipeline.preview.
    mode = fields.String(load_default=None, validate=validate.OneOf(["preview", "live"]))
    #: How long a *create* (a contact the destination has no record of) waits before it is
    #: delivered, so a pull of the destination arriving meanwhile links instead of
    #: duplicating. None: the default of :func:`hub.pipeline.outbound.create_delay`.
    create_after = Duration(load_default=None)


class ConnectorInstanceSchema(StrictSchema):
    type = fields.String(required=True)
    enabled = fields.Boolean(load_default=True)
    config = fields.Dict(load_default=dict)
    streams = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)
    sinks = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)


class TopSchema(StrictSchema):
    hub = fields.Dict(load_default=dict)
    identity = fields.Dict(load_default=dict)
    fields_ = fields.Dict(data_key="fields", load_default=dict)
    lookups = fields.Dict(keys=fields.String(), values=fields.Dict(), load_default=dict)
    connectors = fields.Dict(load_default=dict)
    #: Rules and journeys (hub.automations validates them, with automations/*.yaml).
    automations = fields.Dict(load_default=dict)
    automation_templates = fields.Dict(load_default=dict)
    automation_settings = fields.Dict(load_default=dict)


POLICY = re.compile(r"^\s*(?P<who>[a-z][a-z0-9_]*)\s*(?P<unless>unless\s+blank)?\s*$")


class FieldPolicySchema(StrictSchema):
    """``prefer: crm_main``, ``prefer: crm_main unless blank``, ``policy: latest|none``."""

    prefer = fields.String()
    policy = fields.String(validate=validate.OneOf(["latest", "none", "prefer"]))

    @validates_schema
    def _one_rule(self, data, **kwargs):
        if "prefer" in data and not POLICY.match(data["prefer"]):
            raise ValidationError({"prefer": ["expected '<connector instance>' or '<connector instance> unless blank'"]})
        if "prefer" not in data and "policy" not in data:
            raise ValidationError(["give 'prefer: <instance>' or 'policy: latest|none'"])
