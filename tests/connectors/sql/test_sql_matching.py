"""Match before create on real databases (SQLite, PostgreSQL with HUB_DATABASE_URL, MariaDB):
the SQL sink finds the row a create would duplicate, comparing in normalised form."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from connectors.sql.matching import phone_forms

T = "2026-11-20T09:00:00"


def sink_of(crm, customers_stream, customers_sink, **extra):
    connector = crm.connector(streams={"customers": customers_stream}, sinks={"customers": {**customers_sink, **extra}})
    return connector.sink("customers")


@pytest.mark.parametrize("stored", ["13912345678", "139 1234 5678", "+86-139-1234-5678", "+8613912345678", "008613912345678",
                                    "(+86) 139.1234.5678"])
def test_a_stored_phone_in_any_usual_format_matches_the_e164_payload(crm, customers_stream, customers_sink, stored):
    (wanted,) = crm.add_customers([{"name": "王小明", "phone": stored, "updated_at": T}])
    crm.add_customers([{"name": "别人", "phone": "13912345679", "updated_at": T}])
    sink = sink_of(crm, customers_stream, customers_sink, match_on=["phone"])
    assert sink.matches
    (match,) = sink.match({"name": "王小明", "phone": "+8613912345678"})
    assert match.native_id == wanted and match.stream == "customers"
    # the record is exactly what the customers stream would yield for that row
    assert match.record.native_id == wanted and match.record.data["phone"] == stored and match.record.updated_at is not None


def test_an_email_matches_case_and_space_insensitively_and_several_columns_are_alternatives(crm, customers_stream, customers_sink):
    crm.execute("ALTER TABLE customers ADD COLUMN email VARCHAR(64)")
    ids = crm.add_customers([{"name": "甲", "updated_at": T}, {"name": "乙", "phone": "13800001111", "updated_at": T}])
    crm.execute("UPDATE customers SET email = ' Wang@Example.COM ' WHERE id = :i", {"i": int(ids[0])})
    sink = sink_of(crm, customers_stream, {**customers_sink, "columns": [*customers_sink["columns"], "email"]},
                   match_on=["phone", "email"])
    found = sink.match({"name": "x", "email": "wang@example.com", "phone": "+8613800001111"})
    assert sorted(m.native_id for m in found) == sorted(ids)  # the two rows: the CRM already holds duplicates


def test_nothing_matches_without_values_or_without_a_row(crm, customers_stream, customers_sink):
    crm.add_customers([{"name": "王小明", "phone": "13912345678", "updated_at": T}])
    sink = sink_of(crm, customers_stream, customers_sink, match_on=["phone"])
    assert sink.match({"name": "王小明"}) == []
    assert sink.match({"phone": "+8613700000000"}) == []
    assert sink_of(crm, customers_stream, customers_sink).matches is False


def test_a_deleted_row_is_no_match(crm, customers_stream, customers_sink):
    (gone,) = crm.add_customers([{"name": "王小明", "phone": "13912345678", "updated_at": T}])
    crm.execute("UPDATE customers SET is_deleted = :d WHERE id = :i", {"d": crm.backend != "sqlite" or 1, "i": int(gone)})
    assert sink_of(crm, customers_stream, customers_sink, match_on=["phone"]).match({"phone": "+8613912345678"}) == []


def test_match_on_must_name_writable_columns_and_match_stream_a_stream(crm, customers_stream, customers_sink):
    with pytest.raises(ValidationError, match="not among the sink's columns: mobile"):
        sink_of(crm, customers_stream, customers_sink, match_on=["mobile"])
    with pytest.raises(ValidationError, match="no stream 'people'"):
        sink_of(crm, customers_stream, customers_sink, match_on=["phone"], match_stream="people")


def test_phone_forms():
    assert phone_forms("+8613912345678") == ["8613912345678", "008613912345678", "13912345678"]
    assert phone_forms("021-6234 5678") == ["862162345678", "00862162345678", "2162345678", "02162345678"]
    assert phone_forms("wang@example.com") is None and phone_forms("12") is None
