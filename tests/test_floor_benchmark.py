"""``benchmarks/floor.py`` copies every row of a database into a copy of its schema, parents
before children, and leaves nothing behind (no timing here)."""

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hub.store.db import normalize_url
from hub.testing.store import throwaway_database

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "floor.py"
SERVER = os.environ.get("HUB_DATABASE_URL", "")

pytestmark = [
    pytest.mark.skipif(not SERVER.startswith("postgres"), reason="the floor is measured on PostgreSQL"),
    pytest.mark.skipif(not (shutil.which("pg_dump") and shutil.which("psql")), reason="needs pg_dump and psql"),
]

#: A child created before its parent (so catalogue order puts it first), a self-reference,
#: a second schema, JSON, a unique key and an empty table.
SCHEMA = """
CREATE TABLE a_child (id bigserial PRIMARY KEY, parent_id bigint NOT NULL, doc jsonb, name text UNIQUE);
CREATE TABLE z_parent (id bigint PRIMARY KEY, up bigint REFERENCES z_parent (id));
ALTER TABLE a_child ADD FOREIGN KEY (parent_id) REFERENCES z_parent (id);
CREATE SCHEMA crm;
CREATE TABLE crm.customers (id int PRIMARY KEY, phone text);
CREATE TABLE empty_one (id int);
INSERT INTO z_parent SELECT g, g % 50 + 1 FROM generate_series(1, 50) g;
INSERT INTO a_child (parent_id, doc, name) SELECT g % 50 + 1, jsonb_build_object('n', g, '名', '张伟'), 'c' || g
  FROM generate_series(1, 200) g;
INSERT INTO crm.customers SELECT g, '1380013' || lpad(g::text, 4, '0') FROM generate_series(1, 30) g;
"""


def load_bench(path: Path = BENCH):
    """A benchmark script as a module (they live outside the package)."""
    spec = importlib.util.spec_from_file_location(f"hub_{path.stem}_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # a dataclass looks its module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def source(tmp_path):
    url, drop = throwaway_database(SERVER, tmp_path, prefix="hub_floortest")
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        conn.execute(text(SCHEMA))
    yield url, engine
    engine.dispose()
    drop()


def databases(engine) -> set[str]:
    with engine.connect() as conn:
        return {name for (name,) in conn.execute(text("SELECT datname FROM pg_database"))}


def counts(engine) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                     for t in ("z_parent", "a_child", "crm.customers", "empty_one"))


@pytest.mark.parametrize("foreign_keys", [True, False])
def test_every_row_is_copied_parents_first_and_the_copy_is_dropped(source, foreign_keys):
    floor = load_bench()
    url, engine = source
    before = databases(engine)
    got = floor.measure({"src": url}, records=100, foreign_keys=foreign_keys, read={"read": url})
    assert got.rows == {"src.z_parent": 50, "src.a_child": 200, "src.crm.customers": 30}
    assert set(got.seconds) == {*got.rows, "read (read)", "commit"}
    assert got.rate > 0 and got.foreign_keys is foreign_keys
    assert counts(engine) == (50, 200, 30, 0)  # the measured database is left as it was
    assert databases(engine) == before  # the scratch copy is gone
    report = floor.report(got)
    assert "280 rows (2.8 per record)" in report and "src.a_child" in report


def test_without_foreign_keys_the_copy_has_none(source):
    """The second measurement really drops them: the copy it times takes an orphan row, which
    the copy with its foreign keys refuses (and is dropped all the same)."""
    floor = load_bench()
    url, engine = source
    with engine.begin() as conn:  # an orphan, its foreign-key trigger off for this session
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("INSERT INTO a_child (parent_id, name) VALUES (999, 'orphan')"))
    before = databases(engine)
    got = floor.measure({"src": url}, records=1, foreign_keys=False)
    assert got.rows["src.a_child"] == 201
    with pytest.raises(Exception, match="foreign key"):
        floor.measure({"src": url}, records=1)
    assert databases(engine) == before


def test_the_door_floor_commits_each_body_once(tmp_path, monkeypatch):
    """``webhooks.py --floor``'s app: every answered body is a committed row of the
    inbox-shaped table, a repeated body is one row (the inbox's dedupe key)."""
    from werkzeug.test import Client

    from hub.store import Database

    bench = load_bench(BENCH.parent / "webhooks.py")
    url, drop = throwaway_database(SERVER, tmp_path, prefix="hub_floortest")
    db = Database(url)
    try:
        db.migrate()
        with db.engine.begin() as conn:
            conn.execute(text(f"CREATE TABLE {bench.FLOOR_TABLE} (LIKE inbox INCLUDING ALL)"))
        monkeypatch.setenv("HUB_BENCH_FLOOR_DB", db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False))
        client = Client(bench.floor_app())
        answers = [client.post("/webhooks/wecom", data=body) for body in (b"<xml>1</xml>", b"<xml>2</xml>", b"<xml>1</xml>")]
        assert [(r.status_code, r.data) for r in answers] == [(200, b"success")] * 3
        with db.engine.connect() as conn:  # another connection: committed, not just sent
            rows = conn.execute(text(f"SELECT connector, payload FROM {bench.FLOOR_TABLE} ORDER BY id")).all()
        assert rows == [("wecom", {"body": "<xml>1</xml>"}), ("wecom", {"body": "<xml>2</xml>"})]
    finally:
        db.dispose()
        drop()
