"""Distribution (issue 17): what a built wheel carries, plugin-shipped mappings, the config
schema printout, the ``server`` extra, and test plugins kept out of a normal install."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import tomllib
import types
import zipfile
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from hub.hookspecs import hookimpl
from hub.mapping.discovery import find_mapping, search_dirs
from hub.plugins import PluginError, build_registry

REPO = Path(__file__).resolve().parent.parent
TEST_PLUGIN_DIR = REPO / "tests" / "plugins" / "hub_example"


# --- the wheel ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """sdist, then a wheel built from that sdist (``python -m build``), from a copy of the tree."""
    tmp = tmp_path_factory.mktemp("build")
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache",
        "tests", "benchmarks", "docs", "node_modules"))
    out = tmp / "dist"
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = out.glob("huiliu-*.whl")
    (sdist,) = out.glob("huiliu-*.tar.gz")
    return wheel, sdist


@pytest.mark.slow
def test_the_wheel_carries_mappings_demo_config_and_wsgi(built):
    wheel, _ = built
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = sorted(p.name for p in (REPO / "mappings").glob("*.yaml"))
    assert shipped, "the repository ships mappings"
    missing = [n for n in shipped if f"hub/_shipped/mappings/{n}" not in names]
    assert not missing, f"mappings missing from the wheel: {missing}"
    assert "hub/_shipped/mappings/README.md" in names
    assert "hub/_shipped/config/demo.yaml" in names
    assert "hub/wsgi.py" in names and "hub/templates/hub.yaml" in names
    assert not [n for n in names if n.startswith(("tests/", "hub_example/"))], "test code must not ship"
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("hub/_shipped/config/demo.yaml") == (REPO / "config" / "demo.yaml").read_bytes()


@pytest.mark.slow
def test_an_installed_wheel_finds_its_shipped_files(built, tmp_path):
    """Installed outside the repository, the hub finds mappings, the demo config and its wsgi app."""
    wheel, _ = built
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                           "--target", str(target), str(wheel)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    probe = textwrap.dedent("""
        import json, hub
        from hub.mapping.discovery import SHIPPED_DIR, find_mapping, shipped_path
        from hub.plugins import build_registry
        import hub.wsgi
        print(json.dumps({
            "hub": hub.__file__,
            "shipped": str(SHIPPED_DIR),
            "feiyu": str(find_mapping("feiyu", "leads", "inbound")),
            "demo": shipped_path("config", "demo.yaml").is_file(),
            "connectors": sorted(build_registry().connectors),
            "app": type(hub.wsgi.app).__name__,
            "demo_config": __import__("hub.cli.demo", fromlist=["default_config"]).default_config(),
        }))
    """)
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    (run_dir / "hub.yaml").write_text(f"hub:\n  var_dir: {run_dir}/var\nconnectors: {{}}\n")
    env = {**os.environ, "PYTHONPATH": str(target), "HUB_CONFIG": str(run_dir / "hub.yaml"),
           "HUB_DATABASE_URL": f"sqlite:///{run_dir}/hub.db"}
    env.pop("HUB_LOAD_PLUGINS", None)
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=run_dir, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["hub"].startswith(str(target)), found
    assert found["shipped"] == str(target / "hub" / "_shipped" / "mappings")
    assert found["feiyu"] == str(target / "hub" / "_shipped" / "mappings" / "feiyu.leads.yaml")
    assert found["demo"] is True
    assert {"sql", "wecom", "feiyu"} <= set(found["connectors"]) and "example" not in found["connectors"]
    assert found["app"] == "Flask"
    assert found["demo_config"] == str(target / "hub" / "_shipped" / "config" / "demo.yaml")  # hub demo runs anywhere


# --- plugins ship mappings ------------------------------------------------------------------

def _plugin(name: str, directory: Path) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def hub_register_mappings(register):
        register(directory)

    module.hub_register_mappings = hub_register_mappings
    return module


def test_a_plugin_ships_its_mappings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    maps = tmp_path / "acme_pkg" / "mappings"
    maps.mkdir(parents=True)
    (maps / "acme.orders.yaml").write_text("fields: {name: name}\n")
    registry = build_registry(extra_plugins=[_plugin("acme_plugin", maps)])
    assert (maps.resolve(), "acme_plugin") in registry.mapping_dirs
    assert search_dirs(registry)[-1] == maps.resolve()
    assert find_mapping("acme", "orders", "inbound", registry=registry) == maps.resolve() / "acme.orders.yaml"
    # an IT team's own file of the same name wins over the plugin's
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "acme.orders.yaml").write_text("fields: {name: name}\n")
    assert find_mapping("acme", "orders", "inbound", registry=registry) == tmp_path / "mappings" / "acme.orders.yaml"


def test_the_example_plugin_ships_its_mappings_through_its_entry_point(monkeypatch):
    monkeypatch.setenv("HUB_LOAD_PLUGINS", "example")
    registry = build_registry()
    expected = TEST_PLUGIN_DIR / "hub_example" / "mappings"
    assert [(d, p) for d, p in registry.mapping_dirs] == [(expected.resolve(), "example")]
    assert find_mapping("example", "contacts", "outbound", registry=registry) == expected.resolve() / "example.contacts.out.yaml"


def test_a_plugin_mapping_name_clash_names_both(tmp_path):
    maps = tmp_path / "mappings"
    maps.mkdir()
    (maps / "feiyu.leads.yaml").write_text("fields: {name: name}\n")
    with pytest.raises(PluginError, match=r"mapping feiyu.leads.yaml registered twice \(by Huiliu \(shipped mappings\) and plugin 'clash'\)"):
        build_registry(extra_plugins=[_plugin("clash", maps)])
    other = tmp_path / "other"
    other.mkdir()
    (other / "acme.x.yaml").write_text("fields: {a: a}\n")
    (maps / "feiyu.leads.yaml").unlink()
    (maps / "acme.x.yaml").write_text("fields: {a: a}\n")
    with pytest.raises(PluginError, match=r"mapping acme.x.yaml registered twice \(by plugin 'one' and plugin 'two'\)"):
        build_registry(extra_plugins=[_plugin("one", maps), _plugin("two", other)])


def test_a_plugin_registering_a_missing_directory_is_an_error(tmp_path):
    with pytest.raises(PluginError, match="plugin 'broken' registered mappings directory .*nowhere, which does not exist"):
        build_registry(extra_plugins=[_plugin("broken", tmp_path / "nowhere")])


# --- hub connectors spec --------------------------------------------------------------------

@pytest.fixture
def cli(monkeypatch):
    from hub.plugins import reset_registry

    monkeypatch.delenv("HUB_LOAD_PLUGINS", raising=False)
    reset_registry()
    from hub.cli import cli

    yield cli
    reset_registry()


def test_connectors_spec_prints_the_config_schema(cli):
    result = CliRunner().invoke(cli, ["connectors", "spec", "sql"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("sql (") and "connectors.<name>.config" in lines[0]
    row = {line.split()[0]: line.split() for line in lines[2:]}
    assert row["url"][1:4] == ["text", "yes", "yes"]                     # type, required, secret
    assert row["batch_size"][1:5] == ["integer", "no", "no", "500"] and row["batch_size"][5] == "1..10000"
    assert "streams.<name>.cursor_type" in row and "one of timestamp, integer" in " ".join(row["streams.<name>.cursor_type"])
    assert row["sinks.<name>.columns"][1:6] == ["list", "of", "text", "yes", "no"]


def test_connectors_spec_json(cli):
    result = CliRunner().invoke(cli, ["connectors", "spec", "wecom", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    spec = json.loads(result.output)
    keys = {k["path"]: k for k in spec["keys"]}
    assert spec["type"] == "wecom"
    assert keys["secret"] == {**keys["secret"], "type": "text", "required": True, "secret": True, "has_default": False}
    assert keys["callback_token"]["secret"] is True and keys["callback_token"]["required"] is False
    assert keys["corp_id"]["constraints"] == ["length 1..64"]
    assert keys["page_size"]["default"] == 100 and keys["page_size"]["constraints"] == ["1..100"]
    assert keys["base_url"]["type"] == "url"


def test_connectors_spec_unknown_type(cli):
    result = CliRunner().invoke(cli, ["connectors", "spec", "sqll"])
    assert result.exit_code == 2
    assert "unknown connector type 'sqll' (did you mean 'sql'?); installed:" in result.output
    assert "Traceback" not in result.output


def test_connectors_without_a_subcommand_still_lists(cli):
    result = CliRunner().invoke(cli, ["connectors", "--json"], catch_exceptions=False)
    assert {"sql", "wecom"} <= {r["type"] for r in json.loads(result.output)}


# --- the server extra and gunicorn -----------------------------------------------------------

def test_gunicorn_is_in_the_server_extra_the_docs_use():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert any(req.startswith("gunicorn") for req in project["optional-dependencies"]["server"])
    for doc in ("README.md", "docs/operations.md", "docs/web.md"):
        text = (REPO / doc).read_text()
        assert "gunicorn wsgi:app" not in text, doc
    assert "huiliu[server]" in (REPO / "docs" / "operations.md").read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_gunicorn_serves_the_wsgi_entry(tmp_path, redis_url):
    from hub.store import Database

    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        pytest.fail("gunicorn is missing: install the server extra (make test does)")
    config = tmp_path / "hub.yaml"
    config.write_text(f"hub:\n  var_dir: {tmp_path}/var\nconnectors: {{}}\n")
    # A database of its own: what is tested is gunicorn serving the entry point, and the
    # session's database may be busy with what earlier tests left behind.
    database_url = f"sqlite:///{tmp_path / 'hub.db'}"
    Database(database_url).migrate()
    port = _free_port()
    env = {**os.environ, "HUB_CONFIG": str(config), "HUB_DATABASE_URL": database_url, "HUB_REDIS_URL": redis_url}
    # --timeout: on a loaded machine importing the app can outlast gunicorn's default 30 s
    proc = subprocess.Popen([str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "120", "hub.wsgi:app"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                resp = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):  # still booting its worker
                assert proc.poll() is None, proc.stdout.read().decode(errors="replace")[-3000:]
                if time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail("gunicorn did not answer: " + proc.communicate()[0].decode(errors="replace")[-3000:])
                time.sleep(0.3)
        assert resp.status_code == 200, resp.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# --- test plugins stay out of a normal install ------------------------------------------------

def test_a_normal_install_does_not_list_the_example_plugin():
    """The test session exposes the example plugin itself (tests/plugins/expose.py); the
    installed environment — what `make demo` runs in — must not know it."""
    test_paths = {p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    env = {**os.environ}
    env.pop("HUB_LOAD_PLUGINS", None)
    rest = [p for p in env.pop("PYTHONPATH", "").split(os.pathsep) if p and "hub-test-plugins-" not in p
            and Path(p).resolve() != TEST_PLUGIN_DIR.resolve()]
    if rest:
        env["PYTHONPATH"] = os.pathsep.join(rest)
    proc = subprocess.run([sys.executable, "-m", "hub", "connectors", "--json"], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    types_ = {r["type"] for r in json.loads(proc.stdout)}
    assert "sql" in types_
    assert "example" not in types_, ("the example test plugin is installed in this environment; "
                                     "`pip uninstall hub-example` (make does it)")
    assert any("hub-test-plugins-" in p for p in test_paths), "the test session should expose the example plugin"


def test_the_makefile_never_installs_a_test_plugin():
    makefile = (REPO / "Makefile").read_text()
    assert "tests/plugins" not in "".join(line for line in makefile.splitlines() if "pip" in line and "install" in line
                                          and "uninstall" not in line)


def test_an_it_team_file_extends_a_plugin_shipped_mapping(tmp_path, monkeypatch):
    """./mappings/example.contacts.out.yaml with `extends:` the plugin's file of the same name
    changes one field and keeps the rest."""
    from hub.mapping import canonical_view, load_mapping
    from hub.plugins import get_registry, reset_registry

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HUB_LOAD_PLUGINS", raising=False)
    reset_registry()
    try:
        own = tmp_path / "mappings" / "example.contacts.out.yaml"
        own.parent.mkdir()
        own.write_text("extends: example.contacts.out.yaml\nfields:\n  tier: {const: vip}\n")
        registry = get_registry()
        assert find_mapping("example", "contacts", "outbound", registry=registry) == own
        mapping = load_mapping(own, registry=registry)
        shipped = TEST_PLUGIN_DIR / "hub_example" / "mappings" / "example.contacts.out.yaml"
        assert [Path(f).resolve() for f in mapping.files] == [own.resolve(), shipped.resolve()]
        payload = mapping.apply(canonical_view(1, attributes={"name": "张三", "tier": "gold"}, identities={"phone": ["+8613800138000"]}))
        assert payload == {"name": "张三", "phone": "+8613800138000", "tier": "vip"}
    finally:
        reset_registry()


def test_describe_config_walks_every_kind_of_field():
    from marshmallow import Schema, fields, validate

    from hub.connector import Secret
    from hub.connector.spec import describe_config

    class Table(Schema):
        name = fields.String(required=True, validate=validate.Regexp(r"^\w+$", error="not a table name"))
        columns = fields.List(fields.String(), load_default=list)

    class Auth(Schema):
        token = Secret(required=True)
        ttl = fields.Integer(load_default=7200, validate=validate.Range(min=60))

    class Config(Schema):
        base_url = fields.Url(load_default="https://api.example.com", schemes={"https"})
        mode = fields.String(load_default="live", validate=validate.OneOf(["live", "preview"]))
        password = Secret(load_default="hunter2-default")
        auth = fields.Nested(Auth, required=True)
        tables = fields.Dict(keys=fields.String(), values=fields.Nested(Table), load_default=dict)
        hooks = fields.List(fields.Nested(Table), load_default=list, allow_none=True)
        ratio = fields.Float(metadata={"description": "share of rows to sample"})
        flags = fields.Dict(keys=fields.String(), values=fields.Boolean())

    keys = {k.path: k for k in describe_config(Config)}
    assert list(keys) == ["base_url", "mode", "password", "auth", "auth.token", "auth.ttl", "tables", "tables.<name>.name",
                          "tables.<name>.columns", "hooks", "hooks[].name", "hooks[].columns", "ratio", "flags"]
    assert keys["base_url"].type == "url" and keys["base_url"].constraints == ["scheme https"]
    assert keys["mode"].default == "live" and keys["mode"].constraints == ["one of live, preview"]
    assert keys["password"].secret and keys["password"].has_default
    assert keys["auth"].type == "object" and keys["auth"].required
    assert keys["auth.token"].secret and keys["auth.token"].required and not keys["auth.token"].has_default
    assert keys["auth.ttl"].constraints == [">= 60"]
    assert keys["tables"].type == "mapping of name → object" and keys["tables"].default == {}
    assert keys["tables.<name>.name"].constraints == ["a table name"]
    assert keys["tables.<name>.columns"].type == "list of text" and keys["tables.<name>.columns"].default == []
    assert keys["hooks"].type == "list of objects" and "may be null" in keys["hooks"].constraints
    assert keys["ratio"].type == "number" and keys["ratio"].description == "share of rows to sample"
    assert keys["flags"].type == "mapping of name → boolean" and not keys["flags"].has_default


def test_a_secret_default_is_never_printed(cli, monkeypatch):
    from marshmallow import Schema

    from hub.connector import Connector, Secret
    from hub.plugins import get_registry

    class Cfg(Schema):
        api_key = Secret(load_default="sk-default-do-not-print")

    class Dummy(Connector):
        name = "dummy_spec"
        config_schema = Cfg

    monkeypatch.setitem(get_registry().connectors, "dummy_spec", Dummy)
    result = CliRunner().invoke(cli, ["connectors", "spec", "dummy_spec"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "sk-default-do-not-print" not in result.output and "(set)" in result.output
    result = CliRunner().invoke(cli, ["connectors", "spec", "dummy_spec", "--json"], catch_exceptions=False)
    assert "sk-default-do-not-print" not in result.output


def test_hub_demo_finds_its_config_outside_a_checkout(tmp_path, monkeypatch):
    from hub.cli.demo import default_config

    monkeypatch.chdir(REPO)
    assert default_config() == "config/demo.yaml"
    monkeypatch.chdir(tmp_path)  # elsewhere: the shipped copy (the repository's here, hub/_shipped in a wheel)
    assert Path(default_config()) == REPO / "config" / "demo.yaml"
