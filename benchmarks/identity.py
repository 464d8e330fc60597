"""Identity resolution throughput and contact-history latency.

    .venv/bin/python benchmarks/identity.py                       # 1M records; history at 1M contacts / 10M events
    .venv/bin/python benchmarks/identity.py --records 50000 --history-contacts 100000 --history-events 1000000

**Resolution.** Resolves generated source records in batches (``apply_batch``, as the
pipeline's process step does) on a throw-away SQLite file, and on PostgreSQL when
``HUB_DATABASE_URL`` points at a server (a temporary database is created next to the given one
and dropped afterwards). Each backend runs in a forked child so its printed peak RSS is the
resolution's own. Records are generated lazily, a window at a time, so memory reflects the hub
and not the generator.

The data imitates three systems describing the same customers: a CRM record (crm_id +
phone), a WeCom external contact (external_userid + the same phone — the 30%-and-more overlap
between WeCom friends and CRM customers — a few with a second phone) and ad leads for half the
people (phone + e-mail, 5% of them the placeholder 13800138000 that must merge nobody). About
one person in twenty has a duplicate CRM record: two strong crm_ids on one phone, a merge
conflict for review. Records of a person arrive shuffled within a window of several batches.

**History** (PostgreSQL only): a second throw-away database is filled server-side with
``--history-contacts`` contacts (one phone each) and ``--history-events`` events from five
connectors, skewed so that a few contacts hold thousands of events and most hold a handful;
then ``--queries`` random contacts are looked up by phone and their first history page (50
events, newest first) read through ``hub.contacts.queries`` — the path the web API takes —
followed by the next page through the keyset cursor and a page filtered by event kind; and
the first and fifth page of a contact among the busiest 1%.
Prints p50/p95/p99 per query shape. Targets: ≥ 20k records/s resolution on PostgreSQL,
history p99 ≤ 20 ms. ``--floor``: after the PostgreSQL resolution, what PostgreSQL alone
needs to store the rows it left (``benchmarks/floor.py``), with and without foreign keys.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor  # noqa: E402

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from hub.canonical import CanonicalEvent, CanonicalRecord  # noqa: E402
from hub.contacts.apply import ApplyItem, apply_batch  # noqa: E402
from hub.contacts.queries import find_contact, history  # noqa: E402
from hub.identity import build_rules  # noqa: E402
from hub.identity_kinds import BUILTIN_KINDS  # noqa: E402
from hub.plugins import IdentityKindSpec, Registry  # noqa: E402
from hub.store import Database  # noqa: E402
from hub.store.db import normalize_url  # noqa: E402
from hub.store.models import Contact, MergeConflict  # noqa: E402

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
CONNECTORS = ("feiyu", "clink", "wecom", "udesk", "crm_main")
KINDS = ("lead_created", "call_inbound", "wecom_friend_added", "ticket_created", "wecom_message")


def person_records(person: int, rnd: random.Random) -> list[ApplyItem]:
    phone = f"139{person:08d}"
    ts = T0 + timedelta(minutes=person)
    items = [ApplyItem("crm_main", "contacts", str(person), CanonicalRecord(
        identities=[("crm_id", str(person)), ("phone", phone)],
        attributes={"name": f"客户{person}", "city": rnd.choice(["杭州", "上海", "北京"]), "tier": rnd.choice("ABC")},
        source_updated_at=ts,
        events=[CanonicalEvent("lead_created", ts, native_id=f"crm-{person}")],
    ))]
    ext = [("wecom_external_userid", f"wm{person:08d}"), ("phone", phone)]
    if rnd.random() < 0.1:
        ext.append(("phone", f"137{person:08d}"))
    items.append(ApplyItem("wecom", "external_contacts", f"wm{person:08d}", CanonicalRecord(
        identities=ext, attributes={"name": f"微信{person}"}, tags=["私域"],
        source_updated_at=ts + timedelta(minutes=1),
        events=[CanonicalEvent("wecom_friend_added", ts, native_id=f"add-{person}")],
    )))
    if rnd.random() < 0.5:
        lead_phone = "13800138000" if rnd.random() < 0.05 else phone
        items.append(ApplyItem("feiyu", "leads", f"L{person}", CanonicalRecord(
            identities=[("phone", lead_phone), ("email", f"p{person}@example.cn")],
            attributes={"city": "深圳"}, source_updated_at=ts + timedelta(minutes=2),
            events=[CanonicalEvent("lead_created", ts, native_id=f"L{person}")],
        )))
    if rnd.random() < 0.05:
        items.append(ApplyItem("crm_main", "contacts", f"{person}-dup", CanonicalRecord(
            identities=[("crm_id", f"{person}-dup"), ("phone", phone)], source_updated_at=ts,
        )))
    return items


def generate(n: int, batch: int, window: int = 5000, seed: int = 7):
    """``n`` records in batches; a person's records are shuffled within ``window`` records."""
    rnd = random.Random(seed)
    person = 0
    emitted = 0
    while emitted < n:
        chunk: list[ApplyItem] = []
        while len(chunk) < window:
            person += 1
            chunk.extend(person_records(person, rnd))
        rnd.shuffle(chunk)
        chunk = chunk[:n - emitted]
        emitted += len(chunk)
        for start in range(0, len(chunk), batch):
            yield chunk[start:start + batch]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def analyze(db: Database) -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def resolve(url: str, records: int, batch: int, analyze_every: float) -> None:
    db = Database(url)
    db.migrate()
    registry = Registry(identity_kinds={k.kind: IdentityKindSpec(k.kind, k.strong, k.max_per_contact, k.normalize)
                                        for k in BUILTIN_KINDS})
    rules = build_rules(registry)
    first = None
    elapsed = 0.0
    analyzed = time.perf_counter()
    for items in generate(records, batch):
        first = first or items
        started = time.perf_counter()
        with db.session() as session:
            apply_batch(session, rules, {}, items)
        elapsed += time.perf_counter() - started
        if db.dialect == "postgresql" and time.perf_counter() - analyzed > analyze_every:
            analyze(db)  # what autovacuum would do; off on the dev box, so done here, outside the timing
            analyzed = time.perf_counter()
    again = time.perf_counter()
    with db.session() as session:  # idempotent re-read of one batch
        changed = sum(r.changed for r in apply_batch(session, rules, {}, first))
    reread = time.perf_counter() - again
    with db.session() as session:
        live = session.execute(select(func.count()).select_from(Contact).where(Contact.merged_into.is_(None))).scalar_one()
        conflicts = session.execute(select(func.count()).select_from(MergeConflict)).scalar_one()
    print(f"resolution {db.dialect:<10} {records:>8} records  batch {batch:>4}  {elapsed:7.1f}s  "
          f"{records / elapsed:8.0f} records/s  peak RSS {peak_rss_mb():.0f} MB  contacts {live}  conflicts {conflicts}  "
          f"re-read batch: {changed} changed, {len(first) / reread:.0f} records/s", flush=True)
    db.dispose()


def in_child(target, *args) -> None:
    """Run ``target`` in a forked child, so ru_maxrss is that run's own."""
    child = multiprocessing.get_context("fork").Process(target=target, args=args)
    child.start()
    child.join()
    if child.exitcode:
        raise SystemExit(f"{target.__name__} failed with exit code {child.exitcode}")


@contextmanager
def scratch_database(url: str):
    """A throw-away database on the server of ``url``, dropped afterwards."""
    parsed = make_url(normalize_url(url))
    name = f"hub_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fill_history(db: Database, contacts: int, events: int, chunk: int = 1_000_000) -> None:
    """Contacts with one phone each and ``events`` skewed events, generated in the server.

    ``contact = 1 + floor(contacts * random()^3)``: the lowest ids hold tens of thousands of
    events (the busy customers), the median contact a handful.
    """
    started = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.42)"))
        conn.execute(text("INSERT INTO contacts (id, created_at, updated_at, display_name) "
                          "SELECT g, now(), now(), '客户' || g FROM generate_series(1, :n) g"), {"n": contacts})
        conn.execute(text("SELECT setval(pg_get_serial_sequence('contacts', 'id'), :n)"), {"n": contacts})
        conn.execute(text("INSERT INTO identities (kind, value, contact_id, connector, created_at, origin_contact_id) "
                          "SELECT 'phone', '+86139' || lpad(g::text, 8, '0'), g, 'crm_main', now(), g "
                          "FROM generate_series(1, :n) g"), {"n": contacts})
    connectors = "ARRAY[" + ",".join(f"'{c}'" for c in CONNECTORS) + "]"
    kinds = "ARRAY[" + ",".join(f"'{k}'" for k in KINDS) + "]"
    for low in range(1, events + 1, chunk):
        high = min(events, low + chunk - 1)
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO events (contact_id, connector, native_id, kind, occurred_at, summary, data, created_at,"
                " origin_contact_id) "
                f"SELECT c, ({connectors})[1 + g % 5], 'e' || g, ({kinds})[1 + (g / 5) % 5],"
                " timestamptz '2026-11-01' - random() * interval '730 days', '来电 3 分 12 秒 · 咨询价格',"
                " jsonb_build_object('seq', g, 'agent', 'A' || (g % 40)), now(), c "
                "FROM (SELECT g, 1 + floor(:contacts * random() ^ 3)::bigint AS c"
                "      FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) g) s"),
                {"contacts": contacts, "low": low, "high": high})
        print(f"  history data: {high:>10} events  {time.perf_counter() - started:6.0f}s", flush=True)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does after a bulk load
    print(f"  history data: {contacts} contacts, {events} events loaded and analyzed in "
          f"{time.perf_counter() - started:.0f}s", flush=True)


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return f"p50 {cuts[49]:6.2f} ms  p95 {cuts[94]:6.2f} ms  p99 {cuts[98]:6.2f} ms  max {max(samples):6.2f} ms"


def query_history(db: Database, contacts: int, queries: int, seed: int = 11) -> None:
    registry = Registry(identity_kinds={k.kind: IdentityKindSpec(k.kind, k.strong, k.max_per_contact, k.normalize)
                                        for k in BUILTIN_KINDS})
    rules = build_rules(registry)
    rnd = random.Random(seed)
    timings: dict[str, list[float]] = {"find by phone + first page": [], "next page (cursor)": [],
                                       "first page, one kind": [], "busiest 1%: first page": [],
                                       "busiest 1%: page 5": []}
    sizes = []
    with db.sessionmaker() as session:
        for _ in range(queries):
            person = rnd.randint(1, contacts)
            t0 = time.perf_counter()
            cid = find_contact(session, rules, f"phone:+86139{person:08d}")
            page = history(session, cid, limit=50)
            t1 = time.perf_counter()
            nxt = history(session, cid, limit=50, before=page.next_cursor) if page.next_cursor else None
            t2 = time.perf_counter()
            history(session, cid, limit=50, kinds=[rnd.choice(KINDS)])
            t3 = time.perf_counter()
            session.rollback()
            timings["find by phone + first page"].append((t1 - t0) * 1000)
            if nxt is not None:
                timings["next page (cursor)"].append((t2 - t1) * 1000)
            timings["first page, one kind"].append((t3 - t2) * 1000)
            sizes.append(len(page.events))
            busy = find_contact(session, rules, f"phone:+86139{rnd.randint(1, max(1, contacts // 100)):08d}")
            t4 = time.perf_counter()
            page = history(session, busy, limit=50)
            t5 = time.perf_counter()
            for _ in range(3):
                page = history(session, busy, limit=50, before=page.next_cursor) if page.next_cursor else page
            cursor = page.next_cursor
            t6 = time.perf_counter()
            if cursor:
                history(session, busy, limit=50, before=cursor)
            t7 = time.perf_counter()
            session.rollback()
            timings["busiest 1%: first page"].append((t5 - t4) * 1000)
            if cursor:
                timings["busiest 1%: page 5"].append((t7 - t6) * 1000)
        busiest = session.execute(text("SELECT count(*) FROM events WHERE contact_id = 1")).scalar_one()
    print(f"history    postgresql {contacts:>8} contacts  {queries} random contacts (busiest holds {busiest} events, "
          f"median first page {statistics.median(sizes):.0f} events)")
    for shape, samples in timings.items():
        if samples:
            print(f"  {shape:<28} {len(samples):>5} queries  {percentiles(samples)}", flush=True)


def history_bench(url: str, contacts: int, events: int, queries: int) -> None:
    db = Database(url)
    db.migrate()
    fill_history(db, contacts, events)
    query_history(db, contacts, queries)
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="source records to resolve")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--history-contacts", type=int, default=1_000_000)
    parser.add_argument("--history-events", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=2000, help="random contacts whose history is read")
    parser.add_argument("--analyze-every", type=float, default=15,
                        help="seconds between ANALYZEs of the PostgreSQL database during resolution, as autovacuum "
                             "would (it is off on the shared dev box); not counted in the timing")
    parser.add_argument("--floor", action="store_true",
                        help="after the PostgreSQL resolution, the floor of the rows it stored (benchmarks/floor.py: "
                             "PostgreSQL alone COPYing them; needs pg_dump and psql)")
    parser.add_argument("--skip", choices=("sqlite", "postgresql", "history"), action="append", default=[])
    args = parser.parse_args()
    if "sqlite" not in args.skip:
        with tempfile.TemporaryDirectory() as tmp:
            in_child(resolve, f"sqlite:///{tmp}/bench.db", args.records, args.batch, args.analyze_every)
    url = os.environ.get("HUB_DATABASE_URL")
    if not (url and url.startswith("postgres")):
        print("PostgreSQL parts skipped: set HUB_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test")
        return
    if "postgresql" not in args.skip:
        if args.floor and (why := floor.pg_tools()):
            sys.exit(f"--floor: {why}")
        with scratch_database(url) as scratch:
            in_child(resolve, scratch, args.records, args.batch, args.analyze_every)
            if args.floor:
                stored = {"hub": scratch}
                print(f"floor of the rows resolution stored, {args.records} records (benchmarks/floor.py: each table's "
                      "final rows COPYed into an empty copy of its schema, one connection, one transaction)")
                print(floor.report(floor.measure(stored, args.records), floor.measure(stored, args.records, foreign_keys=False)),
                      flush=True)
    if "history" not in args.skip:
        with scratch_database(url) as scratch:
            history_bench(scratch, args.history_contacts, args.history_events, args.queries)


if __name__ == "__main__":
    main()
