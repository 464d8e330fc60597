"""``hub sync --dry-run``: read, map and resolve for real, commit nothing, show what would change.

Why: before the first sync an admin wants to see which contacts would be created or
updated and which writes each destination would receive — with the real pipeline, not a
simulation that could disagree with it. So the dry run runs the same code (``store_records``
and ``process_inbox``) against a database whose every session is a savepoint inside one
outer transaction that is rolled back at the end. Nothing is written to the hub's tables,
no cursor moves, nothing is queued or delivered, and the source is only read.

On SQLite the outer transaction is opened with an explicit ``BEGIN``: pysqlite does not
begin one for a ``SAVEPOINT``, and releasing the outermost savepoint would then commit.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.store.models import Contact, InboxRow, OutboxRow


class RolledBackDatabase:
    """A stand-in for :class:`hub.store.Database` whose sessions all commit into one outer
    transaction that :meth:`discard` rolls back."""

    def __init__(self, db: Any):
        self.url = db.url
        self.engine = db.engine
        self.conn = db.engine.connect()
        self.trans = self.conn.begin()
        if self.conn.dialect.name == "sqlite":
            self.conn.exec_driver_sql("BEGIN")

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(bind=self.conn, join_transaction_mode="create_savepoint", expire_on_commit=False) as session:
            with session.begin():
                yield session

    def discard(self) -> None:
        self.trans.rollback()  # the DBAPI rollback ends the explicit BEGIN too
        self.conn.close()

    def migrate(self) -> None:  # pragma: no cover - never from a dry run
        raise RuntimeError("a dry run does not migrate")

    def dispose(self) -> None:
        pass


@dataclass
class PlannedWrite:
    target: str
    action: str            # create | update
    contact_id: int | None
    native_id: str | None
    payload: dict[str, Any]
    held: bool


@dataclass
class DryRun:
    instance: str
    stream: str
    read: int = 0
    more: bool = False                   # the source has more records than were read
    new: int = 0                         # records the inbox does not hold yet
    processed: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)   # (native id, why)
    contacts_created: int = 0
    contacts_changed: int = 0
    writes: list[PlannedWrite] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def dry_run(runtime: Any, targets: list[tuple[str, str]], *, limit: int = 1000) -> list[DryRun]:
    """Read up to ``limit`` records of each ``(instance, stream)`` from its saved cursor and
    run them through processing, in order, inside one transaction that is rolled back (so
    the second stream sees the contacts the first would create); report what would change."""
    # Read everything first: a connector may save state while it reads (a rotated refresh
    # token, on the real store), which must not wait behind the sandbox's open transaction.
    reads = []
    for instance, stream in targets:
        report = DryRun(instance, stream)
        reads.append((report, _read(runtime, instance, stream, limit, report)))
    if not any(records for _, records in reads):
        return [report for report, _ in reads]
    sandbox = RolledBackDatabase(runtime.db)
    shadow = copy.copy(runtime)
    shadow.__dict__["db"] = sandbox
    try:
        for report, records in reads:
            if records:
                _process(shadow, sandbox, report.instance, report.stream, records, report)
    finally:
        sandbox.discard()
    return [report for report, _ in reads]


def _read(runtime: Any, instance: str, stream: str, limit: int, report: DryRun) -> list[Any]:
    from hub.connector import ConnectorError
    from hub.pipeline.pull import load_cursor

    connector = runtime.connector(instance)  # its own state (tokens) stays on the real store
    cursor = load_cursor(runtime.db, instance, stream)
    records: list[Any] = []
    batches = connector.stream(stream).read(cursor)
    try:
        for batch in batches:
            records += batch.records
            if len(records) >= limit:
                report.more = True
                break
    except ConnectorError as exc:
        report.error = f"{type(exc).__name__}: {exc.message}"
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
    records = records[:limit]
    report.read = len(records)
    return records


def _process(shadow: Any, sandbox: RolledBackDatabase, instance: str, stream: str, records: list[Any], report: DryRun) -> None:
    from hub.pipeline.ingest import store_records
    from hub.pipeline.process import process_inbox

    with sandbox.session() as s:
        before = s.scalar(select(func.count()).select_from(Contact))
        ids, _dupes = store_records(s, instance, stream, records)
    report.new = len(ids)
    size = shadow.config.hub.batch_size
    outbox_ids: list[int] = []
    for start in range(0, len(ids), size):
        outcome = process_inbox(shadow, ids[start : start + size])
        report.processed += outcome.processed
        report.contacts_changed += outcome.contacts_changed
        outbox_ids += outcome.outbox_ids
    with sandbox.session() as s:
        report.contacts_created = s.scalar(select(func.count()).select_from(Contact)) - before
        report.rejected = [(r.native_id, r.error or "") for r in s.execute(
            select(InboxRow.native_id, InboxRow.error).where(InboxRow.id.in_(ids), InboxRow.status == "rejected").order_by(InboxRow.id))]
        if outbox_ids:
            for row in s.scalars(select(OutboxRow).where(OutboxRow.id.in_(outbox_ids)).order_by(OutboxRow.id)):
                report.writes.append(PlannedWrite(f"{row.connector}.{row.sink}", "update" if row.native_id else "create",
                                                  row.contact_id, row.native_id, row.payload or {}, row.status == "held"))
