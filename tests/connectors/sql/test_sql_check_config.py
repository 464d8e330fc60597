"""check(), config validation, names from config, and secrets kept out of messages/logs."""

from __future__ import annotations

import logging
import os

import pytest
from marshmallow import ValidationError
from sqlalchemy.engine import make_url

from hub.connector import CheckFailed, ConnectorError, DictState
from hub.testing import read_all

from connectors.sql.connector import SqlConnector
from connectors.sql.sinks import TableSink
from connectors.sql.streams import TableStream

STREAM = {"table": "customers", "key": "id", "cursor_column": "updated_at"}


def make(raw: dict) -> SqlConnector:
    return SqlConnector("crm_main", SqlConnector.validate_config(raw), state=DictState())


# -- check() --------------------------------------------------------------------------------
def test_check_passes_on_good_tables_and_queries(crm, customers_stream, customers_sink):
    query = {"query": "SELECT id, name, updated_at FROM customers", "key": "id", "cursor_column": "updated_at"}
    crm.connector({"customers": customers_stream, "names": query}, {"customers": customers_sink}).check()


def test_check_accepts_a_unique_natural_key_for_a_sink(crm):
    crm.connector(sinks={"members": {"table": "customers", "key": "member_no", "columns": ["name"]}}).check()


def test_check_names_a_missing_table(crm):
    connector = crm.connector({"leads": {**STREAM, "table": "crm_leads"}})
    with pytest.raises(CheckFailed) as info:
        connector.check()
    assert "'leads'" in info.value.message and "crm_leads" in info.value.message


def test_check_names_missing_columns(crm, customers_sink):
    connector = crm.connector(
        {"customers": {**STREAM, "cursor_column": "modified_at"}},
        {"customers": {**customers_sink, "columns": ["name", "wechat"]}},
    )
    with pytest.raises(CheckFailed) as info:
        connector.check()
    assert "'modified_at'" in info.value.message and "'wechat'" in info.value.message


def test_check_refuses_a_sink_key_that_is_not_unique(crm):
    connector = crm.connector(sinks={"customers": {"table": "customers", "key": "phone", "columns": ["name"]}})
    with pytest.raises(CheckFailed) as info:
        connector.check()
    assert "phone" in info.value.message and "UNIQUE" in info.value.message


def test_check_rejects_a_broken_query(crm):
    connector = crm.connector({"q": {"query": "SELEC id FROM customers", "key": "id", "cursor_column": "id"}})
    with pytest.raises(CheckFailed) as info:
        connector.check()
    assert "'q'" in info.value.message


def test_an_unparseable_url_fails_check_without_echoing_it():
    connector = make({"url": "not a url s3cr3t-pass", "streams": {"rows": STREAM}})
    with pytest.raises(CheckFailed) as info:
        connector.check()
    assert "s3cr3t-pass" not in str(info.value)


def test_a_missing_driver_fails_check():
    connector = make({"url": "oracle+nosuchdriver://u:s3cr3t-pass@h/db", "streams": {"rows": STREAM}})
    with pytest.raises(CheckFailed) as info:
        connector.check()
    assert "s3cr3t-pass" not in str(info.value)


@pytest.mark.skipif(not (os.environ.get("HUB_DATABASE_URL") or "").startswith("postgres"), reason="needs PostgreSQL")
def test_bad_postgresql_credentials_fail_check_without_the_password(caplog):
    caplog.set_level(logging.DEBUG)
    url = "postgresql://no_such_crm_user:s3cr3t-pass@127.0.0.1:5432/test"
    connector = make({"url": url, "streams": {"rows": STREAM}, "connect_timeout": 5})
    with pytest.raises(CheckFailed) as info:
        connector.check()
    assert "no_such_crm_user" in info.value.message  # says who failed, where
    assert "s3cr3t-pass" not in str(info.value) and "s3cr3t-pass" not in caplog.text
    connector.close()


def test_an_unreachable_server_fails_check_without_the_password(caplog):
    caplog.set_level(logging.DEBUG)
    connector = make({"url": "postgresql://crm:s3cr3t-pass@127.0.0.1:9/crm", "streams": {"rows": STREAM}, "connect_timeout": 2})
    with pytest.raises(CheckFailed) as info:
        connector.check()
    assert "127.0.0.1" in info.value.message
    assert "s3cr3t-pass" not in str(info.value) and "s3cr3t-pass" not in caplog.text


def test_a_sqlite_file_in_a_missing_directory_fails_check(tmp_path):
    connector = make({"url": f"sqlite:///{tmp_path}/no/such/dir/crm.db", "streams": {"rows": STREAM}})
    with pytest.raises(CheckFailed):
        connector.check()


def test_password_in_a_working_url_never_reaches_messages_or_logs(crm, customers_stream, customers_sink, caplog):
    """A real URL with a password (the test PostgreSQL trusts local connections, so any
    password works), every failure path driven with DEBUG logging on."""
    if crm.backend != "postgresql":
        pytest.skip("needs a server that accepts any password (the PostgreSQL variant)")
    caplog.set_level(logging.DEBUG)
    url = make_url(crm.url).set(password="s3cr3t-pass").render_as_string(hide_password=False)
    connector = make(
        {
            "url": url,
            "streams": {"customers": customers_stream, "missing": {**STREAM, "table": "nope"}},
            "sinks": {"customers": customers_sink},
        }
    )
    messages = []
    for action in (
        connector.check,
        lambda: read_all(connector, "missing"),
        lambda: connector.write("customers", {"wechat": "x"}, idempotency_key="k"),
        lambda: connector.write("customers", {"name": None}, idempotency_key="k"),
    ):
        with pytest.raises(ConnectorError) as info:
            action()
        messages.append(str(info.value))
    read_all(connector, "customers")
    assert all("s3cr3t-pass" not in m for m in messages), messages
    assert "s3cr3t-pass" not in caplog.text
    connector.close()


# -- config ---------------------------------------------------------------------------------
def test_a_stream_needs_exactly_one_of_table_or_query():
    for spec in ({"key": "id", "cursor_column": "id"}, {**STREAM, "query": "SELECT 1"}):
        with pytest.raises(ValidationError) as info:
            SqlConnector.validate_config({"url": "sqlite:///x.db", "streams": {"rows": spec}})
        assert "table" in str(info.value.messages)


def test_unknown_keys_inside_a_stream_or_sink_are_rejected():
    with pytest.raises(ValidationError) as info:
        SqlConnector.validate_config({"url": "sqlite:///x.db", "streams": {"rows": {**STREAM, "cursor": "id"}}})
    assert info.value.messages == {"streams": {"rows": {"value": {"cursor": ["Unknown field."]}}}}
    with pytest.raises(ValidationError):
        SqlConnector.validate_config({"url": "sqlite:///x.db", "sinks": {"rows": {"table": "t", "key": "id", "columns": ["a"], "upsert": True}}})


def test_config_rejections():
    base = {"url": "sqlite:///x.db"}
    bad = [
        {},  # nothing to read or write
        {"streams": {"rows": {**STREAM, "cursor_type": "integer", "overlap_seconds": 10}}},
        {"streams": {"rows": {**STREAM, "key": "id; DROP TABLE customers"}}},
        {"streams": {"Bad-Name": STREAM}},
        {"sinks": {"rows": {"table": "customers", "key": "id", "columns": []}}},
        {"sinks": {"rows": {"table": "customers", "key": "id", "columns": ["updated_at"], "updated_at_column": "updated_at"}}},
        {"streams": {"rows": STREAM}, "timezone": "Mars/Olympus"},
    ]
    for extra in bad:
        with pytest.raises(ValidationError):
            SqlConnector.validate_config({**base, **extra})
    loaded = SqlConnector.validate_config({**base, "streams": {"rows": {**STREAM, "table": "crm.customers"}}})
    assert loaded["batch_size"] == 500 and loaded["idempotency_table"] == "hub_applied_writes"


# -- names come from config -----------------------------------------------------------------
def test_stream_and_sink_names_come_from_the_instance_config(crm, customers_stream, customers_sink):
    config = SqlConnector.validate_config(
        {"url": crm.url, "streams": {"customers": customers_stream, "members": STREAM}, "sinks": {"customers": customers_sink}}
    )
    assert SqlConnector.stream_names(config) == ["customers", "members"]
    assert SqlConnector.sink_names(config) == ["customers"]
    assert list(SqlConnector.streams) == ["rows"] and list(SqlConnector.sinks) == ["rows"]  # generic defaults
    connector = SqlConnector("crm_main", config)
    stream = connector.stream("members")
    assert isinstance(stream, TableStream) and stream.name == "members"
    assert isinstance(connector.sink("customers"), TableSink)
    with pytest.raises(KeyError) as info:
        connector.stream("rows")
    assert "customers" in str(info.value)  # lists the configured names
    with pytest.raises(KeyError):
        connector.sink("members")
