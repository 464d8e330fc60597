"""The OpenAPI document and the app agree on the cases schemathesis found in issue 15 (fast,
targeted versions of what ``test_web_fuzz.py`` explores)."""

from __future__ import annotations

import re

import pytest

from auth_headers import bearer


@pytest.fixture
def spec(app, tokens):
    return app.test_client().get("/api/v1/openapi.json", headers=bearer(tokens["admin"])).json


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_undeclared_methods_are_405_with_allow_everywhere(app, tokens, spec):
    client = app.test_client()
    paths = list(spec["paths"]) + ["/webhooks/cc_400", "/", "/healthz", "/contacts/1"]
    assert len(paths) >= 18
    for path in paths:
        resp = client.open(_concrete(path), method="TRACE", headers=bearer(tokens["admin"]))
        assert resp.status_code == 405, path
        allowed = {m.strip() for m in resp.headers.get("Allow", "").split(",")}
        declared = {m.upper() for m in spec["paths"].get(path, {}) if m != "parameters"}
        assert allowed and declared <= allowed and "TRACE" not in allowed, (path, allowed)


def test_history_accepts_every_cursor_the_document_allows(app, tokens, spec):
    client = app.test_client()
    (param,) = [p for p in spec["paths"]["/api/v1/contacts/{contact_id}/history"]["get"]["parameters"] if p["name"] == "before"]
    pattern = param["schema"]["pattern"]
    cid = client.get("/api/v1/contacts", query_string={"q": "林晓雯"}, headers=bearer(tokens["admin"])).json["results"][0]["id"]
    first = client.get(f"/api/v1/contacts/{cid}/history", query_string={"limit": 1}, headers=bearer(tokens["admin"])).json
    assert re.fullmatch(pattern, first["next_cursor"])  # what the app hands out fits the document
    for cursor in ("0", "1", "9999999999999999", "1767579302000000-5", "0-999999999999999999", first["next_cursor"]):
        assert re.fullmatch(pattern, cursor)
        resp = client.get(f"/api/v1/contacts/{cid}/history", query_string={"before": cursor}, headers=bearer(tokens["admin"]))
        assert resp.status_code == 200, (cursor, resp.json)
    older = client.get(f"/api/v1/contacts/{cid}/history", query_string={"before": first["next_cursor"]},
                       headers=bearer(tokens["admin"])).json["events"]
    assert older and older[0]["id"] != first["events"][0]["id"]
    for cursor in ("garbage", "-1", "1.5", "1-", "1-2-3", "99999999999999999"):
        assert not re.fullmatch(pattern, cursor)
        resp = client.get(f"/api/v1/contacts/{cid}/history", query_string={"before": cursor}, headers=bearer(tokens["admin"]))
        assert resp.status_code == 422, cursor


def test_unmerge_exactly_one_rule_is_in_the_document(app, tokens, spec):
    body = spec["components"]["schemas"]["UnmergeArgs"]
    assert body["oneOf"] == [{"required": ["edge_id"]}, {"required": ["identity"]}]
    client = app.test_client()
    for payload in ({}, {"edge_id": 1, "identity": "phone:13912345678"}, {"edge_id": "1"}, {"identity": "000"}):
        resp = client.post("/api/v1/contacts/1/unmerge", json=payload, headers=bearer(tokens["admin"]))
        assert resp.status_code == 422, payload
    # Well-formed but no identity at all: the answer for "nothing merged through it".
    resp = client.post("/api/v1/contacts/1/unmerge", json={"identity": "nosuchkind:x"}, headers=bearer(tokens["admin"]))
    assert resp.status_code in (404, 409), resp.json


def test_nul_in_any_text_parameter_is_a_declared_422(app, tokens, spec):
    op = spec["paths"]["/api/v1/contacts/{contact_id}/history"]["get"]
    (channel,) = [p for p in op["parameters"] if p["name"] == "channel"]
    assert channel["schema"]["items"]["pattern"] == "^[^\\x00]*$"
    assert "422" in op["responses"]
    resp = app.test_client().get("/api/v1/contacts/1/history", query_string={"channel": "wecom\x00"},
                                 headers=bearer(tokens["admin"]))
    assert resp.status_code == 422 and "NUL" in resp.get_data(as_text=True)


@pytest.mark.parametrize("limit", ["\t8", " 8", "1_0", "٨", "8.0", "+8"])
def test_integer_query_parameters_are_ascii_digits(app, tokens, limit):
    resp = app.test_client().get("/api/v1/contacts", query_string={"q": "x", "limit": limit}, headers=bearer(tokens["admin"]))
    assert resp.status_code == 422, limit


@pytest.mark.parametrize("body, says", [
    (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
    (b'{"name": NaN, "role": "admin"}', "NaN"),
    (b'{"name": "x", "role": "admin", "name": "y"}', "twice"),
    (b'{"edge_id": 1e400}', "out of range"),
])
@pytest.mark.parametrize("path", ["/api/v1/tokens", "/api/v1/contacts/1/unmerge", "/api/v1/deadletters/replay"])
def test_hostile_json_bodies_are_400_not_500(app, tokens, path, body, says):
    resp = app.test_client().post(path, data=body, headers={**bearer(tokens["admin"]), "Content-Type": "application/json"})
    assert resp.status_code == 400, resp.get_data(as_text=True)[:200]
    assert says in resp.json["message"]
