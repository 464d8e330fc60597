"""Engines, identifier quoting and error translation for the SQL connector.

Why its own module: every path that touches the database must agree on two things — the
password in the URL never reaches a message or a log, and a driver exception becomes the
:mod:`hub.connector.errors` class that tells the hub whether to retry.
"""

from __future__ import annotations

import os
import threading
from typing import Any, NoReturn

from sqlalchemy import Engine, create_engine, exc as sa_exc
from sqlalchemy.engine import URL, make_url

from hub.connector import CheckFailed, PermanentError, TransientError, scrubbed
from hub.store.db import normalize_url

#: MySQL / MariaDB error codes that retrying can fix: lock wait timeout, deadlock, too many
#: connections, server gone away / lost, read-only during failover.
_MYSQL_TRANSIENT = {1040, 1205, 1213, 1290, 2003, 2006, 2013, 2055}
#: SQLite reports schema mistakes as OperationalError too; these never heal by retrying.
_SQLITE_PERMANENT = ("no such table", "no such column", "syntax error", "has no column", "readonly database")


def parse_url(raw: str) -> URL:
    """The SQLAlchemy URL for ``raw`` (``postgresql://`` → psycopg 3, ``mysql://`` → PyMySQL).

    Raises :class:`CheckFailed` without quoting ``raw``: it may hold a password.
    """
    text = normalize_url(raw.strip())
    if text.startswith("mysql://") or text.startswith("mariadb://"):
        text = "mysql+pymysql://" + text.split("://", 1)[1]
    try:
        return make_url(text)
    except Exception:
        raise CheckFailed("url is not a SQLAlchemy database URL (dialect://user:password@host/database)") from None


def describe(url: URL) -> str:
    """``postgresql://user:***@host:5432/db`` — where we connect, never the password."""
    return url.render_as_string(hide_password=True)


def make_engine(raw_url: str, *, connect_timeout: int) -> tuple[Engine, URL]:
    """An engine for ``raw_url``; the driver's own connect timeout, pre-ping on pools."""
    url = parse_url(raw_url)
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        connect_args["timeout"] = connect_timeout
        if not url.database or url.database == ":memory:":
            raise CheckFailed("an in-memory SQLite database cannot be shared with anyone; give a file path")
    elif backend == "postgresql":
        connect_args["connect_timeout"] = connect_timeout
        kwargs["pool_pre_ping"] = True
    elif backend in ("mysql", "mariadb"):
        connect_args["connect_timeout"] = connect_timeout
        connect_args.setdefault("charset", "utf8mb4")
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, connect_args=connect_args, **kwargs)
    except ImportError as exc:
        raise CheckFailed(f"no database driver installed for {url.drivername!r} ({exc.name})") from None
    except Exception as exc:
        raise CheckFailed(f"cannot use database URL {describe(url)}: {type(exc).__name__}") from None
    return engine, url


_SHARED: dict[tuple[str, int], tuple[Engine, URL]] = {}
_SHARED_LOCK = threading.Lock()


def shared_engine(raw_url: str, *, connect_timeout: int) -> tuple[Engine, URL]:
    """The process's one engine (and connection pool) for ``raw_url``: :func:`make_engine`
    on first use, the same engine for every later connector object of that URL.

    The hub builds a connector object per job — per delivered batch, per pull, per push —
    and an engine per object meant a new connection to the remote database, a new server
    backend and SQLAlchemy's first-connect queries for every delivered batch (100
    connections for 100 batches). Pools live across jobs, as in warm workers everything
    else does; engines are thread-safe; a forked child (RQ's ``--fork``) starts with empty
    pools and never touches its parent's connections. (A pooled connection carries no
    prepared statement from one job to the next: the pool rolls back every connection it
    takes back, and psycopg forgets its prepared statements on ROLLBACK — so a source
    table that changed shape between jobs is read in its new shape.)"""
    key = (raw_url, int(connect_timeout))
    with _SHARED_LOCK:
        hit = _SHARED.get(key)
        if hit is None:
            hit = _SHARED[key] = make_engine(raw_url, connect_timeout=connect_timeout)
        return hit


def _forget_pools_after_fork() -> None:
    global _SHARED_LOCK
    # A thread of the parent may have held the lock at the fork: the child's copy would stay
    # locked forever, and its first connector would hang. The child has one thread: a new lock.
    _SHARED_LOCK = threading.Lock()
    for engine, _url in list(_SHARED.values()):
        engine.dispose(close=False)  # the parent's connections stay the parent's


os.register_at_fork(after_in_child=_forget_pools_after_fork)


def driver_message(exc: BaseException) -> str:
    """The driver's own first line: no SQL text and no bound parameters (they hold PII)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0][:300] if text else type(orig).__name__


def _mysql_code(exc: sa_exc.DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def is_transient(exc: BaseException) -> bool:
    """Whether retrying ``exc`` later could succeed."""
    if isinstance(exc, sa_exc.TimeoutError):  # pool exhausted
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc, (sa_exc.IntegrityError, sa_exc.DataError, sa_exc.ProgrammingError, sa_exc.NotSupportedError)):
        return False
    code = _mysql_code(exc)
    if code is not None and type(exc.orig).__module__.startswith("pymysql"):
        return code in _MYSQL_TRANSIENT
    if isinstance(exc, sa_exc.OperationalError):
        message = str(exc.orig).lower()
        if type(exc.orig).__module__ == "sqlite3" and any(p in message for p in _SQLITE_PERMANENT):
            return False
        return True
    return isinstance(exc, (sa_exc.InterfaceError, sa_exc.InternalError))


def raise_translated(exc: BaseException, what: str, secrets: list[str]) -> NoReturn:
    """Re-raise a SQLAlchemy / driver error as TransientError or PermanentError."""
    message = scrubbed(f"{what}: {driver_message(exc)}", secrets)
    code = _mysql_code(exc) if isinstance(exc, sa_exc.DBAPIError) else None
    if is_transient(exc):
        raise TransientError(message, code=code) from None
    raise PermanentError(message, code=code) from None


def quote_table(engine: Engine, name: str) -> str:
    prep = engine.dialect.identifier_preparer
    return ".".join(prep.quote(part) for part in name.split("."))


def quote(engine: Engine, name: str) -> str:
    return engine.dialect.identifier_preparer.quote(name)
