"""The write floor of a schema: PostgreSQL alone storing the rows a run left behind.

    .venv/bin/python benchmarks/floor.py --records 20000 postgresql://postgres@127.0.0.1:5432/hub_x [URL …]

What any program that ends with these rows in these tables must at least spend on the
server: every table of each database given, its final rows COPYed (binary) into an empty
copy of the same schema — same indexes, unique keys, foreign keys — on one connection, in one
transaction, the rows read from a file first. No client work between rows, no lookups, no
updates, no commit per batch: the pipeline that wrote the rows did all of that too, and a
worker's batch is one transaction on one connection, so one worker cannot be faster than
this on the same server (several workers can use more of its cores). The floor bounds what
one worker can reach; it is not something to aim at.

Printed per database and table: rows, rows per record, seconds; then records/s for the whole
set, and again with the foreign keys dropped (what they cost). ``benchmarks/pipeline.py
--compare --floor`` and ``benchmarks/identity.py --floor`` measure the floor of their own runs'
rows beside their rates; this script measures any databases you kept.

Needs ``pg_dump`` and ``psql`` (PostgreSQL's client programs) to copy the schema exactly.
"""

from __future__ import annotations

import argparse
import graphlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.store.db import normalize_url  # noqa: E402

#: Tables of a database: ordinary and partitioned tables outside the system schemas.
TABLES_SQL = """
SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 2
"""
#: Foreign keys between tables: (referencing oid, referenced oid).
EDGES_SQL = "SELECT conrelid, confrelid FROM pg_constraint WHERE contype = 'f'"
#: ``ALTER TABLE … DROP CONSTRAINT …`` for every foreign key.
DROP_FKS_SQL = """
SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname)
FROM pg_constraint WHERE contype = 'f'
"""


#: Server settings that move the floor, printed with it.
SETTINGS = ("shared_buffers", "max_wal_size", "synchronous_commit", "fsync", "full_page_writes", "wal_level")


@dataclass
class Floor:
    """One measurement: seconds per table (``db.table``) and their row counts."""

    records: int
    foreign_keys: bool
    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    @property
    def rate(self) -> float:
        return self.records / self.total if self.total else float("inf")


def pg_tools() -> str | None:
    """Why the floor cannot be measured here, or None."""
    missing = [tool for tool in ("pg_dump", "psql") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not on PATH (PostgreSQL's client programs)" if missing else None


def _libpq(url: str, password: bool = True) -> str:
    parsed = make_url(normalize_url(url)).set(drivername="postgresql")
    return (parsed if password else parsed.set(password=None)).render_as_string(hide_password=False)


def _ordered_tables(conn) -> list[str]:
    """The tables, referenced ones before those that reference them (a COPY's foreign-key
    checks find their parents). A self-reference is checked at the end of its statement."""
    names = dict(conn.execute(TABLES_SQL).fetchall())
    order = graphlib.TopologicalSorter({oid: set() for oid in names})
    for child, parent in conn.execute(EDGES_SQL).fetchall():
        if child in names and parent in names and child != parent:
            order.add(child, parent)
    return [names[oid] for oid in order.static_order()]


def _spool(url: str, tables: list[str], folder: Path) -> dict[str, Path]:
    """Each table's rows, ``COPY … TO STDOUT (FORMAT BINARY)`` into a file (memory stays flat)."""
    files = {}
    with psycopg.connect(_libpq(url)) as conn:
        for i, table in enumerate(tables):
            path = folder / f"{i}.copy"
            with path.open("wb") as out, conn.cursor().copy(f"COPY {table} TO STDOUT (FORMAT BINARY)") as copy:
                for block in copy:
                    out.write(block)
            files[table] = path
    return files


def _clone_schema(url: str, name: str) -> str:
    """An empty database ``name`` on the same server with ``url``'s schema (``pg_dump
    --schema-only`` through ``psql``); its URL."""
    source = make_url(normalize_url(url))
    target = source.set(database=name)
    with psycopg.connect(_libpq(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    # the password in the environment, not on a command line (nor in an error that shows it)
    env = {**os.environ, **({"PGPASSWORD": source.password} if source.password else {})}
    dump = subprocess.run(["pg_dump", "--schema-only", "--no-owner", "--no-privileges", _libpq(url, password=False)],
                          check=True, capture_output=True, env=env)
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", _libpq(target.render_as_string(hide_password=False), password=False),
                    "-f", "-"], input=dump.stdout, check=True, capture_output=True, env=env)
    return target.render_as_string(hide_password=False)


def _drop(admin_url: str, name: str) -> None:
    with psycopg.connect(_libpq(admin_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(urls: dict[str, str], records: int, *, foreign_keys: bool = True, read: dict[str, str] | None = None) -> Floor:
    """The floor of the rows now in ``urls`` (``{label: URL}`` of PostgreSQL databases, one
    server or several); with ``read``, the time to read every row of those databases too (a
    source the run read)."""
    floor = Floor(records, foreign_keys)
    for label, url in (read or {}).items():
        with psycopg.connect(_libpq(url)) as conn:
            tables = _ordered_tables(conn)
        with tempfile.TemporaryDirectory(prefix="hub-floor-") as tmp:
            started = time.perf_counter()
            _spool(url, tables, Path(tmp))
            floor.seconds[f"{label} (read)"] = time.perf_counter() - started
    for label, url in urls.items():
        with psycopg.connect(_libpq(url)) as conn:
            tables = _ordered_tables(conn)
            floor.settings = floor.settings or {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in SETTINGS}
        with tempfile.TemporaryDirectory(prefix="hub-floor-") as tmp:
            files = _spool(url, tables, Path(tmp))
            scratch = f"{make_url(normalize_url(url)).database}_floor"
            copy_url = _clone_schema(url, scratch)
            try:
                with psycopg.connect(_libpq(copy_url)) as conn:
                    if not foreign_keys:
                        for (statement,) in conn.execute(DROP_FKS_SQL).fetchall():
                            conn.execute(statement)
                        conn.commit()
                    with conn.transaction():
                        for table in tables:
                            started = time.perf_counter()
                            cur = conn.cursor()
                            with files[table].open("rb") as data, cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                                while block := data.read(1 << 17):
                                    copy.write(block)
                            if cur.rowcount:
                                key = f"{label}.{table.removeprefix('public.')}"
                                floor.seconds[key] = time.perf_counter() - started
                                floor.rows[key] = cur.rowcount
                        committing = time.perf_counter()
                    floor.seconds["commit"] = floor.seconds.get("commit", 0.0) + time.perf_counter() - committing
            finally:
                _drop(url, scratch)
    return floor


def report(with_fks: Floor, without_fks: Floor | None = None, indent: str = "  ") -> str:
    """The floor as lines: per table, then the records/s with and without foreign keys."""
    lines = []
    rows = sum(n for n in with_fks.rows.values())
    for table, seconds in sorted(with_fks.seconds.items(), key=lambda kv: -kv[1]):
        n = with_fks.rows.get(table)
        per = f"{n:>10,} rows {n / with_fks.records:5.2f}/record" if n else " " * 32
        bare = without_fks.seconds.get(table) if without_fks else None
        lines.append(f"{indent}  {table:<44} {per}  {seconds:7.2f} s" + (f"   {bare:6.2f} s without FKs" if bare is not None else ""))
    lines.append(f"{indent}floor: {rows:,} rows ({rows / with_fks.records:.1f} per record) in {with_fks.total:.2f} s = "
                 f"{with_fks.rate:,.0f} records/s"
                 + (f"; without foreign keys {without_fks.total:.2f} s = {without_fks.rate:,.0f} records/s" if without_fks else ""))
    if with_fks.settings:
        lines.append(f"{indent}server: " + ", ".join(f"{k} {v}" for k, v in with_fks.settings.items()))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="+", help="PostgreSQL databases whose rows to copy (left unchanged)")
    parser.add_argument("--records", type=int, required=True, help="source records those rows stand for")
    parser.add_argument("--no-without-fks", action="store_true", help="skip the second copy without foreign keys")
    args = parser.parse_args()
    if why := pg_tools():
        sys.exit(f"floor: cannot measure — {why}")
    urls = {make_url(normalize_url(url)).database: url for url in args.urls}
    with_fks = measure(urls, args.records)
    without = None if args.no_without_fks else measure(urls, args.records, foreign_keys=False)
    print(report(with_fks, without, indent=""))


if __name__ == "__main__":
    main()
