"""Pull: read a connector stream from its saved cursor into the inbox.

Each batch's rows and the cursor that covers them commit in one transaction (pipeline rule
1): after a crash the next pull resumes from the last committed batch and re-reads at most
one page, whose rows the inbox dedupe key turns into no-ops. Processing is enqueued only
after the commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import select

from hub.connector import ConnectorError
from hub.pipeline.ingest import store_records
from hub.pipeline.runs import add_counts, finish_run, start_run
from hub.store.models import Cursor
from hub.store.upsert import upsert

log = logging.getLogger(__name__)


@dataclass
class PullResult:
    run_id: int
    records: int = 0
    new: int = 0
    duplicates: int = 0
    batches: int = 0
    error: str | None = None
    #: New inbox ids of the whole run — only when kept (see :func:`pull`'s ``keep_ids``).
    inbox_ids: list[int] = field(default_factory=list)


class SwitchedOff(Exception):
    """The instance is switched off in the ops UI: the hub makes no calls to it."""

    def __init__(self, instance: str):
        super().__init__(f"connector {instance} is switched off (ops UI → 连接器 → 启用 to switch it back on)")
        self.instance = instance


def load_cursor(db, instance: str, stream: str) -> Any:
    with db.session() as s:
        return s.execute(select(Cursor.value).where(Cursor.connector == instance, Cursor.stream == stream)).scalar_one_or_none()


def pull(
    runtime,
    instance: str,
    stream: str,
    *,
    after_commit: Callable[[list[int]], None] | None = None,
    progress: Callable[[int], None] | None = None,
    keep_ids: bool | None = None,
) -> PullResult:
    """Read ``instance.stream`` to its end. ``after_commit(inbox_ids)`` runs after each
    committed batch (enqueue processing, or process inline); ``progress(n)`` reports records.

    ``keep_ids`` collects every new inbox id in ``result.inbox_ids``. By default only when
    there is no ``after_commit``: with one, each batch's ids are handed over as it commits,
    and a million-row first sync would otherwise hold a million ids for nothing."""
    if keep_ids is None:
        keep_ids = after_commit is None
    db = runtime.db
    from hub.pipeline.switches import is_switched_off

    if is_switched_off(db, instance):  # checked per pull, so a switch takes effect without a restart
        raise SwitchedOff(instance)
    connector = runtime.connector(instance)
    run_id = start_run(db, instance, stream, "pull")
    result = PullResult(run_id=run_id)
    cursor = load_cursor(db, instance, stream)
    try:
        for batch in connector.stream(stream).read(cursor):
            with db.session() as s:
                ids, dupes = store_records(s, instance, stream, batch.records, run_id=run_id)
                upsert(s, Cursor, {"connector": instance, "stream": stream, "value": batch.cursor}, ["connector", "stream"], ["value"])
                add_counts(s, run_id, read=len(batch.records), new=len(ids), duplicates=dupes)
            result.batches += 1
            result.records += len(batch.records)
            result.new += len(ids)
            result.duplicates += dupes
            if keep_ids:
                result.inbox_ids.extend(ids)
            if ids and after_commit is not None:
                after_commit(ids)
            if progress is not None:
                progress(len(batch.records))
    except ConnectorError as exc:
        result.error = f"{type(exc).__name__}: {exc.message}"
        log.warning("pull %s.%s stopped after %d records: %s", instance, stream, result.records, result.error)
    except Exception as exc:  # a connector bug: the run must not stay "running" forever
        finish_run(db, run_id, error=f"{type(exc).__name__}: {exc}")
        raise
    finish_run(db, run_id, error=result.error)
    return result
