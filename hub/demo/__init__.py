"""``hub demo``: a scripted day of customer traffic through the real hub.

* :mod:`hub.demo.crm` — the sample CRM (SQLite, ~1,000 Chinese customers with tiers);
* :mod:`hub.demo.control` — HTTP client for the sandboxes' control endpoint;
* :mod:`hub.demo.script` — the day, step by step, and the check of its result;
* :mod:`hub.demo.automations` — the day's automation steps (approve, keyword tag, SOP);
* :mod:`hub.demo.jobs` — a tiny job proving a worker consumes the queue.

:func:`play` runs the script and prints the sample customer's history; the processes it
talks to are started by :mod:`hub.cli.demo`.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Callable

from hub.runtime import Runtime

CHINA = timezone(timedelta(hours=8))


def play(runtime: Runtime, base_url: str, echo: Callable[[str], None] = print) -> dict:
    """Play the scripted day, verify the sample customer's history and print it."""
    from hub.demo.script import play as play_day, sample_history, verify_history

    outcome = play_day(runtime, base_url, echo=echo)
    sample = outcome["sample"]
    contact_id, events = sample_history(runtime)
    verify_history(events)
    echo(f"\n{sample.name}（{sample.e164}）的时间线 — 联系人 #{contact_id}，{len(events)} 条记录，北京时间，从早到晚：")
    for e in events:
        echo(f"  {e.occurred_at.astimezone(CHINA):%Y-%m-%d %H:%M}  {e.connector:<12} {e.kind:<19} {e.summary}")
    outcome.update(contact_id=contact_id, events=events)
    return outcome
