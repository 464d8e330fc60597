"""The connectors page shows writes held by a remote's block and warnings connectors leave."""

from hub.connector.notices import clear_notice, set_notice
from hub.pipeline.pauses import pause
from hub.state import SqlState
from hub.web.auth import hash_token


def signed_in(app, token):
    client = app.test_client()
    with client.session_transaction() as session:
        session["token_hash"] = hash_token(token)
        session["csrf"] = "t"
    return client


def card(html: str, instance: str) -> str:
    start = html.index(f'data-connector="{instance}"')
    end = html.find("</article>", start)
    return html[start:end]


def test_a_pause_and_a_notice_show_on_their_connector_card(app, tokens):
    runtime = app.extensions["hub"]
    client = signed_in(app, tokens["operator"])
    before = client.get("/connectors?lang=en").get_data(as_text=True)
    assert "Writes paused" not in before

    pause(runtime.db, "wecom_sales", 3000, "RateLimitedError: WeCom externalcontact/mark_tag: errcode 45009: api freq out of limit")
    state = SqlState(runtime.db, "feiyu_ads")
    set_notice(state, "Refresh token renewal failing (expires in 3 days)")
    html = client.get("/connectors?lang=en").get_data(as_text=True)
    assert "Writes paused until" in card(html, "wecom_sales") and "45009" in card(html, "wecom_sales")
    assert "Writes paused" not in card(html, "feiyu_ads")
    assert "Refresh token renewal failing" in card(html, "feiyu_ads")
    assert "写入已暂停" in client.get("/connectors?lang=zh").get_data(as_text=True)

    clear_notice(state)
    assert "Refresh token renewal failing" not in client.get("/connectors?lang=en").get_data(as_text=True)


def test_the_api_reports_the_pause_and_the_notice(app, tokens):
    from auth_headers import bearer

    runtime = app.extensions["hub"]
    pause(runtime.db, "wecom_sales", 3000, "RateLimitedError: WeCom externalcontact/mark_tag: errcode 45009")
    set_notice(SqlState(runtime.db, "feiyu_ads"), "Refresh token renewal failing")
    client = app.test_client()
    statuses = {c["name"]: c for c in client.get("/api/v1/connectors", headers=bearer(tokens["operator"])).get_json()}
    assert "45009" in statuses["wecom_sales"]["paused"]["reason"] and statuses["wecom_sales"]["paused"]["until"]
    assert statuses["feiyu_ads"]["notice"]["message"] == "Refresh token renewal failing"
    assert statuses["cc_400"]["paused"] is None and statuses["cc_400"]["notice"] is None
