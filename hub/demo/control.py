"""HTTP client for the sandboxes' control endpoint (``POST /sandbox/<type>/_control/<method>``).

The sandboxes live in the web process (``hub serve --sandboxes``); the demo plays the remote
systems' users — advertisers, agents, WeChat users, CRM staff — from its own process
through this endpoint, the same way those users would change the remote systems.
"""

from __future__ import annotations

from typing import Any

import requests


class ControlError(RuntimeError):
    """A control call failed: the sandbox refused it, or the web process did not answer."""


class SandboxControl:
    def __init__(self, base_url: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()

    def call(self, connector_type: str, method: str, **kwargs: Any) -> Any:
        url = f"{self.base_url}/sandbox/{connector_type}/_control/{method}"
        try:
            resp = self.http.post(url, json=kwargs, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ControlError(f"{connector_type}.{method}: the web process did not answer ({type(exc).__name__})") from exc
        try:
            body = resp.json()
        except ValueError:
            body = {"error": resp.text[:200]}
        if resp.status_code != 200:
            raise ControlError(f"{connector_type}.{method}: HTTP {resp.status_code}: {body.get('error')}")
        return body.get("result")

    def __getattr__(self, connector_type: str) -> "_Bound":
        if connector_type.startswith("_"):
            raise AttributeError(connector_type)
        return _Bound(self, connector_type)


class _Bound:
    """``control.wecom.add_friend(...)`` → ``control.call("wecom", "add_friend", ...)``."""

    def __init__(self, control: SandboxControl, connector_type: str) -> None:
        self._control = control
        self._type = connector_type

    def __getattr__(self, method: str):
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda **kwargs: self._control.call(self._type, method, **kwargs)
