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
    """One status line: records so far and the rate — redrawn in place on a terminal, and
    printed every few seconds otherwise (a log file or CI shows the sync is moving)."""

    EVERY = 5.0

    def __init__(self, label: str):
        self.label = label
        self.count = 0
        self.started = time.monotonic()
        self.tty = sys.stdout.isatty()
        self.last = self.started
        self.stage = ""

    def __call__(self, n: int, stage: str = "") -> None:
        self.count += n
        self.stage = stage or self.stage
        now = time.monotonic()
        if self.tty:
            click.echo(f"\r{self.line()}", nl=False)
        elif now - self.last >= self.EVERY:
            self.last = now
            click.echo(self.line())

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        stage = f" ({self.stage})" if self.stage else ""
        return f"{self.label}: {self.count} records, {self.count / elapsed:,.0f}/s{stage}"

    def done(self) -> None:
        self.stage = ""
        click.echo(("\r" if self.tty else "") + self.line())


#: Exit codes of `hub sync` (also in docs/operations.md).
EXIT_PROBLEMS = 1   # a pull failed, records were rejected or writes dead-lettered, no worker


@click.command()
@click.argument("target", required=False)
@click.option("--inline", is_flag=True, help="Pull, process and deliver in this process instead of through the queue.")
@click.option("--dry-run", "dry_run", is_flag=True, help="Read, map and resolve without committing anything; print what would change.")
@click.option("--limit", "dry_limit", default=1000, show_default=True, help="With --dry-run: records read per stream.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for queued work to finish.")
@click.option("--wait-for-worker", default=5.0, show_default=True, help="Seconds to wait for a live worker before giving up.")
@click.pass_context
@handles_config_errors
def sync(ctx: click.Context, target: str | None, inline: bool, dry_run: bool, dry_limit: int, timeout: float,
         wait_for_worker: float) -> None:
    """Pull INSTANCE[.STREAM] (default: every enabled stream) and show progress.

    Without --inline the work goes through the queue: a `hub worker` must be running (the
    command says so within seconds when none is). Exits 1 when a pull failed or records
    were rejected or dead-lettered (see `hub dlq list`)."""
    runtime = get_runtime(ctx)
    targets = _targets(runtime, target)
    if dry_run:
        _dry_run(runtime, targets, dry_limit)
        return
    from hub.reload import stale_notice

    if not inline:
        notice = stale_notice(runtime)
        if notice:
            click.echo(notice, err=True)
        if not _worker_alive(runtime, wait_for_worker):
            click.echo(f"error: no `hub worker` is running for {runtime.redis_url if runtime.config.hub.redis_url else 'this hub'}: "
                       "start one (`hub worker`), or run this sync in this process with `hub sync --inline`", err=True)
            sys.exit(EXIT_PROBLEMS)
    failed = False
    since = datetime.now(timezone.utc)
    for instance, stream in targets:
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
        if summary.get("rejected") or summary.get("dead"):
            failed = True
            click.echo(f"  {summary.get('rejected', 0)} rejected, {summary.get('dead', 0)} dead-lettered: see `hub dlq list`", err=True)
    _held_notice(runtime, since)
    if failed:
        sys.exit(EXIT_PROBLEMS)


def _worker_alive(runtime, wait: float) -> bool:
    """Whether an RQ worker is registered on the hub's Redis, waiting up to ``wait`` s."""
    from rq import Worker

    deadline = time.monotonic() + wait
    while True:
        if Worker.all(connection=runtime.redis):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def _held_notice(runtime, since: datetime) -> None:
    """Say when writes wait for preview approval (they are not failures)."""
    from sqlalchemy import func, select

    from hub.store.models import OutboxRow

    with runtime.db.session() as s:
        rows = s.execute(
            select(OutboxRow.connector, OutboxRow.sink, func.count()).where(OutboxRow.status == "held")
            .group_by(OutboxRow.connector, OutboxRow.sink)
        ).all()
    for instance, sink, count in rows:
        click.echo(f"  {count} write(s) to {instance}.{sink} held for preview: `hub plan {instance}.{sink}`, then `hub approve {instance}.{sink} --all`")


def _dry_run(runtime, targets: list[tuple[str, str]], limit: int) -> None:
    import json

    from hub.pipeline.dryrun import dry_run

    click.echo("dry run: nothing is committed, queued or written")
    problems = False
    for report in dry_run(runtime, targets, limit=limit):
        instance, stream = report.instance, report.stream
        more = f" (first {limit}; more remain)" if report.more else ""
        click.echo(f"{instance}.{stream}: read {report.read}{more}, {report.new} new or changed, "
                   f"{report.processed} mapped, {len(report.rejected)} rejected")
        if report.error:
            problems = True
            click.echo(f"  error: {report.error}", err=True)
        click.echo(f"  contacts: {report.contacts_created} new, {report.contacts_changed - report.contacts_created} changed")
        for native_id, why in report.rejected[:20]:
            problems = True
            click.echo(f"  rejected {native_id}: {why}")
        by_target: dict[str, list] = {}
        for w in report.writes:
            by_target.setdefault(w.target, []).append(w)
        for name, writes in sorted(by_target.items()):
            creates = sum(1 for w in writes if w.action == "create")
            held = " (held for preview)" if all(w.held for w in writes) else ""
            click.echo(f"  {name}: {creates} create(s), {len(writes) - creates} update(s){held}")
            for w in writes[:10]:
                where = f"row {w.native_id}" if w.native_id else "new row"
                text = json.dumps(w.payload, ensure_ascii=False, sort_keys=True, default=str)
                click.echo(f"    {w.action:<6} contact {w.contact_id} → {where}: {text[:110]}")
            if len(writes) > 10:
                click.echo(f"    … {len(writes) - 10} more")
    if problems:
        sys.exit(EXIT_PROBLEMS)


def _sync_queued(runtime, instance: str, stream: str, progress: _Progress, timeout: float) -> dict:
    """Enqueue the pull and follow it through the SQL rows: the run, then processing of its
    records, then the deliveries they caused, until settled or ``timeout``."""
    from sqlalchemy import func, select

    from hub.pipeline.jobs import enqueue_pull
    from hub.store.models import InboxRow, OutboxRow, Run

    since = datetime.now(timezone.utc)
    job = enqueue_pull(runtime, instance, stream)
    deadline = time.monotonic() + timeout
    seen = 0
    run = None
    while time.monotonic() < deadline:
        with runtime.db.session() as s:
            run = s.scalars(
                select(Run).where(Run.connector == instance, Run.stream == stream, Run.kind == "pull", Run.started_at >= since).order_by(Run.id.desc())
            ).first()
        if run is not None:
            read = (run.counts or {}).get("read", 0)
            if read > seen:
                progress(read - seen, "pulling")
                seen = read
            if run.status != "running":
                break
        elif job.get_status(refresh=True) == "failed":
            return {"status": "failed", "error": "the pull job failed; see the worker log"}
        time.sleep(0.3)
    else:
        return {"status": "waiting", "error": f"the pull did not finish within {timeout:.0f}s (is `hub worker` running?)"}
    summary = {"run": run.id, **(run.counts or {}), "status": run.status, "error": run.error}
    # follow processing of this run's records, then the deliveries created since the sync began
    stage = ""
    while time.monotonic() < deadline:
        with runtime.db.session() as s:
            inbox = dict(s.execute(select(InboxRow.status, func.count()).where(InboxRow.run_id == run.id).group_by(InboxRow.status)).all())
            outbox = dict(s.execute(select(OutboxRow.status, func.count()).where(OutboxRow.created_at >= since).group_by(OutboxRow.status)).all())
            waiting = s.scalar(select(func.count()).select_from(OutboxRow).where(
                OutboxRow.created_at >= since, OutboxRow.status.in_(("pending", "sending")), OutboxRow.next_attempt_at <= datetime.now(timezone.utc)))
        summary.update(processed=inbox.get("processed", 0), rejected=inbox.get("rejected", 0),
                       delivered=outbox.get("delivered", 0), dead=outbox.get("dead", 0))
        retrying = outbox.get("pending", 0) + outbox.get("sending", 0) - waiting
        if retrying:
            summary["retrying"] = retrying
        if inbox.get("pending", 0):
            stage = f"processing, {inbox['pending']} to go"
        elif waiting:
            stage = f"delivering, {waiting} to go"
        else:
            return summary
        progress(0, stage)
        time.sleep(0.3)
    summary["error"] = f"processing and delivery did not settle within {timeout:.0f}s ({stage})"
    return summary


@click.command()
@click.option("--limit", default=20, show_default=True)
@click.option("--connector", default=None, help="Only this connector instance.")
@click.pass_context
@handles_config_errors
def runs(ctx: click.Context, limit: int, connector: str | None) -> None:
    """List recent runs — pulls, webhook bursts and delivery bursts — with their counts and errors."""
    from hub.pipeline.runs import flush_webhook_tallies, recent_runs

    runtime = get_runtime(ctx)
    try:  # the webhook door counts in Redis: move its latest counts in first, as the ops pages do
        flush_webhook_tallies(runtime)
    except Exception as exc:  # noqa: BLE001 - still list what SQL holds when Redis is away
        click.echo(f"(webhook counts of the last minute not included: redis: {type(exc).__name__})", err=True)
    rows = recent_runs(runtime.db, limit, connector)
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
