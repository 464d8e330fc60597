"""Route a connector's real HTTP calls into its sandbox, in process.

The connector keeps using ``requests`` exactly as in production; ``responses`` intercepts
calls to the sandbox's base URL and hands them, headers and raw body intact, to the
sandbox blueprint through Flask's test client. Any other URL fails (no network in tests).
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
    """Context manager: while active, ``base_url`` answers from ``sandbox``.

    ``calls`` lists ``(method, path)`` of every request the sandbox served, so tests can
    assert what the connector did on the wire.
    """

    def __init__(self, sandbox: Sandbox, prefix: str = "/sandbox/remote", host: str = SANDBOX_HOST):
        self.sandbox = sandbox
        self.prefix = prefix.rstrip("/")
        self.base_url = host + self.prefix
        self.calls: list[tuple[str, str]] = []
        app = Flask(f"sandbox{self.prefix.replace('/', '_')}")
        blueprint = sandbox.blueprint()
        #: Sandboxes of systems reached without HTTP (a database) serve no blueprint.
        self.serves_http = blueprint is not None
        if self.serves_http:
            app.register_blueprint(blueprint, url_prefix=self.prefix)
        self.client = app.test_client()
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)

    def _dispatch(self, prepared):
        parts = urlsplit(prepared.url)
        body = prepared.body.encode() if isinstance(prepared.body, str) else (prepared.body or b"")
        self.calls.append((prepared.method, parts.path))
        resp = self.client.open(
            parts.path,
            method=prepared.method,
            query_string=parts.query,
            headers=dict(prepared.headers),
            data=body,
        )
        headers = {k: v for k, v in resp.headers.items() if k.lower() not in ("content-length",)}
        return resp.status_code, headers, resp.get_data()

    def __enter__(self) -> "SandboxRouter":
        if not self.serves_http:
            return self
        self.mock.start()
        pattern = re.compile(re.escape(self.base_url) + r"(/.*)?(\?.*)?$")
        for method in _METHODS:
            self.mock.add_callback(method, pattern, callback=self._dispatch)
        return self

    def __exit__(self, *exc) -> None:
        if not self.serves_http:
            return
        self.mock.stop()
        self.mock.reset()
