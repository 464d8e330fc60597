"""The Ocean Engine / Feiyu leads connector.

* stream ``leads`` — leads pulled through the legacy Feiyu CRM API or the Marketing API
  (``api``), re-reading a trailing window for late-filled fields (:mod:`.streams`);
* sink ``clue_status`` — lead status write-back, the clue callback (:mod:`.sinks`);
* webhook — leads pushed by a Feiyu lead-push rule, Signature/Timestamp/Access-Token checked (:mod:`.webhook`);
* sandbox — both APIs, OAuth with rotating refresh tokens, pushes (:mod:`.sandbox`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from hub.connector import CheckFailed, Connector, ConnectorError, PermanentError, RateLimit

from connectors.feiyu import timewindows
from connectors.feiyu.client import CrmApi, MarketingApi
from connectors.feiyu.config import FeiyuConfig
from connectors.feiyu.sandbox import FeiyuSandbox
from connectors.feiyu.sinks import ClueStatusSink
from connectors.feiyu.streams import LeadsStream
from connectors.feiyu.webhook import FeiyuPushWebhook


class FeiyuConnector(Connector):
    name = "feiyu"
    title = "Ocean Engine / Feiyu leads (巨量引擎·飞鱼)"
    version = "0.1.0"
    config_schema = FeiyuConfig
    streams = {"leads": LeadsStream}
    sinks = {"clue_status": ClueStatusSink}
    webhook = FeiyuPushWebhook
    # Ocean Engine publishes per-app QPS quotas per interface (answering 40100 beyond
    # them); these defaults stay well under the common ones.
    rate_limits = (
        RateLimit(calls=300, per_seconds=60),
        RateLimit(calls=600, per_seconds=60, scope="read"),
    )
    sandbox = FeiyuSandbox
    #: For the standard suite: the leads stream re-reads a trailing window on purpose
    #: (late-filled fields), and a push's signature covers the lead id, not the whole body, so
    #: other fields altered under a valid signature cannot be told apart (the pull reconciles them).
    suite_options: ClassVar[dict[str, Any]] = {"rereads_trailing_window": True, "webhook_signs_body": False}

    _api: CrmApi | MarketingApi | None = None

    def api(self) -> CrmApi | MarketingApi:
        """The client for the configured API (one per connector object: it holds the token manager)."""
        if self._api is None:
            self._api = CrmApi(self) if self.config.get("api") == "crm" else MarketingApi(self)
        return self._api

    def check(self) -> None:
        api = self.api()
        end = timewindows.now()
        start = end - timedelta(minutes=1)
        label = "Feiyu CRM" if api.name == "crm" else "Ocean Engine Marketing API"
        try:
            api.page(timewindows.fmt(start), timewindows.fmt(end), 1, 1)
        except PermanentError as exc:
            raise CheckFailed(f"{label} refused the credentials or request: {exc.message}", code=exc.code) from None
        except ConnectorError as exc:
            raise CheckFailed(f"{label} unreachable: {exc.message}", code=exc.code) from None
