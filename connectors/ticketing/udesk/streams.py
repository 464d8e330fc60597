"""Udesk ``tickets`` stream: every ticket created or changed since the last read.

Udesk's list endpoint (``GET /open_api_v1/tickets?page&per_page``, ``per_page`` ≤ 100) takes
no "updated since" filter; it lists tickets most recently updated first. So a read scans from
page 1 and stops at the first ticket the previous read already covered. The cursor is the
high-water mark ``{"updated_at": T, "ids": [ids updated exactly at T]}``; Udesk stamps times
to the second, and keeping the ids seen at ``T`` means a ticket updated later within that same
second is still picked up (a plain ``(updated_at, id)`` keyset would skip it when its id is
smaller).

While a scan runs, the list can move under it: a ticket updated meanwhile jumps to page 1
(already passed — it is newer than the new high-water mark, so the next read gets it) and
everything below it shifts *down*, which can only show a ticket twice (dropped: ids are
de-duplicated within a read), never skip one. Each page is committed with a cursor holding the
scan position and the old floor, so a crash resumes the scan instead of losing older pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterator

from hub.connector import ReadBatch, Record, Stream

if TYPE_CHECKING:
    from connectors.ticketing.udesk.connector import UdeskConnector


def parse_udesk_time(value: str) -> datetime:
    """Udesk times: ``2026-01-05T10:15:02.000+08:00`` (open API) or ``2026-01-05 10:15:02 +0800`` (API v1)."""
    text = value.strip()
    if " " in text and text[-5] in "+-":
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
    return datetime.fromisoformat(text)


def annotate(row: dict[str, Any]) -> dict[str, Any]:
    """Add ``_change``: ``opened`` while the ticket was never touched after creation, else
    ``updated`` — mappings cannot compare two fields, and the event kind depends on it."""
    same = row.get("created_at") and row.get("created_at") == row.get("updated_at")
    return {**row, "_change": "opened" if same else "updated"}


def _key(row: dict[str, Any]) -> tuple[datetime | None, int]:
    """``(updated_at, id)``; ``updated_at`` is None when Udesk sent something unreadable."""
    try:
        at = parse_udesk_time(str(row["updated_at"])).replace(microsecond=0)
    except (KeyError, TypeError, ValueError):
        at = None
    return at, int(row["id"])


class TicketsStream(Stream):
    name = "tickets"
    primary_key = "id"
    description = "Udesk tickets, newest-updated first, incremental by updated_at (+ ids at that second)"

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        c: "UdeskConnector" = self.connector  # type: ignore[assignment]
        cursor = dict(cursor or {})
        scan = cursor.pop("scan", None) or {}
        floor_at = parse_udesk_time(cursor["updated_at"]) if cursor.get("updated_at") else None
        floor_ids = set(cursor.get("ids") or [])
        page = int(scan.get("page", 1))
        high = scan.get("high")  # {"updated_at", "ids"} of the newest ticket seen in this scan
        seen: set[int] = set()
        per_page = c.config["page_size"]
        while True:
            body = c.client.call("GET", "/open_api_v1/tickets", params={"page": page, "per_page": per_page})
            rows = body.get("tickets") or []
            records: list[Record] = []
            reached_floor = False
            for row in rows:
                at, tid = _key(row)
                if at is None:
                    # One ticket with a broken timestamp must not stop the pull: hand it
                    # over as-is (the mapping rejects it visibly, into the dead letters)
                    # without letting it move the cursor.
                    if tid not in seen:
                        seen.add(tid)
                        records.append(Record(native_id=str(tid), data=annotate(row)))
                    continue
                if floor_at is not None and (at < floor_at or (at == floor_at and tid in floor_ids)):
                    if at < floor_at:
                        reached_floor = True
                        break
                    continue
                if tid in seen:
                    continue
                seen.add(tid)
                high = _raise_high(high, at, tid)
                records.append(Record(native_id=str(tid), data=annotate(row), updated_at=at))
            total_pages = int((body.get("meta") or {}).get("total_pages") or 0)
            last = reached_floor or not rows or page >= total_pages
            if last:
                yield ReadBatch(records, _final_cursor(floor_at, floor_ids, high))
                return
            page += 1
            floor = {"updated_at": floor_at.isoformat(), "ids": sorted(floor_ids)} if floor_at else {}
            yield ReadBatch(records, {**floor, "scan": {"page": page, "high": high}})


def _raise_high(high: dict[str, Any] | None, at: datetime, tid: int) -> dict[str, Any]:
    if high is None or at > datetime.fromisoformat(high["updated_at"]):
        return {"updated_at": at.isoformat(), "ids": [tid]}
    if at == datetime.fromisoformat(high["updated_at"]) and tid not in high["ids"]:
        return {"updated_at": high["updated_at"], "ids": sorted([*high["ids"], tid])}
    return high


def _final_cursor(floor_at: datetime | None, floor_ids: set[int], high: dict[str, Any] | None) -> dict[str, Any]:
    if high is None:
        return {"updated_at": floor_at.isoformat(), "ids": sorted(floor_ids)} if floor_at else {"updated_at": None, "ids": []}
    if floor_at is not None and datetime.fromisoformat(high["updated_at"]) == floor_at:
        return {"updated_at": high["updated_at"], "ids": sorted(floor_ids | set(high["ids"]))}
    return high
