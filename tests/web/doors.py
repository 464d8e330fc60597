"""How a sender reaches each webhook door of the web tests' hub, signed or not.

``signed(door, config, body)`` returns ``(headers, query)`` that authenticate ``body`` exactly as
the vendor would (a token, an HMAC, or WeCom's encrypted and signed envelope — for WeCom, ``body``
is the *plaintext* event, which is encrypted into the envelope). The instances are the ones
:func:`demo_data.write_demo_config` configures.
"""

from __future__ import annotations

import json
import time
from typing import Any, Mapping

from connectors.callcenter.signing import cdr_push_signature
from connectors.wecom import crypto
from connectors.wecom.sandbox import event_xml

#: door name → instance name in the web tests' config
DOORS = {"feiyu": "feiyu_ads", "clink": "cc_400", "udesk": "udesk_main", "wecom": "wecom_sales"}


def config_of(app, door: str) -> Mapping[str, Any]:
    return app.extensions["hub"].config.connectors[DOORS[door]].config


def signed(door: str, config: Mapping[str, Any], body: bytes, *, timestamp: str | None = None) -> tuple[dict, dict, bytes]:
    """``(headers, query, wire body)`` for an authenticated push of ``body`` to ``door``."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    if door == "feiyu":
        # Signature / Timestamp / Access-Token over the (first) lead's id, as a push rule sends them.
        from connectors.feiyu.auth.push_signing import push_signature

        try:
            lead = json.loads(body)
            lead = lead[0] if isinstance(lead, list) and lead else lead
            clue_id = str(lead.get("id", lead.get("clue_id", ""))) if isinstance(lead, dict) else ""
        except (ValueError, RecursionError):  # hostile bodies: the door refuses them before the signature
            clue_id = ""
        try:
            clue_id.encode()
        except UnicodeEncodeError:  # a lone surrogate: the door refuses the id before the signature
            clue_id = ""
        return ({"Content-Type": "application/json", "Access-Token": config["push_token"], "Timestamp": ts,
                 "Signature": push_signature(clue_id, config["push_token"], ts)}, {}, body)
    if door == "udesk":
        return {"Content-Type": "application/json"}, {"token": config["webhook_token"]}, body
    if door == "clink":
        return ({"Content-Type": "application/json", "X-Hub-Timestamp": ts,
                 "X-Hub-Signature": cdr_push_signature(config["webhook_secret"], ts, body)}, {}, body)
    if door == "wecom":
        encrypted = crypto.encrypt(config["encoding_aes_key"], body, config["corp_id"])
        nonce = "1234567890"
        wire = event_xml({"ToUserName": config["corp_id"], "AgentID": "1000002", "Encrypt": encrypted})
        query = {"msg_signature": crypto.signature(config["callback_token"], ts, nonce, encrypted), "timestamp": ts, "nonce": nonce}
        return {"Content-Type": "text/xml"}, query, wire
    raise KeyError(door)


def wecom_event(config: Mapping[str, Any], **fields: Any) -> bytes:
    """A plaintext ``change_external_contact`` event (override any element with ``fields``)."""
    event = {"ToUserName": config["corp_id"], "FromUserName": "sys", "CreateTime": int(time.time()), "MsgType": "event",
             "Event": "change_external_contact", "ChangeType": "add_external_contact", "UserID": "zhangsan",
             "ExternalUserID": "wmABCDEF0123456789", "State": "", **fields}
    return event_xml(event)


def clink_cdr(**over: Any) -> dict[str, Any]:
    """One CDR in the vendor field names the web tests' Clink instance maps."""
    body = {"cdr_id": "cc-20260105-0001", "call_direction": "IN", "caller": "013812345678", "did": "4008208820",
            "agent_no": "0101", "begin_at": "2026-01-05 10:15:02", "end_at": "2026-01-05 10:18:40"}
    body.update(over)
    return body


def udesk_ticket(**over: Any) -> dict[str, Any]:
    ticket = {"id": 9001, "subject": "改约", "created_at": "2026-01-05T10:15:02.000+08:00",
              "updated_at": "2026-01-05T10:20:00.000+08:00", "customer": {"cellphone": "13912345678"}}
    ticket.update(over)
    return ticket
