"""The `hub` command line: init, connectors, check, help everywhere."""

import json
import os
import subprocess
import sys

import click
from click.testing import CliRunner
from sqlalchemy import inspect

from hub.cli import cli
from hub.store import make_engine


def run_hub(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=120)


def test_connectors_lists_the_example_plugin_from_its_own_package():
    proc = run_hub("connectors")
    assert proc.returncode == 0, proc.stderr
    line = next(l for l in proc.stdout.splitlines() if l.startswith("example"))
    assert "hub-example" in line and "0.2.0" in line and "contacts" in line and " yes " in line


def test_connectors_json():
    proc = run_hub("connectors", "--json")
    rows = {r["type"]: r for r in json.loads(proc.stdout)}
    assert rows["example"] == {
        "type": "example",
        "title": "Example CRM",
        "plugin": "hub-example",
        "version": "0.2.0",
        "streams": ["contacts"],
        "sinks": ["contacts"],
        "webhook": True,
        "sandbox": True,
    }


def test_init_writes_a_sample_config_and_migrates(tmp_path):
    env = {"HUB_DATABASE_URL": f"sqlite:///{tmp_path}/var/hub.db"}
    proc = run_hub("init", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "config" / "hub.yaml").exists()
    assert "contacts" in inspect(make_engine(env["HUB_DATABASE_URL"])).get_table_names()
    again = run_hub("init", cwd=tmp_path, env=env)  # idempotent, keeps the user's config
    assert again.returncode == 0 and "wrote sample config" not in again.stdout
    check = run_hub("check", cwd=tmp_path, env=env)
    assert check.returncode == 0 and "config OK" in check.stdout


def test_every_command_has_help():
    runner = CliRunner()

    def walk(group, path):
        for name, command in group.commands.items():
            result = runner.invoke(cli, [*path, name, "--help"])
            assert result.exit_code == 0, (path, name, result.output)
            assert command.help or command.short_help, f"hub {' '.join(path + [name])} has no help text"
            if isinstance(command, click.Group):
                walk(command, path + [name])

    walk(cli, [])
    for expected in ("init", "check", "connectors", "serve", "worker", "demo"):
        assert expected in cli.commands
