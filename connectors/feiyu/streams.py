"""The ``leads`` stream: Feiyu leads by creation-time windows, re-reading a trailing window.

Why a trailing window: ``intention_estimation``, ``app_name`` and ``convert_status`` are
filled in about ten minutes *after* a lead is created (the Marketing API docs advise
pulling again after ten minutes), and the APIs filter only by creation time. So every read
covers ``[until - trailing_window_minutes, now]``; a lead whose late fields filled in since
the last read comes back changed, and the hub's inbox (dedupe key = native id + payload
hash) stores only leads that actually changed.

Why the cursor moves only at window ends: both APIs page newest first by page number, so
a cursor inside a window could not say which leads were already seen. The cursor is
``{"until": "<yyyy-MM-dd HH:mm:ss>"}`` (Beijing time) = the end of the last window paged
to its end; batches inside a window repeat the previous cursor, so a crash re-reads at
most that window.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterator

from hub.connector import ReadBatch, Record, Stream

from connectors.feiyu import timewindows
from connectors.feiyu.timewindows import fmt

#: First read without ``start_date``: this many days back.
DEFAULT_BACKFILL_DAYS = 7


def lead_record(lead: dict[str, Any], dedupe_key: str | None = None) -> Record:
    created = lead.get("create_time_detail")
    updated_at = None
    if isinstance(created, str) and created:
        try:
            updated_at = timewindows.parse(created)
        except ValueError:
            updated_at = None
    return Record(native_id=str(lead["clue_id"]), data=lead, updated_at=updated_at, dedupe_key=dedupe_key)


class LeadsStream(Stream):
    name = "leads"
    primary_key = "clue_id"
    description = "Feiyu / Ocean Engine ad leads (clues), by creation time with a trailing re-read window"

    def read(self, cursor: Any) -> Iterator[ReadBatch]:
        c = self.connector
        config = c.config
        api = c.api()
        now = timewindows.now()
        trailing = timedelta(minutes=config["trailing_window_minutes"])
        if cursor and cursor.get("until"):
            resume = dict(cursor)
            start = timewindows.parse(cursor["until"]) - trailing
        else:
            first_day = config.get("start_date") or (now.date() - timedelta(days=DEFAULT_BACKFILL_DAYS))
            start = timewindows.midnight(first_day)
            resume = {"until": fmt(start)}
        seen: set[str] = set()
        for window_start, window_end in timewindows.windows(start, now, timedelta(days=config["max_window_days"])):
            page = 1
            while True:
                leads, pages = api.page(fmt(window_start), fmt(window_end), page, config["page_size"])
                records = []
                for lead in leads:
                    clue_id = str(lead.get("clue_id") or "")
                    # Newest-first page numbers shift if a lead lands inside the window while
                    # we page; never emit one lead twice in a read.
                    if clue_id and clue_id not in seen:
                        seen.add(clue_id)
                        records.append(lead_record(lead))
                done = not leads or page >= pages
                if done:
                    resume = {"until": fmt(window_end)}
                yield ReadBatch(records=records, cursor=dict(resume))
                if done:
                    break
                page += 1
