"""Clink CDR streams: inbound (``/cc/list_cdr_ibs``) and outbound (``/cc/list_cdr_obs``) calls.

Clink filters CDRs by call **start** time (``startTime``/``endTime``, Unix seconds, a span of
at most one month) and pages with ``offset``/``limit`` (limit 10–100, offset + limit ≤ 10000).
A CDR is written when the call **ends**, so a window is only read once it has *settled*:
its end lies ``settle_seconds`` (default 1 h) in the past, long enough for calls that started
inside it to have ended. Inside a settled window the result set no longer changes, which makes
``(window, offset)`` an exact cursor: no duplicates, no misses, even across a crash.

Cursor (JSON): ``{"since": S}`` — every call that started before ``S`` has been read — plus,
while a window is being paged, ``"to"`` (window end, exclusive) and ``"offset"``.

A few CDR fields fill in after the call (satisfaction ``evaluation``, ``tags``, ``mark`` /
``markData`` notes). To pick those up, each read first re-reads a trailing window of
``refresh_seconds`` (default 1 day) before ``since``; the hub's inbox drops unchanged records
by payload hash, so only CDRs that really changed are processed again. Set
``refresh_seconds: 0`` to read each CDR exactly once.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar, Iterator

from hub.connector import ReadBatch, Record, Stream

if TYPE_CHECKING:
    from connectors.callcenter.connector import ClinkConnector

#: Clink refuses windows longer than a month; stay well inside it.
MAX_WINDOW_SECONDS = 7 * 86400
#: ``offset + limit`` may not exceed this; a denser window is split in two.
MAX_OFFSET = 10000


def _record(row: dict[str, Any]) -> Record:
    start = row.get("startTime")
    updated = datetime.fromtimestamp(int(start), tz=timezone.utc) if start else None
    return Record(native_id=str(row["uniqueId"]), data=row, updated_at=updated)


class CdrStream(Stream):
    """Shared paging logic; subclasses name the path and the list key."""

    path: ClassVar[str] = ""
    list_key: ClassVar[str] = ""
    primary_key = "uniqueId"

    @property
    def clink(self) -> "ClinkConnector":
        return self.connector  # type: ignore[return-value]

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        cfg = self.clink.config
        now = int(time.time())
        until = now - cfg["settle_seconds"]
        if not cursor:
            cursor = {"since": now - cfg["initial_days"] * 86400}
        since = int(cursor["since"])
        if "to" in cursor:
            # Resume a window a previous read stopped in (the trailing refresh was done then).
            yield from self._window(since, int(cursor["to"]), int(cursor.get("offset", 0)), resumable=True)
            since = int(cursor["to"])
        elif cfg["refresh_seconds"] > 0:
            start = max(0, since - cfg["refresh_seconds"])
            for a, b in _chunks(start, since):
                # Re-read batches carry the unchanged cursor: a crash simply refreshes again.
                for batch in self._window(a, b, 0, resumable=False):
                    yield ReadBatch(batch.records, {"since": since})
        for a, b in _chunks(since, max(since, until)):
            yield from self._window(a, b, 0, resumable=True)
            since = b
        yield ReadBatch([], {"since": since})

    def _window(self, start: int, end: int, offset: int, *, resumable: bool) -> Iterator[ReadBatch]:
        """Page through calls that started in ``[start, end)``; split windows too dense to page."""
        if end <= start:
            return
        limit = self.clink.config["page_size"]
        while True:
            page = self.clink.client.get(
                self.path,
                {"startTime": start, "endTime": end - 1, "offset": offset, "limit": limit, "hiddenType": 0},
            )
            total = int(page.get("totalCount") or 0)
            if offset == 0 and total > MAX_OFFSET and end - start > 1:
                middle = start + (end - start) // 2
                yield from self._window(start, middle, 0, resumable=resumable)
                yield from self._window(middle, end, 0, resumable=resumable)
                return
            rows = page.get(self.list_key) or []
            offset += len(rows)
            done = not rows or offset >= total or len(rows) < limit
            cursor = {"since": end} if done else {"since": start, "to": end, "offset": offset}
            yield ReadBatch([_record(r) for r in rows], cursor if resumable else None)
            if done:
                return


def _chunks(start: int, end: int) -> Iterator[tuple[int, int]]:
    a = start
    while a < end:
        b = min(end, a + MAX_WINDOW_SECONDS)
        yield a, b
        a = b


class InboundCdrStream(CdrStream):
    name = "cdr_inbound"
    description = "inbound calls (呼入通话记录) — incremental by settled start-time window"
    path = "/cc/list_cdr_ibs"
    list_key = "cdrIbs"


class OutboundCdrStream(CdrStream):
    name = "cdr_outbound"
    description = "outbound calls (外呼通话记录) — incremental by settled start-time window"
    path = "/cc/list_cdr_obs"
    list_key = "cdrObs"
