"""Fixtures for the WeCom connector tests: a sandbox routed in process and a connector on it."""

from __future__ import annotations

import pytest

from hub.connector import DictState

from connectors.wecom.connector import WeComConnector


@pytest.fixture
def router(sandbox_router):
    return sandbox_router(WeComConnector)


@pytest.fixture
def sandbox(router):
    return router.sandbox


@pytest.fixture
def make_connector(router, sandbox):
    """``make_connector(cache=None, state=None, **config_overrides)``."""

    def make(*, cache=None, state=None, **overrides):
        raw = {**sandbox.config_for(router.base_url), **overrides}
        return WeComConnector("wecom_test", WeComConnector.validate_config(raw), state=state if state is not None else DictState(), cache=cache)

    return make


@pytest.fixture
def connector(make_connector):
    return make_connector()
