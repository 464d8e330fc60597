"""``runs`` rows: one per pull, webhook burst, remap or delivery sweep, with counts.

Counts are merged into the row as the work goes, each in its own short transaction, so
``hub runs`` shows progress of a long pull and what a failed run got done before failing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.store.models import Run
from hub.store.types import utcnow


def start_run(db, connector: str, stream: str | None, kind: str) -> int:
    with db.session() as s:
        run = Run(connector=connector, stream=stream, kind=kind, status="running", counts={})
        s.add(run)
        s.flush()
        return run.id


def add_counts(session, run_id: int | None, **counts: int) -> None:
    """Add ``counts`` to the run, inside the caller's transaction."""
    if run_id is None:
        return
    run = session.get(Run, run_id, with_for_update=session.get_bind().dialect.name == "postgresql")
    merged: dict[str, Any] = dict(run.counts or {})
    for key, value in counts.items():
        merged[key] = merged.get(key, 0) + value
    run.counts = merged


def finish_run(db, run_id: int, *, error: str | None = None) -> None:
    with db.session() as s:
        run = s.get(Run, run_id)
        run.status = "failed" if error else "succeeded"
        run.error = error
        run.finished_at = utcnow()


def recent_runs(db, limit: int = 20, connector: str | None = None) -> list[Run]:
    with db.session() as s:
        q = select(Run).order_by(Run.id.desc()).limit(limit)
        if connector:
            q = q.where(Run.connector == connector)
        return list(s.scalars(q))
