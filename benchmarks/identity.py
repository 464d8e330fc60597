"""Identity resolution throughput: resolve generated records in batches, print records/s.

    .venv/bin/python benchmarks/identity.py [--records 50000] [--batch 500]

Runs on a throw-away SQLite file, and also on PostgreSQL when ``HUB_DATABASE_URL`` is set
(a temporary database is created next to the given one and dropped afterwards).

The data imitates three systems describing the same customers: a CRM record (crm_id +
phone), a WeCom external contact (external_userid + the same phone, a few with a second
phone) and ad leads (phone + e-mail, some block-listed placeholder phones). About one in
twenty people has a duplicate CRM record, which produces a merge conflict.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from hub.canonical import CanonicalEvent, CanonicalRecord  # noqa: E402
from hub.contacts.apply import ApplyItem, apply_batch  # noqa: E402
from hub.identity import build_rules  # noqa: E402
from hub.identity_kinds import BUILTIN_KINDS  # noqa: E402
from hub.plugins import IdentityKindSpec, Registry  # noqa: E402
from hub.store import Database  # noqa: E402
from hub.store.db import normalize_url  # noqa: E402
from hub.store.models import Contact, MergeConflict  # noqa: E402

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def generate(n: int, seed: int = 7) -> list[ApplyItem]:
    rnd = random.Random(seed)
    items: list[ApplyItem] = []
    person = 0
    while len(items) < n:
        person += 1
        phone = f"139{person:08d}"
        ts = T0 + timedelta(minutes=person)
        items.append(ApplyItem("crm_main", "contacts", str(person), CanonicalRecord(
            identities=[("crm_id", str(person)), ("phone", phone)],
            attributes={"name": f"客户{person}", "city": rnd.choice(["杭州", "上海", "北京"]), "tier": rnd.choice("ABC")},
            source_updated_at=ts,
            events=[CanonicalEvent("lead_created", ts, native_id=f"crm-{person}")],
        )))
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
    rnd.shuffle(items)
    return items[:n]


def bench(url: str, items: list[ApplyItem], batch: int) -> None:
    db = Database(url)
    db.migrate()
    registry = Registry(identity_kinds={k.kind: IdentityKindSpec(k.kind, k.strong, k.max_per_contact, k.normalize)
                                        for k in BUILTIN_KINDS})
    rules = build_rules(registry)
    started = time.perf_counter()
    for start in range(0, len(items), batch):
        with db.session() as session:
            apply_batch(session, rules, {}, items[start:start + batch])
    elapsed = time.perf_counter() - started
    again = time.perf_counter()
    with db.session() as session:  # idempotent re-read of one batch
        changed = sum(r.changed for r in apply_batch(session, rules, {}, items[:batch]))
    reread = time.perf_counter() - again
    with db.session() as session:
        live = session.execute(select(func.count()).select_from(Contact).where(Contact.merged_into.is_(None))).scalar_one()
        conflicts = session.execute(select(func.count()).select_from(MergeConflict)).scalar_one()
    print(f"{db.dialect:<10} {len(items):>7} records  batch {batch:>4}  {elapsed:7.2f}s  {len(items) / elapsed:8.0f} records/s  "
          f"contacts {live}  conflicts {conflicts}  re-read batch: {changed} changed, {batch / reread:.0f} records/s")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    items = generate(args.records)
    with tempfile.TemporaryDirectory() as tmp:
        bench(f"sqlite:///{tmp}/bench.db", items, args.batch)
    url = os.environ.get("HUB_DATABASE_URL")
    if url and url.startswith("postgres"):
        parsed = make_url(normalize_url(url))
        name = f"hub_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            bench(parsed.set(database=name).render_as_string(hide_password=False), items, args.batch)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
