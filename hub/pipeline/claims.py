"""Claiming pending inbox rows: each row is processed by exactly one transaction.

Processing reads pending rows, resolves them and marks them ``processed`` in one
transaction. Two jobs may hold the same rows (a debounced stream job and the reconciler's
job for the same stragglers, or two workers draining one busy stream), so the read must
*claim*: the rows a transaction reads are the rows no other transaction may read until it
commits. If the worker dies, the transaction rolls back and the rows are pending again —
nothing is lost, nothing is done twice.

* PostgreSQL (and other servers with row locks): ``SELECT … FOR UPDATE SKIP LOCKED``. A
  concurrent claimer skips the locked rows and takes the next ones, so several workers
  drain one stream in parallel without waiting on each other. Once the holder commits, a
  skipped row is ``processed`` and no later claim matches it.
* SQLite has one writer at a time and no row locks. The claim is a write — a no-op
  ``UPDATE … RETURNING`` — issued as the transaction's first statement, so it takes the
  database's write lock before it reads: a concurrent claimer waits (``busy_timeout``) and
  then reads the committed result, in which the rows are no longer pending. (A plain
  ``SELECT`` first would read a snapshot that is stale by the time it can write.)
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import literal_column, select, update
from sqlalchemy.orm import Session

from hub.store.models import InboxRow
from hub.store.upsert import column_in


def claim_inbox(
    session: Session,
    columns: Sequence[Any],
    *,
    ids: Sequence[int] | None = None,
    stream: tuple[str, str] | None = None,
    limit: int | None = None,
) -> list[Any]:
    """Claim pending inbox rows — those among ``ids``, or the oldest ``limit`` of
    ``stream`` (``(instance, stream)``) — for the rest of ``session``'s transaction.

    Returns the ``columns`` of the claimed rows in id order; must be the first statement of
    the transaction (see the module docstring for SQLite)."""
    if ids is None and stream is None:
        raise ValueError("claim_inbox needs ids or a stream")
    where = [InboxRow.status == "pending"]
    if ids is not None:
        if not ids:
            return []
        # By id, the status is only a filter (``status || ''`` matches no index): with stale
        # statistics the planner would otherwise walk every pending row of the status index
        # and test each against the id array — a whole backlog per batch.
        where = [InboxRow.status.op("||")(literal_column("''")) == "pending", column_in(session, InboxRow.id, ids)]
    if stream is not None:
        where += [InboxRow.connector == stream[0], InboxRow.stream == stream[1]]
    if session.get_bind().dialect.name == "sqlite":
        pick = select(InboxRow.id).where(*where).order_by(InboxRow.id)
        if limit is not None:
            pick = pick.limit(limit)
        table = InboxRow.__table__
        stmt = (
            update(table)
            .where(table.c.id.in_(pick.scalar_subquery()))
            .values(attempts=table.c.attempts)  # a no-op write: it only takes the lock
            .returning(*columns)
        )
        return sorted(session.execute(stmt).all(), key=lambda row: row.id)
    stmt = select(*columns).where(*where).order_by(InboxRow.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt.with_for_update(skip_locked=True)).all())
