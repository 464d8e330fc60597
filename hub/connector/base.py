"""The connector contract: what a plugin implements to connect one kind of system.

A connector class declares a marshmallow config schema, ``check()``, readable
:class:`Stream` objects, writable :class:`Sink` objects, optionally a webhook handler,
its rate limits and optionally a sandbox blueprint that imitates the remote API.

The hub owns everything durable: cursors, inbox and outbox rows, retries. A connector
only talks to its remote system and translates errors into :mod:`hub.connector.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Mapping, Protocol

import requests
from marshmallow import Schema

from hub.connector.records import Match, ReadBatch, WebhookRequest, WebhookResult, WriteResult
from hub.connector.sandbox import Sandbox

if TYPE_CHECKING:
    from hub.connector.discovery import StreamInfo


@dataclass(frozen=True)
class RateLimit:
    """A provider limit: at most ``calls`` per ``per_seconds`` (per connector instance).

    ``scope`` is ``write`` (sink calls, enforced by the hub's shared token bucket), ``read``
    or ``all`` (both)."""

    calls: int
    per_seconds: float
    scope: str = "write"


class StateStore(Protocol):
    """Small durable key-value state per connector instance (rotating refresh tokens,
    persisted channel-code ids). The hub backs it with SQL; tests may use a dict."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...

    def setdefault(self, key: str, value: Any) -> Any:
        """Store ``value`` unless ``key`` holds one (the first of racing workers wins);
        return the stored value."""
        ...


class DictState(dict):
    """An in-memory :class:`StateStore` for tests and one-off scripts."""

    def set(self, key: str, value: Any) -> None:
        self[key] = value


class Stream:
    """A readable collection of native records, read incrementally.

    ``read(cursor)`` yields :class:`ReadBatch` objects. ``cursor`` is None on the first
    read, else the cursor of the last committed batch. It must be JSON-serialisable.
    """

    name: ClassVar[str] = ""
    primary_key: ClassVar[str] = "id"
    description: ClassVar[str] = ""
    #: Optional: the record fields (path → type) when known up front; ``hub discover``
    #: otherwise infers them from a few records (see :meth:`Connector.discover`).
    fields: ClassVar[Mapping[str, str] | None] = None

    def __init__(self, connector: "Connector"):
        self.connector = connector

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        """Yield the records changed since ``cursor`` (None: everything), page by page, each
        :class:`ReadBatch` with the cursor that covers exactly its records."""
        raise NotImplementedError


class Sink:
    """A writable destination. ``write`` must be idempotent for one ``idempotency_key``:
    the same key twice has one effect (use the remote's idempotency support, or an
    upsert on a natural key)."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: The payload keys (key → type) this sink accepts, when known; ``hub check`` then
    #: rejects an outbound mapping that renders any other key. None: not declared.
    fields: ClassVar[Mapping[str, str] | None] = None
    #: True when a write reaches a customer as a message (a mass message, a welcome): the
    #: automations' per-customer daily message cap counts such writes.
    sends_message: ClassVar[bool] = False

    def __init__(self, connector: "Connector"):
        self.connector = connector

    def write(self, payload: dict[str, Any], *, idempotency_key: str, native_id: str | None = None) -> WriteResult:
        """Write ``payload`` (what the outbound mapping rendered): update ``native_id`` when
        given, else create. The same ``idempotency_key`` twice must have one effect. Raise
        :class:`~hub.connector.errors.TransientError`, ``RateLimitedError`` or ``PermanentError``
        so the hub knows whether to retry."""
        raise NotImplementedError

    #: True when :meth:`match` can find existing records: the hub then asks before every
    #: create and links a match instead of writing a second record.
    matches: ClassVar[bool] = False

    def match(self, payload: dict[str, Any]) -> list[Match]:
        """Existing records that a create of ``payload`` would duplicate (match-before-create).

        Called only for creates (no native id yet), after the sink's settle window. Compare
        in normalised form (a CRM storing ``13912345678`` matches ``+8613912345678``).
        Several matches mean the destination already holds duplicates: the hub processes
        them all and the identity rules decide (two CRM ids become a review item)."""
        return []

    def record_stream(self) -> str | None:
        """The stream that reads the records this sink writes (the CRM table it upserts),
        or None. Two such records linked to one contact are a duplicate the hub shows for
        review. The default: the connector's stream of the same name, if any."""
        names = type(self.connector).stream_names(getattr(self.connector, "config", None))
        return self.name if self.name in names else None

    def describe(self, payload: dict[str, Any]) -> str:
        """One line for the contact's timeline saying what this write does
        ("打标签 重要客户"); the hub adds the destination, create or update, the record id
        and the delivery state. The default names the written fields, never their values
        (a support agent reads the timeline: no phone numbers here)."""
        return ", ".join(sorted(str(k) for k in payload))

    # -- a write ledger for remotes without idempotency support ---------------------------
    def _ledger_key(self, idempotency_key: str) -> str:
        return f"{self.connector.name}:{self.name}:write:{idempotency_key}"

    def written_before(self, idempotency_key: str) -> WriteResult | None:
        """The write already made under this key (``created=False``), as
        :meth:`remember_write` recorded it in the instance's durable state; else None."""
        done = self.connector.state.get(self._ledger_key(idempotency_key))
        return WriteResult(native_id=str(done["native_id"]), created=False, data={"replayed": True}) if done else None

    def remember_write(self, idempotency_key: str, native_id: str) -> None:
        """Record that the write under this key made ``native_id``: a replay of the key
        then makes no call (see :meth:`written_before`)."""
        self.connector.state.set(self._ledger_key(idempotency_key), {"native_id": str(native_id)})


class WebhookHandler:
    """Verifies and parses pushes from the remote system.

    ``handle`` raises :class:`~hub.connector.errors.WebhookRejected` for anything not
    provably from the sender (bad signature, stale timestamp, malformed body). Parse what the
    sender controls with :mod:`hub.connector.inputs`, never by hand.
    """

    #: Largest body (bytes) this door accepts; the hub refuses a larger one with 413 before
    #: reading it (see :func:`hub.connector.inputs.read_bounded`).
    max_body: ClassVar[int] = 64 * 1024
    #: Most records one push may carry; more is refused with 413, so a push is stored in
    #: bounded time.
    max_records: ClassVar[int] = 1000

    def __init__(self, connector: "Connector"):
        self.connector = connector

    def handle(self, request: WebhookRequest) -> WebhookResult:
        """Verify ``request`` over its raw body and return the records it carries and the answer
        for the sender; raise :class:`~hub.connector.errors.WebhookRejected` for anything not
        provably from the sender (nothing is stored then)."""
        raise NotImplementedError


class Connector:
    """Base class for every connector. Subclasses set the class attributes below."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    config_schema: ClassVar[type[Schema]] = Schema
    streams: ClassVar[Mapping[str, type[Stream]]] = {}
    sinks: ClassVar[Mapping[str, type[Sink]]] = {}
    webhook: ClassVar[type[WebhookHandler] | None] = None
    rate_limits: ClassVar[tuple[RateLimit, ...]] = ()
    #: A :class:`hub.connector.sandbox.Sandbox` subclass imitating the remote API.
    sandbox: ClassVar[type[Sandbox] | None] = None
    #: Optional: a :class:`hub.connector.handover.HandOver` subclass, when the connector can
    #: hand a departed member's customers to another member (docs/automations.md).
    handover: ClassVar[type[Any] | None] = None

    def __init__(
        self,
        instance: str,
        config: Mapping[str, Any],
        *,
        state: StateStore | None = None,
        http: requests.Session | None = None,
        cache: Any = None,
    ):
        self.instance = instance
        self.config = dict(config)
        self.state: StateStore = state if state is not None else DictState()
        self.http = http or requests.Session()
        #: A redis client for short-lived shared values (tokens, locks); may be None.
        self.cache = cache

    @classmethod
    def validate_config(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Load ``raw`` through the config schema; raises marshmallow ValidationError."""
        return cls.config_schema().load(dict(raw))

    @classmethod
    def stream_names(cls, config: Mapping[str, Any] | None = None) -> list[str]:
        """The streams an instance with ``config`` offers. Most connectors have a fixed
        set; one whose streams come from its config (the SQL connector's tables) overrides
        this, and ``stream(name)`` to match."""
        return sorted(cls.streams)

    @classmethod
    def sink_names(cls, config: Mapping[str, Any] | None = None) -> list[str]:
        """The sinks an instance with ``config`` offers (see :meth:`stream_names`)."""
        return sorted(cls.sinks)

    def check(self) -> None:
        """Prove the config works (credentials, reachability). Raise CheckFailed if not."""

    def stream(self, name: str) -> Stream:
        try:
            return self.streams[name](self)
        except KeyError:
            raise KeyError(f"connector {self.name!r} has no stream {name!r}; it has {sorted(self.streams)}") from None

    def sink(self, name: str) -> Sink:
        try:
            return self.sinks[name](self)
        except KeyError:
            raise KeyError(f"connector {self.name!r} has no sink {name!r}; it has {sorted(self.sinks)}") from None

    def webhook_handler(self) -> WebhookHandler | None:
        return self.webhook(self) if self.webhook else None

    def write(self, sink: str, payload: dict[str, Any], *, idempotency_key: str, native_id: str | None = None) -> WriteResult:
        return self.sink(sink).write(payload, idempotency_key=idempotency_key, native_id=native_id)

    # -- discovery (``hub discover``, ``hub check``) ---------------------------------------
    def sink_fields(self, sink: str) -> dict[str, str] | None:
        """The payload keys (key → type) ``sink`` may be given, or None when undeclared.
        Offline: from the class (:attr:`Sink.fields`) or the config, never the remote."""
        cls = type(self).sinks.get(sink)
        declared = getattr(cls, "fields", None) if cls is not None else None
        return dict(declared) if declared is not None else None

    def discover(self, stream: str | None = None, *, sample: int = 0) -> list["StreamInfo"]:
        """Streams (or just ``stream``) with their fields, then the sinks with theirs.

        The default reads up to ``max(sample, 20)`` records of each stream from the start
        (read-only; no cursor is saved) and infers the fields from them; ``sample`` of those
        are returned as ``samples`` (record data, as a mapping sees it). Connectors that can
        describe themselves exactly override this (the SQL connector reads its catalogue)."""
        from hub.connector.discovery import INFER_RECORDS, FieldInfo, StreamInfo, infer_fields

        names = type(self).stream_names(self.config)
        if stream is not None and stream not in names:
            raise KeyError(f"{self.instance} has no stream {stream!r}; it has {names}")
        out: list[StreamInfo] = []
        for name in [stream] if stream else names:
            s = self.stream(name)
            records: list[dict[str, Any]] = []
            wanted = max(sample, INFER_RECORDS)
            batches = s.read(None)
            try:
                for batch in batches:
                    records += [r.data for r in batch.records]
                    if len(records) >= wanted:
                        break
            finally:
                close = getattr(batches, "close", None)
                if close is not None:
                    close()
            declared = getattr(s, "fields", None)
            if declared:
                fields = [FieldInfo(k, v, key=k == s.primary_key) for k, v in declared.items()]
            else:
                fields = infer_fields(records[:wanted], key=s.primary_key)
            out.append(StreamInfo(name, "stream", s.description, fields=fields, fields_complete=bool(declared),
                                  samples=records[:sample],
                                  note="" if records or declared else "no records to infer fields from"))
        if stream is None:
            for name in type(self).sink_names(self.config):
                known = self.sink_fields(name)
                sink_cls = type(self).sinks.get(name)
                out.append(StreamInfo(name, "sink", getattr(sink_cls, "description", ""),
                                      fields=[FieldInfo(k, v, writable=True) for k, v in (known or {}).items()],
                                      fields_complete=known is not None,
                                      note="" if known is not None else "payload keys not declared by the connector"))
        return out
