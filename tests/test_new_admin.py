"""A new IT admin connects the school's two-way ``members`` table (issue 17), step by step as
docs/setup.md tells it: init → discover → mappings test → check → sync --dry-run → sync →
plan → approve → sync. The members table must not change until the admin approves.

Runs on SQLite and, when a MariaDB answers on 127.0.0.1:3306 (root, no password), on
MariaDB through PyMySQL; the hub itself runs on the test backends.
"""

from __future__ import annotations

import json
import textwrap
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from hub.cli import cli

MEMBERS_IN = """\
direction: inbound
connector: sql
stream: rows
fields:
  crm_id: {from: id, transforms: [str], namespace: instance}
  phone: {from: mobil, transforms: [{phone: {on_invalid: null}}]}
  name: {from: name, transforms: [strip]}
  city: {from: store, transforms: [strip]}
updated_at: {from: updated_at, transforms: [datetime]}
"""

MEMBERS_OUT = """\
direction: outbound
connector: sql
sink: rows
fields:
  name: attributes.name
  mobile: {from: "identities.phone[0]", transforms: [{phone: {format: digits}}]}
  store: attributes.city
"""

LEADS_IN = """\
direction: inbound
connector: sql
stream: rows
fields:
  phone: {from: phone, transforms: [{phone: {on_invalid: null}}]}
  name: {from: name, transforms: [strip]}
  city: {from: city, transforms: [strip]}
updated_at: {from: created_at, transforms: [datetime]}
"""


class Backend:
    """The school's database: a members table and a table of ad leads."""

    def __init__(self, url: str, dialect: str):
        self.url, self.dialect = url, dialect
        self.engine = create_engine(url.replace("mysql://", "mysql+pymysql://"))

    def create(self) -> None:
        if self.dialect == "sqlite":
            members = ("CREATE TABLE members (id INTEGER PRIMARY KEY, name TEXT NOT NULL, mobile VARCHAR(20), store TEXT,"
                       " level TEXT DEFAULT '普通', updated_at TEXT NOT NULL)")
            leads = "CREATE TABLE leads (id INTEGER PRIMARY KEY, name TEXT, phone TEXT, city TEXT, created_at TEXT NOT NULL)"
        else:
            members = ("CREATE TABLE members (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, mobile VARCHAR(20),"
                       " store VARCHAR(50), level VARCHAR(20) DEFAULT '普通',"
                       " updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) DEFAULT CHARSET=utf8mb4")
            leads = ("CREATE TABLE leads (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), phone VARCHAR(30), city VARCHAR(50),"
                     " created_at DATETIME(6) NOT NULL) DEFAULT CHARSET=utf8mb4")
        with self.engine.begin() as conn:
            conn.execute(text(members))
            conn.execute(text(leads))
            conn.execute(text("INSERT INTO members (name, mobile, store, level, updated_at) VALUES "
                              "('张三', '13711112226', '南京', '金卡', '2026-03-01 10:00:00'),"
                              "('李四', '13711112227', NULL, '普通', '2026-03-01 10:00:00')"))
            conn.execute(text("INSERT INTO leads (name, phone, city, created_at) VALUES "
                              "('张三', '+86 137-1111-2226', '苏州', '2026-03-02 09:00:00'),"
                              "('王五', '139 1111 2222', '上海', '2026-03-02 09:30:00')"))

    def add_lead(self, name: str, phone: str, city: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("INSERT INTO leads (name, phone, city, created_at) VALUES (:n, :p, :c, '2026-03-03 11:00:00')"),
                         {"n": name, "p": phone, "c": city})

    def members(self) -> list[tuple]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT id, name, mobile, store, level FROM members ORDER BY id"))]


def _mariadb_url() -> str | None:
    try:
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", connect_timeout=3)
    except Exception:
        return None
    name = f"hub_admin_{uuid.uuid4().hex[:10]}"
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    conn.close()
    return f"mysql://root@127.0.0.1:3306/{name}"


@pytest.fixture(params=["sqlite", "mariadb"])
def school(request, tmp_path):
    if request.param == "sqlite":
        backend = Backend(f"sqlite:///{tmp_path}/school.db", "sqlite")
        backend.create()
        yield backend
        backend.engine.dispose()
        return
    url = _mariadb_url()
    if url is None:
        pytest.skip("no MariaDB on 127.0.0.1:3306")
    backend = Backend(url, "mysql")
    backend.create()
    yield backend
    with backend.engine.begin() as conn:
        conn.execute(text(f"DROP DATABASE `{url.rsplit('/', 1)[1]}`"))
    backend.engine.dispose()


def test_a_new_admin_connects_a_two_way_members_table_without_surprise_writes(school, tmp_path, database_url, redis_url, db, redis_conn):
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "members.rows.yaml").write_text(MEMBERS_IN, encoding="utf-8")
    (tmp_path / "mappings" / "members.rows.out.yaml").write_text(MEMBERS_OUT, encoding="utf-8")
    (tmp_path / "mappings" / "leads.rows.yaml").write_text(LEADS_IN, encoding="utf-8")
    config = tmp_path / "hub.yaml"
    config.write_text(textwrap.dedent(f"""\
        hub:
          database_url: "{database_url}"
          redis_url: "{redis_url}"
          var_dir: "{tmp_path}/var"
        connectors:
          member:                          # the school's members table: read AND written (two-way)
            type: sql
            config:
              url: "{school.url}"
              timezone: Asia/Shanghai
              streams:
                rows: {{table: members, key: id, cursor_column: updated_at}}
              sinks:
                rows: {{table: members, key: id, columns: [name, mobile, store], updated_at_column: updated_at}}
            streams:
              rows: {{mapping: "{tmp_path}/mappings/members.rows.yaml"}}
            sinks:
              rows: {{mapping: "{tmp_path}/mappings/members.rows.out.yaml"}}
          leads:                           # ad leads: read only
            type: sql
            config:
              url: "{school.url}"
              timezone: Asia/Shanghai
              streams:
                rows: {{table: leads, key: id, cursor_column: created_at}}
            streams:
              rows: {{mapping: "{tmp_path}/mappings/leads.rows.yaml"}}
        """), encoding="utf-8")

    def hub(*args: str, ok: bool = True):
        result = CliRunner().invoke(cli, ["--config", str(config), *args])
        if ok:
            assert result.exit_code == 0, f"hub {' '.join(args)} → {result.exit_code}\n{result.output}"
        return result

    untouched = school.members()

    # 1. init: the hub's own tables
    assert "database ready" in hub("init").output

    # 2. discover: the tables and columns, then real records for the mapping
    found = hub("discover", "member").output
    assert "stream rows — table members" in found and "table leads — not configured" in found
    assert any(line.split()[:1] == ["mobile"] for line in found.splitlines())
    sample = hub("discover", "member", "rows", "--sample", "2").stdout
    assert [r["name"] for r in json.loads(sample)] == ["张三", "李四"]
    (tmp_path / "sample.json").write_text(sample, encoding="utf-8")

    # 3. mappings test on the sample: the typo `mobil` leaves every member without a phone
    tried = hub("mappings", "test", str(tmp_path / "mappings" / "members.rows.yaml"), str(tmp_path / "sample.json"), "--json").stdout
    assert all("phone" not in dict(r["result"]["identities"]) for r in json.loads(tried))

    # 4. check finds it against the table's real columns; the admin fixes it
    checked = hub("check", ok=False)
    assert checked.exit_code == 2
    assert "fields.phone: path 'mobil': member.rows has no field 'mobil' (did you mean 'mobile'?)" in checked.output
    (tmp_path / "mappings" / "members.rows.yaml").write_text(MEMBERS_IN.replace("from: mobil,", "from: mobile,"), encoding="utf-8")
    tried = hub("mappings", "test", str(tmp_path / "mappings" / "members.rows.yaml"), str(tmp_path / "sample.json"), "--json").stdout
    assert [dict(r["result"]["identities"])["phone"] for r in json.loads(tried)] == ["+8613711112226", "+8613711112227"]
    assert "connector member (sql): OK" in hub("check").output

    # 5. dry run: what would change, nothing committed
    dry = hub("sync", "--dry-run").output
    assert "member.rows: 1 create(s), 1 update(s) (held for preview)" in dry, dry
    assert '"store": "苏州"' in dry and '"mobile": "13911112222"' in dry
    assert school.members() == untouched
    assert "held:" not in hub("plan").output

    # 6. the first real sync: contacts are built, writes to the two-way members table wait
    synced = hub("sync", "--inline").output
    assert "2 write(s) to member.rows held for preview" in synced
    assert school.members() == untouched, "the first sync wrote into the live members table"

    # 7. plan: creates and updates with their payloads
    planned = hub("plan", "member.rows").output
    assert "member.rows: preview" in planned and "2 held: 1 create(s), 1 update(s)" in planned
    assert school.members() == untouched

    # 8. approve: the held writes land, and the sink is approved
    approved = hub("approve", "member.rows", "--all", "--inline").output
    assert "released 2 held write(s)" in approved and "approved: member.rows" in approved
    after = school.members()
    assert after[:2] == [(1, "张三", "13711112226", "苏州", "金卡"), (2, "李四", "13711112227", None, "普通")]
    assert after[2][1:] == ("王五", "13911112222", "上海", "普通")

    # 9. later writes flow without a hold
    school.add_lead("赵六", "13811113333", "杭州")
    later = hub("sync", "leads.rows", "--inline").output
    assert "delivered=1" in later and "held for preview" not in later
    assert school.members()[-1][1:4] == ("赵六", "13811113333", "杭州")
