"""``hub sync``, ``hub runs``, ``hub dlq``, ``hub remap``: running and repairing the pipeline."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone

import click

from hub.cli.context import get_runtime, handles_config_errors


def _targets(runtime, spec: str | None) -> list[tuple[str, str]]:
    """``INSTANCE`` or ``INSTANCE.STREAM`` (or nothing: every enabled stream) → pairs."""
    enabled = runtime.config.enabled_connectors()
    if not spec:
        return [(n, s) for n, inst in enabled.items() for s, cfg in inst.streams.items() if cfg.enabled]
    instance, _, stream = spec.partition(".")
    inst = runtime.config.connectors.get(instance)
    if inst is None:
        from hub.config import did_you_mean

        raise click.BadParameter(f"no connector instance {instance!r}{did_you_mean(instance, runtime.config.connectors)}")
    offered = inst.connector_class.stream_names(inst.config)
    if stream:
        if stream not in offered:
            raise click.BadParameter(f"{instance} ({inst.type}) has no stream {stream!r}; it has {offered}")
        return [(instance, stream)]
    streams = [s for s, cfg in inst.streams.items() if cfg.enabled] or offered
    return [(instance, s) for s in streams]


class _Progress:
    """One status line: records so far and the rate, redrawn in place on a terminal."""

    def __init__(self, label: str):
        self.label = label
        self.count = 0
        self.started = time.monotonic()
        self.tty = sys.stdout.isatty()

    def __call__(self, n: int) -> None:
        self.count += n
        if self.tty:
            click.echo(f"\r{self.line()}", nl=False)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return f"{self.label}: {self.count} records, {self.count / elapsed:,.0f}/s"

    def done(self) -> None:
        click.echo(("\r" if self.tty else "") + self.line())


@click.command()
@click.argument("target", required=False)
@click.option("--inline", is_flag=True, help="Pull, process and deliver in this process instead of through the queue.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for a queued pull to finish.")
@click.pass_context
@handles_config_errors
def sync(ctx: click.Context, target: str | None, inline: bool, timeout: float) -> None:
    """Pull INSTANCE[.STREAM] (default: every enabled stream) and show progress."""
    runtime = get_runtime(ctx)
    failed = False
    for instance, stream in _targets(runtime, target):
        label = f"{instance}.{stream}"
        progress = _Progress(label)
        if inline:
            from hub.pipeline.inline import sync_inline

            summary = sync_inline(runtime, instance, stream, progress=progress)
        else:
            summary = _sync_queued(runtime, instance, stream, progress, timeout)
        progress.done()
        click.echo("  " + ", ".join(f"{k}={v}" for k, v in summary.items() if k != "error"))
        if summary.get("error"):
            failed = True
            click.echo(f"  error: {summary['error']}", err=True)
    if failed:
        sys.exit(1)


def _sync_queued(runtime, instance: str, stream: str, progress: _Progress, timeout: float) -> dict:
    from sqlalchemy import select

    from hub.pipeline.jobs import enqueue_pull
    from hub.store.models import Run

    since = datetime.now(timezone.utc)
    job = enqueue_pull(runtime, instance, stream)
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        with runtime.db.session() as s:
            run = s.scalars(
                select(Run).where(Run.connector == instance, Run.stream == stream, Run.kind == "pull", Run.started_at >= since).order_by(Run.id.desc())
            ).first()
        if run is not None:
            read = (run.counts or {}).get("read", 0)
            if read > seen:
                progress(read - seen)
                seen = read
            if run.status != "running":
                return {"run": run.id, **(run.counts or {}), "status": run.status, "error": run.error}
        status = job.get_status(refresh=True)
        if status == "failed":
            return {"status": "failed", "error": "the pull job failed; see the worker log"}
        time.sleep(0.3)
    return {"status": "waiting", "error": f"no worker finished the pull within {timeout:.0f}s (is `hub worker` running?)"}


@click.command()
@click.option("--limit", default=20, show_default=True)
@click.option("--connector", default=None, help="Only this connector instance.")
@click.pass_context
@handles_config_errors
def runs(ctx: click.Context, limit: int, connector: str | None) -> None:
    """List recent runs with their counts and errors."""
    from hub.pipeline.runs import recent_runs

    rows = recent_runs(get_runtime(ctx).db, limit, connector)
    if not rows:
        click.echo("no runs yet")
        return
    click.echo(f"{'ID':>5} {'STARTED (UTC)':<19} {'KIND':<7} {'TARGET':<28} {'STATUS':<10} COUNTS")
    for r in rows:
        counts = " ".join(f"{k}={v}" for k, v in sorted((r.counts or {}).items()))
        target = f"{r.connector}.{r.stream}" if r.stream else r.connector
        click.echo(f"{r.id:>5} {r.started_at:%Y-%m-%d %H:%M:%S} {r.kind:<7} {target:<28} {r.status:<10} {counts}")
        if r.error:
            click.echo(f"{'':>6}error: {r.error}")


@click.group()
def dlq() -> None:
    """Dead letters: deliveries that exhausted their retries or failed permanently, and
    records a mapping rejected."""


@dlq.command("list")
@click.option("--limit", default=50, show_default=True)
@click.pass_context
@handles_config_errors
def dlq_list(ctx: click.Context, limit: int) -> None:
    """List dead letters with their last error."""
    from hub.pipeline.deadletters import list_dead

    items = list_dead(get_runtime(ctx).db, limit)
    if not items:
        click.echo("no dead letters")
        return
    for item in items:
        click.echo(f"{item.ref:<10} {item.target:<30} attempts={item.attempts:<3} {item.error}")


@dlq.command("replay")
@click.argument("refs", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter.")
@click.option("--as-was", "as_was", is_flag=True, help="Re-send the stored payloads unchanged instead of re-rendering them with the current mapping.")
@click.option("--inline", is_flag=True, help="Deliver/process now in this process instead of through the queue.")
@click.pass_context
@handles_config_errors
def dlq_replay(ctx: click.Context, refs: tuple[str, ...], replay_all: bool, as_was: bool, inline: bool) -> None:
    """Replay dead letters by reference (outbox:12, inbox:7, or a bare outbox id) or --all.

    Dead deliveries are rendered again from the contact's current state with the current
    outbound mapping (so a fixed mapping fixes them); --as-was re-sends what was stored.
    Rejected records are re-processed with the current inbound mapping. Audited."""
    from hub.pipeline.deadletters import replay

    if bool(refs) == replay_all:
        raise click.UsageError("give dead-letter references (see `hub dlq list`) or --all")
    runtime = get_runtime(ctx)
    try:
        outcome = replay(runtime, None if replay_all else list(refs), actor="cli", inline=inline, as_was=as_was)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    how = "as they were" if as_was else "re-rendered with the current mapping"
    click.echo(f"replayed {outcome['outbox']} deliveries ({how}) and {outcome['inbox']} records")
    for row_id, other in outcome["superseded"].items():
        click.echo(f"  outbox:{row_id} discarded: outbox:{other} already carries the same write")
    for row_id, reason in outcome["failed"].items():
        click.echo(f"  outbox:{row_id} still dead: {reason}", err=True)
    if outcome["failed"]:
        sys.exit(1)


@dlq.command("discard")
@click.argument("refs", nargs=-1)
@click.option("--all", "discard_all", is_flag=True, help="Discard every dead letter.")
@click.pass_context
@handles_config_errors
def dlq_discard(ctx: click.Context, refs: tuple[str, ...], discard_all: bool) -> None:
    """Give up on dead letters (outbox:12, inbox:7, a bare outbox id) or --all: they are
    kept as 'discarded', no longer listed or replayed. Audited."""
    from hub.pipeline.deadletters import discard

    if bool(refs) == discard_all:
        raise click.UsageError("give dead-letter references (see `hub dlq list`) or --all")
    try:
        outcome = discard(get_runtime(ctx), None if discard_all else list(refs), actor="cli")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(f"discarded {outcome['outbox']} deliveries and {outcome['inbox']} records")


@click.command()
@click.argument("target")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]), default=None, help="Only records received since (UTC).")
@click.option("--inline", is_flag=True, help="Process in this process instead of through the queue.")
@click.pass_context
@handles_config_errors
def remap(ctx: click.Context, target: str, since: datetime | None, inline: bool) -> None:
    """Re-process stored raw records of INSTANCE.STREAM through the current mapping."""
    from hub.pipeline.remap import remap as do_remap

    runtime = get_runtime(ctx)
    instance, _, stream = target.partition(".")
    if not stream:
        raise click.BadParameter("give INSTANCE.STREAM")
    _targets(runtime, target)  # validates the names
    since_utc = since.replace(tzinfo=timezone.utc) if since else None
    count = do_remap(runtime, instance, stream, since=since_utc, inline=inline)
    click.echo(f"re-processing {count} stored records of {target}" + (" (done)" if inline else " (queued)"))


COMMANDS = [sync, runs, dlq, remap]
