"""`hub sync` operability (issue 17): no silent 600 s wait without a worker, progress through
processing and delivery, exit codes, --dry-run commits nothing, config reload on SIGHUP and
the note when a worker runs an older config."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

from click.testing import CliRunner
from sqlalchemy import func, select

from hub.cli import cli
from hub.pipeline.inline import sync_inline
from hub.store.models import Contact, Cursor, InboxRow, OutboxRow, Run
from tests.pipeline.sql_pair import FIXED, crm_to_members  # noqa: F401  (fixture)


def invoke(runtime, *args):
    return CliRunner().invoke(cli, list(args), obj={"config_file": runtime.config.source_file, "runtime": runtime})


def count(db, model, *where):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def start_worker(config: str, redis_url: str, log, name: str | None = None):
    env = {**os.environ, "HUB_REDIS_URL": redis_url, "HUB_CONFIG": config}
    args = [sys.executable, "-m", "hub", "--config", config, "worker"] + (["--name", name] if name else [])
    return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_until(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(what)


def test_sync_says_early_that_no_worker_is_running(make_hub):
    hub = make_hub()
    hub.a.add_records("contacts", 2)
    started = time.monotonic()
    result = invoke(hub.runtime, "sync", "crm_a.contacts", "--wait-for-worker", "0.5")
    assert result.exit_code == 1, result.output
    assert "no `hub worker` is running" in result.output and "hub sync --inline" in result.output
    assert time.monotonic() - started < 60  # not the 600 s pull timeout
    assert count(hub.runtime.db, Run) == 0, "nothing was enqueued"


def test_dry_run_shows_the_changes_and_commits_nothing(make_hub):
    hub = make_hub(sink_mode=None)
    hub.a.add_records("contacts", 3)
    result = invoke(hub.runtime, "sync", "crm_a.contacts", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "crm_a.contacts: read 3, 3 new or changed, 3 mapped, 0 rejected" in result.output
    assert "contacts: 3 new, 0 changed" in result.output
    assert "crm_b.contacts: 3 create(s), 0 update(s) (held for preview)" in result.output
    assert result.output.count("create contact") == 3
    for model in (Contact, InboxRow, OutboxRow, Cursor, Run):
        assert count(hub.runtime.db, model) == 0, f"the dry run left {model.__tablename__} rows"
    assert hub.b.contacts == {} and hub.a.effects("contacts") == []

    # the real sync then does what the dry run said
    out = sync_inline(hub.runtime, "crm_a", "contacts")
    assert out["processed"] == 3 and count(hub.runtime.db, OutboxRow, OutboxRow.status == "held") == 3


def test_dry_run_of_two_streams_sees_the_first_stream_s_contacts(make_hub):
    hub = make_hub()
    ids = hub.a.add_records("contacts", 2)
    sync_inline(hub.runtime, "crm_a", "contacts")  # crm_b now holds both
    hub.a.update_record("contacts", ids[0])
    result = invoke(hub.runtime, "sync", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "crm_b.contacts: read 2" in result.output
    assert "crm_b.contacts: 0 create(s), 1 update(s)" in result.output
    assert count(hub.runtime.db, OutboxRow) == 2 and count(hub.runtime.db, Contact) == 2


def test_queued_sync_follows_processing_and_delivery_and_fails_on_dead_letters(crm_to_members, redis_url):
    runtime, src, dst, tmp_path = crm_to_members
    src.add_records("rows", 4)
    with open(tmp_path / "worker.log", "ab") as log:
        worker = start_worker(runtime.config.source_file, redis_url, log, f"w-sync-{uuid.uuid4().hex[:6]}")
        try:
            result = invoke(runtime, "sync", "crm.rows", "--timeout", "120", "--wait-for-worker", "60")
        finally:
            stop(worker)
    assert result.exit_code == 1, result.output + (tmp_path / "worker.log").read_text()
    assert "crm.rows: 4 records" in result.output
    assert "processed=4" in result.output and "rejected=0" in result.output and "dead=4" in result.output
    assert "4 dead-lettered: see `hub dlq list`" in result.output


def test_sighup_reloads_the_config_and_check_names_stale_workers(crm_to_members, redis_url):
    runtime, src, dst, tmp_path = crm_to_members
    config = runtime.config.source_file
    name = f"w-hup-{uuid.uuid4().hex[:6]}"
    (tmp_path / "members.rows.out.yaml").write_text(FIXED, encoding="utf-8")
    with open(tmp_path / "worker.log", "ab") as log:
        worker = start_worker(config, redis_url, log, name)
        try:
            from rq import Worker

            wait_until(lambda: any(w.name == name for w in Worker.all(connection=runtime.redis)), 60, "the worker did not register")
            wait_until(lambda: runtime.redis.hget("hub:config:loaded", name), 30, "the worker did not record its config")
            fresh = invoke(runtime, "check", "--offline")
            assert fresh.exit_code == 0 and "note:" not in fresh.output, fresh.output

            # a changed mapping on disk: the worker still runs the old one, and check says so
            (tmp_path / "members.rows.out.yaml").write_text(FIXED + "  city: attributes.city\n", encoding="utf-8")
            stale = invoke(runtime, "check", "--offline")
            assert stale.exit_code == 0, stale.output
            assert f"{name} (pid {worker.pid}" in stale.output and f"kill -HUP {worker.pid}" in stale.output

            os.kill(worker.pid, signal.SIGHUP)
            wait_until(lambda: "note:" not in invoke(runtime, "check", "--offline").output, 30, "SIGHUP did not reload the worker")
            assert worker.poll() is None, "SIGHUP must not stop the worker"

            # the reloaded worker delivers with the fixed mapping
            src.add_records("rows", 2)
            result = invoke(runtime, "sync", "crm.rows", "--timeout", "120")
            assert result.exit_code == 0, result.output + (tmp_path / "worker.log").read_text()
            assert "delivered=2" in result.output and len(dst.effects("rows")) == 2
            assert all(e["city"] for e in dst.effects("rows")), "the reloaded mapping writes the city"
        finally:
            stop(worker)
    assert "config reloaded" in (tmp_path / "worker.log").read_text()


def test_a_config_that_no_longer_loads_is_refused_and_the_old_one_kept(crm_to_members, caplog):
    from hub.reload import reload

    runtime, src, dst, tmp_path = crm_to_members
    path = runtime.config.source_file
    good = open(path, encoding="utf-8").read()
    open(path, "w", encoding="utf-8").write(good.replace("max_attempts: 2", "max_attempts: lots"))
    before = runtime.config
    assert reload(runtime) is False and runtime.config is before
    assert "config reload refused" in caplog.text and "hub.max_attempts" in caplog.text
    open(path, "w", encoding="utf-8").write(good.replace("max_attempts: 2", "max_attempts: 5"))
    runtime.mapping("members", sink="rows")
    assert reload(runtime) and runtime.config.hub.max_attempts == 5
    assert "_mappings" not in runtime.__dict__, "compiled mappings must be dropped on reload"
