"""Long-running processes and config changes (issue 17): the embedded redis-server stops
when the process that started it exits (every `make demo` and test run used to leave one
behind, re-parented to PID 1), and `hub serve` reloads its config on SIGHUP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest


def gone(pid: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def server_pid(var: Path) -> int:
    settings = json.loads((var / "redis.db.settings").read_text())
    return int(Path(settings["pidfile"]).read_text().strip())


OWNER = textwrap.dedent("""
    import sys, redis
    from hub.queue import embedded_redis
    server = embedded_redis(sys.argv[1])
    other = redis.Redis(unix_socket_path=server.socket_file)   # a second pool, as Runtime.redis is
    other.ping()
    print(server.pid, flush=True)
    if len(sys.argv) > 2:
        sys.stdin.readline()   # hold the server until told to go
""")


def run_python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, **kwargs)


def test_the_owner_stops_its_server_even_with_other_connections_open(tmp_path):
    proc = run_python(OWNER, str(tmp_path / "var"))
    out, _ = proc.communicate(timeout=60)
    pid = int(out.split()[0])
    assert proc.returncode == 0
    assert gone(pid), f"redis-server {pid} outlived the process that started it"
    assert not (tmp_path / "var" / "redis.db.settings").exists()


def test_a_process_that_joined_leaves_the_owner_s_server_running(tmp_path):
    owner = run_python(OWNER, str(tmp_path / "var"), "hold", stdin=subprocess.PIPE)
    try:
        pid = int(owner.stdout.readline().split()[0])
        joiner = run_python(OWNER, str(tmp_path / "var"))
        joined, _ = joiner.communicate(timeout=60)
        assert int(joined.split()[0]) == pid, "the second process must join, not start its own"
        assert not gone(pid, 1), "a joining process stopped the owner's server"
    finally:
        owner.communicate("go\n", timeout=60)
    assert gone(pid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_hub_serve_stopped_with_sigterm_stops_its_embedded_server(tmp_path, database_url):
    config = tmp_path / "hub.yaml"
    config.write_text(f'hub:\n  database_url: "{database_url}"\n  var_dir: "{tmp_path}/var"\nconnectors: {{}}\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("HUB_REDIS_URL", "HUB_CONFIG")}
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "hub", "--config", str(config), "serve", "--port", str(port)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
                break
            except OSError:
                if time.monotonic() > deadline or serve.poll() is not None:
                    pytest.fail("hub serve did not come up")
                time.sleep(0.3)
        pid = server_pid(tmp_path / "var")
        assert not gone(pid, 0.5)
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
    assert gone(pid), "hub serve left its embedded redis-server behind"


WECOM = """
connectors:
  wecom_new:
    type: wecom
    config:
      base_url: http://127.0.0.1:9/sandbox/wecom
      corp_id: ww7940ea4bcded905f
      secret: xCzqPc-D6nIbpOCOmLmFmxO8Jij1qzzikEkmKQsVfmk
      callback_token: HuiliuSandboxToken2026
      encoding_aes_key: n5DdH2jw55n8m663QuQVH7skdEWtnqRjR1dNie1ti5I
"""


def test_hub_serve_reloads_its_config_on_sighup(tmp_path, database_url, redis_url):
    """A connector added to the config gets its webhook after `kill -HUP`, without a restart."""
    config = tmp_path / "hub.yaml"
    head = f'hub:\n  database_url: "{database_url}"\n  redis_url: "{redis_url}"\n  var_dir: "{tmp_path}/var"\n'
    config.write_text(head + "connectors: {}\n", encoding="utf-8")
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "hub", "--config", str(config), "serve", "--port", str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def status() -> int:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/webhooks/wecom_new?echostr=x", timeout=5).status
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline or serve.poll() is not None:
                    pytest.fail("hub serve did not come up")
                time.sleep(0.3)
        assert status() == 404
        config.write_text(head + WECOM, encoding="utf-8")
        from click.testing import CliRunner

        from hub.cli import cli

        note = CliRunner().invoke(cli, ["--config", str(config), "check", "--offline"]).output
        assert f".{serve.pid}.{port} (pid {serve.pid} on " in note and f"kill -HUP {serve.pid}" in note, note
        serve.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while status() == 404 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert status() in (400, 401, 403), "the reloaded app should verify (and refuse) the unsigned callback"
        assert serve.poll() is None
        after = CliRunner().invoke(cli, ["--config", str(config), "check", "--offline"]).output
        assert "note:" not in after, after
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)


FORKER = textwrap.dedent("""
    import os, sys, redis
    from hub.queue import embedded_redis
    server = embedded_redis(sys.argv[1])
    child = os.fork()
    if child == 0:
        sys.exit(0)          # a forked child exiting normally runs the inherited exit hooks
    os.waitpid(child, 0)
    print(server.pid, redis.Redis(unix_socket_path=server.socket_file).ping(), flush=True)
""")


def test_a_forked_child_exiting_does_not_stop_its_parent_s_server(tmp_path):
    proc = run_python(FORKER, str(tmp_path / "var"))
    out, _ = proc.communicate(timeout=60)
    pid, alive = out.split()
    assert alive == "True", "the child's exit stopped the parent's redis-server"
    assert gone(int(pid))


def test_an_owner_stopped_with_sigterm_stops_its_server(tmp_path):
    """`timeout 60 hub sync …` or a supervisor's SIGTERM must not leave the server behind."""
    owner = run_python(OWNER, str(tmp_path / "var"), "hold", stdin=subprocess.PIPE)
    pid = int(owner.stdout.readline().split()[0])
    owner.send_signal(signal.SIGTERM)
    owner.wait(timeout=60)
    assert gone(pid), "SIGTERM to the owner left its redis-server behind"
