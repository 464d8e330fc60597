import pytest

from hub.connector import DictState
from hub.connector.tokens import clear_local_tokens
from connectors.ticketing.sobot.connector import SobotConnector
from connectors.ticketing.udesk.connector import UdeskConnector


@pytest.fixture
def udesk_router(sandbox_router):
    return sandbox_router(UdeskConnector)


@pytest.fixture
def make_udesk(udesk_router):
    def make(state=None, **overrides):
        raw = {**udesk_router.sandbox.config_for(udesk_router.base_url), **overrides}
        return UdeskConnector("udesk_main", UdeskConnector.validate_config(raw), state=state if state is not None else DictState())

    return make


@pytest.fixture
def sobot_router(sandbox_router):
    # A fresh sandbox issues fresh tokens: start without the process's cached ones.
    clear_local_tokens()
    return sandbox_router(SobotConnector)


@pytest.fixture
def make_sobot(sobot_router):
    """``make_sobot(state=None, cache=None, **config_overrides)``."""

    def make(state=None, cache=None, **overrides):
        raw = {**sobot_router.sandbox.config_for(sobot_router.base_url), **overrides}
        return SobotConnector("sobot_main", SobotConnector.validate_config(raw),
                              state=state if state is not None else DictState(), cache=cache)

    return make
