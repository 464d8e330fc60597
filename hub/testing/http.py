"""Route a connector's real HTTP calls into its sandbox, in process.

The connector keeps using ``requests`` exactly as in production; ``responses`` intercepts
calls to the sandbox's base URL and hands them, headers and raw body intact, to the
sandbox blueprint through Flask's test client. Any other URL fails (no network in tests).
Several sandboxes can be mounted on one router (two CRMs, WeCom and a call center in one
integration test) because only one ``responses`` mock can be active at a time.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import responses
from flask import Flask

from hub.connector.sandbox import Sandbox

SANDBOX_HOST = "http://sandbox.hub.test"
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class SandboxRouter:
    """Context manager: while active, each mounted sandbox answers at its ``base_url``.

    ``calls`` lists ``(method, path)`` of every request the sandboxes served, so tests can
    assert what the connector did on the wire.
    """

    def __init__(self, sandbox: Sandbox | None = None, prefix: str = "/sandbox/remote", host: str = SANDBOX_HOST):
        self.host = host
        self.calls: list[tuple[str, str]] = []
        self.app = Flask("hub_sandboxes")
        self.client = self.app.test_client()
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.sandboxes: dict[str, Sandbox] = {}
        self.sandbox = sandbox
        self.base_url = self.mount(sandbox, prefix) if sandbox is not None else host

    def mount(self, sandbox: Sandbox, prefix: str) -> str:
        """Serve ``sandbox`` under ``prefix``; return its base URL."""
        prefix = prefix.rstrip("/")
        blueprint = sandbox.blueprint()
        if blueprint is not None:
            self.app.register_blueprint(blueprint, url_prefix=prefix, name=f"sandbox{prefix.replace('/', '_')}")
            self.sandboxes[prefix] = sandbox
        return self.host + prefix

    def _dispatch(self, prepared):
        parts = urlsplit(prepared.url)
        body = prepared.body.encode() if isinstance(prepared.body, str) else (prepared.body or b"")
        self.calls.append((prepared.method, parts.path))
        resp = self.client.open(parts.path, method=prepared.method, query_string=parts.query, headers=dict(prepared.headers), data=body)
        headers = {k: v for k, v in resp.headers.items() if k.lower() != "content-length"}
        return resp.status_code, headers, resp.get_data()

    def __enter__(self) -> "SandboxRouter":
        if not self.sandboxes:
            return self
        self.mock.start()
        pattern = re.compile(re.escape(self.host) + r"(/.*)?$")
        for method in _METHODS:
            self.mock.add_callback(method, pattern, callback=self._dispatch)
        return self

    def __exit__(self, *exc) -> None:
        if not self.sandboxes:
            return
        self.mock.stop()
        self.mock.reset()
