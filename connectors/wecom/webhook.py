"""WeCom callbacks (回调): URL verification and encrypted event pushes.

* ``GET ?msg_signature&timestamp&nonce&echostr`` — URL verification when the admin saves the
  callback URL: verify, decrypt echostr, answer the plaintext (WeCom waits only 1 s).
* ``POST ?msg_signature&timestamp&nonce`` with ``<xml><Encrypt>…</Encrypt></xml>`` — verify
  the signature (constant time), the timestamp window, decrypt (AES-256-CBC, receiveid must
  be our corp id), parse the event (DTDs, entities and external references refused) and
  answer ``success``.

Events → records:

* ``change_external_contact`` (add_external_contact, add_half_external_contact,
  edit_external_contact, del_external_contact, del_follow_user, transfer_fail) → stream
  ``external_contacts``, native id ``"<ExternalUserID>:<UserID>"`` — the same relation id the
  scan uses — with ``data["event"]`` holding the event (State, WelcomeCode, Source,
  FailReason …); the two deletions are ``deleted=True``.
* ``change_external_tag`` → stream ``corp_tags``, native id = the tag or group ``Id``; a
  ``shuffle`` (tags reordered; an empty ``Id`` means every group) stores nothing and asks the
  hub to re-read ``corp_tags`` now (``WebhookResult.pulls``).
* ``add_external_contact`` is completed with ``externalcontact/get`` before it is stored
  (:mod:`.newcustomer`): name, remark mobiles, unionid, tags.

Customer-group (``change_external_chat``) and member (``change_contact``) callbacks, and the
urgent welcome for an ``add_external_contact`` with a ``WelcomeCode``, are handled in
:mod:`.callbacks`. Anything else (messages, other events) is acknowledged and produces
nothing. Dedupe key per
event: FromUserName + CreateTime + ChangeType + ExternalUserID/UserID (or TagType/Id), so
WeCom's three retries collapse into one inbox row.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from xml.parsers import expat

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from hub.connector import Record, WebhookHandler, WebhookRejected, WebhookRequest, WebhookResult, inputs

from connectors.wecom import callbacks, crypto
from connectors.wecom.newcustomer import relation_now
from connectors.wecom.streams import relation_id

CONTACT_CHANGES = frozenset(
    {"add_external_contact", "add_half_external_contact", "edit_external_contact", "del_external_contact", "del_follow_user", "transfer_fail"}
)
DELETIONS = frozenset({"del_external_contact", "del_follow_user"})
MAX_BODY = 64 * 1024  # one encrypted event is a few KiB


def parse_xml(data: bytes | str) -> dict[str, str]:
    """A flat ``<xml>`` document → {tag: text}. Refuses DTDs, entities and external refs.

    The same result as defusedxml's ``fromstring(data, forbid_dtd=True, forbid_entities=True,
    forbid_external=True)`` then ``{child.tag: (child.text or "").strip() for child in
    root}`` (a property test compares them), without building the tree: it runs twice per
    callback (the envelope, then the decrypted event), so it reads the two levels it needs
    straight from expat. A DTD (hence any entity declaration) or an external reference
    stops the parse, as defusedxml's parser stops it."""
    parser = expat.ParserCreate(None, "}")
    out: dict[str, str] = {}
    depth = 0
    tag = ""
    text: list[str] = []
    reading = False

    def start(name: str, _attrs) -> None:
        nonlocal depth, tag, text, reading
        depth += 1
        if depth == 2:
            tag, text, reading = ("{" + name if "}" in name else name), [], True
        elif depth == 3:
            reading = False  # a child's text is what comes before its first element (ElementTree's .text)

    def end(_name: str) -> None:
        nonlocal depth
        if depth == 2:
            out[tag] = "".join(text).strip()
        depth -= 1

    def characters(data: str) -> None:
        if depth == 2 and reading:
            text.append(data)

    def doctype(name, sysid, pubid, _has_internal_subset):
        raise DTDForbidden(name, sysid, pubid)

    def external(_context, base, sysid, pubid):
        raise ExternalReferenceForbidden(_context, base, sysid, pubid)

    def entity(name, _is_parameter, value, base, sysid, pubid, notation_name):
        raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)

    def unparsed(name, base, sysid, pubid, notation_name):
        raise EntitiesForbidden(name, None, base, sysid, pubid, notation_name)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = doctype
    parser.ExternalEntityRefHandler = external
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = unparsed
    try:
        parser.Parse(data, True)
    except expat.ExpatError:
        raise WebhookRejected("malformed or unsafe XML (ParseError)", status=400) from None
    except (DefusedXmlException, ValueError) as exc:
        raise WebhookRejected(f"malformed or unsafe XML ({type(exc).__name__})", status=400) from None
    return out


class WeComWebhook(WebhookHandler):
    max_body = MAX_BODY
    #: One event per callback — but a customer-group event (create, a rename, a dismissal)
    #: carries one membership record per customer in the group, and a group holds at most
    #: a few thousand members (500 by default; unverified upper bound).
    max_records = 2000

    def _settings(self) -> tuple[str, str, str]:
        config = self.connector.config
        token, key = config.get("callback_token"), config.get("encoding_aes_key")
        if not token or not key:
            raise WebhookRejected("callbacks are not configured for this instance", status=404)
        try:
            crypto.aes_key(key)
        except crypto.CryptoError:
            # Our configuration is broken, not the sender: WeCom should retry later.
            raise WebhookRejected("encoding_aes_key is not a valid 43-character EncodingAESKey", status=503) from None
        return token, key, config["corp_id"]

    def _verified(self, req: WebhookRequest, token: str, encrypted: str) -> None:
        signature = req.args.get("msg_signature") or ""
        nonce = req.args.get("nonce") or ""
        if not signature or not nonce:
            raise WebhookRejected("msg_signature, timestamp and nonce are required", status=400)
        tolerance = int(self.connector.config.get("timestamp_tolerance") or 300)
        timestamp = inputs.check_timestamp(req.args.get("timestamp"), "timestamp", tolerance, missing_status=400)
        if not crypto.verify_signature(token, timestamp, nonce, encrypted, signature):
            raise WebhookRejected("bad msg_signature", status=401)

    def _decrypt(self, key: str, encrypted: str, corp_id: str) -> bytes:
        try:
            return crypto.decrypt(key, encrypted, corp_id)
        except crypto.CryptoError as exc:
            status = 403 if "receiveid" in str(exc) else 400
            raise WebhookRejected(f"cannot decrypt callback: {exc}", status=status) from None

    def handle(self, req: WebhookRequest) -> WebhookResult:
        token, key, corp_id = self._settings()
        if req.method.upper() == "GET":
            echostr = req.args.get("echostr") or ""
            if not echostr:
                raise WebhookRejected("echostr is required for URL verification", status=400)
            self._verified(req, token, echostr)
            return WebhookResult(records=[], body=self._decrypt(key, echostr, corp_id))
        if req.method.upper() != "POST":
            raise WebhookRejected("only GET (verification) and POST (events) are accepted", status=405)
        inputs.check_body_size(req.body, self.max_body)
        envelope = parse_xml(req.body)
        encrypted = envelope.get("Encrypt") or ""
        if not encrypted:
            raise WebhookRejected("callback has no Encrypt element", status=400)
        self._verified(req, token, encrypted)
        plain = self._decrypt(key, encrypted, corp_id)
        event = parse_xml(plain)
        more, writes = callbacks.more_for(self.connector, event, plain)  # groups, members, welcome
        records = self.records(event)
        if event.get("ChangeType") == "add_external_contact":
            self._complete(records)
        return WebhookResult(records=records + more, writes=writes, body="success", pulls=self.pulls_for(event))

    def _complete(self, records: list[tuple[str, Record]]) -> None:
        """A new friend: read the relation now (:mod:`.newcustomer`) so name, remark mobiles
        and unionid arrive with the callback, not with the next scan."""
        for stream, record in records:
            if stream == "external_contacts":
                found = relation_now(self.connector, record.data["external_userid"], record.data["userid"])
                if found:
                    record.data.update(found)

    def pulls_for(self, event: dict[str, str]) -> list[str]:
        """Streams to re-read now: a tag reorder (``shuffle``) carries no tags, only that the
        order changed (with an empty ``Id``: of every group)."""
        if event.get("Event") == "change_external_tag" and event.get("ChangeType") == "shuffle":
            return ["corp_tags"]
        return []

    @staticmethod
    def records(event: dict[str, str]) -> list[tuple[str, Record]]:
        """Records for one decrypted event (see the module docstring)."""
        kind, change = event.get("Event", ""), event.get("ChangeType", "")
        created = event.get("CreateTime", "")
        seconds = inputs.parse_epoch(created, "CreateTime") if created else None
        when = datetime.fromtimestamp(seconds, timezone.utc) if seconds is not None else None
        sender = event.get("FromUserName", "")
        if event.get("MsgType") == "event" and kind == "change_external_contact" and change in CONTACT_CHANGES:
            external_userid, userid = event.get("ExternalUserID", ""), event.get("UserID", "")
            if not external_userid or not userid:
                raise WebhookRejected(f"{change} without ExternalUserID/UserID", status=400)
            details: dict[str, Any] = {"change_type": change, "create_time": seconds}
            for field, name in (("State", "state"), ("WelcomeCode", "welcome_code"), ("Source", "source"), ("FailReason", "fail_reason")):
                if field in event:
                    details[name] = event[field]
            data = {"external_userid": external_userid, "userid": userid, "event": details}
            record = Record(
                native_id=relation_id(external_userid, userid),
                data=data,
                updated_at=when,
                deleted=change in DELETIONS,
                dedupe_key=f"wecom:{sender}:{created}:{change}:{external_userid}:{userid}",
            )
            return [("external_contacts", record)]
        if event.get("MsgType") == "event" and kind == "change_external_tag" and change == "shuffle":
            # 企业客户标签重排事件 (doc 92130): no TagType; Id = the group whose tags were
            # reordered, empty = every group. Nothing to store: the handler asks for a re-read.
            return []
        if event.get("MsgType") == "event" and kind == "change_external_tag":
            tag_id, tag_type = event.get("Id", ""), event.get("TagType", "")
            if not tag_id:
                raise WebhookRejected("change_external_tag without Id", status=400)
            data = {"id": tag_id, "event": {"change_type": change, "tag_type": tag_type, "create_time": seconds}}
            if event.get("StrategyId"):
                data["event"]["strategy_id"] = event["StrategyId"]
            record = Record(
                native_id=tag_id,
                data=data,
                updated_at=when,
                deleted=change == "delete",
                dedupe_key=f"wecom:{sender}:{created}:{change}:{tag_type}:{tag_id}",
            )
            return [("corp_tags", record)]
        return []
