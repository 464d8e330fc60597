"""Testing helpers for connector authors.

* :class:`ConnectorSuite` — the standard suite every connector runs.
* :class:`SandboxRouter` — route a connector's HTTP into its sandbox in process.
* :func:`read_all` — read a stream to its end from a cursor.

The pytest plugin (:mod:`hub.testing.plugin`, auto-loaded through the ``pytest11`` entry
point) adds the ``sandbox_router`` fixture.
"""

from hub.testing.http import SandboxRouter
from hub.testing.suite import ConnectorSuite, read_all

__all__ = ["ConnectorSuite", "SandboxRouter", "read_all"]
