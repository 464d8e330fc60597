"""``/api/v1`` over a hub the real pipeline filled from four connectors' sandboxes."""

from __future__ import annotations

from sqlalchemy import select

from hub.store.models import AuditEntry, InboxRow, MergeConflict, MergeEdge

from auth_headers import bearer
from demo_data import MERGED_PHONE, NAME, PHONE, PHONE_E164, PHONE_MASKED, SHARED_PHONE


def get(client, token, url, **kw):
    resp = client.get(url, headers=bearer(token), **kw)
    assert resp.status_code == 200, (url, resp.status_code, resp.get_json())
    return resp.get_json()


def audit_entries(app, action):
    with app.extensions["hub"].db.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def lin(client, tokens) -> int:
    (hit,) = get(client, tokens["support"], f"/api/v1/contacts?q={PHONE}")["results"]
    return hit["id"]


def test_search_by_phone_name_fragment_and_identity(app, tokens):
    client = app.test_client()
    for query in (PHONE, PHONE_E164, f"phone:{PHONE_E164}", "139 1234 5678", NAME, "晓雯", "linxw@example.cn"):
        results = get(client, tokens["support"], "/api/v1/contacts", query_string={"q": query})["results"]
        assert [r["display_name"] for r in results] == [NAME], query
    # Phone fragments only for roles that may reveal (see test_web_search_privacy.py).
    assert get(client, tokens["support"], "/api/v1/contacts", query_string={"q": "345678"})["results"] == []
    results = get(client, tokens["operator"], "/api/v1/contacts", query_string={"q": "345678"})["results"]
    assert [r["display_name"] for r in results] == [NAME]
    (hit,) = get(client, tokens["support"], "/api/v1/contacts", query_string={"q": PHONE})["results"]
    assert hit["matched_by"] == "identity"
    assert {"kind": "phone", "value": PHONE_MASKED} in hit["identities"]
    assert set(hit["channels"]) == {"feiyu", "clink", "udesk", "wecom"}
    assert get(client, tokens["support"], "/api/v1/contacts", query_string={"q": "没有这个人"})["results"] == []
    # LIKE wildcards are literal
    assert get(client, tokens["support"], "/api/v1/contacts", query_string={"q": "%"})["results"] == []


def test_contact_detail_is_masked_with_provenance(app, tokens):
    client = app.test_client()
    cid = lin(client, tokens)
    body = client.get(f"/api/v1/contacts/{cid}", headers=bearer(tokens["support"]))
    text = body.get_data(as_text=True)
    assert PHONE not in text and "linxw@" not in text
    contact = body.get_json()
    assert contact["masked"] is True
    phones = [i for i in contact["identities"] if i["kind"] == "phone"]
    assert phones == [{**phones[0], "value": PHONE_MASKED, "masked": True}]
    attrs = {a["name"]: a for a in contact["attributes"]}
    assert attrs["gender"]["value"] == "女" and attrs["gender"]["connector"] == "feiyu_ads" and attrs["gender"]["channel"] == "feiyu"
    assert attrs["name"]["source_ts"] is not None
    assert {link["channel"] for link in contact["links"]} == {"feiyu", "clink", "udesk", "wecom"}
    assert client.get("/api/v1/contacts/999999", headers=bearer(tokens["support"])).status_code == 404
    assert client.get(f"/api/v1/contacts/{2**70}", headers=bearer(tokens["support"])).status_code == 404


def test_history_spans_connectors_newest_first_and_pages_by_keyset(app, tokens):
    client = app.test_client()
    cid = lin(client, tokens)
    everything = get(client, tokens["support"], f"/api/v1/contacts/{cid}/history")
    events = everything["events"]
    assert len({e["channel"] for e in events}) >= 3 and everything["next_cursor"] is None
    times = [e["occurred_at"] for e in events]
    assert times == sorted(times, reverse=True)
    assert PHONE not in str(events)
    # two at a time, the pages add up to the whole timeline
    pages, cursor = [], None
    while True:
        page = get(client, tokens["support"], f"/api/v1/contacts/{cid}/history",
                   query_string={"limit": 2, **({"before": cursor} if cursor else {})})
        pages += page["events"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [e["id"] for e in pages] == [e["id"] for e in events]
    calls = get(client, tokens["support"], f"/api/v1/contacts/{cid}/history", query_string={"channel": "clink"})["events"]
    assert calls and {e["kind"] for e in calls} == {"call"}
    both = get(client, tokens["support"], f"/api/v1/contacts/{cid}/history?channel=clink&channel=wecom")["events"]
    assert {e["channel"] for e in both} == {"clink", "wecom"}
    leads = get(client, tokens["support"], f"/api/v1/contacts/{cid}/history", query_string={"kind": "lead_created"})["events"]
    assert [e["connector"] for e in leads] == ["feiyu_ads"]
    assert get(client, tokens["support"], f"/api/v1/contacts/{cid}/history?channel=nosuch")["events"] == []
    bad = client.get(f"/api/v1/contacts/{cid}/history?before=garbage", headers=bearer(tokens["support"]))
    assert bad.status_code == 422  # not of the documented cursor form
    # Any string of that form is a cursor: before=0 is "older than 1970", an empty page.
    assert get(client, tokens["support"], f"/api/v1/contacts/{cid}/history?before=0") == {"events": [], "next_cursor": None}


def test_reveal_is_for_operators_and_audited(app, tokens):
    client = app.test_client()
    cid = lin(client, tokens)
    assert client.post(f"/api/v1/contacts/{cid}/reveal", headers=bearer(tokens["support"])).status_code == 403
    assert audit_entries(app, "contact.reveal") == []
    resp = client.post(f"/api/v1/contacts/{cid}/reveal", headers=bearer(tokens["operator"]))
    assert resp.status_code == 200
    contact = resp.get_json()
    assert contact["masked"] is False
    assert {"phone": PHONE_E164}.items() <= {i["kind"]: i["value"] for i in contact["identities"]}.items()
    (entry,) = audit_entries(app, "contact.reveal")
    assert entry.target == f"contact:{cid}" and "operator-tester" in entry.actor


def test_unmerge_through_the_api_is_audited(app, tokens):
    client = app.test_client()
    (hit,) = get(client, tokens["support"], f"/api/v1/contacts?q={MERGED_PHONE}")["results"]
    contact = get(client, tokens["support"], f"/api/v1/contacts/{hit['id']}")
    (edge,) = contact["merge_edges"]
    assert edge["kind"] == "email" and "****" in edge["value"]
    bad = client.post(f"/api/v1/contacts/{hit['id']}/unmerge", headers=bearer(tokens["operator"]), json={})
    assert bad.status_code == 422
    resp = client.post(f"/api/v1/contacts/{hit['id']}/unmerge", headers=bearer(tokens["operator"]), json={"edge_id": edge["id"]})
    assert resp.status_code == 200, resp.get_json()
    assert len(resp.get_json()["survivors"]) == 2
    (entry,) = audit_entries(app, "contact.unmerge")
    assert "operator-tester" in entry.actor
    again = client.post(f"/api/v1/contacts/{hit['id']}/unmerge", headers=bearer(tokens["operator"]), json={"edge_id": edge["id"]})
    assert again.status_code == 409
    with app.extensions["hub"].db.session() as s:
        assert s.get(MergeEdge, edge["id"]).undone_at is not None


def test_conflicts_list_merge_and_keep_apart_are_audited(app, tokens):
    client = app.test_client()
    (conflict,) = get(client, tokens["operator"], "/api/v1/conflicts")
    assert conflict["kind"] == "phone" and conflict["value"] == "135****4321" and SHARED_PHONE not in str(conflict)
    resp = client.post(f"/api/v1/conflicts/{conflict['id']}/keep-apart", headers=bearer(tokens["operator"]))
    assert resp.status_code == 200 and resp.get_json()["status"] == "kept_apart"
    assert client.post(f"/api/v1/conflicts/{conflict['id']}/merge", headers=bearer(tokens["operator"])).status_code == 409
    assert client.post("/api/v1/conflicts/999999/merge", headers=bearer(tokens["operator"])).status_code == 404
    assert get(client, tokens["operator"], "/api/v1/conflicts") == []
    assert [c["status"] for c in get(client, tokens["operator"], "/api/v1/conflicts?status=all")] == ["kept_apart"]
    (entry,) = audit_entries(app, "conflict.keep_apart")
    assert entry.target == f"merge_conflict:{conflict['id']}" and "operator-tester" in entry.actor
    # a second conflict, merged this time
    with app.extensions["hub"].db.session() as s:
        row = s.get(MergeConflict, conflict["id"])
        s.add(MergeConflict(contact_a=row.contact_a, contact_b=row.contact_b, kind=row.kind, value=row.value, reason="again",
                            status="open"))
    (again,) = get(client, tokens["operator"], "/api/v1/conflicts")
    merged = client.post(f"/api/v1/conflicts/{again['id']}/merge", headers=bearer(tokens["admin"]))
    assert merged.status_code == 200 and merged.get_json()["status"] == "merged"
    assert [e.target for e in audit_entries(app, "conflict.merge")] == [f"merge_conflict:{again['id']}"]


def test_connectors_report_health_runs_cursors_and_errors(app, tokens):
    client = app.test_client()
    connectors = {c["name"]: c for c in get(client, tokens["operator"], "/api/v1/connectors")}
    assert set(connectors) == {"feiyu_ads", "cc_400", "udesk_main", "wecom_sales"}
    feiyu = connectors["feiyu_ads"]
    assert feiyu["type"] == "feiyu" and feiyu["health"] == "ok" and feiyu["error_rate"] == 0
    assert feiyu["last_run"]["status"] == "succeeded" and feiyu["lag_seconds"] >= 0
    assert [s["name"] for s in feiyu["streams"]] == ["leads"] and feiyu["streams"][0]["cursor"] is not None
    udesk = connectors["udesk_main"]
    assert udesk["health"] == "degraded" and udesk["inbox_rejected"] == 1
    assert "invalid date/time" in udesk["recent_errors"][0]["message"]
    assert len(udesk["recent_runs"]) == 2
    one = get(client, tokens["operator"], "/api/v1/connectors/cc_400")
    assert one["name"] == "cc_400"
    assert client.get("/api/v1/connectors/nope", headers=bearer(tokens["operator"])).status_code == 404
    runs = get(client, tokens["operator"], "/api/v1/runs")
    assert {r["connector"] for r in runs} == set(connectors) and all(r["kind"] == "pull" for r in runs)
    assert [r["id"] for r in runs] == sorted((r["id"] for r in runs), reverse=True)
    older = get(client, tokens["operator"], f"/api/v1/runs?before={runs[1]['id']}&limit=1")
    assert [r["id"] for r in older] == [runs[2]["id"]]
    assert {r["connector"] for r in get(client, tokens["operator"], "/api/v1/runs?connector=cc_400")} == {"cc_400"}


def test_dead_letters_list_and_replay_are_audited(app, tokens):
    client = app.test_client()
    (dead,) = get(client, tokens["operator"], "/api/v1/deadletters")
    assert dead["kind"] == "inbox" and dead["target"].startswith("udesk_main.tickets:")
    bad = client.post("/api/v1/deadletters/replay", headers=bearer(tokens["operator"]), json={"refs": ["bogus"]})
    assert bad.status_code == 422
    resp = client.post("/api/v1/deadletters/replay", headers=bearer(tokens["operator"]), json={"refs": [dead["ref"]]})
    assert resp.status_code == 200 and resp.get_json() == {"outbox": 0, "inbox": 1}
    with app.extensions["hub"].db.session() as s:
        assert s.get(InboxRow, dead["id"]).status == "pending"
    assert get(client, tokens["operator"], "/api/v1/deadletters") == []
    (entry,) = audit_entries(app, "dlq.replay")
    assert entry.target == dead["ref"] and "operator-tester" in entry.actor
    again = client.post("/api/v1/deadletters/replay", headers=bearer(tokens["operator"]), json={"refs": [dead["ref"]]})
    assert again.status_code == 409


def test_audit_log_and_tokens_for_admins(app, tokens):
    client = app.test_client()
    cid = lin(client, tokens)
    client.post(f"/api/v1/contacts/{cid}/reveal", headers=bearer(tokens["admin"]))
    created = client.post("/api/v1/tokens", headers=bearer(tokens["admin"]), json={"name": "new agent", "role": "support"})
    assert created.status_code == 201
    new = created.get_json()
    assert new["token"].startswith("hub_") and new["role"] == "support"
    assert get(client, new["token"], "/api/v1/me") == {"token_id": new["id"], "name": "new agent", "role": "support"}
    listed = get(client, tokens["admin"], "/api/v1/tokens")
    assert "token" not in listed[0] and "token_hash" not in listed[0]
    log = get(client, tokens["admin"], "/api/v1/audit")
    assert [e["action"] for e in log] == ["token.create", "contact.reveal", "contact.search"]  # lin() searched
    assert [e["action"] for e in get(client, tokens["admin"], "/api/v1/audit?action=contact.reveal")] == ["contact.reveal"]
    assert [e["action"] for e in get(client, tokens["admin"], f"/api/v1/audit?before={log[0]['id']}")] == ["contact.reveal",
                                                                                                        "contact.search"]
    assert get(client, tokens["admin"], "/api/v1/audit?actor=nobody") == []


def test_openapi_document_describes_the_api(app, tokens):
    client = app.test_client()
    spec = get(client, tokens["support"], "/api/v1/openapi.json")
    assert spec["openapi"].startswith("3.") and spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    paths = set(spec["paths"])
    for path in ("/api/v1/contacts", "/api/v1/contacts/{contact_id}", "/api/v1/contacts/{contact_id}/history",
                 "/api/v1/contacts/{contact_id}/reveal", "/api/v1/contacts/{contact_id}/unmerge", "/api/v1/conflicts",
                 "/api/v1/conflicts/{conflict_id}/merge", "/api/v1/conflicts/{conflict_id}/keep-apart", "/api/v1/connectors",
                 "/api/v1/runs", "/api/v1/deadletters", "/api/v1/deadletters/replay", "/api/v1/audit"):
        assert path in paths, path
    assert client.get("/api/v1/openapi.json").status_code == 401


def test_an_undeclared_route_is_admin_only(app, tokens):
    """Deny by default: a view nobody gave a role (a plugin's, say) needs admin."""
    app.add_url_rule("/api/v1/plugin-thing", "plugin_thing", lambda: {"ok": True})
    client = app.test_client()
    assert client.get("/api/v1/plugin-thing").status_code == 401
    assert client.get("/api/v1/plugin-thing", headers=bearer(tokens["operator"])).status_code == 403
    assert client.get("/api/v1/plugin-thing", headers=bearer(tokens["admin"])).status_code == 200


def test_text_the_databases_cannot_store_is_a_422_not_a_500(app, tokens):
    """PostgreSQL refuses NUL characters and lone surrogates; they must not reach it."""
    client = app.test_client()
    admin = bearer(tokens["admin"])
    assert client.get("/api/v1/contacts", query_string={"q": "13\x009"}, headers=admin).status_code == 422
    assert client.get("/api/v1/contacts/1/history?connector=a%00b", headers=admin).status_code == 422
    assert client.get("/api/v1/audit?action=a%00", headers=admin).status_code == 422
    for body in (b'{"name": "a\\u0000b", "role": "support"}', b'{"name": "\\ud800", "role": "support"}'):
        assert client.post("/api/v1/tokens", data=body, content_type="application/json", headers=admin).status_code == 422
    assert client.post("/api/v1/contacts/1/unmerge", json={"identity": "phone:\x00"}, headers=admin).status_code == 422
    assert client.get("/api/v1/contacts?q=x&unknown=1", headers=admin).status_code == 422  # typos in parameters are errors


def test_search_by_a_wecom_external_userid(app, tokens):
    client = app.test_client()
    cid = lin(client, tokens)
    contact = get(client, tokens["support"], f"/api/v1/contacts/{cid}")
    (wecom_id,) = [i["value"] for i in contact["identities"] if i["kind"] == "wecom_external_userid"]
    for query in (wecom_id, f"wecom_external_userid:{wecom_id}"):
        (hit,) = get(client, tokens["support"], "/api/v1/contacts", query_string={"q": query})["results"]
        assert hit["id"] == cid and hit["matched_by"] == "identity"
