"""The standard connector suite against both APIs, honouring the connector's declared
trailing-window re-read. The Marketing-API variant also runs from tests/test_connector_suites.py.

A Feiyu push is signed over ``id|token|timestamp`` only, not the whole body, so the suite's
tampered-body check cannot hold for it (other fields altered under a valid signature are
accepted; the pull reconciles them). Here it is replaced by the checks that matter: a push
whose token or signature was tampered with, or whose lead id was changed, is rejected.
"""

from __future__ import annotations

import json

import pytest

from hub.connector import WebhookRejected, WebhookRequest
from hub.testing import ConnectorSuite

from connectors.feiyu.connector import FeiyuConnector
from connectors.feiyu.sandbox import FeiyuSandbox


class _FeiyuSuite(ConnectorSuite):
    connector_class = FeiyuConnector
    rereads_trailing_window = FeiyuConnector.suite_options["rereads_trailing_window"]

    @pytest.mark.parametrize("header", ["Access-Token", "Signature"])
    def test_webhook_rejects_a_tampered_body(self, connector, sandbox, good_config, header):
        push = sandbox.signed_push(good_config)
        headers = {k: (v[:-2] + chr(ord(v[-2]) ^ 1) + v[-1] if k == header else v) for k, v in push.headers.items()}
        with pytest.raises(WebhookRejected) as info:
            connector.webhook_handler().handle(WebhookRequest(push.method, push.path, headers, push.args, push.body))
        assert info.value.status == 401

    def test_webhook_rejects_a_changed_lead_id(self, connector, sandbox, good_config):
        push = sandbox.signed_push(good_config)
        body = json.loads(push.body)
        body["id"] += 1
        changed = WebhookRequest(push.method, push.path, push.headers, push.args, json.dumps(body).encode())
        with pytest.raises(WebhookRejected) as info:
            connector.webhook_handler().handle(changed)
        assert info.value.status == 401


class TestFeiyuMarketingSuite(_FeiyuSuite):
    @pytest.fixture
    def sandbox(self):
        return FeiyuSandbox(api="marketing")


class TestFeiyuCrmSuite(_FeiyuSuite):
    @pytest.fixture
    def sandbox(self):
        return FeiyuSandbox(api="crm")
