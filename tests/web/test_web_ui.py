"""The UI's forms and pages through Flask's test client (the browser tests drive the rest)."""

from sqlalchemy import select

from hub.store.models import AuditEntry, MergeEdge
from hub.web.auth import hash_token

from demo_data import MERGED_PHONE, NAME, PHONE


def signed_in(app, token):
    client = app.test_client()
    with client.session_transaction() as session:
        session["token_hash"] = hash_token(token)
        session["csrf"] = "t"
    return client


def test_pages_render_in_chinese_by_default_and_english_on_request(app, tokens):
    client = signed_in(app, tokens["admin"])
    for path in ("/", f"/?q={PHONE}", "/connectors", "/deadletters", "/conflicts", "/audit"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert '<html lang="zh-CN">' in resp.get_data(as_text=True)
    english = client.get("/connectors?lang=en")
    assert "Connectors" in english.get_data(as_text=True) and "hub_lang=en" in english.headers["Set-Cookie"]
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)  # remembered


def test_contact_page_masks_and_an_unknown_contact_is_404(app, tokens):
    client = signed_in(app, tokens["support"])
    hits = client.get(f"/?q={NAME}").get_data(as_text=True)
    assert "139****5678" in hits and PHONE not in hits.replace(f'value="{PHONE}"', "")
    assert client.get("/contacts/999999").status_code == 404
    assert client.get(f"/contacts/{2**70}").status_code == 404
    assert client.get("/contacts/3?before=garbage").status_code == 400


def test_unmerge_from_the_contact_page_is_audited(app, tokens):
    client = signed_in(app, tokens["operator"])
    page = client.get(f"/?q={MERGED_PHONE}").get_data(as_text=True)
    assert "王磊" in page
    with app.extensions["hub"].db.session() as s:
        edge = s.scalars(select(MergeEdge)).one()
    resp = client.post(f"/contacts/{edge.survivor_id}/unmerge", data={"csrf": "t", "edge_id": str(edge.id)})
    assert resp.status_code == 302
    with app.extensions["hub"].db.session() as s:
        assert s.get(MergeEdge, edge.id).undone_at is not None
        assert s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all() == ["contact.search", "contact.unmerge"]
