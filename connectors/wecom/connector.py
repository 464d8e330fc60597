"""The WeCom (企业微信) connector: customers, follow users and tags in; remarks, tags,
channel codes and transfers out; encrypted callbacks pushed.

Streams: ``external_contacts``, ``follow_users``, ``corp_tags`` (:mod:`.streams`),
``group_chats`` (:mod:`.groups`), ``chat_messages`` (:mod:`.archive`), ``message_results``
(:mod:`.messages`), ``unassigned`` (:mod:`.members`).
Sinks: ``remark``, ``tags``, ``channel_codes``, ``transfers`` (:mod:`.sinks`), ``welcome``
and ``messages`` (:mod:`.messages`).
Webhook: :class:`~connectors.wecom.webhook.WeComWebhook`. Sandbox: :mod:`.sandbox`.
"""

from __future__ import annotations

import uuid
from functools import cached_property
from typing import Any

from hub.connector import CheckFailed, Connector, ConnectorError, PermanentError, RateLimit

from connectors.wecom import crypto
from connectors.wecom.client import WeComClient
from connectors.wecom.config import DEFAULT_PER_HOUR, DEFAULT_PER_MINUTE, WeComConfig
from connectors.wecom.sandbox import WeComSandbox
from connectors.wecom.sinks import ChannelCodesSink, RemarkSink, TagsSink, TransfersSink
from connectors.wecom.streams import CorpTagsStream, ExternalContactsStream, FollowUsersStream
from connectors.wecom.tags import TagCatalog
from connectors.wecom.webhook import WeComWebhook
from connectors.wecom.archive.backends import ArchiveUnavailable, backend_for
from connectors.wecom.archive.keys import KeyError_, KeyRing
from connectors.wecom.archive.stream import ChatMessagesStream
from connectors.wecom.bridge import UnionidBridgeSink
from connectors.wecom.groups import GroupChatsStream
from connectors.wecom.handover import WeComHandOver
from connectors.wecom.members import UnassignedStream
from connectors.wecom.messages import MessageResultsStream, MessagesSink, WelcomeSink

#: The durable-state key of :attr:`WeComConnector.memo_namespace`.
MEMO_NAMESPACE_KEY = "write_memo_namespace"


def rate_limits_for(config: dict[str, Any]) -> tuple[RateLimit, ...]:
    """The provider limits for one instance's config (WeCom counts per corp per API)."""
    return (
        RateLimit(calls=int(config.get("rate_limit_per_minute") or DEFAULT_PER_MINUTE), per_seconds=60),
        RateLimit(calls=int(config.get("rate_limit_per_hour") or DEFAULT_PER_HOUR), per_seconds=3600),
    )


class WeComConnector(Connector):
    name = "wecom"
    title = "WeCom 企业微信 (customer contact)"
    version = "1.0.0"
    config_schema = WeComConfig
    streams = {
        "external_contacts": ExternalContactsStream,
        "follow_users": FollowUsersStream,
        "corp_tags": CorpTagsStream,
        "group_chats": GroupChatsStream,
        "chat_messages": ChatMessagesStream,
        "message_results": MessageResultsStream,
        "unassigned": UnassignedStream,
    }
    sinks = {
        "remark": RemarkSink,
        "tags": TagsSink,
        "channel_codes": ChannelCodesSink,
        "transfers": TransfersSink,
        "welcome": WelcomeSink,
        "messages": MessagesSink,
        "unionid_bridge": UnionidBridgeSink,
    }
    webhook = WeComWebhook
    #: The departure hand-over's connector side (hub.automations.departure).
    handover = WeComHandOver
    #: Defaults; an instance's own (configurable) limits are on ``self.rate_limits``.
    rate_limits = rate_limits_for({})
    sandbox = WeComSandbox
    #: A WelcomeCode works once and a customer takes one mass message a day: the standard
    #: suite writes a fresh sample for its new-key check.
    suite_options = {"fresh_payload_sinks": ("welcome", "messages")}

    def __init__(self, instance: str, config: Any, **kwargs: Any):
        super().__init__(instance, config, **kwargs)
        self.rate_limits = rate_limits_for(self.config)  # type: ignore[misc]

    @cached_property
    def client(self) -> WeComClient:
        return WeComClient(self)

    @cached_property
    def tags(self) -> TagCatalog:
        return TagCatalog(self)

    @cached_property
    def memo_namespace(self) -> str:
        """A random id kept in this instance's durable state: the write memos in Redis are
        keyed under it, so a hub on a new or restored database — whose outbox ids, and so
        idempotency keys, start again — never takes another database's memo for its own
        write (nor does a second hub sharing the Redis)."""
        return str(self.state.get(MEMO_NAMESPACE_KEY) or self.state.setdefault(MEMO_NAMESPACE_KEY, uuid.uuid4().hex))

    def check(self) -> None:
        """Fetch a token and list follow users: proves corp id, secret, the customer-contact
        permission and (in production) that this host's IP is trusted (60020 otherwise)."""
        key = self.config.get("encoding_aes_key")
        if key:
            try:
                crypto.aes_key(key)
            except crypto.CryptoError:
                raise CheckFailed("encoding_aes_key must be the 43-character EncodingAESKey from the callback settings") from None
        if bool(key) != bool(self.config.get("callback_token")):
            raise CheckFailed("set both callback_token and encoding_aes_key, or neither")
        try:
            self.client.get("externalcontact/get_follow_user_list")
        except PermanentError as exc:
            raise CheckFailed(f"WeCom rejected the configuration: {exc.message}", code=exc.code) from None
        except ConnectorError as exc:
            raise CheckFailed(f"WeCom unreachable: {exc.message}", code=exc.code) from None
        self.check_archive()

    def check_archive(self) -> None:
        """When the chat archive is configured (private keys or archive_secret): the keys
        load and the backend works — for ``sdk``, the library at ``sdk_path`` loads and
        initialises. A missing SDK is a clear CheckFailed, never a download."""
        config = self.config
        if not config.get("archive_private_keys") and not config.get("archive_secret"):
            return
        try:
            KeyRing(config.get("archive_private_keys"))
        except KeyError_ as exc:
            raise CheckFailed(f"chat archive: {exc}") from None
        if not config.get("archive_private_keys"):
            raise CheckFailed("chat archive: archive_private_keys is empty; add the RSA private key for each publickey_ver")
        backend = None
        try:
            backend = backend_for(self)
            backend.check()
        except ArchiveUnavailable as exc:
            raise CheckFailed(f"chat archive: {exc.message}") from None
        except ConnectorError as exc:
            raise CheckFailed(f"chat archive: {exc.message}", code=exc.code) from None
        finally:
            close = getattr(backend, "close", None) if backend is not None else None
            if close:
                close()
