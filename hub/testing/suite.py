"""The standard connector test suite, in the spirit of Singer SDK's and Airbyte's.

Subclass :class:`ConnectorSuite` in a test module and set ``connector_class``; pytest then
runs every check below against the connector's own sandbox, with real HTTP routed in
process (see :mod:`hub.testing.http`)::

    from hub.testing import ConnectorSuite
    from my_plugin.connector import MyConnector

    class TestMyConnector(ConnectorSuite):
        connector_class = MyConnector

Huiliu itself runs it for every installed connector (``tests/test_connector_suites.py``),
so a plugin that breaks the contract fails the hub's CI as well as its own.
"""

from __future__ import annotations

import copy
import json
import warnings
from typing import Any, ClassVar

import pytest
from marshmallow import Schema, ValidationError

from hub.connector import (
    CheckFailed,
    Connector,
    DictState,
    RateLimit,
    Record,
    Sandbox,
    WebhookRejected,
    WebhookRequest,
    secret_field_names,
)
from hub.mapping.compiled import canonical_view
from hub.mapping.errors import MappingError
from hub.testing.http import SandboxRouter

WRONG_SECRET = "wrong-secret-value-from-the-suite"


def read_all(connector: Connector, stream: str, cursor: Any = None) -> tuple[list[Record], Any]:
    """Read a stream to its end from ``cursor``; return the records and the last cursor.

    Every batch's cursor must survive a JSON round trip: the hub stores it in a JSON column.
    """
    records: list[Record] = []
    for batch in connector.stream(stream).read(cursor):
        assert json.loads(json.dumps(batch.cursor)) == batch.cursor, f"cursor {batch.cursor!r} is not JSON-serialisable"
        records.extend(batch.records)
        cursor = batch.cursor
    return records, cursor


#: Values that broke hand-rolled parsing of headers and query parameters.
HOSTILE_TEXT = ("²", "١٢٣٤٥", "9" * 400, "", "\x00", "-1", "1e400", "é" * 64)
#: Bodies that broke hand-rolled body parsing.
HOSTILE_BODIES = (b"", b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000, b'{"id": NaN, "updated_at": Infinity}',
                  b'{"id": 1e400}', b'{"id": "\\u0000", "name": "\\ud800"}', b'[{"id": "\xc2\xb2"}]', b"null", b'"x"',
                  b"<xml><a>&#0;</a></xml>")


def _describe(push: WebhookRequest, request: WebhookRequest) -> str:
    for name, value in request.headers.items():
        if push.headers.get(name) != value:
            return f"header {name}={value[:20]!r}"
    for name, value in request.args.items():
        if push.args.get(name) != value:
            return f"query {name}={value[:20]!r}"
    return f"body {request.body[:30]!r}"


def _with_secrets_replaced(schema: Schema, config: dict[str, Any], value: str) -> dict[str, Any]:
    out = copy.deepcopy(config)
    for path in secret_field_names(schema):
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if leaf in node and isinstance(node[leaf], dict):  # a SecretMap: every value
            node[leaf] = {k: value for k in node[leaf]}
        elif leaf in node and node[leaf] is not None:
            node[leaf] = value
    return out


#: Generic contacts for rendering outbound mappings: Chinese names and tags (multi-character
#: text a careless sink iterates), every built-in identity kind, the common attributes.
SAMPLE_CONTACTS: list[dict[str, Any]] = [
    canonical_view(
        1001,
        attributes={"name": "张会员", "tier": "金卡", "city": "深圳", "province": "广东", "stage": "已联系",
                    "gender": "男", "company": "汇流科技有限公司", "segment": "高价值客户", "owner": "zhangsan"},
        identities={"phone": ["+8613800138001"], "email": ["huiyuan@example.com"], "crm_id": ["crm:1001"],
                    "wecom_external_userid": ["wmSuiteSample1001"]},
        tags=["会员", "重要客户"],
        changed=["name", "tier", "city", "province", "stage", "gender", "company", "segment", "owner", "tags"],
    ),
    canonical_view(
        1002,
        attributes={"name": "Li Si 李四", "tier": "普通会员", "city": "上海"},
        identities={"phone": ["+8613900139002"]},
        tags=["新客"],
        changed=["name", "tier", "city", "tags"],
    ),
]


def _shipped_outbound_mapping(connector_type: str, sink: str, sandbox: Sandbox):
    """The compiled outbound mapping the connector ships for ``sink``, or None."""
    from hub.mapping import load_mapping
    from hub.mapping.discovery import find_mapping
    from hub.plugins import get_registry

    path = find_mapping(connector_type, sink, "outbound")
    if path is None:
        return None
    return load_mapping(path, registry=get_registry(), lookups=sandbox.mapping_lookups(), instance="suite")


def _render(mapping, contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Payloads the mapping renders; a contact lacking a required value is skipped (the
    hub writes nothing for it either), any other mapping error fails the suite."""
    from hub.mapping import MappingRecordError

    payloads = []
    for contact in contacts:
        try:
            payload = mapping.apply(contact)
        except MappingRecordError as exc:
            if exc.reason == "required value is missing":
                continue
            raise AssertionError(f"{mapping.file} cannot render sample contact {contact.get('contact_id')}: {exc}") from None
        if payload:
            payloads.append(payload)
    return payloads


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _texts(v)]
    return []


def _split_text(payload: dict[str, Any], effects: list[Any]) -> list[str]:
    """Lists of single characters in ``effects`` that spell (part of) a text in ``payload``."""
    texts = [t for t in _texts(payload) if len(t) >= 2]
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            if len(value) >= 2 and all(isinstance(x, str) and len(x) == 1 for x in value):
                spelled = "".join(value)
                source = next((t for t in texts if spelled in t), None)
                if source is not None:
                    found.append(f"{source!r} became {list(value)!r}")
                    return
            for v in value:
                walk(v)
        elif isinstance(value, str) and value[:1] in "[{":
            try:
                walk(json.loads(value))  # a remote that stores JSON text
            except ValueError:
                pass

    for effect in effects:
        walk(effect)
    return found


class ConnectorSuite:
    """Checks every connector must pass. Override the class attributes to adjust."""

    connector_class: ClassVar[type[Connector]]
    #: How many records to create for a read; large enough to span several pages.
    read_count: ClassVar[int] = 25
    #: Connectors that deliberately re-read a trailing window (late-filled fields) say so.
    rereads_trailing_window: ClassVar[bool] = False
    #: False for pushes the vendor authenticates with a shared token only (no signature over
    #: the body): a tampered-but-well-formed body can't be detected, so that check is skipped;
    #: the wrong-secret check still runs.
    webhook_signs_body: ClassVar[bool] = True
    #: Sinks whose payload can take effect only once whatever the key (a one-time code, a
    #: per-recipient daily quota): the new-key write uses a fresh ``sample_payload``.
    fresh_payload_sinks: ClassVar[tuple[str, ...]] = ()

    # -- fixtures -------------------------------------------------------------------------
    @pytest.fixture
    def sandbox(self) -> Sandbox:
        if self.connector_class.sandbox is None:
            pytest.fail(f"connector {self.connector_class.name!r} declares no sandbox; the suite needs one")
        return self.connector_class.sandbox()

    @pytest.fixture
    def router(self, sandbox):
        with SandboxRouter(sandbox, prefix=f"/sandbox/{self.connector_class.name}") as router:
            yield router

    @pytest.fixture
    def good_config(self, sandbox, router) -> dict[str, Any]:
        return sandbox.config_for(router.base_url)

    def make(self, raw_config: dict[str, Any]) -> Connector:
        cls = self.connector_class
        return cls("suite", cls.validate_config(raw_config), state=DictState())

    @pytest.fixture
    def connector(self, good_config) -> Connector:
        return self.make(good_config)

    # -- the contract ---------------------------------------------------------------------
    def test_declares_the_contract(self):
        cls = self.connector_class
        assert cls.name and cls.name.isidentifier(), "a connector needs a name usable as a config `type:`"
        assert issubclass(cls.config_schema, Schema)
        assert cls.streams or cls.sinks or cls.webhook, "a connector must read, write or receive something"
        for key, stream in cls.streams.items():
            assert stream.name == key, f"stream {key!r} is declared with name {stream.name!r}"
        for key, sink in cls.sinks.items():
            assert sink.name == key, f"sink {key!r} is declared with name {sink.name!r}"
        assert all(isinstance(limit, RateLimit) for limit in cls.rate_limits)

    def test_good_config_validates(self, good_config):
        self.connector_class.validate_config(good_config)

    def test_each_required_field_is_enforced(self, good_config):
        schema = self.connector_class.config_schema()
        required = [name for name, f in schema.fields.items() if f.required]
        for name in required:
            broken = {k: v for k, v in good_config.items() if k != name}
            with pytest.raises(ValidationError) as info:
                self.connector_class.validate_config(broken)
            assert name in info.value.messages, f"dropping required {name!r} was not reported against it"

    def test_unknown_config_keys_are_rejected(self, good_config):
        with pytest.raises(ValidationError) as info:
            self.connector_class.validate_config({**good_config, "not_a_real_option": 1})
        assert "not_a_real_option" in info.value.messages

    def test_check_passes_with_good_config(self, connector):
        connector.check()

    def test_check_fails_cleanly_with_bad_secrets(self, good_config):
        schema = self.connector_class.config_schema()
        if not secret_field_names(schema):
            pytest.skip("connector declares no secret fields")
        bad = self.make(_with_secrets_replaced(schema, good_config, WRONG_SECRET))
        with pytest.raises(CheckFailed) as info:
            bad.check()
        assert WRONG_SECRET not in str(info.value), "check() must not echo the secret back"

    # -- reads ----------------------------------------------------------------------------
    def _streams(self) -> list[str]:
        if not self.connector_class.streams:
            pytest.skip("connector has no streams")
        return list(self.connector_class.streams)

    def test_read_from_empty_state(self, connector, sandbox):
        for stream in self._streams():
            created = sandbox.add_records(stream, self.read_count)
            records, cursor = read_all(connector, stream)
            ids = [r.native_id for r in records]
            assert len(ids) == len(set(ids)), f"{stream}: duplicates in one read"
            assert set(created) <= set(ids), f"{stream}: missed {sorted(set(created) - set(ids))}"
            assert cursor is not None

    def test_read_again_from_cursor(self, connector, sandbox):
        for stream in self._streams():
            first = sandbox.add_records(stream, self.read_count)
            _records, cursor = read_all(connector, stream)
            sandbox.update_record(stream, first[0])
            added = sandbox.add_records(stream, self.read_count // 2 + 3)
            records, cursor2 = read_all(connector, stream, cursor)
            ids = [r.native_id for r in records]
            assert len(ids) == len(set(ids)), f"{stream}: duplicates in an incremental read"
            expected = set(added) | {first[0]}
            assert expected <= set(ids), f"{stream}: incremental read missed {sorted(expected - set(ids))}"
            if not self.rereads_trailing_window:
                assert set(ids) == expected, f"{stream}: incremental read repeated {sorted(set(ids) - expected)}"
                again, _ = read_all(connector, stream, cursor2)
                assert again == [], f"{stream}: nothing changed, yet a read from the latest cursor returned records"

    # -- writes ---------------------------------------------------------------------------
    def test_write_is_idempotent_per_key(self, connector, sandbox):
        if not self.connector_class.sinks:
            pytest.skip("connector has no sinks")
        for sink in self.connector_class.sinks:
            payload = sandbox.sample_payload(sink)
            before = len(sandbox.effects(sink))
            first = connector.write(sink, payload, idempotency_key=f"suite:{sink}:1")
            second = connector.write(sink, payload, idempotency_key=f"suite:{sink}:1")
            assert len(sandbox.effects(sink)) == before + 1, f"{sink}: the same idempotency key had two effects"
            assert first.native_id == second.native_id
            again = sandbox.sample_payload(sink) if sink in self.fresh_payload_sinks else payload
            connector.write(sink, again, idempotency_key=f"suite:{sink}:2", native_id=first.native_id)
            assert len(sandbox.effects(sink)) == before + 2, f"{sink}: a new key had no effect"

    def test_shipped_outbound_mappings_render_against_the_sinks(self, connector, sandbox, good_config):
        """The connector's own outbound mappings (shipped with Huiliu or through
        ``hub_register_mappings``), rendered from sample contacts and written through the
        sink: each rendered payload is accepted, has an effect, and no text of it reaches
        the remote broken into characters (``"会员"`` → ``["会", "员"]``)."""
        cls = self.connector_class
        sinks = cls.sink_names(cls.validate_config(good_config))
        rendered_any = False
        not_rendered: list[str] = []
        for sink in sinks:
            try:
                mapping = _shipped_outbound_mapping(cls.name, sink, sandbox)
            except MappingError as exc:
                if all("unknown lookup table" in line for line in exc.errors):
                    not_rendered.append(f"{exc.errors[0]} — implement {type(sandbox).__name__}.mapping_lookups()")
                    continue
                raise
            if mapping is None:
                continue
            contacts = sandbox.sample_contacts(sink)
            payloads = _render(mapping, SAMPLE_CONTACTS if contacts is None else contacts)
            if not payloads:
                not_rendered.append(f"{mapping.file}: no sample contact has what this mapping requires; implement "
                                    f"{type(sandbox).__name__}.sample_contacts({sink!r})")
                continue
            for i, payload in enumerate(payloads):
                before = len(sandbox.effects(sink))
                result = connector.write(sink, payload, idempotency_key=f"suite:mapping:{sink}:{i}")
                assert result is not None, f"{sink}: write returned nothing for {payload!r}"
                new = sandbox.effects(sink)[before:]
                assert new, f"{sink}: writing what {mapping.file} renders had no effect: {payload!r}"
                broken = _split_text(payload, new)
                assert not broken, (f"{sink}: text rendered by {mapping.file} reached the remote split into "
                                    f"characters: {broken}")
                rendered_any = True
        if not_rendered and not rendered_any:
            pytest.skip("; ".join(not_rendered))
        if not_rendered:
            warnings.warn(UserWarning("outbound mappings not rendered by the suite: " + "; ".join(not_rendered)))
        if not rendered_any:
            pytest.skip("connector ships no outbound mapping for its sinks")

    # -- webhooks -------------------------------------------------------------------------
    def _handler(self, connector):
        handler = connector.webhook_handler()
        if handler is None:
            pytest.skip("connector has no webhook")
        return handler

    def test_webhook_accepts_a_signed_push(self, connector, sandbox, good_config):
        handler = self._handler(connector)
        result = handler.handle(sandbox.signed_push(good_config))
        assert result.records, "a valid push produced no records"
        for stream, record in result.records:
            assert stream in self.connector_class.streams, f"webhook produced records for unknown stream {stream!r}"
            assert record.native_id

    def test_webhook_rejects_a_tampered_body(self, connector, sandbox, good_config):
        handler = self._handler(connector)
        if not self.webhook_signs_body:
            pytest.skip("the vendor authenticates pushes by token only; no signature covers the body")
        push = sandbox.signed_push(good_config)
        body = bytearray(push.body)
        body[len(body) // 2] ^= 0x01
        tampered = WebhookRequest(push.method, push.path, push.headers, push.args, bytes(body), push.remote_addr)
        with pytest.raises(WebhookRejected) as info:
            handler.handle(tampered)
        assert 400 <= info.value.status < 500

    def test_webhook_answers_hostile_input_with_4xx(self, connector, sandbox, good_config):
        """Each header, each query parameter and the body of a valid push, replaced by values
        that broke hand-rolled parsing (issue 15: ``'²'``, 400 digits, NUL, ``NaN``, ``1e400``,
        100,000 nested brackets, invalid UTF-8): the handler refuses with a 4xx or returns
        records the hub can store — never any other exception (that would be a 500). Parse
        with :mod:`hub.connector.inputs` and this passes."""
        from dataclasses import replace

        from hub.pipeline.webhook import check_records

        handler = self._handler(connector)
        push = sandbox.signed_push(good_config)
        variants = [replace(push, headers={**push.headers, name: value}) for name in push.headers for value in HOSTILE_TEXT]
        variants += [replace(push, args={**push.args, name: value}) for name in push.args for value in HOSTILE_TEXT]
        variants += [replace(push, body=body) for body in HOSTILE_BODIES]
        for request in variants:
            try:
                check_records(handler, handler.handle(request))
            except WebhookRejected as exc:
                assert 400 <= exc.status < 500, f"{exc.status} for {_describe(push, request)}: {exc.message}"
            except Exception as exc:  # noqa: BLE001 - any other exception is the failure we look for
                pytest.fail(f"{type(exc).__name__} (a 500) for {_describe(push, request)}: {exc}"[:500])

    def test_webhook_rejects_a_push_signed_with_another_secret(self, connector, sandbox, good_config):
        handler = self._handler(connector)
        schema = self.connector_class.config_schema()
        forged = sandbox.signed_push(_with_secrets_replaced(schema, good_config, WRONG_SECRET))
        with pytest.raises(WebhookRejected):
            handler.handle(forged)
