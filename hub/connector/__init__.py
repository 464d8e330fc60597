"""The connector contract. Plugins import everything they need from here."""

from hub.connector.base import Connector, DictState, RateLimit, Sink, StateStore, Stream, WebhookHandler
from hub.connector.errors import (
    CheckFailed,
    ConnectorError,
    PermanentError,
    RateLimitedError,
    TransientError,
    WebhookRejected,
    scrubbed,
)
from hub.connector.fields import Secret, secret_field_names, secret_values
from hub.connector import inputs
from hub.connector.sandbox import Sandbox
from hub.connector.records import Match, ReadBatch, Record, UrgentWrite, WebhookRequest, WebhookResult, WriteResult

__all__ = [
    "CheckFailed",
    "Connector",
    "ConnectorError",
    "DictState",
    "PermanentError",
    "RateLimit",
    "RateLimitedError",
    "ReadBatch",
    "Record",
    "Sandbox",
    "Secret",
    "Sink",
    "StateStore",
    "Stream",
    "TransientError",
    "UrgentWrite",
    "WebhookHandler",
    "WebhookRejected",
    "WebhookRequest",
    "WebhookResult",
    "WriteResult",
    "Match",
    "inputs",
    "scrubbed",
    "secret_field_names",
    "secret_values",
]
