"""``hub discover INSTANCE [STREAM] [--sample N] [--json]``: what a connector instance offers.

Lists streams and sinks with their fields and types (for SQL: the tables and columns, plus
the tables no stream reads yet). ``--sample N`` prints N real records of one stream as a
JSON array — exactly what the stream hands the mapping — so that::

    hub discover crm rows --sample 5 > sample.json
    hub mappings test mappings/crm.rows.yaml sample.json

tries a mapping on real data before anything is synced. Reading is read-only: no cursor
is saved and nothing enters the hub.
"""

from __future__ import annotations

import json
import sys

import click

from hub.cli.context import get_runtime, handles_config_errors


def _default(value):
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@click.command()
@click.argument("instance")
@click.argument("stream", required=False)
@click.option("--sample", type=click.IntRange(0, 10000), default=0, help="Print N real records of STREAM as JSON (for `hub mappings test`).")
@click.option("--json", "as_json", is_flag=True, help="The whole discovery as JSON.")
@click.pass_context
@handles_config_errors
def discover(ctx: click.Context, instance: str, stream: str | None, sample: int, as_json: bool) -> None:
    """List INSTANCE's streams and sinks with their fields and types (tables and columns
    for SQL), or print --sample N records of STREAM."""
    from hub.config import did_you_mean
    from hub.connector import ConnectorError

    runtime = get_runtime(ctx)
    inst = runtime.config.connectors.get(instance)
    if inst is None:
        raise click.BadParameter(f"no connector instance {instance!r}{did_you_mean(instance, runtime.config.connectors)}", param_hint="INSTANCE")
    if sample and stream is None:
        offered = inst.connector_class.stream_names(inst.config)
        if len(offered) != 1:
            raise click.UsageError(f"--sample needs a STREAM ({instance} has {offered})")
        stream = offered[0]
    connector = runtime.connector(instance)
    try:
        found = connector.discover(stream, sample=sample)
    except KeyError as exc:
        click.echo(f"error: {exc.args[0] if exc.args else exc}", err=True)
        sys.exit(2)
    except ConnectorError as exc:
        click.echo(f"error: {instance} ({inst.type}): {exc.message}", err=True)
        sys.exit(1)
    finally:
        close = getattr(connector, "close", None)
        if callable(close):
            close()
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in found], ensure_ascii=False, indent=2, default=_default))
        return
    if sample:
        records = [r for s in found for r in s.samples]
        click.echo(json.dumps(records, ensure_ascii=False, indent=2, default=_default))
        click.echo(f"{len(records)} record(s) of {instance}.{stream}", err=True)
        return
    click.echo(f"{instance} ({inst.type})")
    for s in found:
        head = f"  {s.kind} {s.name}" + (f" — {s.description}" if s.description else "")
        click.echo(head + ("" if s.fields_complete or not s.fields else "  (fields inferred from records)"))
        if s.note:
            click.echo(f"    ({s.note})")
        width = max([len(f.name) for f in s.fields] + [4])
        for f in s.fields:
            marks = [m for m, on in (("key", f.key), ("null", f.nullable and not f.key), ("writable", f.writable)) if on]
            click.echo(f"    {f.name:<{width}}  {f.type:<16} {' '.join(marks)}".rstrip())
    click.echo(f"\nsample records: hub discover {instance} STREAM --sample 5 > sample.json")
