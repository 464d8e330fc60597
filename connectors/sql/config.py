"""Config schema of the SQL connector.

Streams and sinks are not fixed by the connector: each instance names its own in its
``config`` (one per table or query), so the schema validates them as nested mappings.
``url`` is a :class:`~hub.connector.Secret` because a SQLAlchemy URL usually carries the
database password. It is deliberately *not* parsed here: a URL that does not parse is a
``check()`` failure (reported without echoing it), never a config error that would print it.
"""

from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from hub.connector import Secret

#: Table and column names: SQL identifiers, optionally ``schema.table`` for tables. They are
#: quoted by the dialect when used, but a name is still not the place for SQL.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
STREAM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _identifier(**kwargs) -> fields.String:
    return fields.String(validate=validate.Regexp(IDENTIFIER, error="not a plain SQL column name"), **kwargs)


def _table(**kwargs) -> fields.String:
    return fields.String(validate=validate.Regexp(TABLE_NAME, error="not a table name (name or schema.name)"), **kwargs)


class StreamSpec(Schema):
    """One readable table or query, read incrementally by ``(cursor_column, key)``."""

    class Meta:
        unknown = RAISE

    table = _table(load_default=None)
    query = fields.String(load_default=None, validate=validate.Length(min=1))
    key = _identifier(required=True)
    cursor_column = _identifier(required=True)
    cursor_type = fields.String(load_default="timestamp", validate=validate.OneOf(["timestamp", "integer"]))
    columns = fields.List(_identifier(), load_default=None, validate=validate.Length(min=1))
    deleted_column = _identifier(load_default=None)
    overlap_seconds = fields.Integer(load_default=0, validate=validate.Range(0, 7 * 86400))

    @validates_schema
    def _one_source(self, data, **kwargs):
        if (data.get("table") is None) == (data.get("query") is None):
            raise ValidationError("give exactly one of 'table' or 'query'")
        if data.get("overlap_seconds") and data.get("cursor_type") != "timestamp":
            raise ValidationError({"overlap_seconds": ["only a timestamp cursor can re-read a trailing window"]})


class SinkSpec(Schema):
    """One writable table, upserted by ``key``; only ``columns`` may be written."""

    class Meta:
        unknown = RAISE

    table = _table(required=True)
    key = _identifier(required=True)
    columns = fields.List(_identifier(), required=True, validate=validate.Length(min=1))
    updated_at_column = _identifier(load_default=None)
    #: Match before create: columns compared (in normalised form) with the payload before
    #: a row is inserted; a match is linked instead of inserting a duplicate.
    match_on = fields.List(_identifier(), load_default=None, validate=validate.Length(min=1))
    #: The stream whose records a matched row becomes; default the stream of the same table.
    match_stream = fields.String(load_default=None)

    @validates_schema
    def _match_on_writable(self, data, **kwargs):
        wrong = [c for c in data.get("match_on") or [] if c not in (data.get("columns") or [])]
        if wrong:
            raise ValidationError({"match_on": [f"not among the sink's columns: {', '.join(wrong)}"]})

    @validates_schema
    def _key_not_in_columns_twice(self, data, **kwargs):
        if data.get("updated_at_column") and data["updated_at_column"] in (data.get("columns") or []):
            raise ValidationError({"updated_at_column": ["is set by the sink; remove it from 'columns'"]})


def _names(kind: str):
    def check(value: dict) -> None:
        bad = [name for name in value if not STREAM_NAME.match(str(name))]
        if bad:
            raise ValidationError(f"{kind} names are lower-case letters, digits and '_', starting with a letter: {bad}")

    return check


class SqlConfig(Schema):
    class Meta:
        unknown = RAISE

    url = Secret(required=True, validate=validate.Length(min=1))
    streams = fields.Dict(keys=fields.String(), values=fields.Nested(StreamSpec), load_default=dict, validate=_names("stream"))
    sinks = fields.Dict(keys=fields.String(), values=fields.Nested(SinkSpec), load_default=dict, validate=_names("sink"))
    batch_size = fields.Integer(load_default=500, validate=validate.Range(1, 10000))
    #: Ledger of applied idempotency keys, written in the same transaction as each upsert;
    #: ``null`` turns it off (writes then rely on the upsert alone, see docs/connectors/sql.md).
    idempotency_table = _table(load_default="hub_applied_writes", allow_none=True)
    #: The zone naive timestamps are in, for ``Record.updated_at`` (cursors never convert).
    timezone = fields.String(load_default="UTC")
    connect_timeout = fields.Integer(load_default=10, validate=validate.Range(1, 300))

    @validates_schema
    def _something_to_do(self, data, **kwargs):
        if not data.get("streams") and not data.get("sinks"):
            raise ValidationError("configure at least one stream or sink")

    @validates_schema
    def _match_streams_exist(self, data, **kwargs):
        streams = data.get("streams") or {}
        for name, sink in (data.get("sinks") or {}).items():
            wanted = (sink or {}).get("match_stream")
            if wanted and wanted not in streams:
                raise ValidationError({"sinks": {name: {"match_stream": [f"no stream {wanted!r} (streams: {', '.join(sorted(streams)) or 'none'})"]}}})

    @validates_schema
    def _known_timezone(self, data, **kwargs):
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(data.get("timezone") or "UTC")
        except Exception:
            raise ValidationError({"timezone": [f"unknown time zone {data.get('timezone')!r}"]}) from None
