import pytest

from hub.connector import DictState
from connectors.callcenter.connector import ClinkConnector


@pytest.fixture
def clink_router(sandbox_router):
    return sandbox_router(ClinkConnector)


@pytest.fixture
def make_clink(clink_router):
    def make(**overrides):
        raw = {**clink_router.sandbox.config_for(clink_router.base_url), **overrides}
        return ClinkConnector("cc", ClinkConnector.validate_config(raw), state=DictState())

    return make
