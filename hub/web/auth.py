"""Who may call what: API tokens (stored as SHA-256 hashes), three roles, deny by default.

Every request goes through :func:`authorize` (a ``before_request`` hook). A request is let
through only if

* its endpoint is on the short public allow-list (``/healthz``, webhooks, sandboxes, static
  files, the sign-in page), or
* it carries a live token (``Authorization: Bearer …`` for the API; the signed session cookie
  the sign-in page sets for the UI) whose role is at least the one the view declared with
  :func:`requires`. A view that declares nothing needs ``admin``: forgetting a declaration
  never opens a door.

Tokens are random 32-byte strings shown once at creation; only ``sha256(token)`` is stored,
so a database dump does not hand out access. Revoked tokens stop working at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, TypeVar

from flask import Flask, g, jsonify, redirect, request, session, url_for
from sqlalchemy import select

from hub.store.models import ApiToken
from hub.store.types import utcnow

#: Roles from weakest to strongest; each may do everything the ones before it may.
ROLES = ("support", "operator", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}
TOKEN_PREFIX = "hub_"
#: Endpoints anyone may call: load balancers, remote systems' pushes, demo sandboxes, assets, sign-in.
PUBLIC_ENDPOINTS = {"health.healthz", "webhooks.receive", "static", "ui.static", "ui.signin"}
PUBLIC_PREFIXES = ("sandbox_",)
#: Roles for endpoints whose views we don't define (flask-smorest's OpenAPI document).
ENDPOINT_ROLES = {"api-docs.openapi_json": "support"}
#: How often ``last_used_at`` is written (not on every request: that would be a write per read).
LAST_USED_RESOLUTION = timedelta(minutes=5)

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: one API token."""

    token_id: int
    name: str
    role: str

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.name} (token #{self.token_id}, {self.role})"[:100]

    def can(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_token(db, name: str, role: str) -> tuple[int, str]:
    """Store a new token for ``role``; return ``(id, token)``. The token is not kept anywhere."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = new_token()
    with db.session() as s:
        row = ApiToken(name=name[:100], role=role, token_hash=hash_token(token), created_at=utcnow())
        s.add(row)
        s.flush()
        return row.id, token


def lookup(db, token_hash: str) -> Principal | None:
    """The live (not revoked) token with this hash, touching ``last_used_at`` now and then."""
    with db.session() as s:
        row = s.execute(select(ApiToken).where(ApiToken.token_hash == token_hash)).scalar_one_or_none()
        if row is None or row.revoked_at is not None or row.role not in RANK:
            return None
        # constant-time compare of what we looked up by, so timing says nothing about near misses
        if not hmac.compare_digest(row.token_hash, token_hash):
            return None
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
            row.last_used_at = now
        return Principal(row.id, row.name, row.role)


def requires(role: str) -> Callable[[F], F]:
    """Declare the weakest role that may call a view (function, or MethodView method/class)."""
    if role not in RANK:
        raise ValueError(f"unknown role {role!r}")

    def mark(view: F) -> F:
        view._hub_role = role  # type: ignore[attr-defined]
        return view

    return mark


def required_role(app: Flask, endpoint: str | None, method: str) -> str | None:
    """The role an endpoint needs; None for public endpoints; ``admin`` when undeclared."""
    if endpoint is None:
        return "support"  # no such route: any valid token may learn that it is a 404
    if endpoint in PUBLIC_ENDPOINTS or endpoint.startswith(PUBLIC_PREFIXES) or endpoint.endswith(".static"):
        return None
    if endpoint in ENDPOINT_ROLES:
        return ENDPOINT_ROLES[endpoint]
    view = app.view_functions.get(endpoint)
    if view is None:
        return "admin"
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        role = getattr(handler, "_hub_role", None) or getattr(view_class, "_hub_role", None)
        return role or "admin"
    return getattr(view, "_hub_role", None) or "admin"


def is_api(path: str) -> bool:
    return path == "/api/v1" or path.startswith("/api/")


def current_principal() -> Principal | None:
    return g.get("principal")


def _api_error(status: int, message: str):
    name = {401: "Unauthorized", 403: "Forbidden"}[status]
    response = jsonify(code=status, status=name, message=message)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="huiliu"'
    return response


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authorize():
    """``before_request``: find the caller, then let the request through or answer 401/403."""
    from hub.web import get_runtime

    if request.endpoint is None and not is_api(request.path):
        return None  # 404/405 for unknown URLs outside the API: nothing to protect
    role = required_role(_app(), request.endpoint, request.method)
    if role is None:
        return None
    db = get_runtime().db
    principal: Principal | None = None
    if is_api(request.path):
        token = _bearer()  # the API takes no cookies, so a browser session cannot be ridden (CSRF)
        if token is not None:
            principal = lookup(db, hash_token(token))
        if principal is None:
            return _api_error(401, "a valid API token is required (Authorization: Bearer <token>)")
    else:
        token_hash = session.get("token_hash")
        if isinstance(token_hash, str):
            principal = lookup(db, token_hash)
        if principal is None:
            session.pop("token_hash", None)
            back = request.full_path.rstrip("?") if request.method == "GET" else None  # a form post is not replayable
            return redirect(url_for("ui.signin", next=back))
    g.principal = principal
    if not principal.can(role):
        if is_api(request.path):
            return _api_error(403, f"this needs the {role} role; this token is {principal.role}")
        from hub.web.ui import forbidden

        return forbidden(role)
    return None


def _app() -> Flask:
    from flask import current_app

    return current_app._get_current_object()  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    app.before_request(authorize)
