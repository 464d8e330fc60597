"""hub.pipeline.pauses: a remote's block, shared through SQL by every process."""

from __future__ import annotations

import time

from hub.pipeline.pauses import CHECK_EVERY, active_pauses, pause, paused_for
from hub.store import Database


def test_a_longer_pause_is_kept_and_a_shorter_one_does_not_shorten_it(db):
    first = pause(db, "wecom_sales", 3000, "hour block")
    second = pause(db, "wecom_sales", 60, "minute block")
    assert second == first
    with db.session() as s:
        (entry,) = active_pauses(s, ["wecom_sales", "crm"]).values()
    assert entry["reason"] == "hour block" and entry["until"] == first
    assert 2990 < paused_for(db, "wecom_sales") <= 3000 and paused_for(db, "crm") == 0


def test_another_process_sees_the_pause_within_the_check_interval(db, database_url):
    other = Database(database_url)  # another worker: its own engine, its own cache
    try:
        assert paused_for(other, "wecom_sales") == 0
        pause(db, "wecom_sales", 600, "hour block")
        time.sleep(CHECK_EVERY + 0.1)
        assert paused_for(other, "wecom_sales") > 590
    finally:
        other.dispose()


def test_an_expired_pause_is_no_longer_active(db):
    pause(db, "wecom_sales", 0.5, "short")
    time.sleep(0.6)
    assert paused_for(db, "wecom_sales") == 0
    with db.session() as s:
        assert active_pauses(s, ["wecom_sales"]) == {}
