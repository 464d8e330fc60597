"""Deny by default: every registered route (but the public few) refuses a caller without a
token, and refuses a caller whose role is too weak. The expected role of each route is
written out here, so a new route fails this test until someone decides who may call it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.store.models import ApiToken
from hub.web.auth import ROLES, create_token, hash_token

from auth_headers import bearer

#: Endpoints anyone may call: health checks, remote systems' pushes, assets, the sign-in page.
PUBLIC = {"health.healthz", "webhooks.receive", "ui.static", "ui.signin"}

#: (endpoint, method) → the weakest role that may call it.
EXPECTED = {
    ("api-docs.openapi_json", "GET"): "support",
    ("api_contacts.search", "GET"): "support",
    ("api_contacts.detail", "GET"): "support",
    ("api_contacts.history", "GET"): "support",
    ("api_contacts.reveal", "POST"): "operator",
    ("api_contacts.unmerge", "POST"): "operator",
    ("api_conflicts.list_", "GET"): "operator",
    ("api_conflicts.merge", "POST"): "operator",
    ("api_conflicts.keep_apart", "POST"): "operator",
    ("api_conflicts.acknowledge", "POST"): "operator",
    ("api_operations.connectors", "GET"): "operator",
    ("api_operations.connector", "GET"): "operator",
    ("api_operations.runs", "GET"): "operator",
    ("api_operations.dead_letters", "GET"): "operator",
    ("api_operations.replay", "POST"): "operator",
    ("api_operations.discard", "POST"): "operator",
    ("api_operations.sync", "POST"): "admin",
    ("api_operations.disable", "POST"): "admin",
    ("api_operations.enable", "POST"): "admin",
    ("api_automations.list_", "GET"): "support",
    ("api_automations.detail", "GET"): "support",
    ("api_automations.approve", "POST"): "admin",
    ("api_automations.pause", "POST"): "operator",
    ("api_automations.resume", "POST"): "admin",
    ("api_admin.me", "GET"): "support",
    ("api_admin.audit_log", "GET"): "admin",
    ("api_admin.tokens", "GET"): "admin",
    ("api_admin.create_token", "POST"): "admin",
    ("api_admin.revoke_token", "DELETE"): "admin",
    ("ui.search", "GET"): "support",
    ("ui.signout", "POST"): "support",
    ("ui.contact", "GET"): "support",
    ("ui.reveal", "POST"): "operator",
    ("ui.unmerge", "POST"): "operator",
    ("ui.connectors", "GET"): "operator",
    ("ui.connector", "GET"): "operator",
    ("ui.run_detail", "GET"): "operator",
    ("ui.sync_now", "POST"): "admin",
    ("ui.switch", "POST"): "admin",
    ("ui.deadletters", "GET"): "operator",
    ("ui.replay", "POST"): "operator",
    ("ui.discard_dead", "POST"): "operator",
    ("ui.pending_writes", "GET"): "operator",
    ("ui.approve_writes", "POST"): "admin",
    ("ui.revoke_writes", "POST"): "admin",
    ("ui.conflicts", "GET"): "operator",
    ("ui.resolve", "POST"): "operator",
    ("ui.audit_log", "GET"): "admin",
    ("ui.automations", "GET"): "support",
    ("ui.automation", "GET"): "support",
    ("ui.automation_approve", "POST"): "admin",
    ("ui.automation_pause", "POST"): "operator",
    ("ui.automation_resume", "POST"): "admin",
}

from werkzeug.routing import IntegerConverter


def sample(converter) -> object:
    return 999999 if isinstance(converter, IntegerConverter) else "no-such-thing"


def routes(app):
    """``(endpoint, method, url)`` for every registered route that is not public."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC or rule.endpoint.startswith("sandbox_"):
            continue
        values = {name: sample(conv) for name, conv in rule._converters.items()}
        url = _build(app, rule, values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, url))
    return out


def _build(app, rule, values):
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def weaker(role: str) -> str | None:
    i = ROLES.index(role)
    return ROLES[i - 1] if i else None


def sign_in(client, token: str) -> None:
    with client.session_transaction() as session:
        session["token_hash"] = hash_token(token)
        session["csrf"] = "test-csrf"


@pytest.fixture
def app(make_app):
    return make_app()


def test_every_route_is_in_the_role_matrix(app):
    walked = {(endpoint, method) for endpoint, method, _ in routes(app)}
    assert walked == set(EXPECTED), (
        f"routes without an expected role: {sorted(walked - set(EXPECTED))}; gone: {sorted(set(EXPECTED) - walked)}")


def test_no_token_is_401_or_sign_in(app):
    client = app.test_client()
    for endpoint, method, url in routes(app):
        resp = client.open(url, method=method, data={"csrf": "x"} if endpoint.startswith("ui.") else None)
        if url.startswith("/api/"):
            assert resp.status_code == 401, (endpoint, method, url, resp.status_code)
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            assert resp.get_json()["code"] == 401
        else:
            assert resp.status_code == 302, (endpoint, method, url, resp.status_code)
            assert resp.headers["Location"].startswith("/signin"), (endpoint, resp.headers["Location"])


def test_too_weak_a_role_is_403(app):
    runtime = app.extensions["hub"]
    tokens = {role: create_token(runtime.db, role, role)[1] for role in ROLES}
    checked = 0
    for endpoint, method, url in routes(app):
        role = EXPECTED[(endpoint, method)]
        weak = weaker(role)
        if weak is None:
            continue
        client = app.test_client()
        if url.startswith("/api/"):
            resp = client.open(url, method=method, headers=bearer(tokens[weak]), json={})
        else:
            sign_in(client, tokens[weak])
            resp = client.open(url, method=method, data={"csrf": "test-csrf"})
        assert resp.status_code == 403, (endpoint, method, weak, resp.status_code)
        checked += 1
    assert checked >= 20


def test_the_required_role_gets_past_the_door(app):
    """With the role a route asks for, nothing answers 401/403 (what it answers then is the
    route's business: 404 for the made-up ids here, 200 for lists)."""
    runtime = app.extensions["hub"]
    tokens = {role: create_token(runtime.db, role, role)[1] for role in ROLES}
    for endpoint, method, url in routes(app):
        if endpoint == "ui.signout":
            continue
        role = EXPECTED[(endpoint, method)]
        client = app.test_client()
        if url.startswith("/api/"):
            resp = client.open(url, method=method, headers=bearer(tokens[role]), json={})
        else:
            sign_in(client, tokens[role])
            resp = client.open(url, method=method, data={"csrf": "test-csrf"})
        assert resp.status_code not in (401, 403), (endpoint, method, role, resp.status_code)
        assert resp.status_code < 500, (endpoint, method, resp.status_code, resp.get_data(as_text=True)[:500])


def test_public_routes_need_no_token(app):
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/signin").status_code == 200
    assert client.get("/ui/static/hub.css").status_code == 200
    assert client.post("/webhooks/no_such_instance").status_code == 404


def test_unknown_revoked_and_malformed_tokens_are_refused(app):
    runtime = app.extensions["hub"]
    token_id, token = create_token(runtime.db, "leaver", "admin")
    client = app.test_client()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    for header in ("Bearer hub_not-a-real-token", f"Basic {token}", "Bearer", token, ""):
        assert client.get("/api/v1/me", headers={"Authorization": header}).status_code == 401, header
    admin = create_token(runtime.db, "boss", "admin")[1]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(admin)).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    # and a UI session of a revoked token is signed out on its next request
    sign_in(client, token)
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/signin")


def test_tokens_are_stored_only_as_hashes(app):
    runtime = app.extensions["hub"]
    _, token = create_token(runtime.db, "alice", "support")
    with runtime.db.session() as s:
        row = s.execute(select(ApiToken).where(ApiToken.name == "alice")).scalar_one()
    assert row.token_hash == hash_token(token) and token not in row.token_hash and len(row.token_hash) == 64


def test_the_api_ignores_the_ui_session_and_the_ui_ignores_bearer_tokens(app):
    runtime = app.extensions["hub"]
    token = create_token(runtime.db, "alice", "admin")[1]
    client = app.test_client()
    sign_in(client, token)
    assert client.get("/api/v1/me").status_code == 401  # cookies don't authenticate the API: no CSRF there
    other = app.test_client()
    resp = other.get("/", headers=bearer(token))
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/signin")


def test_ui_posts_need_the_session_csrf_token(app):
    runtime = app.extensions["hub"]
    token = create_token(runtime.db, "op", "operator")[1]
    client = app.test_client()
    sign_in(client, token)
    assert client.post("/deadletters/replay", data={"ref": "inbox:1"}).status_code == 400
    assert client.post("/deadletters/replay", data={"ref": "inbox:1", "csrf": "forged"}).status_code == 400
    assert client.post("/deadletters/replay", data={"ref": "inbox:1", "csrf": "test-csrf"}).status_code == 302


def test_sign_in_form_sets_a_session_and_rejects_bad_tokens(app):
    runtime = app.extensions["hub"]
    token = create_token(runtime.db, "alice", "support")[1]
    client = app.test_client()
    client.get("/signin")
    with client.session_transaction() as session:
        csrf = session["csrf"]
    bad = client.post("/signin", data={"token": "hub_wrong", "csrf": csrf})
    assert bad.status_code == 401 and "令牌无效" in bad.get_data(as_text=True)
    ok = client.post("/signin?next=/contacts/1", data={"token": token, "csrf": csrf})
    assert ok.status_code == 302 and ok.headers["Location"] == "/contacts/1"
    with client.session_transaction() as session:
        assert session["token_hash"] == hash_token(token) and token not in str(dict(session))
    # an open redirect is not followed
    with client.session_transaction() as session:
        csrf = session["csrf"]
    evil = client.post("/signin?next=//evil.example/", data={"token": token, "csrf": csrf})
    assert evil.headers["Location"] == "/"
