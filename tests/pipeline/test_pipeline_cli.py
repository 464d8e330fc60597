"""hub sync / runs / remap and the ticker, on the two-CRM hub."""

import os
import subprocess
import sys

from click.testing import CliRunner
from sqlalchemy import func, select

from hub.cli import cli
from hub.pipeline.scheduler import due_pulls, tick
from hub.queue import get_queue
from hub.store.models import Contact, InboxRow, Run


def invoke(hub, *args):
    return CliRunner().invoke(cli, list(args), obj={"config_file": hub.runtime.config.source_file, "runtime": hub.runtime})


def test_sync_inline_shows_progress_and_a_summary(make_hub):
    hub = make_hub()
    hub.a.add_records("contacts", 7)
    result = invoke(hub, "sync", "crm_a.contacts", "--inline")
    assert result.exit_code == 0, result.output
    assert "crm_a.contacts: 7 records" in result.output and "/s" in result.output
    assert "processed=7" in result.output and "delivered=7" in result.output
    runs = invoke(hub, "runs")
    assert runs.exit_code == 0 and "pull" in runs.output and "crm_a.contacts" in runs.output and "read=7" in runs.output


def test_runs_shows_webhooks_and_deliveries(make_hub):
    """What the quickstart promises: `hub runs` lists every pull, webhook and delivery — the
    webhook door's latest counts (kept in Redis) included without waiting for the ticker."""
    from hub.web import create_app

    hub = make_hub()
    client = create_app(hub.runtime).test_client()
    push = hub.a.signed_push(hub.runtime.config.connectors["crm_a"].config)
    assert client.post("/webhooks/crm_a", data=push.body, headers=push.headers).status_code == 200
    hub.a.add_records("contacts", 2)
    assert invoke(hub, "sync", "crm_a.contacts", "--inline").exit_code == 0
    out = invoke(hub, "runs").output
    kinds = {line.split()[3] for line in out.splitlines()[1:] if line.strip() and not line.strip().startswith("error")}
    assert {"pull", "webhook", "deliver"} <= kinds, out
    assert any(" webhook " in line and "crm_a" in line and "requests=1" in line for line in out.splitlines()), out


def test_sync_rejects_unknown_targets(make_hub):
    hub = make_hub()
    result = invoke(hub, "sync", "crm_x")
    assert result.exit_code == 2 and "no connector instance 'crm_x'" in result.output
    result = invoke(hub, "sync", "crm_a.contact")
    assert result.exit_code == 2 and "has no stream 'contact'" in result.output


def test_sync_through_the_queue_waits_for_a_worker(make_hub, redis_url, tmp_path):
    """`hub sync` enqueues; a separate `hub worker --burst` process does the pull."""
    hub = make_hub()
    from hub.pipeline.jobs import enqueue_pull

    # the sandboxes live in this process, so the worker gets a stream that needs no HTTP:
    # here we only prove the queue path (job → run row → summary) for a pull that fails fast
    enqueue_pull(hub.runtime, "crm_a", "contacts")
    env = {**os.environ, "HUB_REDIS_URL": redis_url}
    proc = subprocess.run([sys.executable, "-m", "hub", "--config", hub.runtime.config.source_file, "worker", "--burst"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with hub.runtime.db.session() as s:
        run = s.scalars(select(Run)).one()
    # the worker could not reach the in-process sandbox: the run records a clean transient error
    assert run.status == "failed" and "TransientError" in run.error


def test_remap_reprocesses_stored_records_without_pulling(make_hub, tmp_path):
    hub = make_hub()
    hub.a.add_records("contacts", 4)
    invoke(hub, "sync", "crm_a.contacts", "--inline")
    calls_before = len(hub.router.calls)
    result = invoke(hub, "remap", "crm_a.contacts", "--inline")
    assert result.exit_code == 0 and "re-processing 4 stored records" in result.output
    with hub.runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 4
        assert set(s.scalars(select(InboxRow.status))) == {"processed"}
    # only writes may reach the sandboxes (none needed: nothing changed); no reads
    assert not [c for c in hub.router.calls[calls_before:] if c[0] == "GET"]
    assert len(hub.b.effects("contacts")) == 4
    assert invoke(hub, "remap", "crm_a.contacts", "--since", "2999-01-01").output.startswith("re-processing 0")


def test_ticker_enqueues_due_pulls_once_per_tick(make_hub, redis_conn):
    hub = make_hub()
    cfg = hub.runtime.config
    cfg.connectors["crm_a"].streams["contacts"].schedule = 60
    assert due_pulls(hub.runtime) == [("crm_a", "contacts")]
    assert tick(hub.runtime) == [("crm_a", "contacts")]
    assert tick(hub.runtime) == []  # another worker in the same tick: the lock says no
    queued = get_queue(redis_conn).job_ids
    assert "pull-crm_a-contacts" in queued and "reconcile" in queued
    from hub.pipeline.inline import sync_inline

    sync_inline(hub.runtime, "crm_a", "contacts")  # a pull just started: not due again
    assert due_pulls(hub.runtime) == []
