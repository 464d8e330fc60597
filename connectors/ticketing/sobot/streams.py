"""Sobot ``tickets`` stream: tickets updated since the last read, through Open Platform 5.0
``query_tickets_by_update_time``.

The API takes an update-time window (``update_start_datetime`` / ``update_end_datetime``,
``yyyy-MM-dd HH:mm:ss``, at most one month apart) and pages (``page_no`` from 1,
``page_size`` ≤ 50), answering ``items`` plus ``page_count`` / ``total_count``
(taadis/zhichi ``query_tickets_by_update_time.go``; the ``items`` key and the ``*_ms``
variants of the window parameters from a public integration's reference notes — the Go
client reads ``item``, so both keys are accepted and both parameter forms are sent).
Times are Beijing time, to the second (Sobot's default ``timezoneid`` is Asia/Shanghai).

Cursor: the high-water mark ``{"updated_at": "2026-12-02 10:15:02", "ids": [ids updated
exactly then]}``, as for Udesk. A read asks for ``[updated_at, now]`` in windows of at most
:data:`WINDOW` (a first read starts ``initial_days`` back) and skips the ids already seen at
the floor second, so a ticket updated again within that second is still picked up.

The page order is not documented. While a window is scanned, a ticket updated meanwhile
leaves the window (its new time is after its end) and every ticket behind it moves up a
page — one could be skipped. So each window's ``total_count`` is compared between its first
and its last page; when it changed, the window is scanned again (ids already read in this
read are dropped), at most :data:`RESCANS` times. Each page is committed with a cursor that
holds the scan position, so a crash resumes the window instead of starting over.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterator

from hub.connector import ReadBatch, Record, Stream

if TYPE_CHECKING:
    from connectors.ticketing.sobot.connector import SobotConnector

CHINA = timezone(timedelta(hours=8))
FORMAT = "%Y-%m-%d %H:%M:%S"
#: "查询时间段不能大于一个月": the shortest month keeps every window legal.
WINDOW = timedelta(days=28)
#: A window whose total changed while it was paged is scanned again at most this often.
RESCANS = 3
PAGE_MAX = 50


def parse_sobot_time(value: Any) -> datetime:
    """``2026-12-02 10:15:02`` (Beijing) → an aware datetime; ValueError when unreadable."""
    return datetime.strptime(str(value).strip(), FORMAT).replace(tzinfo=CHINA)


def _text(at: datetime) -> str:
    return at.astimezone(CHINA).strftime(FORMAT)


def _first(value: Any) -> str | None:
    """Sobot lists several phones / e-mails comma-separated; the first one identifies."""
    parts = [p.strip() for p in str(value or "").split(",") if p.strip()]
    return parts[0] if parts else None


def annotate(row: dict[str, Any]) -> dict[str, Any]:
    """Add ``_change`` (``opened`` while never touched after creation, else ``updated``) and
    ``_tel`` / ``_email`` (the first of the comma-separated lists) for the mapping."""
    same = row.get("create_datetime") and row.get("create_datetime") == row.get("update_datetime")
    return {**row, "_change": "opened" if same else "updated",
            "_tel": _first(row.get("user_tels")), "_email": _first(row.get("user_emails"))}


def page_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    rows = body.get("items")
    if rows is None:
        rows = body.get("item")
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


class TicketsStream(Stream):
    name = "tickets"
    primary_key = "ticketid"
    description = "Sobot tickets by update time (query_tickets_by_update_time, 28-day windows, ≤50 a page)"

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        c: "SobotConnector" = self.connector  # type: ignore[assignment]
        cursor = dict(cursor or {})
        scan = dict(cursor.pop("scan", None) or {})
        now = datetime.now(CHINA).replace(microsecond=0)
        if cursor.get("updated_at"):
            floor, floor_ids = parse_sobot_time(cursor["updated_at"]), set(cursor.get("ids") or [])
        else:
            floor, floor_ids = now - timedelta(days=c.config["initial_days"]), set()
        seen: set[str] = set()
        while True:
            start = parse_sobot_time(scan["start"]) if scan else floor
            end = parse_sobot_time(scan["end"]) if scan else min(start + WINDOW, now)
            page, total = int(scan.get("page", 1)), scan.get("total")
            high, rescans = scan.get("high"), int(scan.get("rescans", 0))
            while True:
                body = c.client.query_tickets_by_update_time(_params(start, end, page, c.config["page_size"]))
                rows = page_rows(body)
                if page == 1:
                    total = body.get("total_count")
                records: list[Record] = []
                for row in rows:
                    record, at = self._record(row, floor, floor_ids, seen)
                    if record is not None:
                        records.append(record)
                        if at is not None:
                            high = _raise_high(high, at, record.native_id)
                page_count = int(body.get("page_count") or 0)
                if rows and page < page_count:
                    page += 1
                    state = {"start": _text(start), "end": _text(end), "page": page, "total": total,
                             "high": high, "rescans": rescans}
                    yield ReadBatch(records, {**_floor(floor, floor_ids), "scan": state})
                    continue
                if page > 1 and body.get("total_count") != total and rescans < RESCANS:
                    # The window moved while it was paged: scan it again from page 1.
                    rescans += 1
                    state = {"start": _text(start), "end": _text(end), "page": 1, "high": high, "rescans": rescans}
                    yield ReadBatch(records, {**_floor(floor, floor_ids), "scan": state})
                    page, total = 1, None
                    continue
                break
            if end >= now:
                yield ReadBatch(records, _final(floor, floor_ids, high))
                return
            # An older window is complete: everything up to its end was read.
            floor, floor_ids = (end, set()) if high is None else _merge(end, high)
            scan = {}
            yield ReadBatch(records, _floor(floor, floor_ids))

    def _record(self, row: dict[str, Any], floor: datetime, floor_ids: set[str],
                seen: set[str]) -> tuple[Record | None, datetime | None]:
        tid = str(row.get("ticketid") or "")
        if not tid or tid in seen:
            return None, None
        try:
            at: datetime | None = parse_sobot_time(row.get("update_datetime"))
        except ValueError:
            # One ticket with a broken time must not stop the pull: the mapping rejects it
            # visibly (dead letters); it does not move the cursor.
            at = None
        if at is not None and (at < floor or (at == floor and tid in floor_ids)):
            return None, None
        seen.add(tid)
        return Record(native_id=tid, data=annotate(row), updated_at=at), at


def _params(start: datetime, end: datetime, page: int, size: int) -> dict[str, Any]:
    return {"update_start_datetime": _text(start), "update_end_datetime": _text(end),
            "update_start_datetime_ms": int(start.timestamp() * 1000),
            "update_end_datetime_ms": int(end.timestamp() * 1000),
            "page_no": page, "page_size": min(int(size), PAGE_MAX)}


def _floor(at: datetime, ids: set[str]) -> dict[str, Any]:
    return {"updated_at": _text(at), "ids": sorted(ids)}


def _raise_high(high: dict[str, Any] | None, at: datetime, tid: str) -> dict[str, Any]:
    text = _text(at)
    if high is None or text > high["updated_at"]:
        return {"updated_at": text, "ids": [tid]}
    if text == high["updated_at"] and tid not in high["ids"]:
        return {"updated_at": text, "ids": sorted([*high["ids"], tid])}
    return high


def _merge(end: datetime, high: dict[str, Any]) -> tuple[datetime, set[str]]:
    """The floor after a complete older window: its end, or the newest ticket seen if that
    is later (updated while the window was read)."""
    at = parse_sobot_time(high["updated_at"])
    return (at, set(high["ids"])) if at >= end else (end, set())


def _final(floor: datetime, floor_ids: set[str], high: dict[str, Any] | None) -> dict[str, Any]:
    """After the window that reaches now: the newest ticket seen (never the clock, which may
    run ahead of Sobot's), else the old floor."""
    if high is None:
        return _floor(floor, floor_ids)
    at = parse_sobot_time(high["updated_at"])
    if at == floor:
        return _floor(floor, floor_ids | set(high["ids"]))
    return _floor(at, set(high["ids"])) if at > floor else _floor(floor, floor_ids)
