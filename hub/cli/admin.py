"""``hub init``, ``hub check``, ``hub connectors``: setting up and inspecting a hub."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from hub.cli.context import get_runtime, handles_config_errors

SAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "templates" / "hub.yaml"


@click.command()
@click.pass_context
@handles_config_errors
def init(ctx: click.Context) -> None:
    """Create var/, write a commented sample config if none exists, migrate the database."""
    from hub.config import config_path

    path = config_path(ctx.find_root().obj.get("config_file"))
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLE_CONFIG, path)
        click.echo(f"wrote sample config {path}")
    runtime = get_runtime(ctx)
    runtime.config.hub.var_dir.mkdir(parents=True, exist_ok=True)
    runtime.db.migrate()
    click.echo(f"database ready: {runtime.db.engine.url.render_as_string(hide_password=True)}")


@click.command()
@click.option("--offline", is_flag=True, help="Don't call any remote system (connectors' check and discovery).")
@click.pass_context
@handles_config_errors
def check(ctx: click.Context, offline: bool) -> None:
    """Preflight: the config, the hub database (reachable, migrated), Redis, every mapping
    the config uses (lint, paths against the fields `hub discover` finds, outbound keys
    against each sink's writable fields) and each enabled connector's check().

    Each problem is one line, `file:line key: message`; exits 2 when there is any."""
    from hub.preflight import run

    runtime = get_runtime(ctx)
    report = run(runtime, offline=offline)
    for line in report.ok:
        click.echo(line)
    for line in report.warnings:
        click.echo(f"warning: {line}", err=True)
    for line in report.problems:
        click.echo(line, err=True)
    if report.problems:
        click.echo(f"{len(report.problems)} problem(s)", err=True)
        sys.exit(2)
    from hub.reload import stale_notice

    notice = stale_notice(runtime)
    if notice:
        click.echo(notice, err=True)


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def connectors(ctx: click.Context, as_json: bool) -> None:
    """List installed connector types: plugin, version, streams, sinks, webhook.
    `hub connectors spec TYPE` shows the config keys of one type."""
    if ctx.invoked_subcommand is not None:
        return
    import json

    from hub.plugins import get_registry

    registry = get_registry()
    versions = {p.name: p for p in registry.plugins}
    rows = []
    for name, cls in sorted(registry.connectors.items()):
        plugin = versions.get(registry.connector_plugin.get(name, ""))
        rows.append(
            {
                "type": name,
                "title": cls.title or name,
                "plugin": plugin.distribution if plugin else "?",
                "version": cls.version if cls.version != "0" else (plugin.version if plugin else "?"),
                "streams": sorted(cls.streams),
                "sinks": sorted(cls.sinks),
                "webhook": cls.webhook is not None,
                "sandbox": cls.sandbox is not None,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no connectors installed")
        return
    header = f"{'TYPE':<12} {'PLUGIN':<14} {'VERSION':<8} {'WEBHOOK':<7} {'STREAMS':<40} SINKS"
    click.echo(header)
    for r in rows:
        click.echo(
            f"{r['type']:<12} {r['plugin']:<14} {r['version']:<8} {'yes' if r['webhook'] else 'no':<7} "
            f"{','.join(r['streams']) or '-':<40} {','.join(r['sinks']) or '-'}"
        )


@connectors.command("spec")
@click.argument("connector_type")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def connectors_spec(connector_type: str, as_json: bool) -> None:
    """The config keys CONNECTOR_TYPE takes under `connectors.<name>.config`: type,
    required, secret, default and allowed values, from the connector's own schema."""
    import json

    from hub.config.errors import did_you_mean
    from hub.connector.spec import describe_config
    from hub.plugins import get_registry

    registry = get_registry()
    cls = registry.connectors.get(connector_type)
    if cls is None:
        known = ", ".join(sorted(registry.connectors)) or "none installed"
        click.echo(f"unknown connector type {connector_type!r}{did_you_mean(connector_type, registry.connectors)}; "
                   f"installed: {known}", err=True)
        sys.exit(2)
    keys = describe_config(cls.config_schema)
    if as_json:
        click.echo(json.dumps({"type": connector_type, "title": cls.title or connector_type,
                               "keys": [k.as_dict() for k in keys]}, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"{connector_type} ({cls.title or connector_type}): keys under connectors.<name>.config")
    width = max([len(k.path) for k in keys] + [3])
    click.echo(f"  {'KEY':<{width}}  {'TYPE':<26} {'REQUIRED':<8} {'SECRET':<6} {'DEFAULT':<20} ALLOWED")
    for k in keys:
        default = "-" if not k.has_default else json.dumps(k.default, ensure_ascii=False, default=str)
        if k.secret and k.has_default and k.default is not None:
            default = "(set)"  # a secret's default is never printed
        click.echo(f"  {k.path:<{width}}  {k.type:<26} {'yes' if k.required else 'no':<8} "
                   f"{'yes' if k.secret else 'no':<6} {default:<20} {'; '.join(k.constraints)}".rstrip())
        if k.description:
            click.echo(f"  {'':<{width}}  {k.description}")


COMMANDS = [init, check, connectors]
