"""Secrets never reach logs: real code paths run with a canary secret, every log line
captured (text and JSON formats) must be free of it."""

import io
import json
import logging

import pytest
import requests

from hub import logs
from hub.config import load_config
from hub.connector import CheckFailed
from hub.runtime import Runtime
from hub.testing import SandboxRouter
from hub_example.connector import ExampleConnector
from hub_example.sandbox import ExampleSandbox

CANARY = "CANARY-s3cr3t-7f3a9c"


@pytest.fixture
def captured():
    """Every hub log line, as the text and JSON handlers would write them."""
    logs.install_masking()
    text_out, json_out = io.StringIO(), io.StringIO()
    text_handler = logging.StreamHandler(text_out)
    text_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    json_handler = logging.StreamHandler(json_out)
    json_handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(text_handler)
    root.addHandler(json_handler)
    root.setLevel(logging.DEBUG)
    yield lambda: text_out.getvalue() + json_out.getvalue()
    root.removeHandler(text_handler)
    root.removeHandler(json_handler)
    root.setLevel(old_level)


def test_config_secrets_are_masked_on_real_paths(tmp_path, captured, monkeypatch):
    path = tmp_path / "hub.yaml"
    path.write_text(
        "connectors:\n  crm_a:\n    type: example\n    config:\n"
        "      base_url: http://sandbox.hub.test/sandbox/example\n      api_key: ${CRM_KEY}\n"
    )
    monkeypatch.setenv("CRM_KEY", CANARY)
    runtime = Runtime(load_config(path))  # registers the instance's secret fields
    connector = runtime.connector("crm_a")
    log = logging.getLogger("hub.test")
    with SandboxRouter(ExampleSandbox(), prefix="/sandbox/example"):
        with pytest.raises(CheckFailed) as info:
            connector.check()  # the sandbox rejects the canary key; urllib3 logs at DEBUG
    log.warning("check failed: %s (config %s)", info.value, connector.config)
    log.info("calling https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=%s", CANARY)
    try:
        raise RuntimeError(f"upstream said: bad api_key {CANARY}")
    except RuntimeError:
        log.exception("request failed")
    out = captured()
    assert "check failed" in out and "request failed" in out and "corpid=ww1" in out
    assert CANARY not in out
    assert CANARY not in str(info.value)
    for line in filter(None, out.splitlines()):
        if line.startswith("{"):
            json.loads(line)


def test_credential_shapes_are_masked_without_registration(captured):
    log = logging.getLogger("hub.test")
    log.info("db at postgresql://hub:%s@db.internal/hub", "pw-" + CANARY)
    log.info("headers {'Authorization': 'Bearer %s'}", "tok-" + CANARY)
    log.info("form access_token=%s&refresh_token=%s", "a-" + CANARY, "r-" + CANARY)
    log.info('json {"app_secret": "%s"}', "s-" + CANARY)
    out = captured()
    assert CANARY not in out
    assert "postgresql://hub:***@db.internal/hub" in out


def test_short_values_are_not_registered():
    logs.register_secret("ab")
    assert logs.mask("a tab b") == "a tab b"


def test_plain_text_is_untouched():
    assert logs.mask("synced 120 contacts from crm_a in 2.1s") == "synced 120 contacts from crm_a in 2.1s"


def test_check_output_does_not_print_secrets(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from hub.cli import cli

    path = tmp_path / "hub.yaml"
    path.write_text(
        f"hub:\n  database_url: sqlite:///{tmp_path}/hub.db\n"
        "connectors:\n  crm_a:\n    type: example\n    config:\n"
        "      base_url: http://sandbox.hub.test/sandbox/example\n      api_key: ${CRM_KEY}\n"
    )
    monkeypatch.setenv("CRM_KEY", CANARY)
    with SandboxRouter(ExampleSandbox(), prefix="/sandbox/example"):
        result = CliRunner().invoke(cli, ["--config", str(path), "check"])
    assert result.exit_code == 2  # a preflight problem (issue 17): one line, exit 2
    assert "connectors.crm_a: check failed (example):" in result.output
    assert CANARY not in result.output
