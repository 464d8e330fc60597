"""Fixtures for the feiyu connector tests: a sandbox per API with HTTP routed into it."""

from __future__ import annotations

import pytest

from hub.connector import DictState
from hub.testing import SandboxRouter

from connectors.feiyu.connector import FeiyuConnector
from connectors.feiyu.sandbox import FeiyuSandbox


@pytest.fixture
def make_connector():
    """Build a connector over validated config (overrides merged in) and a given state."""

    def make(config: dict, state: DictState | None = None, cache=None, instance: str = "feiyu_test", **overrides):
        raw = {**config, **overrides}
        return FeiyuConnector(instance, FeiyuConnector.validate_config(raw), state=state if state is not None else DictState(), cache=cache)

    return make


def _routed(api: str):
    sandbox = FeiyuSandbox(api=api)
    router = SandboxRouter(sandbox, prefix="/sandbox/feiyu")
    return sandbox, router


@pytest.fixture
def marketing():
    """(sandbox, config) for the Marketing API, HTTP routed into the sandbox."""
    sandbox, router = _routed("marketing")
    with router:
        yield sandbox, sandbox.config_for(router.base_url)


@pytest.fixture
def crm():
    """(sandbox, config) for the legacy Feiyu CRM API, HTTP routed into the sandbox."""
    sandbox, router = _routed("crm")
    with router:
        yield sandbox, sandbox.config_for(router.base_url)
