"""`hub check` as a preflight and `hub discover` (issue 17): one line per problem, exit 2."""

from __future__ import annotations

import json
import sqlite3
import textwrap

import pytest
from click.testing import CliRunner

from hub.cli import cli

INBOUND = """\
direction: inbound
connector: sql
stream: rows
fields:
  crm_id: {from: id, transforms: [str], namespace: instance}
  phone: {from: mobile, transforms: [{phone: {on_invalid: null}}]}
  name: {from: name, transforms: [strip]}
  city: {from: store, transforms: [strip]}
updated_at: {from: updated_at, transforms: [datetime]}
"""

OUTBOUND = """\
direction: outbound
connector: sql
sink: rows
fields:
  name: attributes.name
  mobile: "identities.phone[0]"
"""


def members_db(path) -> str:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE members (id INTEGER PRIMARY KEY, name TEXT NOT NULL, mobile VARCHAR(20), store TEXT,"
                 " level TEXT DEFAULT '普通', updated_at TEXT NOT NULL)")
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, member_id INTEGER, amount NUMERIC)")
    conn.executemany("INSERT INTO members (name, mobile, store, updated_at) VALUES (?, ?, ?, ?)",
                     [("张三", "13711112226", "南京", "2026-01-01 10:00:00"), ("李四", "13711112227", None, "2026-01-02 10:00:00")])
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


@pytest.fixture
def setup(tmp_path, database_url, redis_url, db, redis_conn):
    """A members table, its mappings and a config on the test backends; returns a writer."""
    url = members_db(tmp_path / "members.db")
    (tmp_path / "in.yaml").write_text(INBOUND, encoding="utf-8")
    (tmp_path / "out.yaml").write_text(OUTBOUND, encoding="utf-8")

    def write(*, inbound: str = INBOUND, outbound: str = OUTBOUND, database: str = database_url, redis: str = redis_url,
              sinks_extra: str = "", columns: str = "[name, mobile, level]") -> str:
        (tmp_path / "in.yaml").write_text(inbound, encoding="utf-8")
        (tmp_path / "out.yaml").write_text(outbound, encoding="utf-8")
        path = tmp_path / "hub.yaml"
        path.write_text(textwrap.dedent(f"""\
            hub:
              database_url: "{database}"
              redis_url: "{redis}"
              var_dir: "{tmp_path}/var"
            connectors:
              member:
                type: sql
                config:
                  url: "{url}"
                  streams:
                    rows: {{table: members, key: id, cursor_column: updated_at}}
                  sinks:
                    rows: {{table: members, key: id, columns: {columns}}}
                streams:
                  rows: {{mapping: "{tmp_path}/in.yaml"}}
                sinks:
                  rows: {{mapping: "{tmp_path}/out.yaml"{sinks_extra}}}
            """), encoding="utf-8")
        return str(path)

    return write


def check(config: str, *args: str):
    return CliRunner().invoke(cli, ["--config", config, "check", *args])


def test_a_clean_setup_passes(setup):
    result = check(setup())
    assert result.exit_code == 0, result.output
    assert "database:" in result.output and "(migration " in result.output
    assert "redis:" in result.output and "mappings: 2 loaded and linted" in result.output
    assert "connector member (sql): OK" in result.output


def test_strip_used_like_a_prefix_is_a_warning(setup, tmp_path):
    """`{strip: "+86"}` loads but corrupts numbers (+8613711112226 → 1371111222): hub check
    warns with the mapping's line and still passes."""
    result = check(setup(inbound=INBOUND.replace("transforms: [{phone: {on_invalid: null}}]", 'transforms: [{strip: "+86"}]')))
    assert result.exit_code == 0, result.output
    assert (f"warning: {tmp_path}/in.yaml:6 fields.phone: transform 'strip': strip '+86' removes any of the characters "
            "'+', '8', '6' from both ends ('+8613711112226' → '1371111222')") in result.output


def test_each_problem_is_one_located_line_and_exit_2(setup, tmp_path):
    inbound = INBOUND.replace("from: mobile,", "from: mobil,").replace("transforms: [strip]}\n  city", "transforms: [strp]}\n  city")
    outbound = OUTBOUND + "  store: attributes.city\n"
    result = check(setup(inbound=inbound, outbound=outbound))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"{tmp_path}/in.yaml:7 fields.name: unknown transform 'strp' (did you mean 'strip'?)" in result.output
    assert (f"{tmp_path}/out.yaml:7 fields.store: payload key 'store' is not writable in member.rows "
            "(writable: id, name, mobile, level)") in result.output

    # with the transform fixed, the path typo is found against the table's real columns
    result = check(setup(inbound=inbound.replace("strp", "strip"), outbound=outbound))
    assert result.exit_code == 2
    assert (f"{tmp_path}/in.yaml:6 fields.phone: path 'mobil': member.rows has no field 'mobil' (did you mean 'mobile'?)"
            in result.output), result.output
    # offline, the outbound keys are still checked (from the config), the paths are not
    offline = check(setup(inbound=inbound.replace("strp", "strip"), outbound=outbound), "--offline")
    assert offline.exit_code == 2 and "payload key 'store'" in offline.output and "'mobil'" not in offline.output


def test_a_missing_mapping_file_and_a_sources_typo(setup, tmp_path):
    config = setup(sinks_extra=", sources: [membr]")
    result = check(config)
    assert result.exit_code == 2
    assert f"{config}:17 connectors.member.sinks.rows.sources[0]: no connector instance 'membr' (did you mean 'member'?)" in result.output

    config = setup()
    text = open(config, encoding="utf-8").read().replace(f"{tmp_path}/out.yaml", f"{tmp_path}/gone.yaml")
    open(config, "w", encoding="utf-8").write(text)
    result = check(config)
    assert result.exit_code == 2
    assert f"{config}:17 connectors.member.sinks.rows.mapping: mapping file not found: {tmp_path}/gone.yaml" in result.output


def test_database_unreachable_or_not_migrated_and_redis_down(setup, tmp_path):
    fresh = f"sqlite:///{tmp_path}/fresh/hub.db"
    result = check(setup(database=fresh), "--offline")
    assert result.exit_code == 2
    assert "hub.database_url: the hub database" in result.output and "has no tables: run `hub init`" in result.output

    result = check(setup(database="postgresql://nobody@127.0.0.1:1/none", redis="redis://127.0.0.1:1/0"), "--offline")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if "hub.database_url" in line or "hub.redis_url" in line]
    assert len(lines) == 2 and "cannot reach the hub database" in lines[0] and "cannot reach Redis" in lines[1]
    assert "Traceback" not in result.output


def test_discover_lists_tables_and_columns(setup):
    config = setup()
    result = CliRunner().invoke(cli, ["--config", config, "discover", "member"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "stream rows — table members" in out and "sink rows — upsert into members by id" in out
    assert "table orders — not configured" in out
    assert [line.split() for line in out.splitlines() if line.strip().startswith("mobile")][0][:2] == ["mobile", "VARCHAR(20)"]
    assert any(line.split()[:3] == ["level", "TEXT", "null"] and line.rstrip().endswith("writable") for line in out.splitlines())
    assert any(line.split() == ["store", "TEXT", "null"] for line in out.splitlines()), "store is not writable"

    data = json.loads(CliRunner().invoke(cli, ["--config", config, "discover", "member", "--json"]).output)
    rows = next(s for s in data if s["kind"] == "stream")
    assert [f["name"] for f in rows["fields"]] == ["id", "name", "mobile", "store", "level", "updated_at"]


def test_discover_sample_feeds_mappings_test(setup, tmp_path):
    config = setup()
    result = CliRunner().invoke(cli, ["--config", config, "discover", "member", "rows", "--sample", "2"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["mobile"] for r in records] == ["13711112226", "13711112227"]
    (tmp_path / "sample.json").write_text(result.stdout, encoding="utf-8")
    mapped = CliRunner().invoke(cli, ["--config", config, "mappings", "test", str(tmp_path / "in.yaml"), str(tmp_path / "sample.json"), "--json"])
    assert mapped.exit_code == 0, mapped.output
    results = json.loads(mapped.stdout)
    assert [dict(r["result"]["identities"])["phone"] for r in results] == ["+8613711112226", "+8613711112227"]

    table = CliRunner().invoke(cli, ["--config", config, "discover", "member", "orders", "--sample", "1"])
    assert table.exit_code == 0 and json.loads(table.stdout) == []
    unknown = CliRunner().invoke(cli, ["--config", config, "discover", "member", "nope"])
    assert unknown.exit_code == 2 and "no stream or table 'nope'" in unknown.output


def test_the_default_discovery_infers_fields_from_records():
    from hub.connector import Connector, ReadBatch, Record, Stream

    class People(Stream):
        name = "people"

        def read(self, cursor):
            yield ReadBatch([Record("1", {"id": 1, "name": "张三", "profile": {"mobile": "137"}})], cursor=1)
            yield ReadBatch([Record("2", {"id": 2, "name": None, "profile": {"mobile": "138", "city": "南京"}})], cursor=2)

    class Toy(Connector):
        name = "toy"
        streams = {"people": People}

    (info,) = Toy("toy", {}).discover(sample=1)
    fields = {f.name: (f.type, f.nullable) for f in info.fields}
    assert fields == {"id": ("integer", False), "name": ("string", True), "profile": ("object", False),
                      "profile.mobile": ("string", False), "profile.city": ("string", True)}
    assert info.samples == [{"id": 1, "name": "张三", "profile": {"mobile": "137"}}] and not info.fields_complete


def test_infrastructure_errors_are_one_line_with_exit_3(setup, tmp_path):
    down = setup(database="postgresql://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(cli, ["--config", down, "runs"])
    assert result.exit_code == 3, result.output
    assert result.output.startswith("error: cannot reach the hub database:") and result.output.count("\n") == 1
    assert "Traceback" not in result.output

    fresh = setup(database=f"sqlite:///{tmp_path}/fresh/hub.db")
    result = CliRunner().invoke(cli, ["--config", fresh, "dlq", "list"])
    assert result.exit_code == 3 and "the hub database is not set up" in result.output and "run `hub init`" in result.output

    no_redis = setup(redis="redis://127.0.0.1:1/0")
    result = CliRunner().invoke(cli, ["--config", no_redis, "sync", "member.rows"])
    assert result.exit_code == 3, result.output
    assert result.output.startswith("error: cannot reach Redis:") and result.output.count("\n") == 1


def test_inferred_fields_make_path_typos_warnings_for_other_connectors(tmp_path, database_url, redis_url, db, redis_conn):
    """The example connector has no catalogue: its fields are inferred from a few records, so
    a path they do not show is a warning (it may just be absent there), not a problem."""
    from hub.testing import SandboxRouter
    from hub_example.sandbox import ExampleSandbox

    from pathlib import Path

    inbound = (Path(__file__).parent / "pipeline" / "mappings" / "example.contacts.yaml").read_text(encoding="utf-8").replace("from: phone,", "from: mobile,")
    (tmp_path / "in.yaml").write_text(inbound, encoding="utf-8")
    config = tmp_path / "hub.yaml"
    config.write_text(textwrap.dedent(f"""\
        hub: {{database_url: "{database_url}", redis_url: "{redis_url}", var_dir: "{tmp_path}/var"}}
        connectors:
          crm_a:
            type: example
            config: {{base_url: "http://sandbox.hub.test/sandbox/crm_a", api_key: sandbox-api-key-0001, webhook_secret: s}}
            streams:
              contacts: {{mapping: "{tmp_path}/in.yaml"}}
        """), encoding="utf-8")
    sandbox = ExampleSandbox()
    sandbox.add_records("contacts", 3)
    with SandboxRouter(sandbox, prefix="/sandbox/crm_a"):
        result = check(str(config))
    assert result.exit_code == 0, result.output
    assert (f"warning: {tmp_path}/in.yaml:6 fields.phone: path 'mobile': crm_a.contacts has no field 'mobile'"
            in result.output), result.output


def test_declared_sink_fields_check_outbound_keys_offline(tmp_path, database_url, redis_url, db, redis_conn):
    """WeCom's remark sink declares its payload keys (Sink.fields): a typo is a problem."""
    out = tmp_path / "remark.out.yaml"
    out.write_text("direction: outbound\nconnector: wecom\nsink: remark\nfields:\n  remarks: attributes.name\n"
                   "  description: attributes.city\n", encoding="utf-8")
    config = tmp_path / "hub.yaml"
    config.write_text(textwrap.dedent(f"""\
        hub: {{database_url: "{database_url}", redis_url: "{redis_url}", var_dir: "{tmp_path}/var"}}
        connectors:
          wecom_sales:
            type: wecom
            config:
              corp_id: ww7940ea4bcded905f
              secret: xCzqPc-D6nIbpOCOmLmFmxO8Jij1qzzikEkmKQsVfmk
              callback_token: HuiliuSandboxToken2026
              encoding_aes_key: n5DdH2jw55n8m663QuQVH7skdEWtnqRjR1dNie1ti5I
            sinks:
              remark: {{mapping: "{out}"}}
        """), encoding="utf-8")
    result = check(str(config), "--offline")
    assert result.exit_code == 2
    assert f"{out}:5 fields.remarks: payload key 'remarks' is not writable in wecom_sales.remark (did you mean 'remark'?)" in result.output
    assert "'description'" not in result.output


def test_a_database_behind_this_hub_s_migrations_asks_for_hub_init(setup, tmp_path):
    from alembic.script import ScriptDirectory

    from hub.store.db import alembic_config, migrate

    old = f"sqlite:///{tmp_path}/old/hub.db"
    migrate(old, "0006")
    head = ScriptDirectory.from_config(alembic_config(old)).get_current_head()
    result = check(setup(database=old), "--offline")
    assert result.exit_code == 2
    assert f"is at migration 0006, this hub needs {head}: run `hub init`" in result.output
    init = CliRunner().invoke(cli, ["--config", setup(database=old), "init"])
    assert init.exit_code == 0, init.output
    assert check(setup(database=old), "--offline").exit_code == 0
