"""Fixtures for the web layer: a hub filled by the real pipeline from four connectors'
sandboxes (see :mod:`demo_data`), the app over it, tokens per role, a live server on a free
localhost port, and headless Chromium driven by Playwright.

Browser tests (marker ``browser``) need the system's Chromium (``apt-get install chromium``)
and the ``playwright`` Python package. Without them they skip on a developer's machine and
*fail* in CI (``CI`` set), so CI can never go green without running them.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from demo_data import Demo, build_demo  # noqa: E402

from hub.web import create_app  # noqa: E402
from hub.web.auth import ROLES, create_token  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "images"
CHROMIUM = os.environ.get("HUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the UI in headless Chromium (Playwright)")


@pytest.fixture
def demo(tmp_path, db, database_url, redis_url, redis_conn) -> Demo:
    """A hub on the test backends, filled by the real pipeline from four sandboxes."""
    built = build_demo(tmp_path, database_url, redis_url)
    yield built
    built.runtime.close()


@pytest.fixture
def make_app(tmp_path, db, database_url, redis_url, redis_conn):
    """``make_app(runtime=None)``: the app over a runtime (an empty hub when none is given)."""
    from demo_data import write_demo_config, seed_sandboxes

    from hub.config import load_config
    from hub.runtime import Runtime

    opened = []

    def make(runtime=None):
        if runtime is None:
            path = write_demo_config(tmp_path, database_url, redis_url, seed_sandboxes(), "http://sandbox.hub.test")
            runtime = Runtime(load_config(path, env={}))
            opened.append(runtime)
        return create_app(runtime)

    yield make
    for runtime in opened:
        runtime.close()


@pytest.fixture
def app(demo):
    return create_app(demo.runtime)


@pytest.fixture
def tokens(app) -> dict[str, str]:
    """One live token per role: ``{"support": "hub_…", "operator": …, "admin": …}``."""
    runtime = app.extensions["hub"]
    return {role: create_token(runtime.db, f"{role}-tester", role)[1] for role in ROLES}


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a free localhost port, in a thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="hub-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def _missing_browser() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser():
    missing = _missing_browser()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  device_scale_factor=1)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def shoot(tmp_path):
    """``shoot(page, name)``: a full-page screenshot into the test's tmp dir, and into
    ``docs/images/`` when ``HUB_UPDATE_SCREENSHOTS=1`` (how the docs' images are made)."""
    update = os.environ.get("HUB_UPDATE_SCREENSHOTS") == "1"

    def take(pg, name: str, *, full_page: bool = True) -> Path:
        target = (SCREENSHOTS if update else tmp_path) / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(target), full_page=full_page)
        assert target.stat().st_size > 10_000, f"{target} looks empty"
        return target

    return take
