"""Sandboxes: faithful in-memory imitations of a remote API, served as a Flask blueprint.

A sandbox answers on the same paths, with the same payloads, error codes and signatures
as the real system, so a connector runs unchanged against it — in ``hub demo`` (mounted
under ``/sandbox/<connector type>`` with ``--sandboxes``) and in tests (where
:mod:`hub.testing` routes the connector's real HTTP calls into it through ``responses``).

Besides the blueprint, a sandbox exposes a few operations the standard connector suite
needs to drive it the way the remote system's users would: create records, inspect the
effect of writes, and sign a push the way the remote sender does.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.connector.records import WebhookRequest


class Sandbox:
    """Base class for a connector's imitation of its remote API. One instance holds one
    remote system's state (records, tokens, received writes) in memory."""

    #: Methods ``hub demo`` may call over HTTP (``POST /sandbox/<type>/_control/<method>``
    #: with JSON keyword arguments) to act as the remote system's users. Only these: the
    #: control endpoint refuses every other name. Subclasses extend the tuple.
    control_methods: tuple[str, ...] = ("add_records", "update_record")

    def blueprint(self):
        """A fresh :class:`flask.Blueprint` serving the remote API's paths from this state,
        or None for a system reached without HTTP (the SQL connector's sandbox is a real
        database file)."""
        raise NotImplementedError

    def config_for(self, base_url: str) -> dict[str, Any]:
        """A valid connector config that talks to this sandbox at ``base_url``."""
        raise NotImplementedError

    def add_records(self, stream: str, count: int) -> list[str]:
        """Create ``count`` new records in ``stream`` as the remote users would (each
        newer than everything before); return their native ids in creation order."""
        raise NotImplementedError

    def update_record(self, stream: str, native_id: str) -> None:
        """Change an existing record so an incremental read must return it again."""
        raise NotImplementedError

    def sample_payload(self, sink: str) -> dict[str, Any]:
        """A payload the connector's ``sink`` accepts (what an outbound mapping yields)."""
        raise NotImplementedError

    def effects(self, sink: str) -> list[dict[str, Any]]:
        """Every distinct change the remote system applied through ``sink``, in order —
        a write repeated with the same idempotency key must not add one."""
        raise NotImplementedError

    def sample_contacts(self, sink: str) -> list[dict[str, Any]] | None:
        """Contacts to render the connector's shipped outbound mapping for ``sink`` with, as
        that mapping reads them (:func:`hub.mapping.canonical_view` dicts). ``None`` (the
        default) means the suite's generic ones (``hub.testing.suite.SAMPLE_CONTACTS``);
        override when the sink needs records this sandbox holds (a lead id, a customer id)."""
        return None

    def mapping_lookups(self) -> dict[str, dict[str, Any]]:
        """The config ``lookups:`` tables the shipped outbound mappings use, filled the way
        this sandbox's data needs them (default none)."""
        return {}

    def signed_push(self, config: Mapping[str, Any]) -> WebhookRequest:
        """A webhook request for one new record, signed the way the remote sender signs
        it with the secrets in ``config``. Connectors without a webhook need not implement it."""
        raise NotImplementedError
