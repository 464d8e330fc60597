"""The ops pages through Flask's test client: a connector's page and its runs, sync now and
switching off/on (admin only, CSRF-checked, audited), dead letters with the customer and a
localised reason, human-readable audit entries, localised event details and owner names."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.pipeline.runs import burst
from hub.pipeline.switches import is_switched_off
from hub.queue import get_queue
from hub.store.models import AuditEntry, ConnectorState, Event, InboxRow, Run
from hub.web.labels import Labels, collect, format_duration
from hub.web.reasons import explain

from demo_data import NAME, PHONE
from test_web_ui import signed_in


def text_of(resp) -> str:
    return resp.get_data(as_text=True)


def test_connector_page_lists_pulls_webhooks_and_deliveries_with_counts_and_errors(app, tokens):
    runtime = app.extensions["hub"]
    with runtime.db.session() as s:
        burst(s, "udesk_main", "webhook", requests=4, read=4, new=3, duplicates=1, rejected=1,
              error="WebhookRejected: bad signature")
        burst(s, "udesk_main", "deliver", "tickets", delivered=2, dead=1,
              error="PermanentError: udesk_main tickets: HTTP 422: {\"message\": \"bad field\"}")
    client = signed_in(app, tokens["operator"])
    page = text_of(client.get("/connectors/udesk_main"))
    assert 'data-kind="pull" data-status' in page and 'data-kind="webhook" data-status' in page
    assert 'data-kind="deliver" data-status' in page
    assert "推送请求" in page and "被拒绝" in page and "已写入" in page and "转入死信" in page
    assert "推送校验未通过" in page and "对方系统拒收了这条数据（HTTP 422）" in page
    assert "data-sync=" not in page  # operators see no admin buttons
    only_webhooks = text_of(client.get("/connectors/udesk_main?kind=webhook"))
    assert 'data-kind="webhook" data-status' in only_webhooks and 'data-kind="pull" data-status' not in only_webhooks
    assert client.get("/connectors/nope").status_code == 404
    assert client.get("/connectors/udesk_main?kind=bogus").status_code == 400
    # the dashboard links each card to its page, and its recent errors read as reasons too
    dashboard = text_of(client.get("/connectors"))
    assert 'href="/connectors/udesk_main"' in dashboard and "日期时间无法识别" in dashboard


def test_run_detail_shows_what_a_pull_read_and_the_records_a_mapping_rejected(app, tokens):
    runtime = app.extensions["hub"]
    with runtime.db.session() as s:
        rejected = s.scalars(select(InboxRow).where(InboxRow.status == "rejected")).one()
        run = s.get(Run, rejected.run_id)
    client = signed_in(app, tokens["operator"])
    page = text_of(client.get(f"/connectors/udesk_main/runs/{run.id}"))
    assert f'data-run="{run.id}"' in page and "拉取" in page
    assert f'data-ref="inbox:{rejected.id}"' in page and "日期时间无法识别" in page
    assert 'data-outcome="rejected"' in page and 'data-outcome="processed"' in page
    assert client.get(f"/connectors/cc_400/runs/{run.id}").status_code == 404  # another instance's run
    assert client.get("/connectors/udesk_main/runs/999999").status_code == 404


def test_sync_now_queues_every_stream_and_is_audited_for_admins_only(app, tokens, redis_conn):
    queue = get_queue(redis_conn)
    queue.empty()
    operator = signed_in(app, tokens["operator"])
    assert operator.post("/connectors/cc_400/sync", data={"csrf": "t"}).status_code == 403
    admin = signed_in(app, tokens["admin"])
    assert admin.post("/connectors/cc_400/sync", data={}).status_code == 400  # no CSRF token
    assert queue.count == 0
    resp = admin.post("/connectors/cc_400/sync", data={"csrf": "t"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/connectors/cc_400")
    assert [job.args for job in queue.jobs] == [("cc_400", "cdr_inbound")]
    page = text_of(admin.get("/connectors/cc_400"))
    assert "已为 cc_400 排队同步：cdr_inbound" in page
    assert "没有运行中的 worker" in page  # no worker in the tests: the page says the sync waits for one
    with app.extensions["hub"].db.session() as s:
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "connector.sync"))
    assert entry.target == "connector:cc_400" and entry.detail == {"streams": ["cdr_inbound"]} and "admin-tester" in entry.actor
    assert admin.post("/connectors/nope/sync", data={"csrf": "t"}).status_code == 404


def test_disable_and_enable_take_effect_at_once_and_are_audited(app, tokens, redis_conn):
    runtime = app.extensions["hub"]
    admin = signed_in(app, tokens["admin"])
    assert signed_in(app, tokens["operator"]).post("/connectors/feiyu_ads/switch", data={"csrf": "t", "action": "off"}).status_code == 403
    assert admin.post("/connectors/feiyu_ads/switch", data={"csrf": "t", "action": "sideways"}).status_code == 400
    resp = admin.post("/connectors/feiyu_ads/switch", data={"csrf": "t", "action": "off", "back": "list"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/connectors")
    assert is_switched_off(runtime.db, "feiyu_ads")
    page = text_of(admin.get("/connectors"))
    assert 'data-connector="feiyu_ads" data-health="disabled"' in page and "由 admin-tester" in page
    assert 'data-switch="on"' in page
    # a disabled connector cannot be synced
    get_queue(redis_conn).empty()
    admin.post("/connectors/feiyu_ads/sync", data={"csrf": "t"})
    assert get_queue(redis_conn).count == 0
    assert "已停用，请先启用" in text_of(admin.get("/connectors/feiyu_ads"))
    admin.post("/connectors/feiyu_ads/switch", data={"csrf": "t", "action": "on"})
    assert not is_switched_off(runtime.db, "feiyu_ads")
    with runtime.db.session() as s:
        actions = [(e.action, e.target) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == [("connector.disable", "connector:feiyu_ads"), ("connector.enable", "connector:feiyu_ads")]


def test_dead_letters_show_the_customer_and_a_localised_reason(app, tokens):
    client = signed_in(app, tokens["operator"])
    page = text_of(client.get("/deadletters"))
    assert "周建国" in page and "136****5432" in page and "13698765432" not in page
    assert "取自原始记录" in page  # the rejected ticket never became a contact
    assert "字段" in page and "日期时间无法识别" in page
    english = text_of(client.get("/deadletters?lang=en"))
    assert "could not be read" in english and "Customer" in english


def test_audit_entries_read_as_sentences(app, tokens):
    client = signed_in(app, tokens["admin"])
    client.post("/connectors/cc_400/switch", data={"csrf": "t", "action": "off"})
    with app.extensions["hub"].db.session() as s:
        s.add(AuditEntry(actor="cli:root", action="token.create", target="token:9", detail={"name": "王芳 (客服)", "role": "support"}))
        s.add(AuditEntry(actor="cli:root", action="plugin.thing", target="x:1", detail={"k": "v"}))
    page = text_of(client.get("/audit"))
    assert "停用了连接器 cc_400" in page and 'href="/connectors/cc_400"' in page
    assert "创建了令牌 #9「王芳 (客服)」（客服）" in page and "命令行（root）" in page
    assert "admin-tester" in page and "管理员" in page
    assert "plugin.thing" in page and "k: v" in page  # an unknown action is shown by its code, detail included
    assert '{"name"' not in page  # no raw JSON


def test_event_details_are_labelled_and_formatted_and_owners_shown_by_name(app, tokens):
    runtime = app.extensions["hub"]
    with runtime.db.session() as s:
        call = s.scalars(select(Event).where(Event.kind == "call", Event.data["talk_seconds"].isnot(None))).first()
        contact_id = call.contact_id
        from hub.store.models import ContactAttribute

        attr = s.scalars(select(ContactAttribute).where(ContactAttribute.name == "owner")).first()
        assert attr is not None, "the demo's WeCom customer has an owner"
        userid = attr.value
        # the WeCom scan put its follow users' names in the member directory
        member = s.get(ConnectorState, ("wecom_sales", f"member:{userid}"))
        assert member is not None and member.value["name"]
        name = member.value["name"]
        owner_contact = attr.contact_id
        talk = call.data["talk_seconds"]
    client = signed_in(app, tokens["support"])
    page = text_of(client.get(f"/contacts/{contact_id}"))
    assert "通话时长" in page and format_duration(talk, "zh-CN") in page and "talk_seconds" not in page.replace('data-field="talk_seconds"', "")
    owner_page = text_of(client.get(f"/contacts/{owner_contact}"))
    assert f"跟进人 · {name}" in owner_page and f"跟进人 · {userid}" not in owner_page
    # coded values read as words: the call's direction, the WeCom event's source
    assert 'data-field="direction"><th>方向</th><td>呼入</td>' in page
    english = text_of(client.get(f"/contacts/{contact_id}?lang=en"))
    assert "Talk time" in english and 'data-field="direction"><th>Direction</th><td>Inbound</td>' in english


def test_format_duration():
    assert format_duration(372, "zh-CN") == "6分12秒"
    assert format_duration("3725", "zh-CN") == "1小时2分5秒"
    assert format_duration(0, "zh-CN") == "0秒"
    assert format_duration(372, "en") == "6 min 12 s"
    assert format_duration("abc", "zh-CN") is None and format_duration(-1, "en") is None


@pytest.mark.parametrize("args, problem", [
    (("colour", "x", "X"), "unknown group"),
    (("field", "x", {"fr": "x"}), "unknown language"),
    (("field", "x", "X"), None),
    (("channel", "x", "X", "<script>alert(1)</script>"), "path data"),
    (("field", "x", "X", None, "minutes"), "unknown format"),
    (("field", "x", "X", None, None, ["inbound"]), "values must map"),
    (("field", "x", "X", None, None, {"inbound": {"fr": "entrant"}}), "label of value 'inbound'"),
    (("field", "x", "X", None, None, {"inbound": {"zh-CN": "呼入"}, 1: "一"}), None),
])
def test_label_registrations_are_checked(args, problem):
    labels = Labels()
    group, name, text, icon, fmt, values = (*args, None, None, None)[:6]
    if problem is None:
        labels.register(group, name, text, icon=icon, format=fmt, values=values, plugin="acme")
        assert labels.text(group, name, "en") == text
        if values:
            assert labels.value(group, name, "inbound", "en") == "呼入" and labels.value(group, name, 1, "zh-CN") == "一"
            assert labels.value(group, name, "other", "en") is None and labels.value(group, name, {"a": 1}, "en") is None
        return
    with pytest.raises(ValueError, match=problem) as err:
        labels.register(group, name, text, icon=icon, format=fmt, values=values, plugin="acme")
    assert "acme" in str(err.value) and f"{group}.{name}" in str(err.value)


def test_plugins_register_labels_icons_and_formats_through_the_hook():
    import pluggy

    from hub import hookspecs
    from hub.hookspecs import hookimpl

    class Acme:
        @hookimpl
        def hub_register_labels(self, register):
            register("channel", "acme", {"zh-CN": "顶点 CRM", "en": "Acme CRM"}, icon="M4 4h16v16H4Z")
            register("field", "amount_seconds", "Seconds", format="duration")

    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(hookspecs)
    pm.register(Acme(), name="acme")
    labels = collect(pm)
    assert labels.text("channel", "acme", "zh-CN") == "顶点 CRM" and labels.icon("channel", "acme") == "M4 4h16v16H4Z"
    assert labels.format("field", "amount_seconds") == "duration" and labels.format("attr", "owner") == "member"

    class Broken:
        @hookimpl
        def hub_register_labels(self, register):
            register("field", "x", "X", colour="red")

    pm.register(Broken(), name="broken")
    with pytest.raises(ValueError, match="broken.*unknown option"):
        collect(pm)


def test_the_built_in_connectors_label_their_event_details(app):
    with app.app_context():
        from hub.web.labels import app_labels

        labels = app_labels()
    assert labels.text("field", "talk_seconds", "zh-CN") == "通话时长" and labels.format("field", "talk_seconds") == "duration"
    assert labels.format("field", "userid") == "member" and labels.icon("event", "call")


@pytest.mark.parametrize("error, zh", [
    ("gave up after 3 attempts: TransientError: crm_b contacts: HTTP 503", "重试 3 次后放弃：对方系统暂时故障（HTTP 503）。"),
    ("PermanentError: crm contacts: HTTP 401: invalid token", "对方系统拒绝了凭证（HTTP 401），请检查配置中的密钥或权限。"),
    ("RateLimitedError: slow down", "对方系统限流，稍后会自动重试。"),
    ("TransientError: ConnectionError: Connection refused", "无法连接对方系统（超时或拒绝连接）。"),
    ("fields.created_at: not a date/time '2026-13-45 99:99:99' (add the datetime transform)", "字段 fields.created_at 的日期时间无法识别。"),
    ("identities.phone: invalid phone number '12345'", "字段 identities.phone 不是有效的手机号。"),
    ("destination crm_b.contacts is not configured or not enabled", "写入目标 crm_b.contacts 已不在配置中或已停用。"),
    ("mapping unavailable: x.yaml:3 fields: unknown transform 'strp'", "映射文件无法加载，请运行 hub mappings lint 检查。"),
    ("KeyError: 'boom'", "处理失败，详见技术详情。"),
    ("", ""),
])
def test_stored_errors_are_explained_in_the_readers_language(error, zh):
    from hub.web.reasons import MESSAGES

    def t(key, **values):
        return MESSAGES["zh-CN"][key].format(**values)

    assert explain(error, t) == zh


def test_search_and_contact_pages_still_mask(app, tokens):
    client = signed_in(app, tokens["support"])
    assert NAME in text_of(client.get(f"/?q={PHONE}"))


# -- held writes (preview sinks) and dead-letter discard -----------------------------------------------
def hold_writes(runtime) -> list[int]:
    """Two writes a preview sink holds for 林晓雯 and 王磊 — a create and an update — as the
    processor leaves them (status ``held``) until someone approves."""
    from hub.pipeline.hashing import payload_hash
    from hub.store.models import Contact, OutboxRow

    ids = []
    with runtime.db.session() as s:
        people = {c.display_name: c.id for c in s.scalars(select(Contact).where(Contact.display_name.in_([NAME, "王磊"])))}
        for n, (name, native) in enumerate(((NAME, None), ("王磊", "20007"))):
            payload = {"subject": f"跟进客户：{name}", "priority": "标准",
                       "customer": {"nick_name": name, "cellphone": "+8613912345678" if name == NAME else "+8613700001111"}}
            row = OutboxRow(connector="udesk_main", sink="tickets", contact_id=people[name], origin="feiyu_ads",
                            idempotency_key=f"test-held-{n}", payload=payload, payload_hash=payload_hash(payload),
                            native_id=native, status="held")
            s.add(row)
            s.flush()
            ids.append(row.id)
    return ids


def test_held_writes_page_shows_what_would_be_written_masked(app, tokens):
    ids = hold_writes(app.extensions["hub"])
    client = signed_in(app, tokens["operator"])
    page = text_of(client.get("/writes"))
    assert 'data-held-target="udesk_main.tickets"' in page
    assert f'data-write="{ids[0]}" data-action="create"' in page and f'data-write="{ids[1]}" data-action="update"' in page
    assert "跟进客户：林晓雯" in page and "139****5678" in page and PHONE not in page
    assert 'data-target="udesk_main.tickets" data-holding="1"' in page
    assert "放行所选" not in page  # operators look; admins decide


def test_admins_release_or_discard_held_writes_and_approve_a_sink(app, tokens, redis_conn):
    from hub.store.models import OutboxRow

    runtime = app.extensions["hub"]
    first, second = hold_writes(runtime)
    operator = signed_in(app, tokens["operator"])
    assert operator.post("/writes/approve", data={"csrf": "t", "target": "udesk_main.tickets", "action": "approve",
                                                  "id": str(first)}).status_code == 403
    admin = signed_in(app, tokens["admin"])
    assert admin.post("/writes/approve", data={"target": "udesk_main.tickets", "action": "approve", "id": str(first)}).status_code == 400
    assert admin.post("/writes/approve", data={"csrf": "t", "target": "udesk_main.tickets", "action": "x"}).status_code == 400
    admin.post("/writes/approve", data={"csrf": "t", "target": "udesk_main.tickets", "action": "approve", "id": str(first)})
    admin.post("/writes/approve", data={"csrf": "t", "target": "udesk_main.tickets", "action": "discard", "id": str(second)})
    with runtime.db.session() as s:
        assert s.get(OutboxRow, first).status == "pending" and s.get(OutboxRow, second).status == "discarded"
    page = text_of(admin.get("/writes"))
    assert "已放行 udesk_main.tickets 的 1 条写入" in page and "已丢弃 udesk_main.tickets 的 1 条写入" in page
    # an id that is not held there is refused with the reason, not a 500
    admin.post("/writes/approve", data={"csrf": "t", "target": "udesk_main.tickets", "action": "approve", "id": str(second)})
    assert "not held writes" in text_of(admin.get("/writes"))
    # release all and approve: the sink stops holding
    admin.post("/writes/approve", data={"csrf": "t", "target": "udesk_main.tickets", "action": "approve_all"})
    assert 'data-target="udesk_main.tickets" data-holding="0"' in text_of(admin.get("/writes"))
    admin.post("/writes/revoke", data={"csrf": "t", "target": "udesk_main.tickets"})
    assert "udesk_main.tickets 已恢复预览" in text_of(admin.get("/writes"))
    from hub.pipeline.preview import approved_sinks

    with runtime.db.session() as s:
        assert ("udesk_main", "tickets") not in approved_sinks(s)
    with runtime.db.session() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["outbox.approve", "outbox.discard", "outbox.approve", "outbox.revoke"]
    audit_page = text_of(admin.get("/audit"))
    assert "批准写入 udesk_main.tickets，放行 1 条" in audit_page and "撤销了对 udesk_main.tickets 的写入批准" in audit_page


def test_dead_letters_can_be_discarded_and_replay_reports_as_before(app, tokens):
    runtime = app.extensions["hub"]
    with runtime.db.session() as s:
        rejected = s.scalars(select(InboxRow).where(InboxRow.status == "rejected")).one()
    ref = f"inbox:{rejected.id}"
    operator = signed_in(app, tokens["operator"])
    assert signed_in(app, tokens["support"]).post("/deadletters/discard", data={"csrf": "t", "one": ref}).status_code == 403
    assert operator.post("/deadletters/discard", data={"one": ref}).status_code == 400  # no CSRF token
    resp = operator.post("/deadletters/discard", data={"csrf": "t", "one": ref})
    assert resp.status_code == 302
    with runtime.db.session() as s:
        assert s.get(InboxRow, rejected.id).status == "discarded"
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "dlq.discard"))
    assert entry.target == ref
    page = text_of(operator.get("/deadletters"))
    assert "已丢弃：写出 0 条，读入 1 条" in page and f'data-ref="{ref}"' not in page
    again = operator.post("/deadletters/discard", data={"csrf": "t", "one": ref})  # gone already: said so, no 500
    assert again.status_code == 302 and "flash-error" in text_of(operator.get("/deadletters"))
    assert "丢弃了死信：读入记录 #" in text_of(signed_in(app, tokens["admin"]).get("/audit"))


def test_the_api_syncs_switches_and_discards_like_the_ui(app, tokens, redis_conn):
    from auth_headers import bearer

    runtime = app.extensions["hub"]
    client = app.test_client()
    admin, operator = bearer(tokens["admin"]), bearer(tokens["operator"])
    get_queue(redis_conn).empty()
    assert client.post("/api/v1/connectors/cc_400/sync", headers=operator).status_code == 403
    resp = client.post("/api/v1/connectors/cc_400/sync", headers=admin)
    assert resp.status_code == 202 and resp.json == {"streams": ["cdr_inbound"], "workers": 0}
    assert client.post("/api/v1/connectors/nope/sync", headers=admin).status_code == 404

    off = client.post("/api/v1/connectors/cc_400/disable", headers=admin)
    assert off.status_code == 200 and off.json["health"] == "disabled" and off.json["enabled"] is False
    assert is_switched_off(runtime.db, "cc_400")
    refused = client.post("/api/v1/connectors/cc_400/sync", headers=admin)
    assert refused.status_code == 409 and "switched off" in refused.json["message"]
    on = client.post("/api/v1/connectors/cc_400/enable", headers=admin)
    assert on.status_code == 200 and on.json["enabled"] is True

    with runtime.db.session() as s:
        rejected = s.scalars(select(InboxRow).where(InboxRow.status == "rejected")).one()
    ref = f"inbox:{rejected.id}"
    assert client.post("/api/v1/deadletters/discard", json={"refs": [ref]}, headers=operator).json == {"outbox": 0, "inbox": 1}
    assert client.post("/api/v1/deadletters/discard", json={"refs": [ref]}, headers=operator).status_code == 409
    assert client.post("/api/v1/deadletters/discard", json={"refs": ["x:1"]}, headers=operator).status_code == 422
    with runtime.db.session() as s:
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["connector.sync", "connector.disable", "connector.enable", "dlq.discard"]
