"""WeCom callbacks: known-answer vectors, an independent encryptor, and every rejection."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import time

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hub.connector import DictState, WebhookRejected, WebhookRequest

from connectors.wecom import crypto
from connectors.wecom.connector import WeComConnector

# Known-answer vectors from the wechatpy test suite (see /work/shared/notes/remote-apis.md).
KAT_TOKEN = "123456"
KAT_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
KAT_CORP = "wx49f0ab532d5d035a"
KAT_ECHO = dict(
    msg_signature="dd6b9c95b495b3f7e2901bfbc76c664930ffdb96",
    timestamp="1411443780",
    nonce="437374425",
    echostr="4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==",
)
KAT_MSG = dict(msg_signature="74d92dfeb87ba7c714f89d98870ae5eb62dff26d", timestamp="1411525903", nonce="461056294")
KAT_ENCRYPT = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7"
    "rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTv"
    "mUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En74"
    "9zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)

# Independent test-side implementation of the scheme (no code shared with the connector).
TOKEN = "IndependentToken"
KEY = base64.b64encode(bytes(range(32))).decode()[:-1]  # 43 characters
CORP = "ww0123456789abcdef"


def indep_encrypt(message: bytes, corp: str = CORP, key_text: str = KEY, pad_byte: int | None = None) -> str:
    key = base64.b64decode(key_text + "=")
    plain = os.urandom(16) + struct.pack("!I", len(message)) + message + corp.encode()
    n = 32 - (len(plain) % 32)
    plain += bytes([n if pad_byte is None else pad_byte] * n)
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def indep_sign(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


def envelope(encrypt: str) -> bytes:
    return f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()


def post(encrypt: str, *, token: str = TOKEN, timestamp: str | None = None, nonce: str = "1372623149", body: bytes | None = None, signature: str | None = None) -> WebhookRequest:
    ts = timestamp or str(int(time.time()))
    args = {"msg_signature": signature or indep_sign(token, ts, nonce, encrypt), "timestamp": ts, "nonce": nonce}
    return WebhookRequest("POST", "/webhooks/wecom", {"Content-Type": "text/xml"}, args, body if body is not None else envelope(encrypt))


def contact_event(change: str = "add_external_contact", **extra: str) -> bytes:
    fields = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in extra.items())
    return (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
        f"<CreateTime>1767600000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[{change}]]></ChangeType>"
        f"<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[wmEXAMPLE0001]]></ExternalUserID>{fields}</xml>"
    ).encode()


def handler(corp: str = CORP, token: str = TOKEN, key: str = KEY, **extra):
    # base_url: nothing listens there, so a new friend's externalcontact/get (issue 16) fails
    # at once and the callback is stored as it came — no test reaches the real WeCom.
    config = WeComConnector.validate_config(
        {"corp_id": corp, "secret": "s" * 43, "callback_token": token, "encoding_aes_key": key,
         "base_url": "http://127.0.0.1:9", **extra}
    )
    return WeComConnector("wecom_cb", config, state=DictState()).webhook_handler()


def rejected(h, req, status_range=(400, 499)) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as info:
        h.handle(req)
    assert status_range[0] <= info.value.status <= status_range[1]
    assert TOKEN not in info.value.message and KEY not in info.value.message
    return info.value


# -- known answers ----------------------------------------------------------------------------
def test_known_answer_vectors_through_the_crypto_module():
    assert crypto.verify_signature(KAT_TOKEN, KAT_ECHO["timestamp"], KAT_ECHO["nonce"], KAT_ECHO["echostr"], KAT_ECHO["msg_signature"])
    assert crypto.decrypt(KAT_KEY, KAT_ECHO["echostr"], KAT_CORP) == b"5927782489442352469"
    assert not crypto.verify_signature(KAT_TOKEN, KAT_ECHO["timestamp"], "437374424", KAT_ECHO["echostr"], KAT_ECHO["msg_signature"])
    text = crypto.decrypt(KAT_KEY, KAT_ENCRYPT, KAT_CORP).decode()
    assert "<FromUserName><![CDATA[messense]]></FromUserName>" in text
    assert "<Content><![CDATA[test]]></Content>" in text and "<MsgId>4363689963896700987</MsgId>" in text
    assert "<AgentID>1</AgentID>" in text


def _kat_handler():
    # The vectors date from 2014: widen the window so only the crypto decides.
    return handler(corp=KAT_CORP, token=KAT_TOKEN, key=KAT_KEY, timestamp_tolerance=10**10)


def test_url_verification_answers_the_decrypted_echostr():
    result = _kat_handler().handle(WebhookRequest("GET", "/webhooks/wecom", {}, dict(KAT_ECHO), b""))
    assert result.body == b"5927782489442352469" and result.records == []


def test_url_verification_with_the_wrong_nonce_is_refused():
    rejected(_kat_handler(), WebhookRequest("GET", "/webhooks/wecom", {}, {**KAT_ECHO, "nonce": "437374424"}, b""))


def test_known_answer_message_is_decrypted_and_acknowledged():
    result = _kat_handler().handle(post(KAT_ENCRYPT, token=KAT_TOKEN, timestamp=KAT_MSG["timestamp"], nonce=KAT_MSG["nonce"], signature=KAT_MSG["msg_signature"]))
    assert result.body == "success"
    assert result.records == []  # a text message is not a customer event


def test_url_verification_respects_the_timestamp_window():
    rejected(handler(corp=KAT_CORP, token=KAT_TOKEN, key=KAT_KEY), WebhookRequest("GET", "/webhooks/wecom", {}, dict(KAT_ECHO), b""))


# -- an independent encryptor ------------------------------------------------------------------
def test_a_callback_from_an_independent_encryptor_is_accepted():
    result = handler().handle(post(indep_encrypt(contact_event(State="douyin_live_0315", WelcomeCode="WELCOME123"))))
    assert result.body == "success"
    [(stream, record)] = result.records
    assert stream == "external_contacts"
    assert record.native_id == "wmEXAMPLE0001:zhangsan"
    assert record.data["event"] == {"change_type": "add_external_contact", "create_time": 1767600000, "state": "douyin_live_0315", "welcome_code": "WELCOME123"}
    assert record.deleted is False
    assert record.dedupe_key == "wecom:sys:1767600000:add_external_contact:wmEXAMPLE0001:zhangsan"


def test_wecoms_three_retries_collapse_into_one_dedupe_key():
    h = handler()
    keys = {h.handle(post(indep_encrypt(contact_event()), nonce=str(n))).records[0][1].dedupe_key for n in (111, 222, 333)}
    assert len(keys) == 1


@pytest.mark.parametrize("change", ["del_external_contact", "del_follow_user"])
def test_deletions_are_deleted_records(change):
    [(stream, record)] = handler().handle(post(indep_encrypt(contact_event(change, Source="DELETE_BY_TRANSFER")))).records
    assert stream == "external_contacts" and record.deleted
    assert record.data["event"]["source"] == "DELETE_BY_TRANSFER"


@pytest.mark.parametrize("change", ["add_half_external_contact", "edit_external_contact"])
def test_other_contact_changes_are_relation_events(change):
    [(stream, record)] = handler().handle(post(indep_encrypt(contact_event(change)))).records
    assert (stream, record.deleted, record.data["event"]["change_type"]) == ("external_contacts", False, change)


def test_transfer_fail_carries_its_reason():
    [(_stream, record)] = handler().handle(post(indep_encrypt(contact_event("transfer_fail", FailReason="customer_refused")))).records
    assert record.data["event"]["fail_reason"] == "customer_refused"


def test_tag_changes_go_to_corp_tags():
    xml = (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1767600001</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_tag]]></Event><Id><![CDATA[etTAG001]]></Id>"
        "<TagType><![CDATA[tag]]></TagType><ChangeType><![CDATA[delete]]></ChangeType></xml>"
    ).encode()
    [(stream, record)] = handler().handle(post(indep_encrypt(xml))).records
    assert (stream, record.native_id, record.deleted) == ("corp_tags", "etTAG001", True)
    assert record.dedupe_key == "wecom:sys:1767600001:delete:tag:etTAG001"


# -- rejections: nothing produced, 4xx ---------------------------------------------------------
def test_tampered_signature_is_rejected():
    req = post(indep_encrypt(contact_event()))
    req.args["msg_signature"] = req.args["msg_signature"][:-1] + ("0" if req.args["msg_signature"][-1] != "0" else "1")
    assert rejected(handler(), req).status == 401


def test_stale_timestamp_is_rejected():
    assert rejected(handler(), post(indep_encrypt(contact_event()), timestamp=str(int(time.time()) - 301))).status == 401


def test_timestamp_window_is_configurable():
    stale = post(indep_encrypt(contact_event()), timestamp=str(int(time.time()) - 301))
    assert handler(timestamp_tolerance=900).handle(stale).records


def test_wrong_corp_id_is_rejected():
    assert rejected(handler(), post(indep_encrypt(contact_event(), corp="wwSOMEONEELSE00000"))).status == 403


def test_malformed_base64_is_rejected():
    rejected(handler(), post("not*base64*at*all!"))


@pytest.mark.parametrize("pad_byte", [0, 33, 255])
def test_bad_padding_is_rejected(pad_byte):
    rejected(handler(), post(indep_encrypt(contact_event(), pad_byte=pad_byte)))


def test_wrong_key_is_rejected():
    other = base64.b64encode(bytes(range(1, 33))).decode()[:-1]
    rejected(handler(), post(indep_encrypt(contact_event(), key_text=other)))


XXE = b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt></xml>'
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><Encrypt>&lol3;</Encrypt></xml>'
)


@pytest.mark.parametrize("body", [XXE, BOMB], ids=["xxe", "entity-bomb"])
def test_unsafe_xml_envelopes_are_rejected(body):
    assert rejected(handler(), post("x", body=body)).status == 400


@pytest.mark.parametrize("inner", [XXE.replace(b"Encrypt", b"UserID"), BOMB.replace(b"Encrypt", b"UserID")], ids=["xxe", "entity-bomb"])
def test_unsafe_xml_inside_a_correctly_signed_callback_is_rejected(inner):
    assert rejected(handler(), post(indep_encrypt(inner))).status == 400


def test_missing_query_parameters_are_rejected():
    req = post(indep_encrypt(contact_event()))
    req.args.pop("nonce")
    assert rejected(handler(), req).status == 400


def test_callbacks_need_token_and_key_configured():
    config = WeComConnector.validate_config({"corp_id": CORP, "secret": "s" * 43})
    h = WeComConnector("x", config).webhook_handler()
    assert rejected(h, post(indep_encrypt(contact_event()))).status == 404


def test_a_malformed_aes_key_in_config_is_not_blamed_on_the_sender():
    h = handler(key="too-short")
    with pytest.raises(WebhookRejected) as info:
        h.handle(post(indep_encrypt(contact_event())))
    assert info.value.status == 503 and "too-short" not in info.value.message


# -- the sandbox speaks the same scheme ---------------------------------------------------------
def test_sandbox_callbacks_are_accepted(connector, sandbox):
    relation = sandbox.add_records("external_contacts", 1)[0]
    req = sandbox.callback(sandbox.add_contact_event(relation))
    [(stream, record)] = connector.webhook_handler().handle(req).records
    assert (stream, record.native_id) == ("external_contacts", relation)
    assert record.data["event"]["state"] == sandbox.relations[tuple(relation.split(":"))].get("state", "")


def test_sandbox_url_verification(connector, sandbox):
    assert connector.webhook_handler().handle(sandbox.verify_url(echo="1234567890")).body == b"1234567890"


def test_sandbox_push_posts_to_a_hub_url(connector, sandbox):
    import responses

    with responses.RequestsMock() as mock:
        mock.add(responses.POST, "http://hub.example.test/webhooks/wecom", body="success")
        response = sandbox.push("http://hub.example.test/webhooks/wecom", {"Event": "change_external_contact", "ChangeType": "del_follow_user", "UserID": "lisi", "ExternalUserID": "wmX"})
        sent = mock.calls[0].request
    assert response.text == "success"
    from urllib.parse import parse_qsl, urlsplit

    args = dict(parse_qsl(urlsplit(sent.url).query))
    req = WebhookRequest("POST", "/webhooks/wecom", dict(sent.headers), args, sent.body)
    [(_stream, record)] = connector.webhook_handler().handle(req).records
    assert record.deleted and record.native_id == "wmX:lisi"
