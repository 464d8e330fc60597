"""Every installed connector — built-in or third-party — runs the standard suite.

One suite class is generated per connector type found through the ``hub`` entry points,
so installing a plugin is enough to have it checked here.
"""

from hub.plugins import build_registry
from hub.testing import ConnectorSuite

_registry = build_registry()

for _name, _cls in sorted(_registry.connectors.items()):
    _suite = type(f"TestConnectorSuite_{_name}", (ConnectorSuite,), {"connector_class": _cls})
    globals()[_suite.__name__] = _suite


def test_at_least_the_example_plugin_is_checked():
    assert "example" in _registry.connectors
