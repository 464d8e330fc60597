"""Udesk ``tickets`` sink: open a ticket (``POST /open_api_v1/tickets``) or update one
(``PUT /open_api_v1/tickets/<id>``) — so a CRM change or a WeCom event can open a ticket.

Payload (what the outbound mapping yields)::

    {"subject": "…", "content": "…", "priority": "标准", "status_id": 1,
     "assignee_email": "agent@yourco.cn", "agent_group_name": "售后1组",
     "customer": {"cellphone": "13812345678", "email": "…", "nick_name": "王小明"},
     "custom_fields": {"TextField_1": "…"}, "tags": "意向客户", "template_id": 1}

Udesk's create-ticket API takes the status as ``status_id`` (1 open, 2 resolved, 3 closed,
4 solving) and the assignee as ``assignee_email`` (Udesk open API v2 › 工单 › 创建工单); a
``status`` name (``open``/``开启``, ``solving``/``解决中``, ``resolved``/``solved``/``已解决``,
``closed``/``已关闭``) is translated. ``assignee_id``, which Udesk ignores, is refused with a
clear message instead of being sent in vain.

**Idempotency.** Udesk has no idempotency key. The sink keeps ``idempotency key → ticket id``
in the instance's durable state (``Sink.remember_write``): a repeated key returns the recorded ticket
without calling Udesk. If ``idempotency_field`` names a ticket custom field, the key is also
written into it, so the one remaining gap — Udesk created the ticket but the answer was lost
before the state was saved — leaves a duplicate that is recognisable (and searchable) in Udesk.

Udesk files a ticket against a customer identified by ``type``/``type_content`` and refuses
an unknown one; the sink then creates the customer (``POST /open_api_v1/customers``) and
retries once, as Udesk's own integration guides do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.connector import PermanentError, Sink, WriteResult

from connectors.ticketing.udesk.client import UdeskError

if TYPE_CHECKING:
    from connectors.ticketing.udesk.connector import UdeskConnector

#: Udesk's answer when the ticket's customer does not exist.
CUSTOMER_NOT_FOUND = 2003
TICKET_FIELDS = ("subject", "content", "priority", "tags", "template_id", "assignee_email", "agent_group_name",
                 "follower_ids", "creator_email")
#: status_id values (Udesk open API v2, "status_id 取值范围").
STATUS_IDS = {"open": 1, "开启": 1, "resolved": 2, "solved": 2, "已解决": 2, "closed": 3, "已关闭": 3,
              "solving": 4, "解决中": 4}


def status_id(payload: dict[str, Any]) -> int | None:
    """``status_id`` from the payload (an id 1–4, or a status name)."""
    value = payload.get("status_id")
    if value in (None, ""):
        name = payload.get("status")
        if name in (None, ""):
            return None
        if str(name).strip().lower() not in STATUS_IDS:
            raise PermanentError(f"unknown Udesk status {name!r} (open, solving, resolved, closed or status_id 1–4)")
        return STATUS_IDS[str(name).strip().lower()]
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number not in (1, 2, 3, 4):
        raise PermanentError(f"status_id must be 1 open, 2 resolved, 3 closed or 4 solving, not {value!r}")
    return number


def _national(phone: Any) -> str:
    """Udesk stores Chinese numbers nationally: the hub's E.164 ``+8613812345678`` → ``13812345678``."""
    text = str(phone).strip()
    return text[3:] if text.startswith("+86") else text


def _customer_ref(customer: dict[str, Any]) -> tuple[str, str]:
    if customer.get("cellphone"):
        customer["cellphone"] = _national(customer["cellphone"])
    for kind in ("cellphone", "email", "customer_id"):
        if customer.get(kind):
            return kind, str(customer[kind])
    raise PermanentError("a new Udesk ticket needs customer.cellphone, customer.email or customer.customer_id")


class TicketsSink(Sink):
    name = "tickets"
    description = "open or update a Udesk ticket (idempotent per key via durable state)"

    def write(self, payload: dict[str, Any], *, idempotency_key: str, native_id: str | None = None) -> WriteResult:
        c: "UdeskConnector" = self.connector  # type: ignore[assignment]
        done = self.written_before(idempotency_key)
        if done:
            return done
        custom = dict(payload.get("custom_fields") or {})
        if c.config.get("idempotency_field"):
            custom[c.config["idempotency_field"]] = idempotency_key
        if payload.get("assignee_id") not in (None, "") and not payload.get("assignee_email"):
            raise PermanentError("Udesk assigns tickets by assignee_email, not assignee_id")
        ticket = {k: payload[k] for k in TICKET_FIELDS if payload.get(k) is not None}
        status = status_id(payload)
        if status is not None:
            ticket["status_id"] = status
        if native_id:
            ticket["custom_fields"] = custom
            body = c.client.call("PUT", f"/open_api_v1/tickets/{native_id}", json={"ticket": ticket})
            ticket_id, created = str((body.get("ticket") or {}).get("id") or native_id), False
        else:
            customer = dict(payload.get("customer") or {})
            kind, content = _customer_ref(customer)
            ticket.update(type=kind, type_content=content, ticket_field=custom)
            ticket.setdefault("content", ticket.get("subject", ""))
            try:
                body = c.client.call("POST", "/open_api_v1/tickets", json={"ticket": ticket})
            except UdeskError as exc:
                if exc.code != CUSTOMER_NOT_FOUND or kind == "customer_id":
                    raise
                self._create_customer(customer)
                body = c.client.call("POST", "/open_api_v1/tickets", json={"ticket": ticket})
            ticket_id, created = str(body["ticket_id"]), True
        self.remember_write(idempotency_key, ticket_id)
        return WriteResult(native_id=ticket_id, created=created, data=body)

    def _create_customer(self, customer: dict[str, Any]) -> None:
        c: "UdeskConnector" = self.connector  # type: ignore[assignment]
        new: dict[str, Any] = {"nick_name": customer.get("nick_name") or customer.get("cellphone") or customer.get("email")}
        if customer.get("email"):
            new["email"] = customer["email"]
        if customer.get("cellphone"):
            new["cellphones"] = [[None, str(customer["cellphone"])]]
        c.client.call("POST", "/open_api_v1/customers", json={"customer": new})
