"""Udesk ``customers`` stream: the customer directory, read in full (``GET /open_api_v1/customers``).

Udesk's event callbacks announce customer changes (``Customer_create`` / ``Customer_update`` /
``Customer_destroy``, message = the customer: ``id, nick_name, email, other_emails,
cellphones[{id, content}], organization_id, tags, custom_fields …`` — udesk.cn/doc/apiv2/webhook),
and the list endpoint pages the same objects (``GET /customers?page&page_size``, ≤ 100 a page,
at most 10,000 customers — udesk.cn/doc/apiv2/customers). The list has no "changed since"
filter, so a read pages through every customer and hands over only the new or changed ones:
the cursor keeps a short fingerprint per customer id (``{"fp": {id: crc32}}``, about 20 bytes
a customer — 200 KB at Udesk's 10,000 limit). A crash part-way re-reads from page 1.
"""

from __future__ import annotations

import json
import zlib
from typing import TYPE_CHECKING, Any, Iterator

from hub.connector import ReadBatch, Record, Stream

if TYPE_CHECKING:
    from connectors.ticketing.udesk.connector import UdeskConnector


def customer_record(customer: dict[str, Any], *, deleted: bool = False, dedupe_key: str | None = None) -> Record:
    phones = [str(p.get("content")) for p in customer.get("cellphones") or [] if isinstance(p, dict) and p.get("content")]
    emails = [e for e in [customer.get("email"), *(customer.get("other_emails") or [])] if isinstance(e, str) and e]
    data = {**customer, "_phones": phones, "_emails": emails}
    return Record(native_id=str(customer["id"]), data=data, deleted=deleted, dedupe_key=dedupe_key)


class CustomersStream(Stream):
    name = "customers"
    primary_key = "id"
    description = "Udesk customers (phones, e-mails, name), full scan handing over changes; Customer_* callbacks push them"

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        c: "UdeskConnector" = self.connector  # type: ignore[assignment]
        known: dict[str, str] = dict((cursor or {}).get("fp") or {})
        page, size = 1, c.config["page_size"]
        while True:
            body = c.client.call("GET", "/open_api_v1/customers", params={"page": page, "page_size": size})
            rows = [r for r in body.get("customers") or [] if isinstance(r, dict) and r.get("id") is not None]
            changed = []
            for row in rows:
                cid, fp = str(row["id"]), fingerprint(row)
                if known.get(cid) != fp:
                    known[cid] = fp
                    changed.append(customer_record(row))
            total_pages = int((body.get("meta") or {}).get("total_pages") or 0)
            last = not rows or page >= total_pages
            yield ReadBatch(changed, {"fp": dict(known)}, complete=last)
            if last:
                return
            page += 1


def fingerprint(customer: dict[str, Any]) -> str:
    return format(zlib.crc32(json.dumps(customer, sort_keys=True, ensure_ascii=False, default=str).encode()), "08x")
