"""Huiliu (汇流): an integration hub for customer operations.

The core is small: a pluggy plugin registry (:mod:`hub.plugins`), the connector
contract (:mod:`hub.connector`), config (:mod:`hub.config`), the canonical store
(:mod:`hub.store`), the queue (:mod:`hub.queue`), the web app (:mod:`hub.web`) and the
CLI (:mod:`hub.cli`). Everything that talks to another system is a plugin.
"""

__version__ = "0.1.0"
