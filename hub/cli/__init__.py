"""The ``hub`` command line. Commands live in small modules beside this one."""

from __future__ import annotations

import click

from hub import __version__
from hub.cli.errors import HubGroup


@click.group(cls=HubGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", envvar="HUB_CONFIG", type=click.Path(dir_okay=False),
              help="Config file (default config/hub.yaml, or $HUB_CONFIG).")
@click.version_option(__version__, prog_name="hub")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None) -> None:
    """Huiliu (汇流): sync customers between CRM, WeCom, ad leads, call center and ticketing."""
    ctx.ensure_object(dict)
    ctx.obj.setdefault("config_file", config_file)


def _add_commands() -> None:
    from hub.cli import admin, runtime_cmds

    for command in (*admin.COMMANDS, *runtime_cmds.COMMANDS):
        cli.add_command(command)
    optional = [
        ("hub.cli.mappings", "mappings"),
        ("hub.cli.contacts", "contacts"),
        ("hub.cli.sync", "COMMANDS"),
        ("hub.cli.preview", "COMMANDS"),
        ("hub.cli.discover", "discover"),
        ("hub.cli.demo", "demo"),
        ("hub.cli.tokens", "tokens"),
        ("hub.cli.automations", "COMMANDS"),
    ]
    import importlib

    for module_name, attr in optional:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        value = getattr(module, attr)
        for command in value if isinstance(value, (list, tuple)) else [value]:
            cli.add_command(command)
    from hub.plugins import get_registry

    get_registry().pm.hook.hub_register_commands(cli=cli)  # type: ignore[attr-defined]


_add_commands()


def main() -> None:
    cli(prog_name="hub")
