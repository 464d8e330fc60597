"""Beijing-time windows for the lead pulls.

Both Feiyu APIs filter by lead creation time, in Beijing time (UTC+8), at one-second
resolution, as ``yyyy-MM-dd HH:mm:ss``; bounds are inclusive. Leads come newest first, so a
window must be paged to its end before the cursor may move past it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
FORMAT = "%Y-%m-%d %H:%M:%S"


def now() -> datetime:
    """The current Beijing time, to the second."""
    return datetime.now(BEIJING).replace(microsecond=0)


def fmt(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime(FORMAT)


def parse(text: str) -> datetime:
    """``yyyy-MM-dd HH:mm:ss`` or ``yyyy-MM-dd`` (midnight), Beijing time."""
    text = text.strip()
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), BEIJING)
    return datetime.strptime(text, FORMAT).replace(tzinfo=BEIJING)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), BEIJING)


def windows(start: datetime, end: datetime, max_span: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """Split ``[start, end]`` (inclusive, whole seconds) into consecutive inclusive windows
    no longer than ``max_span``; the next window starts one second after the previous end."""
    one = timedelta(seconds=1)
    cursor = start
    while cursor <= end:
        stop = min(end, cursor + max_span - one)
        yield cursor, stop
        cursor = stop + one
