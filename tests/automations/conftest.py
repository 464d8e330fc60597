"""The ``make_auto_hub`` fixture (see :mod:`automation_hub`)."""

from __future__ import annotations

import pytest

from automation_hub import AutoHub, config_text
from connectors.wecom.sandbox import WeComSandbox
from hub.config import load_config
from hub.runtime import Runtime, set_current
from hub.testing import SandboxRouter


@pytest.fixture
def make_auto_hub(tmp_path, db, database_url, redis_url, redis_conn):
    """``make_auto_hub(automations_yaml, settings="", edit=None)`` → an :class:`AutoHub`;
    ``edit`` rewrites the config text first (more sinks, more top-level config)."""
    opened = []

    def make(automations: str, settings: str = "", edit=None) -> AutoHub:
        wecom, router = WeComSandbox(), SandboxRouter()
        base = router.mount(wecom, "/sandbox/wecom_sales")
        text = config_text(tmp_path, database_url, redis_url, automations, settings, wecom.config_for(base))
        path = tmp_path / "hub.yaml"
        path.write_text(edit(text) if edit else text, encoding="utf-8")
        runtime = Runtime(load_config(path, env={}))
        set_current(runtime)
        router.__enter__()
        opened.append((runtime, router))
        return AutoHub(runtime, wecom)

    yield make
    for runtime, router in opened:
        router.__exit__(None, None, None)
        runtime.close()
    set_current(None)


