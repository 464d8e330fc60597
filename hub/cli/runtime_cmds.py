"""``hub serve`` and ``hub worker``: the two long-running processes."""

from __future__ import annotations

import click

from hub.cli.context import get_runtime, handles_config_errors


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--sandboxes", is_flag=True, help="Also serve the connectors' sandbox APIs (demo only).")
@click.pass_context
@handles_config_errors
def serve(ctx: click.Context, host: str, port: int, sandboxes: bool) -> None:
    """Serve the web app (webhooks, API, UI). For production use gunicorn (the `server` extra): `gunicorn 'hub.wsgi:app'`."""
    from werkzeug.serving import run_simple

    from hub.web import create_app

    runtime = get_runtime(ctx)
    app = create_app(runtime, sandboxes=sandboxes)
    import signal
    import sys

    from hub.reload import install_sighup, keep_recording, web_process_name

    who = web_process_name(port)
    install_sighup(runtime, who=who)  # `kill -HUP` reloads the config into the running app
    keep_recording(runtime, who)
    # SIGTERM exits through atexit, so an embedded redis-server this process owns stops too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    click.echo(f"serving on http://{host}:{port}  (health: /healthz)")
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command()
@click.option("--burst", is_flag=True, help="Process what is queued, then exit.")
@click.option("--name", default=None, help="Worker name (default: generated).")
@click.option("--fork", is_flag=True, help="Fork a process per job (isolation, ~0.5 s a job) instead of running jobs warm.")
@click.option("--simple", is_flag=True, hidden=True, help="Deprecated: jobs run in-process by default.")
@click.pass_context
@handles_config_errors
def worker(ctx: click.Context, burst: bool, name: str | None, fork: bool, simple: bool) -> None:
    """Run a queue worker (with the scheduler for delayed retries and periodic jobs).

    Jobs run warm: in this process, on one runtime, its connection pools and compiled
    mappings, loaded before the first job (see ``hub.queue.worker_class``)."""
    import os

    from hub.queue import between_jobs, run_worker

    runtime = get_runtime(ctx)
    # Jobs load the runtime from HUB_CONFIG; make sure forked job processes see the same file.
    os.environ["HUB_CONFIG"] = runtime.config.source_file
    os.environ["HUB_REDIS_URL"] = runtime.redis_url
    from hub.pipeline.scheduler import start_ticker

    from hub.reload import default_worker_name, install_sighup

    name = name or default_worker_name()
    runtime.warm_up()
    install_sighup(runtime, who=name, defer=between_jobs)  # `kill -HUP` reloads the config (see hub.reload)
    if not fork:
        runtime.preload()
    if not burst:  # scheduled pulls and the reconciler (one worker acts per tick)
        start_ticker(runtime)
    run_worker(runtime.redis, burst=burst, name=name, fork=fork and not simple)


COMMANDS = [serve, worker]
