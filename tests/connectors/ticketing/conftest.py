import pytest

from hub.connector import DictState
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
