"""The standard suite is only worth running if it fails on a connector that breaks the
contract. Each broken variant of the example connector must fail exactly its check."""

import pytest

pytest_plugins = ["pytester"]

BROKEN = {
    "ignores_cursor": (
        """
class Stream(ContactsStream):
    def read(self, cursor):
        yield from super().read(None)   # always a full re-read
class Broken(ExampleConnector):
    streams = {"contacts": Stream}
""",
        "test_read_again_from_cursor",
    ),
    "no_idempotency_key": (
        """
class Sink(ContactsSink):
    def write(self, payload, *, idempotency_key, native_id=None):
        import uuid
        return super().write(payload, idempotency_key=str(uuid.uuid4()), native_id=native_id)
class Broken(ExampleConnector):
    sinks = {"contacts": Sink}
""",
        "test_write_is_idempotent_per_key",
    ),
    "unverified_webhook": (
        """
class Hook(ExampleWebhook):
    def handle(self, req):
        import json
        c = json.loads(req.body.decode(errors="replace"))["contact"]
        return WebhookResult(records=[("contacts", Record(native_id=str(c["id"]), data=c))])
class Broken(ExampleConnector):
    webhook = Hook
""",
        "test_webhook_rejects_a_push_signed_with_another_secret",
    ),
    "hand_rolled_webhook_parsing": (
        """
class Hook(ExampleWebhook):
    def handle(self, req):
        import hmac, json, time
        from hub_example.signing import sign
        ts = req.header("X-Example-Timestamp") or ""
        if not ts.isdigit() or abs(time.time() - int(ts)) > 300:   # '²'.isdigit() is True; int('²') raises
            raise WebhookRejected("stale")
        if not hmac.compare_digest(req.header("X-Example-Signature") or "", sign(self.connector.config["webhook_secret"], ts, req.body)):
            raise WebhookRejected("bad signature")
        c = json.loads(req.body)["contact"]
        return WebhookResult(records=[("contacts", Record(native_id=str(c["id"]), data=c))])
class Broken(ExampleConnector):
    webhook = Hook
""",
        "test_webhook_answers_hostile_input_with_4xx",
    ),
    "splits_text_into_characters": (
        """
class Sink(ContactsSink):
    def write(self, payload, *, idempotency_key, native_id=None):
        # meant for a list of labels; the shipped mapping renders one text, which becomes its characters
        payload = {**payload, "tier": list(payload.get("tier") or [])}
        return super().write(payload, idempotency_key=idempotency_key, native_id=native_id)
class Broken(ExampleConnector):
    sinks = {"contacts": Sink}
""",
        "test_shipped_outbound_mappings_render_against_the_sinks",
    ),
    "check_leaks_errors": (
        """
class Broken(ExampleConnector):
    def check(self):
        self.get("/v1/me")   # raises PermanentError, not CheckFailed
""",
        "test_check_fails_cleanly_with_bad_secrets",
    ),
}


@pytest.mark.parametrize("variant", sorted(BROKEN))
def test_suite_fails_the_broken_check(pytester, variant):
    code, failing = BROKEN[variant]
    pytester.makepyfile(
        test_broken="""
from hub.connector import Record, WebhookRejected, WebhookResult
from hub.testing import ConnectorSuite
from hub_example.connector import ExampleConnector, ContactsStream, ContactsSink, ExampleWebhook
"""
        + code
        + """
class TestBroken(ConnectorSuite):
    connector_class = Broken
"""
    )
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") >= 1, result.stdout.str()
    failed = [line for line in result.stdout.lines if line.startswith("FAILED")]
    assert any(failing in line for line in failed), result.stdout.str()
