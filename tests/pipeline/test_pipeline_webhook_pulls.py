"""A push that only says "this changed" queues a pull of that stream (WebhookResult.pulls).

WeCom's 企业客户标签重排事件 (doc 92130) — tags reordered, with an empty Id for every group —
carries no tags: the door stores nothing and the hub queues one ``corp_tags`` pull right after,
on the real queue (RQ on Redis), instead of leaving the new order to the next schedule.
"""

from __future__ import annotations

import json

from rq.job import Job

from connectors.wecom.sandbox import WeComSandbox
from hub.config import load_config
from hub.pipeline.webhook import ingest_webhook
from hub.queue import get_queue
from hub.runtime import Runtime
from hub.testing import SandboxRouter


def runtime_with(tmp_path, database_url, redis_url, streams: dict) -> tuple[Runtime, WeComSandbox, SandboxRouter]:
    wecom, router = WeComSandbox(), SandboxRouter()
    base = router.mount(wecom, "/sandbox/wecom_sales")
    path = tmp_path / "hub.yaml"
    path.write_text(f"""hub:
  database_url: "{database_url}"
  redis_url: "{redis_url}"
  var_dir: "{tmp_path}/var"
connectors:
  wecom_sales:
    type: wecom
    config: {json.dumps(wecom.config_for(base))}
    streams: {json.dumps(streams)}
""", encoding="utf-8")
    return Runtime(load_config(path, env={})), wecom, router


def shuffle(wecom):
    return wecom.callback({"Event": "change_external_tag", "Id": "", "StrategyId": "", "ChangeType": "shuffle"})


def test_a_tag_reorder_queues_one_corp_tags_pull(tmp_path, db, database_url, redis_url, redis_conn):
    runtime, wecom, router = runtime_with(tmp_path, database_url, redis_url, {"corp_tags": {}})
    with router:
        result = ingest_webhook(runtime, "wecom_sales", shuffle(wecom))
        ingest_webhook(runtime, "wecom_sales", shuffle(wecom))  # WeCom's retry: still one queued pull
    runtime.close()
    assert result.body == "success" and result.records == []
    queue = get_queue(redis_conn)
    assert queue.job_ids.count("pull-wecom_sales-corp_tags") == 1
    assert Job.fetch("pull-wecom_sales-corp_tags", connection=redis_conn).args == ("wecom_sales", "corp_tags")


def test_no_pull_for_a_stream_the_instance_does_not_read(tmp_path, db, database_url, redis_url, redis_conn):
    runtime, wecom, router = runtime_with(tmp_path, database_url, redis_url, {"external_contacts": {}})
    with router:
        ingest_webhook(runtime, "wecom_sales", shuffle(wecom))
    runtime.close()
    assert "pull-wecom_sales-corp_tags" not in get_queue(redis_conn).job_ids
