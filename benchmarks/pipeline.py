"""End-to-end sync throughput: a CRM table → map → resolve → store → outbox → a SQL sink.

    .venv/bin/python benchmarks/pipeline.py --backend sqlite     --rows 100000 [--batch 500] [--repeat 3]
    .venv/bin/python benchmarks/pipeline.py --backend postgresql --rows 100000 [--batch 500] [--repeat 3]
    .venv/bin/python benchmarks/pipeline.py --backend postgresql --compare --rows 100000,1000000 --repeat 2

``--compare`` (PostgreSQL) runs, interleaved on the same source rows and fresh targets each
time: the whole pipeline (CRM table → hub → PostgreSQL target, one worker: inline sync in
one process), the hub's side alone (``--no-deliver``) and dlt's default ``sql_table``
pipeline into PostgreSQL (``pip install -e '.[bench]'``; skipped with a message when dlt is
missing), then prints rows/s and peak RSS side by side per row count, the hub / dlt ratio,
and the machine's load average before and after (other processes share the cores: compare
the ratio, interleaved, more than the absolute figures). With ``--floor`` it also measures,
after the first hub runs, what PostgreSQL alone needs to store the rows each of them left
(``benchmarks/floor.py``), and prints that floor beside its rate and its target.
``--contenders`` may also name ``workers=N``: the same sync through the queue, as
deployed — N ``hub worker`` processes and ``hub sync``, which follows the run until every
record is processed and delivered — to see what a second worker adds on the machine at hand
(interleaved like the rest; the ratio of N workers to the fewest is printed).

Generates a CRM ``customers`` table (id, name, phone, email, tier, city, is_deleted,
updated_at; Chinese names, mobiles in the shapes CRMs store them) in a *source* database,
configures a hub with two ``sql`` connector instances — ``crm_src`` streaming that table and
``crm_dst`` upserting contacts into an empty ``customers`` table of a *target* database — and
runs ``hub.pipeline.inline.sync_inline`` (pull → process → deliver per committed batch).

Backends: ``sqlite`` puts the three databases (source, hub, target) in SQLite files in a
temporary directory; ``postgresql`` creates three throw-away databases on the server of
``--pg-url`` / ``HUB_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
and drops them afterwards.

The data: every "unit" below is one person, so the expected number of contacts is the
number of units.

* ~85% single rows: unique mobile, unique e-mail (70%) or none;
* ~10% of rows share a phone in groups of 2–3 (family members, duplicate CRM entries):
  the later rows attach to the first row's contact;
* ~3% of rows are bridges: two single rows A and B plus a row carrying A's phone and B's
  e-mail; when the bridge is read after both, A and B merge (a ``merge_edges`` row);
* ~1% carry a block-listed placeholder phone (13800138000 …) that must merge nobody.

Shared rows are spread over a window of ``--window`` rows (several batches), so merges and
attachments happen across batches, against contacts already in the store. The benchmark's
inbound mapping extends the shipped ``sql.rows.yaml`` with the e-mail and without the
``crm_id`` identity: with a strong ``crm_id`` per row, two rows sharing a phone are two CRM
ids — a review conflict, never a merge (``--crm-id`` keeps it, then expect conflicts).

The sync runs in a child process, so its peak RSS (``ru_maxrss``) is the pipeline's alone,
not the generator's. Printed: end-to-end records/s, per-stage seconds, peak RSS (and the
tracemalloc peak of Python objects with ``--tracemalloc``, which slows the run ~2×, so it is
a separate run and its time is not the reported one), then a correctness check:

* live contacts == units generated (no missed merge, no wrong merge);
* every source row's link lies on the contact of its unit (read from the hub's links);
* every live contact has a target row, and target rows == links written to the target
  (a merge of two contacts that were both delivered already leaves two target rows — the
  hub never deletes in a destination — reported as ``stale``).

``--no-deliver`` measures the hub's side alone (outbox rows stay pending); ``--profile FILE``
adds a cProfile run; ``--sql-times FILE`` writes the wall time spent in each statement text
(server time plus the driver's adaptation of the parameters), biggest first. On a PostgreSQL server with autovacuum off (as on the shared dev box)
the run ANALYZEs the hub's database every ``--analyze-every`` seconds, as autovacuum would;
without statistics identity lookups degrade to scans of every identity of a kind.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import floor  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "晓东", "雨欣", "子涵", "浩然", "欣怡", "梓萱", "建国", "淑芬"]
CITIES = ["上海", "杭州", "深圳", "北京", "成都", "广州", "南京", "武汉", "苏州", "西安", "重庆", "天津", "长沙", "郑州"]
TIERS = ["普通会员", "普通会员", "普通会员", "银卡", "银卡", "金卡", "钻石卡"]
PREFIXES = ["139", "138", "137", "186", "158", "152", "135", "188", "177", "150"]
DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "gmail.com", "foxmail.com", "example.cn"]
PLACEHOLDERS = ["13800138000", "00000000000", "138-0013-8000", "12345678901"]
T0 = datetime(2025, 1, 1, 9, 0, 0)

MAPPING = """\
# Benchmark: the shipped customers mapping plus the e-mail, without the strong crm_id
# (so rows sharing a phone merge instead of becoming review conflicts).
extends: sql.rows.yaml
direction: inbound
connector: sql
stream: rows
fields:
  {crm_id}
  email: {{from: email, transforms: [{{email: {{on_invalid: null}}}}]}}
"""

SOURCE_DDL = {
    "sqlite": """CREATE TABLE customers (
        id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, phone TEXT, email TEXT, tier TEXT, city TEXT,
        is_deleted INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL)""",
    "postgresql": """CREATE TABLE customers (
        id SERIAL PRIMARY KEY, name VARCHAR(64) NOT NULL, phone VARCHAR(32), email VARCHAR(128), tier VARCHAR(16),
        city VARCHAR(16), is_deleted BOOLEAN NOT NULL DEFAULT FALSE, updated_at TIMESTAMP(6) NOT NULL)""",
}
TARGET_DDL = {
    "sqlite": """CREATE TABLE customers (
        id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, phone TEXT, tier TEXT, city TEXT, updated_at TEXT)""",
    "postgresql": """CREATE TABLE customers (
        id SERIAL PRIMARY KEY, name VARCHAR(64), phone VARCHAR(32), tier VARCHAR(16), city VARCHAR(16),
        updated_at TIMESTAMP(6))""",
}


# -- data -----------------------------------------------------------------------------------
class Generator:
    """Rows in windows of ``window``; each unit (one person) is one expected contact."""

    def __init__(self, seed: int = 7, window: int = 5000):
        self.rnd = random.Random(seed)
        self.window = window
        self.phones = 0
        self.emails = 0
        self.units = 0

    def phone(self) -> tuple[str, str]:
        """A unique valid mobile, written the way CRMs store it (normalised: +86…)."""
        k = self.phones
        self.phones += 1
        mobile = PREFIXES[k % 10] + f"{((k // 10) * 48271 + 1000) % 10**8:08d}"
        shape = self.rnd.random()
        if shape < 0.7:
            raw = mobile
        elif shape < 0.8:
            raw = f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"
        elif shape < 0.9:
            raw = f"+86 {mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
        else:
            raw = "86" + mobile
        return raw, mobile

    def email(self) -> str:
        self.emails += 1
        return f"c{self.emails}.{self.rnd.randrange(1000)}@{self.rnd.choice(DOMAINS)}"

    def person(self, phone: str | None, email: str | None) -> dict:
        rnd = self.rnd
        return {"name": rnd.choice(SURNAMES) + rnd.choice(GIVEN), "phone": phone, "email": email,
                "tier": rnd.choice(TIERS), "city": rnd.choice(CITIES) + ("" if rnd.random() > 0.05 else " ")}

    def _window(self, size: int) -> list[tuple[int, dict]]:
        """``(unit, row)`` pairs, shuffled."""
        rnd = self.rnd
        out: list[tuple[int, dict]] = []
        while len(out) < size:
            unit = self.units
            self.units += 1
            r = rnd.random() if size - len(out) >= 3 else 1.0  # exactly ``size`` rows, whole units
            if r < 0.04:  # a family / duplicate entries: 2–3 rows, one phone
                raw, _ = self.phone()
                for _ in range(rnd.choice((2, 3))):
                    out.append((unit, self.person(raw, self.email() if rnd.random() < 0.7 else None)))
            elif r < 0.05:  # bridge: A(pa, ea), B(pb, eb), and a row (pa, eb) joining them
                pa, _ = self.phone()
                pb, _ = self.phone()
                ea, eb = self.email(), self.email()
                out += [(unit, self.person(pa, ea)), (unit, self.person(pb, eb)), (unit, self.person(pa, eb))]
            elif r < 0.06:  # a placeholder phone: block-listed or invalid, merges nobody
                out.append((unit, self.person(rnd.choice(PLACEHOLDERS), self.email() if rnd.random() < 0.5 else None)))
            else:
                raw, _ = self.phone()
                out.append((unit, self.person(raw, self.email() if rnd.random() < 0.7 else None)))
        rnd.shuffle(out)
        return out

    def rows(self, n: int):
        """Yield ``(unit, row)`` for ``n`` rows, window by window."""
        made = 0
        while made < n:
            chunk = self._window(min(self.window, n - made))
            yield from chunk
            made += len(chunk)


def fill_source(engine, backend: str, n: int, window: int) -> tuple[int, str]:
    """Insert ``n`` customers; return (expected contacts, path of the row→unit file)."""
    from sqlalchemy import text

    gen = Generator(window=window)
    with engine.begin() as conn:
        conn.execute(text(SOURCE_DDL[backend]))
        conn.execute(text("CREATE INDEX customers_updated_at_id ON customers (updated_at, id)"))
    units_file = tempfile.NamedTemporaryFile("w", suffix=".units", delete=False)
    stmt = text("INSERT INTO customers (id, name, phone, email, tier, city, updated_at) "
                "VALUES (:id, :name, :phone, :email, :tier, :city, :updated_at)")
    buf: list[dict] = []
    for i, (unit, row) in enumerate(gen.rows(n), start=1):
        stamp = T0 + timedelta(seconds=i // 3, microseconds=0)  # several rows per second
        row.update(id=i, updated_at=stamp.strftime("%Y-%m-%d %H:%M:%S") if backend == "sqlite" else stamp)
        buf.append(row)
        units_file.write(f"{unit}\n")
        if len(buf) >= 10_000:
            with engine.begin() as conn:
                conn.execute(stmt, buf)
            buf = []
    if buf:
        with engine.begin() as conn:
            conn.execute(stmt, buf)
    units_file.close()
    return gen.units, units_file.name


# -- databases ------------------------------------------------------------------------------
class Workspace:
    """Source, hub and target databases on one backend."""

    def __init__(self, backend: str, pg_url: str, tmp: str):
        self.backend, self.pg_url, self.tmp = backend, pg_url, tmp
        self.created: list[str] = []

    def url(self, role: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp}/{role}.db"
        from sqlalchemy.engine import make_url
        from hub.store.db import normalize_url

        name = f"hub_pipebench_{role}_{os.getpid()}"
        return make_url(normalize_url(self.pg_url)).set(database=name).render_as_string(hide_password=False)

    def fresh(self, role: str) -> str:
        """An empty database for ``role``."""
        url = self.url(role)
        if self.backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.tmp}/{role}.db{suffix}").unlink(missing_ok=True)
            return url
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url
        from hub.store.db import normalize_url

        name = make_url(url).database
        admin = create_engine(make_url(normalize_url(self.pg_url)), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        if name not in self.created:
            self.created.append(name)
        return url

    def drop_all(self) -> None:
        if self.backend != "postgresql" or not self.created:
            return
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url
        from hub.store.db import normalize_url

        admin = create_engine(make_url(normalize_url(self.pg_url)), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare_hub(ws: "Workspace", args, tmp: str, src_url: str, dst_url: str, crm_id: bool = False) -> tuple[str, Path]:
    """A fresh, migrated hub database, the empty target table in ``dst_url`` and the
    config joining them; the hub's URL and the config's path."""
    from sqlalchemy import create_engine, text

    from hub.store import Database
    from hub.store.db import normalize_url

    hub_url = ws.fresh("hub")
    db = Database(hub_url)
    db.migrate()
    db.dispose()
    dst = create_engine(normalize_url(dst_url))
    with dst.begin() as conn:
        conn.execute(text(TARGET_DDL[args.backend]))
    dst.dispose()
    return hub_url, write_config(tmp, hub_url, src_url, dst_url, args.batch, args.redis_url, crm_id)


def write_config(tmp: str, hub_url: str, src_url: str, dst_url: str, batch: int, redis_url: str, crm_id: bool) -> Path:
    mapping = Path(tmp) / "bench.rows.yaml"
    mapping.write_text(MAPPING.format(crm_id="" if crm_id else "crm_id: null"), encoding="utf-8")
    outbound = ROOT / "mappings" / "sql.rows.out.yaml"
    path = Path(tmp) / "hub.yaml"
    path.write_text(json.dumps({
        "hub": {"database_url": hub_url, "redis_url": redis_url, "var_dir": f"{tmp}/var", "batch_size": batch,
                "log_level": "WARNING"},
        "connectors": {
            "crm_src": {
                "type": "sql",
                "config": {"url": src_url, "batch_size": batch, "timezone": "Asia/Shanghai",
                           "streams": {"rows": {"table": "customers", "key": "id", "cursor_column": "updated_at",
                                                "deleted_column": "is_deleted"}}},
                "streams": {"rows": {"mapping": str(mapping)}},
            },
            "crm_dst": {
                "type": "sql",
                "config": {"url": dst_url, "batch_size": batch,
                           "sinks": {"rows": {"table": "customers", "key": "id", "columns": ["name", "phone", "tier", "city"],
                                              "updated_at_column": "updated_at"}}},
                "sinks": {"rows": {"mapping": str(outbound)}},
            },
        },
    }, ensure_ascii=False, indent=1), encoding="utf-8")  # JSON is YAML
    return path


# -- the measured run (child process) ---------------------------------------------------------
def start_autoanalyze(url: str, every: float):
    """Stand in for autovacuum's ANALYZE on a server that has autovacuum off.

    Without statistics PostgreSQL plans ``value = ANY(:500 values)`` as a scan of every
    identity of the kind, so lookups grow with the store — an artefact of a server no
    production hub runs on. Like autovacuum (``autovacuum_naptime``), analyse every
    ``every`` seconds, from its own connection. Returns (stop event, run counter)."""
    import threading

    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if conn.execute(text("SHOW autovacuum")).scalar() == "on":
            engine.dispose()
            return None, [0]
    stop, runs = threading.Event(), [0]

    def loop() -> None:
        while not stop.wait(every):
            with engine.connect() as conn:
                conn.execute(text("ANALYZE"))
            runs[0] += 1
        engine.dispose()

    threading.Thread(target=loop, daemon=True).start()
    return stop, runs


def child(config_path: str, use_tracemalloc: bool, profile: str | None, no_deliver: bool = False,
          analyze_every: float = 0) -> None:
    """Run the sync once and print one JSON line with the figures."""
    import logging

    import hub.pipeline.inline as inline
    import hub.pipeline.process as process
    import hub.pipeline.pull as pull_mod
    from hub.config import load_config
    from hub.runtime import Runtime

    logging.disable(logging.INFO)  # merges log at INFO; the benchmark measures the pipeline
    runtime = Runtime(load_config(config_path, env={}))
    stages = {"map": 0.0, "resolve_apply": 0.0, "outbox": 0.0, "deliver": 0.0, "ingest": 0.0, "process_total": 0.0}

    def timed(name, func):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                stages[name] += time.perf_counter() - t
        return wrapper

    process.apply_batch = timed("resolve_apply", process.apply_batch)
    process._write_outbox = timed("outbox", process._write_outbox)
    process_inbox = process.process_inbox
    inline.process_inbox = timed("process_total", process_inbox)
    if no_deliver:  # profiling the hub's side only: outbox rows stay pending
        from hub.pipeline.deliver import DeliveryCounts

        inline.deliver = timed("deliver", lambda runtime, ids, **kw: DeliveryCounts())
    else:
        inline.deliver = timed("deliver", inline.deliver)
    pull_mod.store_records = timed("ingest", pull_mod.store_records)
    mapping = runtime.mapping("crm_src", stream="rows")  # compile before the clock starts
    mapping.apply_many = timed("map", mapping.apply_many)
    runtime.mapping("crm_dst", sink="rows")
    with runtime.db.session():
        pass

    stop_analyze, analyzed = None, [0]
    if analyze_every and runtime.db.dialect == "postgresql":
        stop_analyze, analyzed = start_autoanalyze(runtime.db.url, analyze_every)
    sql_times = _time_statements() if os.environ.get("HUB_BENCH_SQL_TIMES") else None
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if use_tracemalloc:
        import tracemalloc

        tracemalloc.start()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage0.ru_utime + usage0.ru_stime
    started = time.perf_counter()
    totals = inline.sync_inline(runtime, "crm_src", "rows")
    elapsed = time.perf_counter() - started
    if stop_analyze is not None:
        stop_analyze.set()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    peak_py = None
    if use_tracemalloc:
        import tracemalloc

        peak_py = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    runtime.close()
    if sql_times is not None:
        ranked = sorted(sql_times.items(), key=lambda kv: -kv[1][1])
        Path(os.environ["HUB_BENCH_SQL_TIMES"]).write_text(
            "".join(f"{t:8.3f} s {n:6d}×  {sql}\n" for sql, (n, t) in ranked), encoding="utf-8")
    after_commit = stages["process_total"] + stages["deliver"]
    stages["pull"] = elapsed - after_commit - stages["ingest"]  # source reads, cursor, runs, commits
    stages["process_other"] = stages["process_total"] - stages["map"] - stages["resolve_apply"] - stages["outbox"]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"elapsed": elapsed, "cpu": usage.ru_utime + usage.ru_stime - cpu0, "totals": totals, "stages": stages, "base_rss_kb": base_rss,
                      "peak_rss_kb": peak_rss, "tracemalloc_peak": peak_py, "analyzed": analyzed[0]}))


def _time_statements() -> dict[str, list]:
    """``--sql-times``: wall time per statement text (its first 160 characters), measured
    around psycopg's ``execute`` — the server's time plus the driver's adaptation."""
    import psycopg

    times: dict[str, list] = {}
    original = psycopg.Cursor.execute

    def execute(self, query, params=None, **kw):
        t = time.perf_counter()
        try:
            return original(self, query, params, **kw)
        finally:
            text = query if isinstance(query, str) else query.decode() if isinstance(query, bytes) else str(query)
            slot = times.setdefault(" ".join(text.split())[:160], [0, 0.0])
            slot[0] += 1
            slot[1] += time.perf_counter() - t
    psycopg.Cursor.execute = execute
    return times


def run_child(config: Path, use_tracemalloc: bool = False, profile: str | None = None, no_deliver: bool = False,
              analyze_every: float = 0) -> dict:
    cmd = [sys.executable, __file__, "--child", str(config), "--analyze-every", str(analyze_every)]
    if no_deliver:
        cmd.append("--no-deliver")
    if use_tracemalloc:
        cmd.append("--tracemalloc")
    if profile:
        cmd += ["--profile", profile]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=str(ROOT))
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no result from the child run:\n{out.stdout}\n{out.stderr}")


def _proc_stat(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and peak RSS in KiB of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    hwm = next((int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                if line.startswith("VmHWM:")), 0)
    return cpu, hwm


def run_workers(config: Path, workers: int, redis_url: str, hub_url: str, tmp: str, analyze_every: float = 0,
                timeout: float = 7200) -> dict:
    """The same sync through the queue: ``workers`` ``hub worker`` processes (warm, as
    deployed), then ``hub sync crm_src.rows``, which enqueues the pull and follows it until
    every record is processed and delivered. The pull job commits pages and queues a process
    job per page; the workers share those (the pull holds one while it runs)."""
    from redis import Redis
    from rq import Worker

    env = {**os.environ, "HUB_CONFIG": str(config), "HUB_LOG_LEVEL": "WARNING"}
    hub = [sys.executable, "-m", "hub", "--config", str(config)]
    log = open(Path(tmp) / "workers.log", "ab")
    conn = Redis.from_url(redis_url)
    before = {w.name for w in Worker.all(connection=conn)}
    procs = [subprocess.Popen([*hub, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=str(ROOT),
                              start_new_session=True) for _ in range(workers)]
    stop_analyze = None
    try:
        deadline = time.monotonic() + 120
        while len({w.name for w in Worker.all(connection=conn)} - before) < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"the workers did not start; see {tmp}/workers.log")
            time.sleep(0.2)
        if analyze_every:
            stop_analyze, _ = start_autoanalyze(hub_url, analyze_every)
        cpu0 = sum(_proc_stat(p.pid)[0] for p in procs)
        started = time.perf_counter()
        out = subprocess.run([*hub, "sync", "crm_src.rows", "--timeout", str(timeout)], env=env, cwd=str(ROOT),
                             capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        stats = [_proc_stat(p.pid) for p in procs]
        if out.returncode:
            from sqlalchemy import create_engine, text

            from hub.store.db import normalize_url

            engine = create_engine(normalize_url(hub_url))
            with engine.connect() as conn:
                errors = conn.execute(text("SELECT id, error FROM inbox WHERE status = 'rejected' ORDER BY id LIMIT 5")).all()
            engine.dispose()
            raise RuntimeError(f"hub sync failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}\n"
                               + "\n".join(f"inbox {i}: {e}" for i, e in errors))
    finally:
        if stop_analyze is not None:
            stop_analyze.set()
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()
    return {"elapsed": elapsed, "cpu": sum(c for c, _ in stats) - cpu0, "peak_rss_kb": max(h for _, h in stats)}


def dlt_child(src_url: str, dst_url: str, workdir: str) -> None:
    """dlt's default ``sql_table`` pipeline (SQLAlchemy backend) from the source table into
    PostgreSQL; one JSON line with the elapsed time and peak RSS."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("DLT_DATA_DIR", workdir)
    import dlt
    from dlt.sources.sql_database import sql_table
    from sqlalchemy.engine import make_url

    from hub.store.db import normalize_url

    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    dst = make_url(dst_url)
    credentials = {"database": dst.database, "username": dst.username or "postgres", "password": dst.password or "",
                   "host": dst.host or "127.0.0.1", "port": dst.port or 5432}
    pipeline = dlt.pipeline(pipeline_name=f"bench_{os.getpid()}", pipelines_dir=workdir,
                            destination=dlt.destinations.postgres(credentials=credentials), dataset_name="crm")
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    info = pipeline.run(sql_table(credentials=normalize_url(src_url), table="customers"))
    elapsed = time.perf_counter() - started
    info.raise_on_failed_jobs()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - usage0.ru_utime - usage0.ru_stime
    print(json.dumps({"elapsed": elapsed, "cpu": cpu, "base_rss_kb": base_rss,
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def dlt_available() -> str | None:
    """None when dlt with its PostgreSQL destination and sql_database source imports, else why not."""
    try:
        import dlt  # noqa: F401
        from dlt.sources.sql_database import sql_table  # noqa: F401
        import psycopg2  # noqa: F401  (dlt's postgres destination driver)
    except ImportError as exc:
        return f"dlt is not installed ({exc.name}): pip install -e '.[bench]' to compare with dlt"
    return None


def run_dlt(src_url: str, dst_url: str, workdir: str) -> dict:
    cmd = [sys.executable, __file__, "--dlt-child", src_url, dst_url, workdir]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT))
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"dlt run failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def dst_rows(dst_url: str, table: str) -> int:
    from sqlalchemy import create_engine, text

    from hub.store.db import normalize_url

    engine = create_engine(normalize_url(dst_url))
    with engine.connect() as conn:
        n = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return n


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} (1/5 min, {os.cpu_count()} cores)"


# -- checks ---------------------------------------------------------------------------------
def verify(hub_url: str, dst_url: str, expected: int, units_path: str, with_target: bool = True) -> dict:
    from sqlalchemy import create_engine, func, select, text

    from hub.store.db import normalize_url
    from hub.store.models import Contact, Link, MergeConflict, MergeEdge

    hub = create_engine(normalize_url(hub_url))
    dst = create_engine(normalize_url(dst_url))
    with hub.connect() as conn:
        live = conn.execute(select(func.count()).select_from(Contact).where(Contact.merged_into.is_(None))).scalar_one()
        merges = conn.execute(select(func.count()).select_from(MergeEdge)).scalar_one()
        conflicts = conn.execute(select(func.count()).select_from(MergeConflict)).scalar_one()
        dst_links = conn.execute(select(func.count()).select_from(Link).where(Link.connector == "crm_dst")).scalar_one()
        uncovered = conn.execute(text(
            "SELECT count(*) FROM contacts c WHERE c.merged_into IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM links l WHERE l.contact_id = c.id AND l.connector = 'crm_dst')")).scalar_one()
        # Every source row's contact must be its unit's contact, and units must not share one.
        unit_contact: dict[int, int] = {}
        contact_unit: dict[int, int] = {}
        wrong = 0
        with open(units_path) as f:
            units = [int(line) for line in f]
        rows = conn.execution_options(yield_per=20_000).execute(
            select(Link.native_id, Link.contact_id).where(Link.connector == "crm_src"))
        seen = 0
        for native_id, cid in rows:
            seen += 1
            unit = units[int(native_id) - 1]
            if unit_contact.setdefault(unit, cid) != cid or contact_unit.setdefault(cid, unit) != unit:
                wrong += 1
    with dst.connect() as conn:
        target_rows = conn.execute(text("SELECT count(*) FROM customers")).scalar_one()
    hub.dispose()
    dst.dispose()
    target_ok = target_rows == dst_links and uncovered == 0
    if not with_target:
        target_ok, target_rows = True, None
    return {"live_contacts": live, "expected_contacts": expected, "merges": merges, "conflicts": conflicts,
            "source_links": seen, "rows_on_wrong_contact": wrong, "target_rows": target_rows, "target_links": dst_links,
            "contacts_without_target_row": uncovered if with_target else None,
            "stale_target_rows": target_rows - live if with_target else None,
            "ok": live == expected and wrong == 0 and seen == len(units) and target_ok}


LABELS = {"hub": "hub end-to-end (1 worker)", "hub_side": "hub side alone (--no-deliver)", "dlt": "dlt sql_table (default)"}
TARGETS = {"hub": 10_000, "hub_side": 20_000}


def label(contender: str) -> str:
    """``hub``, ``hub_side``, ``dlt`` or ``workers=N`` as printed."""
    if contender.startswith("workers="):
        return f"hub, {contender.split('=')[1]} queued worker(s)"
    return LABELS[contender]


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def compare(args, sizes: list[int]) -> None:
    """The contenders on the same rows, interleaved (hub, hub side, dlt, hub, …), per size."""
    from sqlalchemy import create_engine

    from hub.store.db import normalize_url

    no_dlt = dlt_available()
    failed = False
    summary: list[tuple[int, dict[str, list[tuple[float, float, bool]]]]] = []
    with tempfile.TemporaryDirectory(prefix="hub-pipebench-") as tmp:
        ws = Workspace(args.backend, args.pg_url, tmp)
        try:
            if no_dlt:
                print(f"dlt: skipped — {no_dlt}")
            for n in sizes:
                src_url = ws.fresh("src")
                engine = create_engine(normalize_url(src_url))
                expected, units_path = fill_source(engine, args.backend, n, args.window)
                engine.dispose()
                print(f"\nsource: {n} customers, {expected} people, batch {args.batch}  ({load()})", flush=True)
                runs: dict[str, list[tuple[float, float, bool]]] = {
                    name: [] for name in dict.fromkeys(["hub", "hub_side", "dlt", *args.contenders.split(",")])}
                floors: dict[str, tuple] = {}
                for i in range(args.repeat):
                    for name in args.contenders.split(","):
                        if name == "dlt" and no_dlt:
                            continue
                        before = load()
                        dst_url = ws.fresh("dst")
                        if name == "dlt":
                            res = run_dlt(src_url, dst_url, f"{tmp}/dlt")
                            ok = dst_rows(dst_url, "crm.customers") == n
                        else:
                            hub_url, config = prepare_hub(ws, args, tmp, src_url, dst_url)
                            if name.startswith("workers="):
                                res = run_workers(config, int(name.split("=")[1]), args.redis_url, hub_url, tmp, args.analyze_every)
                            else:
                                res = run_child(config, no_deliver=name == "hub_side", analyze_every=args.analyze_every)
                            ok = verify(hub_url, dst_url, expected, units_path, with_target=name != "hub_side")["ok"]
                        failed |= not ok
                        if args.floor and name != "dlt" and i == 0:  # the floor of the rows this run stored
                            stored = {"hub": hub_url, "target": dst_url} if name == "hub" else {"hub": hub_url}
                            floors[name] = (floor.measure(stored, n, read={"source": src_url} if name == "hub" else {}),
                                            floor.measure(stored, n, foreign_keys=False))
                        rate, rss = n / res["elapsed"], res["peak_rss_kb"] / 1024
                        runs[name].append((rate, rss, ok))
                        cpu = f"client CPU {1e6 * res['cpu'] / n:5.0f} µs/row" if res.get("cpu") is not None else ""
                        print(f"  run {i + 1}  {label(name):<30} {rate:8.0f} rows/s  {res['elapsed']:8.1f} s  {cpu}  "
                              f"peak RSS {rss:5.0f} MiB  {'ok' if ok else 'CHECK FAILED'}  (before: {before})", flush=True)
                Path(units_path).unlink(missing_ok=True)
                summary.append((n, runs, floors))
        finally:
            ws.drop_all()
    print(f"\nside by side (median of {args.repeat} interleaved runs; {load()} at the end)")
    print(f"  {'rows':>9}  {'contender':<30} {'rows/s':>8} {'range':>15} {'peak RSS':>9}  target")
    for n, runs, floors in summary:
        for name, got in runs.items():
            if not got:
                continue
            rates = [r for r, _, _ in got]
            target = TARGETS.get(name)
            verdict = "" if target is None else f"≥ {target:,}: {'met' if _median(rates) >= target else 'NOT met'}"
            print(f"  {n:>9}  {label(name):<30} {_median(rates):8.0f} {min(rates):7.0f}–{max(rates):<7.0f} "
                  f"{max(rss for _, rss, _ in got):6.0f} MiB  {verdict}")
            if name in floors:
                with_fks, without = floors[name]
                above = target is not None and with_fks.rate < target
                print(f"  {n:>9}    floor: PostgreSQL alone storing its rows {with_fks.rate:8.0f}  (without foreign keys "
                      f"{without.rate:,.0f})" + ("  — the target is above the floor" if above else ""))
        if runs["dlt"] and runs["hub"]:
            pairs = [h / d for (h, _, _), (d, _, _) in zip(runs["hub"], runs["dlt"])]
            ratio = _median([r for r, _, _ in runs["hub"]]) / _median([r for r, _, _ in runs["dlt"]])
            print(f"  {n:>9}  hub end-to-end / dlt: {ratio:.2f}× (per interleaved pair: "
                  f"{', '.join(f'{p:.2f}' for p in pairs)}; target ≥ 1.5×: {'met' if ratio >= 1.5 else 'NOT met'})")
            if "hub" in floors:
                needed = 1.5 * _median([r for r, _, _ in runs["dlt"]])
                print(f"  {n:>9}  1.5 × dlt is {needed:,.0f} rows/s: the end-to-end floor is {floors['hub'][0].rate:,.0f} "
                      f"(without foreign keys {floors['hub'][1].rate:,.0f})")
        queued = sorted((int(name.split("=")[1]), got) for name, got in runs.items() if name.startswith("workers=") and got)
        for (k, more), (one, base) in ((q, queued[0]) for q in queued[1:]):
            pairs = [m / b for (m, _, _), (b, _, _) in zip(more, base)]
            print(f"  {n:>9}  {k} queued workers / {one}: {_median([r for r, _, _ in more]) / _median([r for r, _, _ in base]):.2f}× "
                  f"(per interleaved pair: {', '.join(f'{p:.2f}' for p in pairs)})")
    for n, _, floors in summary:
        for name, (with_fks, without) in floors.items():
            print(f"\nfloor of the rows {label(name)} stored, {n} source rows (benchmarks/floor.py: each table's final rows "
                  f"COPYed into an empty copy of its schema, one connection, one transaction)")
            print(floor.report(with_fks, without))
    peaks = [rss for _, runs, _ in summary for name in ("hub", "hub_side") for _, rss, _ in runs[name]]
    if peaks:
        print(f"  peak RSS of the hub across {', '.join(str(n) for n, _, _ in summary)} rows: {max(peaks):.0f} MiB "
              f"(target ≤ 300 MB flat: {'met' if max(peaks) * 1.048576 <= 300 else 'NOT met'})")
    if failed:
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rows", default="100000",
                        help="source rows; a comma list (100000,1000000) runs each size (peak RSS across sizes)")
    parser.add_argument("--batch", type=int, default=500, help="rows per source page and per processing batch")
    parser.add_argument("--repeat", type=int, default=1, help="runs on fresh hub/target databases; best is reported")
    parser.add_argument("--window", type=int, default=5000, help="rows over which shared phones / bridges spread")
    parser.add_argument("--tracemalloc", action="store_true", help="one extra run measuring the Python heap peak")
    parser.add_argument("--profile", help="write a cProfile of one extra run to this file")
    parser.add_argument("--crm-id", action="store_true", help="keep the strong crm_id identity (conflicts, no merges)")
    parser.add_argument("--pg-url", default=os.environ.get("HUB_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default=os.environ.get("HUB_REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--no-deliver", action="store_true",
                        help="skip delivery (outbox rows stay pending): the hub's side alone; target checks are skipped")
    parser.add_argument("--analyze-every", type=float, default=15,
                        help="PostgreSQL with autovacuum off: ANALYZE the hub's database every N s, as autovacuum "
                             "would (0: never; ignored when autovacuum is on)")
    parser.add_argument("--compare", action="store_true",
                        help="PostgreSQL: hub end-to-end, hub side alone and dlt sql_table, interleaved, side by side")
    parser.add_argument("--contenders", default="hub,hub_side,dlt",
                        help="with --compare: which of hub (end-to-end), hub_side (--no-deliver), dlt, workers=N (end to "
                             "end through the queue: N `hub worker` processes and `hub sync`) to run, in this order")
    parser.add_argument("--floor", action="store_true",
                        help="with --compare: after the first hub runs, the floor of the rows they stored "
                             "(benchmarks/floor.py: PostgreSQL alone COPYing them; needs pg_dump and psql)")
    parser.add_argument("--sql-times", help="write the wall time per SQL statement text of the runs to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--dlt-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dlt_child:
        dlt_child(*args.dlt_child)
        return
    sizes = [int(n) for n in str(args.rows).split(",") if n.strip()]
    if args.compare:
        unknown = {c for c in args.contenders.split(",") if c not in LABELS and not re.fullmatch(r"workers=[1-9]\d*", c)}
        if unknown:
            sys.exit(f"--contenders: unknown {', '.join(sorted(unknown))} (choose from {', '.join(LABELS)}, workers=N)")
        if args.backend != "postgresql":
            sys.exit("--compare needs --backend postgresql (the contenders load into PostgreSQL)")
        if args.floor and (why := floor.pg_tools()):
            sys.exit(f"--floor: {why}")
        compare(args, sizes)
        return
    if len(sizes) > 1:
        sys.exit("several --rows sizes: use --compare")
    args.rows = sizes[0]
    if args.sql_times:
        os.environ["HUB_BENCH_SQL_TIMES"] = str(Path(args.sql_times).resolve())
    if args.child:
        child(args.child, args.tracemalloc, args.profile, args.no_deliver, args.analyze_every)
        return
    if args.crm_id:
        sys.exit("--crm-id: the correctness check expects merges; not supported by verify() yet")

    from sqlalchemy import create_engine

    from hub.store.db import normalize_url

    with tempfile.TemporaryDirectory(prefix="hub-pipebench-") as tmp:
        ws = Workspace(args.backend, args.pg_url, tmp)
        try:
            t = time.perf_counter()
            src_url = ws.fresh("src")
            engine = create_engine(normalize_url(src_url))
            expected, units_path = fill_source(engine, args.backend, args.rows, args.window)
            engine.dispose()
            print(f"source: {args.rows} customers, {expected} people, generated in {time.perf_counter() - t:.1f}s "
                  f"({args.backend}, batch {args.batch})", flush=True)

            def fresh_run(**kw) -> tuple[dict, str, str]:
                dst_url = ws.fresh("dst")
                hub_url, config = prepare_hub(ws, args, tmp, src_url, dst_url, args.crm_id)
                return run_child(config, no_deliver=args.no_deliver, analyze_every=args.analyze_every, **kw), hub_url, dst_url

            results = []
            for i in range(args.repeat):
                res, hub_url, dst_url = fresh_run()
                check = verify(hub_url, dst_url, expected, units_path, with_target=not args.no_deliver)
                results.append((res, check))
                rate = args.rows / res["elapsed"]
                print(f"  run {i + 1}: {res['elapsed']:7.2f}s  {rate:8.0f} records/s  client CPU {1e6 * res['cpu'] / args.rows:.0f} µs/row"
                      f"  peak RSS {res['peak_rss_kb'] / 1024:.0f} MiB"
                      f"  check {'ok' if check['ok'] else 'FAILED'}", flush=True)
            best, check = min(results, key=lambda rc: rc[0]["elapsed"])
            rates = [args.rows / r["elapsed"] for r, _ in results]
            st = best["stages"]
            print(f"\n{args.backend}  rows {args.rows}  batch {args.batch}")
            print(f"  end-to-end     {best['elapsed']:8.2f} s   {args.rows / best['elapsed']:8.0f} records/s (best of {len(results)}; "
                  f"runs {min(rates):.0f}–{max(rates):.0f}, spread {100 * (max(rates) - min(rates)) / max(rates):.0f}%)")
            for label, key in (("pull (read+cursor)", "pull"), ("ingest (inbox)", "ingest"), ("map", "map"),
                               ("resolve+apply", "resolve_apply"), ("outbox", "outbox"), ("process other", "process_other"),
                               ("deliver", "deliver")):
                print(f"  {label:<20} {st[key]:8.2f} s  {100 * st[key] / best['elapsed']:5.1f}%")
            print(f"  peak RSS       {best['peak_rss_kb'] / 1024:8.1f} MiB (after imports/setup {best['base_rss_kb'] / 1024:.1f} MiB, "
                  f"growth {(best['peak_rss_kb'] - best['base_rss_kb']) / 1024:.1f} MiB)")
            print(f"  totals         {best['totals']}")
            if best.get("analyzed"):
                print(f"  note           autovacuum is off on this server: the run ANALYZEd the hub database "
                      f"{best['analyzed']}× (every {args.analyze_every:g}s, --analyze-every), as autovacuum would")
            print(f"  check          {json.dumps(check)}")
            if args.tracemalloc:
                res, _, _ = fresh_run(use_tracemalloc=True)
                print(f"  tracemalloc    peak {res['tracemalloc_peak'] / 2**20:.1f} MiB of Python objects "
                      f"(separate run, {res['elapsed']:.1f}s under tracing)")
            if args.profile:
                res, _, _ = fresh_run(profile=args.profile)
                print(f"  profile        {args.profile} (separate run, {res['elapsed']:.1f}s under cProfile)")
            Path(units_path).unlink(missing_ok=True)
            if not check["ok"]:
                sys.exit(1)
        finally:
            ws.drop_all()


if __name__ == "__main__":
    main()
