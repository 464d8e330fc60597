"""The standard connector suite against both APIs, honouring the connector's declared
trailing-window re-read. The Marketing-API variant also runs from tests/test_connector_suites.py.

A Feiyu push is authenticated by a token, not a body signature, so the suite's
tampered-body check cannot hold for it (a valid token with an altered but well-formed body
is accepted; the pull reconciles it). Here it is replaced by the check that matters for a
token: a push whose token was tampered with is rejected.
"""

from __future__ import annotations

import pytest

from hub.connector import WebhookRejected, WebhookRequest
from hub.testing import ConnectorSuite

from connectors.feiyu.connector import FeiyuConnector
from connectors.feiyu.sandbox import FeiyuSandbox


class _FeiyuSuite(ConnectorSuite):
    connector_class = FeiyuConnector
    rereads_trailing_window = FeiyuConnector.suite_options["rereads_trailing_window"]

    def test_webhook_rejects_a_tampered_body(self, connector, sandbox, good_config):
        push = sandbox.signed_push(good_config)
        headers = {k: (v[:-1] + chr(ord(v[-1]) ^ 1) if k == "X-Feiyu-Token" else v) for k, v in push.headers.items()}
        with pytest.raises(WebhookRejected) as info:
            connector.webhook_handler().handle(WebhookRequest(push.method, push.path, headers, push.args, push.body))
        assert info.value.status == 401


class TestFeiyuMarketingSuite(_FeiyuSuite):
    @pytest.fixture
    def sandbox(self):
        return FeiyuSandbox(api="marketing")


class TestFeiyuCrmSuite(_FeiyuSuite):
    @pytest.fixture
    def sandbox(self):
        return FeiyuSandbox(api="crm")
