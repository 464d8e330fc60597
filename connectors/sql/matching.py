"""Match before create for the SQL sink: find the existing row a create would duplicate.

A sink configured with ``match_on: [phone]`` (columns of its table) is asked, before the hub
creates a row, whether a row with the same value already exists. Values are compared in
normalised form, in SQL, so the table needs no change:

* a phone (the payload's value parses as one, e.g. ``+8613912345678``): the column with
  spaces, dashes, dots, brackets and ``+`` removed equals one of the number's digit forms —
  ``8613912345678``, ``13912345678`` (national), ``008613912345678``; so a CRM that stores
  ``139 1234 5678``, ``+86-139-1234-5678`` or ``13912345678`` matches;
* an e-mail (contains ``@``): ``lower(trim(column))`` equals the lower-cased value;
* anything else: equality after trimming.

Several columns are alternatives (a row matching any of them is a match). A matched row is
returned as the record the sink's *record stream* (the configured stream reading the same
table, or ``match_stream``) would yield, so the hub processes it exactly like a pulled row.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import phonenumbers
from sqlalchemy import exc as sa_exc, text

from hub.connector import Match

from connectors.sql.db import quote, quote_table, raise_translated
from connectors.sql.streams import TableStream, selected_columns

if TYPE_CHECKING:
    from connectors.sql.sinks import TableSink

#: Characters people type inside phone numbers; removed on both sides before comparing.
_PHONE_NOISE = (" ", "-", ".", "(", ")", "+", "\u3000")
_MAX_MATCHES = 5


def phone_forms(value: str) -> list[str] | None:
    """The digit-only forms a stored phone may take, or None if ``value`` is no phone."""
    if not re.fullmatch(r"\+?[0-9][0-9 \-().]{5,30}", value.strip()):
        return None
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    national = str(number.national_number)
    country = str(number.country_code)
    forms = [country + national, "00" + country + national]
    if number.country_code == 86:
        forms.append(national)
        if not national.startswith("1"):  # a landline is dialled with its trunk 0
            forms.append("0" + national)
    return list(dict.fromkeys(forms))


def _normalised_column(engine, column: str) -> str:
    expr = quote(engine, column)
    for ch in _PHONE_NOISE:
        expr = f"REPLACE({expr}, '{ch}', '')"
    return expr


def record_stream_name(sink: "TableSink") -> str | None:
    """The configured stream that reads this sink's table (or ``match_stream``)."""
    spec = sink.spec
    if spec.get("match_stream"):
        return spec["match_stream"]
    streams = sink.connector.config.get("streams") or {}
    same = [name for name, s in streams.items() if s.get("table") and s["table"].lower() == spec["table"].lower()]
    if sink.name in same:
        return sink.name
    return same[0] if same else None


def find_matches(sink: "TableSink", payload: dict[str, Any]) -> list[Match]:
    """Rows of the sink's table matching ``payload`` on any ``match_on`` column."""
    spec = sink.spec
    engine = sink.connector.engine
    conditions: list[str] = []
    params: dict[str, Any] = {}
    for i, column in enumerate(spec.get("match_on") or []):
        value = payload.get(column)
        if value is None or str(value).strip() == "":
            continue
        value = str(value)
        forms = phone_forms(value)
        if forms:
            names = []
            for j, form in enumerate(forms):
                params[f"m{i}_{j}"] = form
                names.append(f":m{i}_{j}")
            conditions.append(f"{_normalised_column(engine, column)} IN ({', '.join(names)})")
        elif "@" in value:
            params[f"m{i}"] = value.strip().lower()
            conditions.append(f"LOWER(TRIM({quote(engine, column)})) = :m{i}")
        else:
            params[f"m{i}"] = value.strip()
            conditions.append(f"TRIM({quote(engine, column)}) = :m{i}")
    if not conditions:
        return []
    stream_name = record_stream_name(sink)
    stream = TableStream(sink.connector, stream_name) if stream_name else None
    columns = selected_columns(stream.spec) if stream is not None else None
    select_list = "*" if columns is None else ", ".join(quote(engine, c) for c in columns)
    key = quote(engine, spec["key"])
    sql = (f"SELECT {select_list} FROM {quote_table(engine, spec['table'])} WHERE {' OR '.join(f'({c})' for c in conditions)} "
           f"ORDER BY {key} LIMIT {_MAX_MATCHES}")
    try:
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(text(sql), params).mappings().all()]
    except sa_exc.SQLAlchemyError as exc:
        raise_translated(exc, f"sink {sink.name!r}: looking for an existing row in {spec['table']} failed", sink.connector.secrets)
    out = []
    for row in rows:
        native_id = str(row[spec["key"]])
        if stream is not None:
            record = stream._record(row)
            if not record.deleted:
                out.append(Match(native_id=native_id, stream=stream_name, record=record))
        else:
            out.append(Match(native_id=native_id))
    return out
