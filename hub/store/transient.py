"""Database errors that say "try the transaction again", not "this record is bad".

Two workers processing batches at once can meet in a lock cycle (each holds a contact or an
identity key the other needs): PostgreSQL aborts one with *deadlock detected*. The victim's
records are fine — run again after the other transaction ends, they go through. The same
holds for a serialization failure, a lock that could not be taken at once, and SQLite's
"database is locked" when another writer outlasted the busy timeout. Code that would
otherwise blame a record for an error (and reject it) asks :func:`is_transient` first and
rolls back and retries the whole transaction instead (:func:`retry_delay`).
"""

from __future__ import annotations

import random
import sqlite3

#: PostgreSQL's SQLSTATEs of errors that end a transaction through no fault of its data.
TRANSIENT_SQLSTATES = {
    "40P01": "deadlock detected",
    "40001": "serialization failure",
    "55P03": "lock not available",
}
#: Attempts of one transaction before the error is raised (the reconciler takes it from there).
ATTEMPTS = 5
#: Seconds: the first retry waits up to this, each later one up to twice the one before.
BASE_DELAY = 0.05


def is_transient(exc: BaseException | None) -> bool:
    """True if ``exc`` — or the driver error SQLAlchemy wrapped in it (``.orig``, the
    ``__cause__`` chain) — is one of the errors above."""
    return describe(exc) is not None


def describe(exc: BaseException | None) -> str | None:
    """A short name for the transient error in ``exc``, for logs (no statement, no
    parameters); None if it holds none."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for err in (exc, getattr(exc, "orig", None)):
            state = getattr(err, "sqlstate", None)
            if state in TRANSIENT_SQLSTATES:
                return TRANSIENT_SQLSTATES[state]
            if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
                return "database is locked"
        exc = exc.__cause__
    return None


def retry_delay(attempt: int) -> float:
    """Full jitter: a random wait up to ``BASE_DELAY × 2^(attempt - 1)`` seconds, so the
    transactions that collided do not collide again in step."""
    return random.uniform(0, BASE_DELAY * 2 ** (attempt - 1))
