"""Every installed connector — built-in or third-party — runs the standard suite.

One suite class is generated per connector type found through the ``hub`` entry points,
so installing a plugin is enough to have it checked here.
"""

from hub.plugins import build_registry
from hub.testing import ConnectorSuite

_registry = build_registry()

for _name, _cls in sorted(_registry.connectors.items()):
    # A connector may tune the suite (e.g. one that re-reads a trailing window on purpose).
    _options = dict(getattr(_cls, "suite_options", {}) or {})
    _unknown = set(_options) - set(vars(ConnectorSuite))
    assert not _unknown, f"connector {_name!r} sets unknown suite_options {_unknown}"
    _suite = type(f"TestConnectorSuite_{_name}", (ConnectorSuite,), {"connector_class": _cls, **_options})
    globals()[_suite.__name__] = _suite


def test_at_least_the_example_plugin_is_checked():
    assert "example" in _registry.connectors
