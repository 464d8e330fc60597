"""pytest plugin (entry point ``pytest11``) for connector authors.

``sandbox_router(ConnectorClass)`` starts the connector's sandbox and routes HTTP to it for
the rest of the test; it returns the :class:`~hub.testing.http.SandboxRouter` (its
``base_url``, ``sandbox`` and served ``calls``).
"""

from __future__ import annotations

import pytest

from hub.testing.http import SandboxRouter


@pytest.fixture
def sandbox_router():
    routers: list[SandboxRouter] = []

    def start(connector_class) -> SandboxRouter:
        if connector_class.sandbox is None:
            raise ValueError(f"connector {connector_class.name!r} has no sandbox")
        router = SandboxRouter(connector_class.sandbox(), prefix=f"/sandbox/{connector_class.name}")
        routers.append(router.__enter__())
        return router

    yield start
    for router in reversed(routers):
        router.__exit__(None, None, None)
