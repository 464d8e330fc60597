"""``hub plan`` and ``hub approve``: see the writes a preview sink holds, then release them.

The decision and the queries live in :mod:`hub.pipeline.preview` (the UI uses them too).
"""

from __future__ import annotations

import json
import sys

import click

from hub.cli.context import get_runtime, handles_config_errors


def _payload(payload: dict, width: int = 110) -> str:
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


@click.command()
@click.argument("target", required=False)
@click.option("--limit", default=20, show_default=True, help="Held writes shown per sink.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (every held write).")
@click.pass_context
@handles_config_errors
def plan(ctx: click.Context, target: str | None, limit: int, as_json: bool) -> None:
    """Show what each sink would write: held creates and updates with their payloads.

    TARGET is INSTANCE or INSTANCE.SINK (default: every sink)."""
    from hub.pipeline.preview import held_writes, sink_previews

    runtime = get_runtime(ctx)
    sinks = sink_previews(runtime, target)
    if as_json:
        click.echo(json.dumps({"sinks": [p.as_dict() for p in sinks],
                               "held": [w.as_dict() for w in held_writes(runtime.db, target)]},
                              ensure_ascii=False, indent=2, default=str))
        return
    if not sinks:
        click.echo("no sinks configured" + (f" for {target}" if target else ""))
        return
    for p in sinks:
        name = f"{p.instance}.{p.sink}"
        if p.holding:
            state = "preview — writes are held until `hub approve`"
        elif p.mode == "preview":
            state = f"approved {p.approved_at:%Y-%m-%d %H:%M} UTC by {p.approved_by} — writes flow"
        else:
            state = "live — writes flow"
        click.echo(f"{name}: {state}")
        if not p.held:
            continue
        click.echo(f"  {p.held} held: {p.creates} create(s), {p.updates} update(s)")
        for w in held_writes(runtime.db, name, limit=limit):
            where = f"row {w.native_id}" if w.native_id else "new row"
            click.echo(f"  #{w.id:<6} {w.action:<6} contact {w.contact_id} → {where}: {_payload(w.payload)}")
        if p.held > limit:
            click.echo(f"  … {p.held - limit} more (--limit, or --json for all)")
        click.echo(f"  approve: hub approve {name} --all    (or: hub approve {name} ID …)")


@click.command()
@click.argument("target")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "approve_all", is_flag=True, help="Release every held write and approve the sink(s): later writes flow.")
@click.option("--revoke", is_flag=True, help="Put the sink(s) back in preview.")
@click.option("--discard", is_flag=True, help="Drop the given (or --all) held writes instead of sending them.")
@click.option("--inline", is_flag=True, help="Deliver now in this process instead of through the queue.")
@click.pass_context
@handles_config_errors
def approve(ctx: click.Context, target: str, ids: tuple[int, ...], approve_all: bool, revoke: bool,
            discard: bool, inline: bool) -> None:
    """Release writes held for preview. TARGET is INSTANCE or INSTANCE.SINK.

    With --all every held write of TARGET is delivered and its sinks are approved (writes
    flow from then on). With IDS (see `hub plan`) only those are delivered; the sinks stay
    in preview. Every approval is audited."""
    from hub.pipeline import preview

    runtime = get_runtime(ctx)
    actor = "cli"
    try:
        if revoke:
            if ids or approve_all or discard:
                raise click.UsageError("--revoke takes only TARGET")
            gone = preview.revoke(runtime, target, actor=actor)
            click.echo(f"back in preview: {', '.join(gone)}" if gone else f"{target}: no approval to revoke")
            return
        if bool(ids) == approve_all:
            raise click.UsageError("give held write IDS (see `hub plan`) or --all")
        if discard:
            dropped = preview.discard_held(runtime, target, ids=None if approve_all else ids, actor=actor)
            click.echo(f"discarded {len(dropped)} held write(s) of {target}")
            return
        outcome = preview.approve(runtime, target, ids=None if approve_all else ids, actor=actor, inline=inline)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"released {len(outcome.released)} held write(s) of {target}" + (" (delivered)" if inline else " (queued for delivery)"))
    if outcome.approved:
        click.echo(f"approved: {', '.join(outcome.approved)} — later writes flow without a hold")
    else:
        click.echo(f"{target} stays in preview; `hub approve {target} --all` approves it")


COMMANDS = [plan, approve]
