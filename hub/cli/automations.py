"""``hub automations``: list, show, approve, pause, resume and run (or dry-run) automations.

The switches live in :mod:`hub.automations.control`, the dry run in
:mod:`hub.automations.dryrun`, a run on current data in :mod:`hub.automations.backfill`;
see docs/automations.md.
"""

from __future__ import annotations

import json
import sys

import click
from sqlalchemy import func, select

from hub.cli.context import get_runtime, handles_config_errors


def _automation(runtime, name: str):
    autos = runtime.config.automations.automations
    if name not in autos:
        from hub.config import did_you_mean

        click.echo(f"no automation {name!r}{did_you_mean(name, autos)}; configured: {', '.join(sorted(autos)) or 'none'}", err=True)
        sys.exit(1)
    return autos[name]


def _counts(runtime, name: str) -> dict[str, int]:
    from hub.store.models import AutomationAction

    with runtime.db.session() as s:
        return dict(s.execute(select(AutomationAction.status, func.count()).where(AutomationAction.automation == name)
                              .group_by(AutomationAction.status)).all())


@click.group()
def automations() -> None:
    """Rules and SOP journeys (docs/automations.md): preview, approve, pause, resume."""


@automations.command("list")
@click.pass_context
@handles_config_errors
def list_(ctx: click.Context) -> None:
    """Every automation with its kind, status, trigger and action counts."""
    from hub.automations.control import statuses

    runtime = get_runtime(ctx)
    autos = runtime.config.automations.automations
    if not autos:
        click.echo("no automations configured (automations: in the config, or automations/*.yaml)")
        return
    with runtime.db.session() as s:
        state = statuses(s)
    for name, auto in autos.items():
        trigger = (auto.on or auto.enroll).describe()  # type: ignore[union-attr]
        counts = ", ".join(f"{k} {v}" for k, v in sorted(_counts(runtime, name).items())) or "no actions yet"
        click.echo(f"{name:<24} {auto.kind:<8} {state.get(name, 'preview'):<8} {trigger} — {counts}")


@automations.command()
@click.argument("name")
@click.option("--limit", default=10, show_default=True, help="Recent actions shown.")
@click.pass_context
@handles_config_errors
def show(ctx: click.Context, name: str, limit: int) -> None:
    """NAME's definition, status, action counts, journey progress and recent actions."""
    from hub.automations.control import status_of
    from hub.automations.journeys import progress
    from hub.store.models import AutomationAction

    runtime = get_runtime(ctx)
    auto = _automation(runtime, name)
    with runtime.db.session() as s:
        status = status_of(s, name)
        recent = list(s.scalars(select(AutomationAction).where(AutomationAction.automation == name)
                                .order_by(AutomationAction.id.desc()).limit(limit)))
        prog = progress(s, name) if auto.kind == "journey" else None
    click.echo(f"{name} ({auto.kind}, {status}) — defined at {auto.source}")
    if auto.kind == "rule":
        click.echo(f"  on: {auto.on.describe()}")  # type: ignore[union-attr]
        click.echo(f"  do: {', '.join(a.target for a in auto.actions)}")
        if auto.on.member is not None:  # type: ignore[union-attr]
            from hub.automations.departure import describe

            for line in describe(runtime, auto):
                click.echo(f"  {line}")
        if auto.on.schedule is not None:  # type: ignore[union-attr]
            from hub.automations.schedule import describe_state, state

            for line in describe_state(state(runtime, name)):
                click.echo(f"  {line}")
    else:
        click.echo(f"  enroll: {auto.enroll.describe()}")  # type: ignore[union-attr]
        if auto.exits:
            click.echo(f"  exit: {'; '.join(t.describe() for t in auto.exits)}")
        for i, step in enumerate(auto.steps, 1):
            at = f" at {step.window}" if step.window else ""
            click.echo(f"  step {i}: after {step.after:g}s{at}: {', '.join(a.target for a in step.actions)}")
        click.echo(f"  enrolled: {prog['active']} active {dict(sorted(prog['by_step'].items()))}, "  # type: ignore[index]
                   f"{prog['exited']} exited, {prog['completed']} completed")  # type: ignore[index]
    counts = _counts(runtime, name)
    click.echo("  actions: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none yet"))
    for a in recent:
        payload = json.dumps(a.payload, ensure_ascii=False, sort_keys=True) if a.payload else ""
        click.echo(f"  #{a.id:<6} contact {a.contact_id} {a.kind:<6} {a.target} {a.status}"
                   + (f" {payload}" if payload else "") + (f" ({a.detail})" if a.detail else ""))
    if status == "preview":
        click.echo(f"  in preview: nothing is sent. Go live: hub automations approve {name}")


def _switch(ctx: click.Context, name: str, verb: str) -> None:
    from hub.automations import control

    runtime = get_runtime(ctx)
    _automation(runtime, name)
    try:
        new = getattr(control, verb)(runtime, name, actor="cli")
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(f"{name}: {new}")


@automations.command()
@click.argument("name")
@click.pass_context
@handles_config_errors
def approve(ctx: click.Context, name: str) -> None:
    """Take NAME out of preview: its actions are sent from now on."""
    _switch(ctx, name, "approve")


@automations.command()
@click.argument("name")
@click.pass_context
@handles_config_errors
def pause(ctx: click.Context, name: str) -> None:
    """Stop NAME acting; journey enrollments keep their place."""
    _switch(ctx, name, "pause")


@automations.command()
@click.argument("name")
@click.pass_context
@handles_config_errors
def resume(ctx: click.Context, name: str) -> None:
    """Let a paused NAME act again."""
    _switch(ctx, name, "resume")


@automations.command()
@click.argument("name")
@click.option("--dry-run", is_flag=True, help="Evaluate against current data; write nothing.")
@click.option("--limit", default=20, show_default=True, help="Contacts shown.")
@click.pass_context
@handles_config_errors
def run(ctx: click.Context, name: str, dry_run: bool, limit: int) -> None:
    """Act on current data now, once (a live automation), or show who NAME would act on
    and what it would send (--dry-run)."""
    from hub.automations.dryrun import dry_run as evaluate

    runtime = get_runtime(ctx)
    auto = _automation(runtime, name)
    if not dry_run:
        from hub.automations.backfill import NotLive, run_now

        try:
            done = run_now(runtime, auto)
        except NotLive as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
        if done.detail:
            click.echo(f"{name}: hand-over job run: {done.detail}")
        else:
            click.echo(f"{name}: {done.matched} contact(s) match now; acted on {done.acted}, "
                       f"{done.skipped} already done; {len(done.outbox_ids)} write(s) queued")
        return
    found = evaluate(runtime, auto, limit=limit)
    if auto.on is not None and auto.on.schedule is not None:
        from hub.automations.schedule import describe_state, state

        click.echo(f"{name}: {auto.on.describe()}; " + describe_state(state(runtime, name))[0])
    if not found:
        click.echo(f"{name} would act on no contact now")
        return
    click.echo(f"{name} would act on {len(found)} contact(s){' (first ' + str(limit) + ')' if len(found) >= limit else ''}:")
    for would in found:
        click.echo(f"  contact {would.contact_id}: {would.why}")
        for a in would.actions:
            payload = json.dumps(a["payload"], ensure_ascii=False, sort_keys=True) if a["payload"] else ""
            note = f" — {a['detail']}" if a["status"] == "failed" else ""
            click.echo(f"    → {a['target']} {payload}{note}")
    click.echo("dry run: nothing was written")


COMMANDS = [automations]
