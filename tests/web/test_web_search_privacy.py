"""Search cannot unmask a phone: without reveal rights a phone is found only by its whole
number, every search is audited without the query, and searches are rate-limited per token."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from auth_headers import bearer
from demo_data import NAME, PHONE
from hub.identity_kinds import normalize_phone
from hub.store.models import AuditEntry
from hub.web.auth import hash_token


def search(client, token, q, **params):
    return client.get("/api/v1/contacts", query_string={"q": q, **params}, headers=bearer(token))


def signed_in(app, token):
    client = app.test_client()
    with client.session_transaction() as session:
        session["token_hash"] = hash_token(token)
        session["csrf"] = "t"
    return client


def audit_rows(app) -> list[AuditEntry]:
    with app.extensions["hub"].db.session() as s:
        rows = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "contact.search").order_by(AuditEntry.id)))
        s.expunge_all()
    return rows


def test_support_cannot_rebuild_a_number_from_prefixes(app, tokens):
    """The attack from issue 15: 1391 → 13912 → … each answered the one match."""
    client = app.test_client()
    for n in range(3, len(PHONE)):
        for fragment in (PHONE[:n], PHONE[-n:], PHONE[2:n + 2]):
            resp = search(client, tokens["support"], fragment)
            assert resp.status_code == 200
            assert resp.json["results"] == [], fragment
            # 3912345678 happens to be a whole (landline) number of its own: looked up exactly.
            is_a_number = normalize_phone(fragment, "CN", valid_only=True) is not None
            assert resp.json["whole_number_required"] is not is_a_number
    whole = search(client, tokens["support"], PHONE)
    (hit,) = whole.json["results"]
    assert hit["display_name"] == NAME and whole.json["whole_number_required"] is False
    # The same number written differently is still the whole number.
    assert search(client, tokens["support"], f"+86 {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}").json["results"]


def test_operators_may_still_search_by_fragment(app, tokens):
    client = app.test_client()
    for role in ("operator", "admin"):
        resp = search(client, tokens[role], PHONE[3:9])
        assert [h["display_name"] for h in resp.json["results"]] == [NAME]
        assert resp.json["whole_number_required"] is False


def test_support_still_finds_names_and_ids(app, tokens):
    client = app.test_client()
    assert [h["display_name"] for h in search(client, tokens["support"], NAME[1:]).json["results"]] == [NAME]
    assert search(client, tokens["support"], f"phone:{PHONE}").json["results"]


def test_digit_fragments_do_not_match_names_for_support(app, tokens):
    """A contact whose name is a phone number (a lead without a name) cannot be found by name fragment."""
    from hub.store.models import Contact

    with app.extensions["hub"].db.session() as s:
        contact = s.scalar(select(Contact).where(Contact.display_name == NAME))
        contact.display_name = PHONE
    client = app.test_client()
    assert search(client, tokens["support"], PHONE[:7]).json["results"] == []
    assert search(client, tokens["operator"], PHONE[:7]).json["results"]


def test_ui_search_follows_the_same_rule(app, tokens):
    client = signed_in(app, tokens["support"])
    page = client.get("/", query_string={"q": PHONE[:7]})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "data-whole-number" in html and 'data-contact-id' not in html
    assert 'data-contact-id' in client.get("/", query_string={"q": PHONE}).get_data(as_text=True)


def test_every_search_is_audited_without_the_query(app, tokens):
    client = app.test_client()
    search(client, tokens["support"], PHONE)
    search(client, tokens["support"], PHONE[:6])
    search(client, tokens["operator"], PHONE[:6])
    search(client, tokens["support"], NAME)
    search(client, tokens["admin"], "linxw@example.cn")
    signed_in(app, tokens["support"]).get("/", query_string={"q": f"phone:{PHONE}"})
    rows = audit_rows(app)
    got = [(r.actor.split(" ")[0], r.detail["query_kind"], r.detail["hits"], r.detail["via"]) for r in rows]
    assert got == [
        ("support-tester", "phone", 1, "api"),
        ("support-tester", "phone_fragment", 0, "api"),
        ("operator-tester", "phone_fragment", 1, "api"),
        ("support-tester", "name_or_id", 1, "api"),
        ("admin-tester", "email", 1, "api"),
        ("support-tester", "identity:phone", 1, "ui"),
    ]
    for row in rows:
        text = json.dumps([row.actor, row.target, row.detail], ensure_ascii=False)
        assert PHONE[:6] not in text and NAME not in text and "linxw" not in text
    # The audit page shows them as sentences.
    assert "phone_fragment" in signed_in(app, tokens["admin"]).get("/audit").get_data(as_text=True)


def test_searches_are_rate_limited_per_token(app, tokens, monkeypatch):
    monkeypatch.setenv("HUB_SEARCH_RATE", "3/60")
    client = app.test_client()
    for _ in range(3):
        first = search(client, tokens["support"], NAME)
        assert first.status_code == 200
    contact_id = first.json["results"][0]["id"]
    throttled = search(client, tokens["support"], NAME)
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert "too many searches" in throttled.json["message"]
    # Another token has its own bucket; other reads are not throttled.
    assert search(client, tokens["operator"], NAME).status_code == 200
    assert client.get(f"/api/v1/contacts/{contact_id}", headers=bearer(tokens["support"])).status_code == 200
    # The UI shares the token's bucket.
    page = signed_in(app, tokens["support"]).get("/", query_string={"q": NAME})
    assert page.status_code == 429 and "data-throttled" in page.get_data(as_text=True)
    assert len(audit_rows(app)) == 4  # refused searches ran no query


def test_rate_setting_is_checked(monkeypatch):
    from hub.web.searches import search_rate

    monkeypatch.setenv("HUB_SEARCH_RATE", "10/5")
    assert search_rate() == (10, 5.0)
    monkeypatch.setenv("HUB_SEARCH_RATE", "lots")
    with pytest.raises(ValueError, match="HUB_SEARCH_RATE"):
        search_rate()
