"""Automations in the API and the UI, on the real store: the list and each automation's figures
(enrollments per step, sent / failed / capped / preview from the ledger and the outbox), the
approve / pause / resume switches by role (audited, CSRF-checked in the UI), journeys on the
contact (API and page) in the automations' time zone, masking, and automation entries
labelled on the timeline.

:func:`build_hub` makes the state the browser test (``test_web_automations_browser.py``)
shows too: a CRM feeding stage changes and chat lines, a WeCom sandbox the writes are
delivered to, a journey with contacts at each stage of it and two rules (one live, one in
preview)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import count
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from connectors.wecom.sandbox import WeComSandbox
from hub.automations.control import approve
from hub.automations.journeys import advance_due
from hub.config import load_config
from hub.connector import Record
from hub.pipeline.ingest import store_records
from hub.pipeline.inline import run_inline
from hub.pipeline.process import process_inbox
from hub.runtime import Runtime
from hub.store.models import AuditEntry, Identity, JourneyEnrollment
from hub.testing import SandboxRouter
from hub.web import create_app
from hub.web.auth import ROLES, create_token, hash_token

from auth_headers import bearer

MAPPING = """direction: inbound
connector: example
stream: contacts
fields:
  crm_id: {from: id, transforms: [str], namespace: instance}
  wecom_external_userid: wxid
  phone: {from: phone, transforms: [{phone: {on_invalid: null}}]}
  name: name
  stage: stage
  owner: owner
updated_at: {from: updated_at, transforms: [datetime]}
events:
  chat:
    kind: chat_message
    native_id: msg_id
    occurred_at: {from: updated_at, transforms: [datetime]}
    summary: text
    data: {text: text, from: sender}
    when: {path: msg_id, present: true}
"""

AUTOMATIONS = """
  trial_sop:
    description: 要求试用的客户：试用指南、客户案例、回访
    enroll: {attribute: stage, becomes: 要求试用}
    exit: [{attribute: stage, changes: true}, {event: chat_message, from: customer}]
    steps:
      - {after: 0m, do: {sink: wecom_sales.messages, template: trial_guide}}
      - {after: 2d, do: {sink: wecom_sales.messages, template: trial_case}, at: "10:00-20:00"}
      - {after: 5d, do: {tag: 试用回访}}
  price_objection_tag:
    on: {event: chat_message, text_matches: {keywords: {太贵了: 价格异议, 多少钱: 意向}}}
    do:
      - {tag: "{match}"}
      - {sink: wecom_sales.tags, payload: {external_userid: "{identities.wecom_external_userid[0]}", userid: "{attributes.owner}", add: "{match}"}}
  purchase_thanks:
    on: {attribute: stage, becomes: 购买}
    do: {sink: wecom_sales.messages, template: trial_case}
"""

#: The customers: (crm id, name, phone). Their roles in the story are in :func:`build_hub`.
LI, WANG, ZHAO, ZHOU, SUN = (1, "李先生", "13800138001"), (2, "王女士", "13800138002"), (3, "赵女士", "13800138003"), \
    (4, "周先生", "13800138004"), (5, "孙女士", "13800138005")


def config_text(tmp_path: Path, database_url: str, redis_url: str, wecom: dict) -> str:
    mapping = tmp_path / "crm.contacts.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return f"""hub:
  database_url: "{database_url}"
  redis_url: "{redis_url}"
  var_dir: "{tmp_path}/var"
  log_level: WARNING
connectors:
  crm:
    type: example
    config: {{base_url: "http://sandbox.hub.test/sandbox/crm", api_key: sandbox-api-key-0001, webhook_secret: sandbox-webhook-secret}}
    streams:
      contacts: {{mapping: "{mapping}"}}
  wecom_sales:
    type: wecom
    config: {json.dumps(wecom, ensure_ascii=False)}
    sinks:
      messages: {{mode: live, sources: []}}
      tags: {{mode: live, sources: []}}
automation_settings:
  dir: "{tmp_path}/automations"
automation_templates:
  trial_guide: {{sender: "{{attributes.owner}}", external_userid: "{{identities.wecom_external_userid}}", text: "试用指南：三步上手"}}
  trial_case: {{sender: "{{attributes.owner}}", external_userid: "{{identities.wecom_external_userid}}", text: "客户案例：同行业客户是这样用的"}}
automations:{AUTOMATIONS}"""


@dataclass
class AutomationHub:
    runtime: Runtime
    router: SandboxRouter
    wecom: WeComSandbox
    #: crm id → contact id
    contacts: dict[int, int] = field(default_factory=dict)
    #: crm id → the CRM record as last fed
    records: dict[int, dict] = field(default_factory=dict)
    _seq: count = field(default_factory=lambda: count(1))

    def feed(self, *records: dict) -> list[int]:
        rows = []
        for data in records:
            n = next(self._seq)
            data = {"updated_at": (datetime(2026, 12, 1, tzinfo=timezone.utc) + timedelta(minutes=n)).isoformat(), **data}
            rows.append(Record(native_id=str(data["id"]), data=data))
        with self.runtime.db.session() as s:
            ids, _ = store_records(s, "crm", "contacts", rows)
        return process_inbox(self.runtime, ids).outbox_ids

    def deliver(self, outbox_ids: list[int]) -> dict:
        return run_inline(self.runtime, outbox_ids=outbox_ids)

    def enrollment(self, crm_id: int) -> JourneyEnrollment:
        with self.runtime.db.session() as s:
            return s.scalars(select(JourneyEnrollment).where(JourneyEnrollment.contact_id == self.contacts[crm_id])).one()

    def close(self) -> None:
        self.router.__exit__(None, None, None)
        self.runtime.close()


def build_hub(tmp_path: Path, database_url: str, redis_url: str) -> AutomationHub:
    """The story, through the real pipeline and journey engine:

    * 赵女士 asks for a trial first and goes through all three steps of ``trial_sop`` (the
      engine run at her steps' due times): **completed**, her second message still pending;
    * 李先生 asks for a trial; step 1 is delivered to WeCom: **step 2 of 3**, due in 2 days;
    * 王女士 asks for a trial, gets step 1, then writes 太贵了: ``price_objection_tag`` tags
      her 价格异议 (live) and the chat line **exits** her from the journey;
    * 周先生 has no WeCom id: his step 1 **fails** (nothing to send to); he waits for step 2;
    * 孙女士 buys: ``purchase_thanks`` is still in **preview** and only records the message.
    """
    wecom, router = WeComSandbox(), SandboxRouter()
    base = router.mount(wecom, "/sandbox/wecom_sales")
    path = tmp_path / "hub.yaml"
    path.write_text(config_text(tmp_path, database_url, redis_url, wecom.config_for(base)), encoding="utf-8")
    runtime = Runtime(load_config(path, env={}))
    router.__enter__()
    hub = AutomationHub(runtime, router, wecom)
    approve(runtime, "trial_sop", actor="cli:setup")
    approve(runtime, "price_objection_tag", actor="cli:setup")

    def customer(who, with_wecom=True, stage="兴趣"):
        crm_id, name, phone = who
        record = {"id": crm_id, "name": name, "phone": phone, "stage": stage}
        if with_wecom:
            ext, userid = wecom.add_customer().split(":")
            record.update(wxid=ext, owner=userid)
        return record

    people = hub.records = {who[0]: customer(who, with_wecom=who is not ZHOU) for who in (LI, WANG, ZHAO, ZHOU, SUN)}
    hub.feed(*people.values())
    with runtime.db.session() as s:
        for crm_id, record in people.items():
            hub.contacts[crm_id] = s.scalar(select(Identity.contact_id).where(Identity.kind == "phone",
                                                                              Identity.value == "+86" + record["phone"]))
    # 赵女士: all three steps, each at the time the engine says it is due (windows respected);
    # step 1 is delivered, step 2 still waits for the delivery worker (the WeCom sandbox keeps
    # WeCom's one-mass-message-a-day limit by the real clock).
    hub.feed({**people[3], "stage": "要求试用"})
    for _ in range(8):
        e = hub.enrollment(3)
        if e.status != "active":
            break
        step = advance_due(runtime, now=e.next_due_at)
        if e.step == 0:
            hub.deliver(step.outbox_ids)
    # 李先生, 王女士, 周先生: step 1 now.
    hub.feed(*({**people[i], "stage": "要求试用"} for i in (1, 2, 4)))
    now = max(hub.enrollment(i).next_due_at for i in (1, 2, 4)) + timedelta(seconds=1)
    hub.deliver(advance_due(runtime, now=now).outbox_ids)
    # 王女士 objects to the price: tagged, and out of the journey.
    hub.deliver(hub.feed({**people[2], "stage": "要求试用", "msg_id": "m-wang-1", "text": "太贵了，能便宜点吗", "sender": "customer"}))
    # 孙女士 buys: a rule in preview records what it would send.
    hub.feed({**people[5], "stage": "购买"})
    return hub


@pytest.fixture
def auto_hub(tmp_path, db, database_url, redis_url, redis_conn):
    hub = build_hub(tmp_path, database_url, redis_url)
    yield hub
    hub.close()


@pytest.fixture
def app(auto_hub):
    return create_app(auto_hub.runtime)


@pytest.fixture
def tokens(app) -> dict[str, str]:
    runtime = app.extensions["hub"]
    return {role: create_token(runtime.db, f"{role}-tester", role)[1] for role in ROLES}


def api(app, token, method, path, **kw):
    return app.test_client().open(f"/api/v1{path}", method=method, headers=bearer(token), **kw)


def ui_client(app, token):
    client = app.test_client()
    with client.session_transaction() as session:
        session["token_hash"] = hash_token(token)
        session["csrf"] = "test-csrf"
    return client


SHANGHAI = ZoneInfo("Asia/Shanghai")


def shown(hub, crm_id: int, tz=SHANGHAI) -> str:
    """How the page shows the contact's next step: its due time, moved to 10:00 (Shanghai)
    when that step's send window (10:00-20:00, step 2 only) is closed; ``MM-DD HH:MM`` in ``tz``."""
    e = hub.enrollment(crm_id)
    at = e.next_due_at.astimezone(SHANGHAI)
    if e.step == 1 and not 10 <= at.hour < 20:
        at = (at if at.hour < 10 else at + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    return at.astimezone(tz).strftime("%m-%d %H:%M")


# -- the API ----------------------------------------------------------------------------------
def test_the_list_gives_each_automations_kind_status_trigger_and_counts(app, tokens):
    resp = api(app, tokens["support"], "GET", "/automations")
    assert resp.status_code == 200
    got = {a["name"]: a for a in resp.get_json()}
    assert list(got) == ["trial_sop", "price_objection_tag", "purchase_thanks"]
    sop, tag, thanks = got["trial_sop"], got["price_objection_tag"], got["purchase_thanks"]
    assert (sop["kind"], sop["status"], sop["trigger"], sop["steps"]) == ("journey", "live", "stage → 要求试用", 3)
    assert sop["enrollments"] == {"active": 2, "exited": 1, "completed": 1}
    # Step 1 of 赵女士, 李先生 and 王女士: delivered to the WeCom sandbox; 赵女士's step 2: pending;
    # 周先生's step 1: failed; done: four enrollments and 赵女士's hub tag.
    assert sop["actions"] == {"sent": 3, "pending": 1, "held": 0, "failed": 1, "discarded": 0, "capped": 0, "preview": 0, "done": 5,
                              "unchanged": 0}
    assert sop["ledger"] == {"queued": 4, "done": 5, "failed": 1}
    assert sop["delivery"] == {"pending": 1, "delivered": 3}
    assert (tag["kind"], tag["status"], tag["enrollments"]) == ("rule", "live", None)
    assert tag["trigger"] == "event chat_message text matches 太贵了/多少钱"
    assert tag["actions"]["sent"] == 1 and tag["actions"]["done"] == 1  # the WeCom tag write, the hub tag
    assert thanks["status"] == "preview" and thanks["actions"]["preview"] == 1 and thanks["actions"]["sent"] == 0


def test_one_automation_counts_enrollments_per_step_and_samples_contacts_masked(app, tokens, auto_hub):
    resp = api(app, tokens["support"], "GET", "/automations/trial_sop")
    assert resp.status_code == 200
    a = resp.get_json()
    steps = a["definition"]["steps"]
    assert [(s["number"], s["after"], s["at"]) for s in steps] == [(1, "0m", None), (2, "2d", "10:00-20:00"), (3, "5d", None)]
    assert [[x["target"] for x in s["actions"]] for s in steps] == [["wecom_sales.messages"], ["wecom_sales.messages"], ["tag:试用回访"]]
    assert steps[0]["actions"][0]["template"] == "trial_guide"
    # 李先生 and 周先生 wait for step 2 (not due for two days); nobody waits for steps 1 or 3.
    assert [(s["waiting"], s["due"]) for s in steps] == [(0, 0), (2, 0), (0, 0)]
    assert a["definition"]["exit"] == ["stage changes", "event chat_message"]
    assert a["timezone"] == "Asia/Shanghai"
    people = {c["contact_id"]: c for c in a["contacts"]}
    assert set(people) == {auto_hub.contacts[i] for i in (1, 2, 3, 4)}
    li = people[auto_hub.contacts[1]]
    assert (li["status"], li["step"], li["steps"], li["steps_done"]) == ("active", 2, 3, 1)
    assert li["next_due_local"] == shown(auto_hub, 1)
    assert li["display_name"] == "李先生" and li["phone"] == "138****8001"
    wang = people[auto_hub.contacts[2]]
    assert (wang["status"], wang["step"], wang["exit_reason"], wang["next_due_local"]) == ("exited", 2, "chat_message (event:crm:m-wang-1)", None)
    assert people[auto_hub.contacts[3]]["status"] == "completed"
    text = resp.get_data(as_text=True)
    assert "13800138001" not in text and "+8613800138001" not in text
    statuses = sorted(x["status"] for x in a["recent_actions"])
    assert statuses == sorted(["queued"] * 4 + ["done"] * 5 + ["failed"])
    failed = next(x for x in a["recent_actions"] if x["status"] == "failed")
    assert failed["contact_id"] == auto_hub.contacts[4] and failed["detail"] == "no value for {attributes.owner}"


def test_a_rule_samples_the_contacts_it_acted_on(app, tokens, auto_hub):
    a = api(app, tokens["support"], "GET", "/automations/price_objection_tag").get_json()
    assert a["definition"]["on"] == "event chat_message text matches 太贵了/多少钱"
    assert [x["target"] for x in a["definition"]["actions"]] == ["tag:{match}", "wecom_sales.tags"]
    assert a["definition"]["actions"][1]["payload"]["add"] == "{match}" and a["definition"]["actions"][1]["uses_mapping"] is False
    assert [(c["contact_id"], c["display_name"], c["phone"]) for c in a["contacts"]] == [(auto_hub.contacts[2], "王女士", "138****8002")]
    got = {x["target"]: x for x in a["recent_actions"]}
    assert [(t, x["status"], x["delivery"]) for t, x in sorted(got.items())] == [
        ("tag:{match}", "done", None), ("wecom_sales.tags", "queued", "delivered")]
    assert got["tag:{match}"]["payload"] == {"tag": "价格异议"} and got["wecom_sales.tags"]["payload"]["add"] == "价格异议"


def test_unknown_automation_is_404(app, tokens):
    for method, path in (("GET", "/automations/nope"), ("POST", "/automations/nope/approve"), ("POST", "/automations/nope/pause")):
        resp = api(app, tokens["admin"], method, path)
        assert resp.status_code == 404 and "no automation 'nope'" in resp.get_json()["message"]


def test_approve_pause_resume_by_role_audited(app, tokens, auto_hub):
    runtime = auto_hub.runtime
    for role in ("support", "operator"):
        assert api(app, tokens[role], "POST", "/automations/purchase_thanks/approve").status_code == 403
    assert api(app, tokens["support"], "POST", "/automations/purchase_thanks/pause").status_code == 403
    done = api(app, tokens["admin"], "POST", "/automations/purchase_thanks/approve")
    assert done.status_code == 200 and done.get_json()["status"] == "live"
    assert done.get_json()["approved_by"] == "admin-tester (token #3, admin)"
    again = api(app, tokens["admin"], "POST", "/automations/purchase_thanks/approve")
    assert again.status_code == 409 and "is live" in again.get_json()["message"]
    assert api(app, tokens["operator"], "POST", "/automations/purchase_thanks/pause").get_json()["status"] == "paused"
    assert api(app, tokens["operator"], "POST", "/automations/purchase_thanks/resume").status_code == 403
    assert api(app, tokens["admin"], "POST", "/automations/purchase_thanks/resume").get_json()["status"] == "live"
    with runtime.db.session() as s:
        trail = [(e.action, e.target, e.actor.split(" (")[0], e.detail) for e in
                 s.scalars(select(AuditEntry).where(AuditEntry.action.like("automation.%"), AuditEntry.actor.like("%tester%"))
                           .order_by(AuditEntry.id))]
    assert trail == [("automation.approve", "purchase_thanks", "admin-tester", {"from": "preview", "to": "live"}),
                     ("automation.pause", "purchase_thanks", "operator-tester", {"from": "live", "to": "paused"}),
                     ("automation.resume", "purchase_thanks", "admin-tester", {"from": "paused", "to": "live"})]


def test_the_contact_api_gives_its_journeys(app, tokens, auto_hub):
    li = api(app, tokens["support"], "GET", f"/contacts/{auto_hub.contacts[1]}").get_json()
    (j,) = li["journeys"]
    e = auto_hub.enrollment(1)
    assert datetime.fromisoformat(j["next_at"]) >= e.next_due_at
    assert {k: j[k] for k in ("journey", "status", "step", "steps", "steps_done", "automation_status", "timezone")} == {
        "journey": "trial_sop", "status": "active", "step": 2, "steps": 3, "steps_done": 1, "automation_status": "live",
        "timezone": "Asia/Shanghai"}
    assert j["next_due_local"] == shown(auto_hub, 1)
    assert datetime.fromisoformat(j["next_due_at"]) == e.next_due_at
    (wang,) = api(app, tokens["support"], "GET", f"/contacts/{auto_hub.contacts[2]}").get_json()["journeys"]
    assert (wang["status"], wang["next_due_at"], wang["exit_reason"]) == ("exited", None, "chat_message (event:crm:m-wang-1)")
    (zhao,) = api(app, tokens["support"], "GET", f"/contacts/{auto_hub.contacts[3]}").get_json()["journeys"]
    assert (zhao["status"], zhao["step"], zhao["steps_done"]) == ("completed", 3, 3)
    assert api(app, tokens["support"], "GET", f"/contacts/{auto_hub.contacts[5]}").get_json()["journeys"] == []
    revealed = api(app, tokens["operator"], "POST", f"/contacts/{auto_hub.contacts[1]}/reveal").get_json()
    assert revealed["journeys"][0]["step"] == 2


def test_journey_times_follow_the_configured_time_zone(app, tokens, auto_hub):
    auto_hub.runtime.config.automations.timezone = "UTC"
    (j,) = api(app, tokens["support"], "GET", f"/contacts/{auto_hub.contacts[1]}").get_json()["journeys"]
    assert (j["timezone"], j["next_due_local"]) == ("UTC", shown(auto_hub, 1, tz=timezone.utc))
    assert j["next_due_local"] != shown(auto_hub, 1)


def test_the_openapi_document_describes_the_automation_operations(app, tokens):
    doc = api(app, tokens["support"], "GET", "/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    assert {"schedule", "handover"} <= set(schemas["AutomationOut"]["properties"])
    assert {"next_at", "next_local", "last", "expression", "timezone"} <= set(schemas["ScheduleOut"]["properties"])
    assert {"missed", "acted", "contacts", "actions"} <= set(schemas["ScheduleLastOut"]["properties"])
    assert {"takeovers", "customers", "batches", "batch_delivery"} <= set(schemas["HandoverMemberOut"]["properties"])
    assert "unchanged" in schemas["AutomationFiguresOut"]["properties"] and "handovers" in schemas["ContactOut"]["properties"]
    paths = doc["paths"]
    for path in ("/api/v1/automations", "/api/v1/automations/{name}"):
        assert "get" in paths[path]
    for verb in ("approve", "pause", "resume"):
        assert "post" in paths[f"/api/v1/automations/{{name}}/{verb}"]
    assert "journeys" in doc["components"]["schemas"]["ContactOut"]["properties"]
    assert "steps" in doc["components"]["schemas"]["AutomationDefOut"]["properties"]


# -- the UI ------------------------------------------------------------------------------------
def test_the_list_page_links_every_automation(app, tokens):
    html = ui_client(app, tokens["support"]).get("/automations").get_data(as_text=True)
    for name, kind, status in (("trial_sop", "journey", "live"), ("price_objection_tag", "rule", "live"),
                               ("purchase_thanks", "rule", "preview")):
        assert f'data-automation="{name}" data-kind="{kind}" data-status="{status}"' in html
        assert f'href="/automations/{name}"' in html
    assert "SOP 旅程" in html and "进行中" in html and "stage → 要求试用" in html


def test_the_automation_page_shows_steps_counts_contacts_and_buttons_by_role(app, tokens, auto_hub):
    support = ui_client(app, tokens["support"]).get("/automations/trial_sop")
    assert support.status_code == 200
    html = support.get_data(as_text=True)
    assert 'data-step="2" data-waiting="2" data-due="0"' in html
    assert re.search(r'data-enr="exited"><dt>已退出</dt><dd>1</dd>', html)
    assert re.search(r'data-fig="sent" class=""><dt>已送达</dt><dd>3</dd>', html)
    assert "138****8001" in html and "13800138001" not in html
    assert f'href="/contacts/{auto_hub.contacts[1]}"' in html
    assert "步骤 2/3，下一步 " + shown(auto_hub, 1) in html
    assert "data-switch" not in html  # support: no buttons
    operator = ui_client(app, tokens["operator"]).get("/automations/purchase_thanks").get_data(as_text=True)
    assert 'data-switch="pause"' in operator and 'data-switch="approve"' not in operator
    admin = ui_client(app, tokens["admin"]).get("/automations/purchase_thanks").get_data(as_text=True)
    assert 'data-switch="approve"' in admin and 'data-switch="pause"' in admin
    assert "预览中" in admin


def test_ui_switches_need_the_role_and_the_csrf_token(app, tokens, auto_hub):
    support = ui_client(app, tokens["support"])
    assert support.post("/automations/purchase_thanks/approve", data={"csrf": "test-csrf"}).status_code == 403
    admin = ui_client(app, tokens["admin"])
    assert admin.post("/automations/purchase_thanks/approve", data={"csrf": "wrong"}).status_code == 400
    resp = admin.post("/automations/purchase_thanks/approve", data={"csrf": "test-csrf"}, follow_redirects=True)
    assert resp.status_code == 200 and "已批准 purchase_thanks：现在开始运行。" in resp.get_data(as_text=True)
    assert api(app, tokens["support"], "GET", "/automations/purchase_thanks").get_json()["status"] == "live"
    again = admin.post("/automations/purchase_thanks/approve", data={"csrf": "test-csrf"}, follow_redirects=True)
    assert "purchase_thanks is live" in again.get_data(as_text=True)
    operator = ui_client(app, tokens["operator"])
    operator.post("/automations/purchase_thanks/pause", data={"csrf": "test-csrf"})
    assert operator.post("/automations/purchase_thanks/resume", data={"csrf": "test-csrf"}).status_code == 403
    assert api(app, tokens["support"], "GET", "/automations/purchase_thanks").get_json()["status"] == "paused"


def test_the_contact_page_shows_journey_progress_and_labels_automation_entries(app, tokens, auto_hub):
    client = ui_client(app, tokens["support"])
    li = client.get(f"/contacts/{auto_hub.contacts[1]}").get_data(as_text=True)
    due = shown(auto_hub, 1)
    assert re.search(r'data-section="journeys".*<b>trial_sop</b> <span data-progress-text>步骤 2/3，下一步 ' + re.escape(due), li, re.S)
    assert 'data-by-automation="trial_sop" href="/automations/trial_sop"' in li  # step 1's write and the enrollment
    wang = client.get(f"/contacts/{auto_hub.contacts[2]}").get_data(as_text=True)
    assert "已退出（停在第 2/3 步前）" in wang and "chat_message (event:crm:m-wang-1)" in wang
    assert 'data-by-automation="price_objection_tag"' in wang  # the tag and its WeCom write
    zhao = client.get(f"/contacts/{auto_hub.contacts[3]}").get_data(as_text=True)
    assert "已完成（共 3 步）" in zhao
    sun = client.get(f"/contacts/{auto_hub.contacts[5]}").get_data(as_text=True)
    assert 'data-section="journeys"' not in sun
    en = client.get(f"/contacts/{auto_hub.contacts[1]}?lang=en").get_data(as_text=True)
    assert f"step 2 of 3, next {due}" in en and "automation trial_sop" in en


def test_the_automation_answers_conform_to_the_openapi_document(app, tokens, auto_hub):
    """Schemathesis over the automation operations and the contact detail, on a hub where they
    return real figures (the fuzz test's demo hub has no automations): every answer matches
    the document; no 5xx."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode

    from schemathesis import checks as c

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=bearer(tokens["admin"]))
    wanted = [op.ok() for op in schema.get_all_operations()
              if "/automations" in op.ok().path or op.ok().path == "/api/v1/contacts/{contact_id}"]
    assert len(wanted) == 6
    checks = [getattr(c, n) for n in ("not_a_server_error", "status_code_conformance", "content_type_conformance",
                                      "response_schema_conformance") if hasattr(c, n)]
    for operation in wanted:
        params = {p.name for p in operation.path_parameters}
        values = {"name": "trial_sop", "contact_id": auto_hub.contacts[1]}
        strategy = operation.as_strategy(GenerationMode.POSITIVE, path_parameters={n: values[n] for n in params})

        @settings(max_examples=3, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case):
            case.call_and_validate(checks=checks)

        run()


def test_the_menu_links_automations_for_operators_when_there_are_any(app, tokens, make_app):
    assert 'href="/automations"' in ui_client(app, tokens["operator"]).get("/").get_data(as_text=True)
    assert 'href="/automations"' not in ui_client(app, tokens["support"]).get("/").get_data(as_text=True)
    bare = make_app()  # the demo hub of the other web tests: no automations configured
    admin = create_token(bare.extensions["hub"].db, "admin-2", "admin")[1]
    client = ui_client(bare, admin)
    assert 'href="/automations"' not in client.get("/").get_data(as_text=True)
    assert "尚未配置自动化" in client.get("/automations").get_data(as_text=True)
    assert api(bare, admin, "GET", "/automations").get_json() == []


def test_the_audit_page_tells_automation_switches_as_sentences_with_a_link(app, tokens):
    admin = ui_client(app, tokens["admin"])
    admin.post("/automations/purchase_thanks/approve", data={"csrf": "test-csrf"})
    html = admin.get("/audit").get_data(as_text=True)
    assert "批准自动化 purchase_thanks 上线" in html and 'href="/automations/purchase_thanks"' in html
    en = admin.get("/audit?lang=en").get_data(as_text=True)
    assert "Approved automation purchase_thanks (live)" in en


def test_a_message_over_the_daily_cap_counts_as_capped_and_a_stage_change_exits(app, tokens, auto_hub):
    """李先生 got trial_sop's first message today; when he buys, purchase_thanks (now live)
    would send another: over the cap of one a day it is recorded capped, not sent, and the
    stage change ends his trial journey."""
    assert api(app, tokens["admin"], "POST", "/automations/purchase_thanks/approve").status_code == 200
    auto_hub.feed({**auto_hub.records[1], "stage": "购买"})
    thanks = api(app, tokens["support"], "GET", "/automations/purchase_thanks").get_json()
    assert (thanks["actions"]["capped"], thanks["actions"]["sent"], thanks["actions"]["pending"]) == (1, 0, 0)
    (last,) = [x for x in thanks["recent_actions"] if x["status"] == "capped"]
    assert last["display_name"] == "李先生" and last["detail"].startswith("daily cap")
    (j,) = api(app, tokens["support"], "GET", f"/contacts/{auto_hub.contacts[1]}").get_json()["journeys"]
    assert (j["status"], j["next_due_local"]) == ("exited", None) and j["exit_reason"].startswith("stage → 购买")
    html = ui_client(app, tokens["support"]).get("/automations/purchase_thanks").get_data(as_text=True)
    assert re.search(r'data-fig="capped" class=""><dt>超出每日上限</dt><dd>1</dd>', html)


def test_a_departure_rule_reads_in_words():
    """The demo config's automations (a departure rule among them) as the pages describe them."""
    from hub.automations.views import definition, trigger_text

    config = load_config(Path(__file__).resolve().parents[2] / "config" / "demo.yaml", env={})
    departure = config.automations.automations["departure"]
    assert trigger_text(departure) == "member left"
    (action,) = definition(departure)["actions"]
    assert action["kind"] == "transfer" and action["describe"].startswith("transfer_customers to ")


def test_ledger_states_beyond_the_usual_ones_are_counted_and_shown(app, tokens, auto_hub):
    """A hand-over's transfer states (``waiting`` …) are ledger statuses too: listed, not dropped."""
    from hub.store.models import AutomationAction

    with auto_hub.runtime.db.session() as s:
        s.add(AutomationAction(automation="price_objection_tag", contact_id=auto_hub.contacts[3], key="test:waiting", kind="transfer",
                               target="transfer_customers", status="waiting", is_message=False))
    a = api(app, tokens["support"], "GET", "/automations/price_objection_tag").get_json()
    assert a["ledger"] == {"queued": 1, "done": 1, "waiting": 1}
    html = ui_client(app, tokens["support"]).get("/automations/price_objection_tag").get_data(as_text=True)
    assert re.search(r'data-status="waiting".*<span class="tag ">等待接替</span>', html, re.S)


# -- schedule rules, set actions and departure hand-overs ---------------------------------------
#
# A second hub, built through the real engines: a CRM feeding stages and segments, a WeCom
# sandbox with its customer relations, members and the transfers sink. price_followup fires
# on weekday mornings (the schedules' fire_due with an explicit clock: first seen on a
# Thursday, back after downtime on Monday) and sets segment = 高意向; 李四 leaves (the
# delete_user callback through the webhook door) and departure hands his customers to his
# manager 张三, with the transfers followed through the WeCom sandbox to each final state.

MORE_AUTOMATIONS = """
  price_followup:
    description: 工作日早上：评估价格的客户标为高意向并推送价格方案
    on: {schedule: "0 9 * * 1-5", where: {attribute: stage, is: 评估价格}}
    do:
      - {set: {segment: 高意向}}
      - {sink: wecom_sales.messages, template: price_plan}
  departure:
    on: {member: left}
    do: {transfer_customers: {to: manager_of_member, fallback: sunqi}}
"""
#: 陈先生 and 林女士 evaluate prices (林女士 is 高意向 already: her set changes nothing); 吴先生
#: is only interested. All three are 李四's WeCom customers.
CHEN, LIN, WU = (11, "陈先生", "13900139011"), (12, "林女士", "13900139012"), (13, "吴先生", "13900139013")
SHANGHAI_TZ = ZoneInfo("Asia/Shanghai")


def more_config_text(tmp_path: Path, database_url: str, redis_url: str, wecom: dict) -> str:
    mappings = Path(__file__).resolve().parents[2] / "mappings"
    crm = tmp_path / "crm.contacts.yaml"
    crm.write_text(MAPPING.replace("  stage: stage\n", "  stage: stage\n  segment: segment\n"), encoding="utf-8")
    return f"""hub:
  database_url: "{database_url}"
  redis_url: "{redis_url}"
  var_dir: "{tmp_path}/var"
  log_level: WARNING
connectors:
  crm:
    type: example
    config: {{base_url: "http://sandbox.hub.test/sandbox/crm", api_key: sandbox-api-key-0001, webhook_secret: sandbox-webhook-secret}}
    streams:
      contacts: {{mapping: "{crm}"}}
  wecom_sales:
    type: wecom
    config: {json.dumps(wecom, ensure_ascii=False)}
    streams:
      external_contacts: {{mapping: "{mappings / 'wecom.external_contacts.yaml'}"}}
      unassigned: {{mapping: "{mappings / 'wecom.unassigned.yaml'}"}}
      follow_users: {{mapping: "{mappings / 'wecom.follow_users.yaml'}"}}
    sinks:
      messages: {{mode: live, sources: []}}
      transfers: {{mode: live, sources: []}}
automation_settings:
  dir: "{tmp_path}/automations"
automation_templates:
  price_plan: {{sender: "{{attributes.owner}}", external_userid: "{{identities.wecom_external_userid}}", text: "价格方案：年付八五折"}}
automations:{MORE_AUTOMATIONS}"""


@dataclass
class MoreHub(AutomationHub):
    #: WeCom external_userid per crm id, and the customers whose transfers end refused / at
    #: the takeover's limit / failed, and the one handed over later (still waiting)
    ext: dict[int, str] = field(default_factory=dict)
    refused: str = ""
    limit: str = ""
    failed: str = ""
    later: str = ""
    clock: datetime | None = None

    def sync(self, stream: str) -> None:
        from hub.pipeline.inline import sync_inline

        got = sync_inline(self.runtime, "wecom_sales", stream)
        assert got["rejected"] == 0 and not got["error"], got

    def push(self, fields: dict) -> None:
        """One encrypted WeCom callback through the webhook door, then processing."""
        from hub.pipeline.webhook import ingest_webhook
        from hub.store.models import InboxRow

        ingest_webhook(self.runtime, "wecom_sales", self.wecom.callback(fields))
        with self.runtime.db.session() as s:
            pending = list(s.scalars(select(InboxRow.id).where(InboxRow.status == "pending")))
        assert run_inline(self.runtime, inbox_ids=pending)["rejected"] == 0

    def departures_job(self, hours: float = 0) -> None:
        """The ticker's departures job ``hours`` later, then delivery of what it wrote."""
        from hub.automations.departure import advance_departures
        from hub.store.types import utcnow

        self.clock = max(self.clock or utcnow(), utcnow()) + timedelta(hours=hours)
        done = advance_departures(self.runtime, now=self.clock)
        if done.outbox_ids:
            self.deliver(done.outbox_ids)


def build_more_hub(tmp_path: Path, database_url: str, redis_url: str) -> MoreHub:
    from hub.automations.schedule import fire_due
    from hub.runtime import set_current

    wecom, router = WeComSandbox(), SandboxRouter()
    base = router.mount(wecom, "/sandbox/wecom_sales")
    path = tmp_path / "hub.yaml"
    path.write_text(more_config_text(tmp_path, database_url, redis_url, wecom.config_for(base)), encoding="utf-8")
    runtime = Runtime(load_config(path, env={}))
    set_current(runtime)
    router.__enter__()
    hub = MoreHub(runtime, router, wecom)
    approve(runtime, "price_followup", actor="cli:setup")
    approve(runtime, "departure", actor="cli:setup")
    records = {}
    for (crm_id, name, phone), stage, segment in ((CHEN, "评估价格", None), (LIN, "评估价格", "高意向"), (WU, "兴趣", None)):
        ext = wecom.add_customer("lisi", name=name).split(":")[0]
        hub.ext[crm_id] = ext
        records[crm_id] = {"id": crm_id, "name": name, "phone": phone, "stage": stage, "wxid": ext, "owner": "lisi",
                           **({"segment": segment} if segment else {})}
    hub.records = records
    hub.feed(*records.values())
    hub.sync("follow_users")  # the member directory: 张三, 李四 …
    hub.sync("external_contacts")
    with runtime.db.session() as s:
        for crm_id, ext in hub.ext.items():
            hub.contacts[crm_id] = s.scalar(select(Identity.contact_id).where(Identity.kind == "wecom_external_userid",
                                                                              Identity.value == ext))
    # The schedule: first seen on Thursday 2026-12-03 at 08:00 (it fires from its next instant
    # on); the hub is down from Thursday to Monday; back on Monday 09:05 it fires once, for
    # Monday 09:00 (Thursday and Friday 09:00 skipped).
    fire_due(runtime, now=datetime(2026, 12, 3, 8, 0, tzinfo=SHANGHAI_TZ))
    fired = fire_due(runtime, now=datetime(2026, 12, 7, 9, 5, tzinfo=SHANGHAI_TZ))
    assert fired.contacts == 2, fired
    hub.deliver(fired.outbox_ids)
    # 李四 leaves. Before the hand-over one of his customers deletes him (WeCom refuses that
    # transfer: failed); after 24 hours 林女士 refuses, 吴先生's takeover is at its limit, the
    # rest are taken over; a customer who shows up later in the unassigned list is handed
    # over in a second batch and still waits.
    others = sorted(e for (e, u) in wecom.relations if u == "lisi" and e not in hub.ext.values())
    hub.failed, hub.refused, hub.limit = others[0], hub.ext[LIN[0]], hub.ext[WU[0]]
    wecom.depart_member("lisi")
    hub.push({"Event": "change_contact", "ChangeType": "delete_user", "UserID": "lisi", "CreateTime": 1767571200})
    del wecom.relations[(hub.failed, "lisi")]
    hub.departures_job()
    hub.departures_job(hours=1)  # transfer_result: waiting
    wecom.advance_transfers(refuse={hub.refused})
    wecom.transfers[("lisi", "zhangsan", True)][hub.limit]["status"] = 4
    hub.departures_job(hours=1)
    hub.later = wecom.add_customer(userid="lisi").split(":")[0]
    hub.sync("unassigned")
    hub.departures_job()
    hub.departures_job(hours=1)
    return hub


@pytest.fixture
def more_hub(tmp_path, db, database_url, redis_url, redis_conn):
    from hub.runtime import set_current

    hub = build_more_hub(tmp_path, database_url, redis_url)
    yield hub
    hub.close()
    set_current(None)


@pytest.fixture
def more_app(more_hub):
    return create_app(more_hub.runtime)


@pytest.fixture
def more_tokens(more_app) -> dict[str, str]:
    runtime = more_app.extensions["hub"]
    return {role: create_token(runtime.db, f"{role}-tester", role)[1] for role in ROLES}


def test_a_schedule_rule_gives_its_cron_next_firing_and_last_instant(more_app, more_tokens, more_hub):
    listed = {a["name"]: a for a in api(more_app, more_tokens["support"], "GET", "/automations").get_json()}
    assert listed["departure"]["schedule"] is None and listed["price_followup"]["handover"] is None
    a = api(more_app, more_tokens["support"], "GET", "/automations/price_followup").get_json()
    sc = a["schedule"]
    assert (sc["expression"], sc["where"], sc["timezone"]) == ("0 9 * * 1-5", ["stage = 评估价格"], "Asia/Shanghai")
    nxt = datetime.fromisoformat(sc["next_at"]).astimezone(SHANGHAI_TZ)
    assert (nxt.hour, nxt.minute) == (9, 0) and nxt.weekday() < 5 and sc["next_local"] == nxt.strftime("%Y-%m-%d %H:%M")
    last = sc["last"]
    assert (last["instant_local"], last["status"], last["contacts"], last["acted"], last["missed"]) == (
        "2026-12-07 09:00", "done", 2, 2, 2)
    assert datetime.fromisoformat(last["instant"]) == datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc)
    assert nxt > datetime.fromisoformat(last["instant"])  # never an instant the engine has fired already
    # 陈先生: segment set and the message sent; 林女士: already 高意向 (unchanged), message sent.
    assert last["actions"] == {"queued": 2, "done": 1, "unchanged": 1}
    assert listed["price_followup"]["schedule"]["last"]["acted"] == 2
    assert a["actions"]["unchanged"] == 1 and a["actions"]["done"] == 1 and a["actions"]["sent"] == 2
    assert a["ledger"] == {"queued": 2, "done": 1, "unchanged": 1}


def test_before_its_first_instant_a_schedule_shows_it_has_not_fired(more_hub):
    """A schedule whose time zone changed fires from its next instant on (the instant before
    is recorded skipped): the page says so — not a firing of zero contacts — and shows the
    next firing in the new zone."""
    from hub.automations.schedule import fire_due

    more_hub.runtime.config.automations.timezone = "UTC"
    assert fire_due(more_hub.runtime, now=datetime(2026, 12, 8, 9, 30, tzinfo=timezone.utc)).skipped
    more_app = create_app(more_hub.runtime)
    token = create_token(more_hub.runtime.db, "support-2", "support")[1]
    sc = api(more_app, token, "GET", "/automations/price_followup").get_json()["schedule"]
    assert sc["last"]["status"] == "skipped" and sc["last"]["acted"] == 0 and sc["last"]["actions"] == {}
    assert (sc["timezone"], sc["last"]["instant_local"]) == ("UTC", "2026-12-08 09:00") and sc["next_local"].endswith(" 09:00")
    html = ui_client(more_app, token).get("/automations/price_followup").get_data(as_text=True)
    assert 'data-last-status="skipped">已跳过' in html and "首次加载" in html and "符合条件" not in html


def test_the_schedule_page_reads_in_words_in_zh_and_en(more_app, more_tokens, more_hub):
    client = ui_client(more_app, more_tokens["support"])
    html = client.get("/automations/price_followup").get_data(as_text=True)
    assert '<td data-sched="words">每周一至周五 09:00</td>' in html
    assert '<td class="mono" data-sched="expression">0 9 * * 1-5</td>' in html and "Asia/Shanghai" in html
    assert '<span data-instant>2026-12-07 09:00</span>' in html and ">已触发<" in html
    assert "符合条件 2 位" in html and "已执行 2 位" in html and "停机后只补触发一次，跳过了 2 个更早的时刻" in html
    assert '<span data-set="segment">设置属性 segment = 高意向</span>' in html
    assert re.search(r'data-fig="unchanged" class=""><dt>未变化</dt><dd>1</dd>', html)
    assert re.search(r'data-status="unchanged".*<span class="tag ">未变化</span>.*segment is already 高意向', html, re.S)
    assert "13900139012" not in html and "139****9012" in html  # the sample of contacts, masked
    en = client.get("/automations/price_followup?lang=en").get_data(as_text=True)
    assert '<td data-sched="words">at 09:00, Monday to Friday</td>' in en and ">fired<" in en
    assert "2 matched" in en and "2 acted on" in en and "caught up once after downtime: 2 earlier instant(s) skipped" in en
    assert "set segment = 高意向" in en and re.search(r"<dt>unchanged</dt><dd>1</dd>", en)
    listed = client.get("/automations?lang=zh-CN").get_data(as_text=True)
    assert re.search(r'data-schedule="0 9 \* \* 1-5">\s*<span data-cron-words>每周一至周五 09:00</span> · <span data-next>下次 \d{4}-\d\d-\d\d 09:00</span>'
                     r' · <span data-last>上次 2026-12-07 09:00：已触发，2 位</span>', listed)


def test_a_departure_rule_shows_each_members_hand_over(more_app, more_tokens, more_hub):
    from sqlalchemy import func

    from hub.store.models import AutomationAction, Departure

    a = api(more_app, more_tokens["support"], "GET", "/automations/departure").get_json()
    ho = a["handover"]
    members = {m["member"]: m for m in ho["members"]}
    assert set(members) == {"lisi", "zhaoliu"}  # the unassigned list also signalled 赵六, who left before
    lisi = members["lisi"]
    assert (lisi["member_name"], lisi["connector"], lisi["status"], lisi["batches"]) == ("李四", "wecom_sales", "open", 2)
    assert lisi["signals"] >= 2  # the callback, then the unassigned list
    assert lisi["batch_delivery"] == {"delivered": 2}
    with more_hub.runtime.db.session() as s:
        dep = s.scalar(select(Departure).where(Departure.member == "lisi"))
        handed = s.scalar(select(func.count()).select_from(AutomationAction).where(AutomationAction.departure_id == dep.id))
        taken = {p["customer"] for p in s.scalars(select(AutomationAction.payload).where(
            AutomationAction.departure_id == dep.id, AutomationAction.status == "done"))}
    # every customer taken over follows 张三 in WeCom now
    assert lisi["total"] == handed == len([e for (e, u) in more_hub.wecom.relations if u == "zhangsan" and e in taken]) + 4
    # the order they are shown in, with the later customer still waiting
    assert lisi["customers"] == {"waiting": 1, "done": handed - 4, "refused": 1, "limit": 1, "failed": 1}
    (takeover,) = lisi["takeovers"]
    assert (takeover["takeover"], takeover["takeover_name"], takeover["customers"]) == ("zhangsan", "张三", lisi["customers"])
    assert lisi["next_check_at"] is not None and "manager" in lisi["detail"]
    assert members["zhaoliu"]["member_name"] == "赵六" and members["zhaoliu"]["customers"]
    assert sum(ho["departures"].values()) == 2
    assert sum(ho["customers"].values()) == sum(m["total"] for m in members.values())
    listed = {x["name"]: x for x in api(more_app, more_tokens["support"], "GET", "/automations").get_json()}
    assert listed["departure"]["handover"]["members"] == [] and listed["departure"]["handover"]["customers"] == ho["customers"]


def test_the_departure_page_reads_per_member_in_zh_and_en(more_app, more_tokens, more_hub):
    client = ui_client(more_app, more_tokens["support"])
    html = client.get("/automations/departure").get_data(as_text=True)
    row = re.search(r'<tr data-member="lisi" data-departure-status="open">(.*?)</tr>', html, re.S).group(1)
    assert "<b>李四 <span class=\"mono small muted\">lisi</span></b>" in row
    assert 'data-takeover="zhangsan">张三 <span class="mono small muted">zhangsan</span>' in row
    for word in ("等待接替", "已接替", "客户拒绝", "接替成员客户已满", "失败"):
        assert word in row
    assert '<td data-batches="2"><b>2</b>' in row and "交接中" in row
    assert 'data-section="handovers"' in html and "data-switch" not in html
    chen = re.search(rf'<tr data-contact="{more_hub.contacts[CHEN[0]]}" data-status="done">(.*?)</tr>', html, re.S).group(1)
    assert '<span class="tag">已接替</span>' in chen  # a transfer's done reads as taken over, not 已执行
    assert re.search(r'data-transfer>李四 <span class="mono small muted">lisi</span> → 张三 <span class="mono small muted">zhangsan</span> · 第 1 批', html)
    recent = {x["payload"]["customer"]: x for x in api(more_app, more_tokens["support"], "GET", "/automations/departure").get_json()["recent_actions"]}
    assert (recent[more_hub.failed]["member_name"], recent[more_hub.failed]["takeover_name"]) == ("李四", "张三")
    en = client.get("/automations/departure?lang=en").get_data(as_text=True)
    row = re.search(r'<tr data-member="lisi" data-departure-status="open">(.*?)</tr>', en, re.S).group(1)
    for word in ("waiting", "taken over", "refused", "takeover limit", "failed", "in progress"):
        assert word in row
    listed = client.get("/automations?lang=zh-CN").get_data(as_text=True)
    assert re.search(r'data-handover>离职成员 2 位 · <span class="counts transfers">', listed)


def test_the_contact_page_and_api_show_a_customers_hand_over(more_app, more_tokens, more_hub):
    chen = more_hub.contacts[CHEN[0]]
    got = api(more_app, more_tokens["support"], "GET", f"/contacts/{chen}").get_json()
    (h,) = got["handovers"]
    assert {k: h[k] for k in ("automation", "status", "member", "member_name", "takeover", "takeover_name", "batch", "reason")} == {
        "automation": "departure", "status": "done", "member": "lisi", "member_name": "李四", "takeover": "zhangsan",
        "takeover_name": "张三", "batch": 1, "reason": None}
    with more_hub.runtime.db.session() as s:
        failed = s.scalar(select(Identity.contact_id).where(Identity.kind == "wecom_external_userid", Identity.value == more_hub.failed))
    (f,) = api(more_app, more_tokens["support"], "GET", f"/contacts/{failed}").get_json()["handovers"]
    assert (f["status"], f["reason"]) == ("failed", "WeCom errcode 40096")
    client = ui_client(more_app, more_tokens["support"])
    html = client.get(f"/contacts/{chen}").get_data(as_text=True)
    card = re.search(r'data-section="handovers">(.*?)</section>', html, re.S).group(1)
    assert '<span>李四</span> → <span>张三</span>' in card and "已接替" in card and "第 1 批" in card
    assert "离职交接：已由 张三（zhangsan） 接替" in html and "离职交接：已发起转接给 张三（zhangsan），等待接替" in html
    assert 'data-by-automation="price_followup"' in html  # segment → 高意向, an attribute change by the automation
    assert "139****9011" in html and "13900139011" not in html
    en = client.get(f"/contacts/{chen}?lang=en").get_data(as_text=True)
    assert "departure: Hand-over: taken over by 张三" in en and "departure: Hand-over: transfer to 张三 requested, waiting for the takeover" in en
    assert "departure: Hand-over: 李四&#39;s customer goes to 张三 (queued)" in en
    assert "Taken over" in en
    lin = client.get(f"/contacts/{more_hub.contacts[LIN[0]]}?lang=en").get_data(as_text=True)
    assert "Hand-over: the customer refused 张三" in lin
    wu = client.get(f"/contacts/{more_hub.contacts[WU[0]]}?lang=zh-CN").get_data(as_text=True)
    assert "接替成员客户已满" in wu
    # a customer of a member still here has no hand-over card (and the API an empty list)
    stays = next(e for (e, u) in more_hub.wecom.relations if u == "wangwu")
    with more_hub.runtime.db.session() as s:
        other = s.scalar(select(Identity.contact_id).where(Identity.kind == "wecom_external_userid", Identity.value == stays))
    assert 'data-section="handovers"' not in client.get(f"/contacts/{other}").get_data(as_text=True)
    assert api(more_app, more_tokens["support"], "GET", f"/contacts/{other}").get_json()["handovers"] == []
    revealed = api(more_app, more_tokens["operator"], "POST", f"/contacts/{chen}/reveal").get_json()
    assert revealed["handovers"][0]["status"] == "done"


def test_schedule_and_hand_over_answers_conform_to_the_openapi_document(more_app, more_tokens, more_hub):
    """The automation operations and the contact detail on the hub with a schedule rule and
    hand-overs (the shapes the first hub never returns): every answer matches the document."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode

    from schemathesis import checks as c

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", more_app, headers=bearer(more_tokens["support"]))
    wanted = [op.ok() for op in schema.get_all_operations()
              if op.ok().path in ("/api/v1/automations", "/api/v1/automations/{name}", "/api/v1/contacts/{contact_id}")]
    assert len(wanted) == 3
    checks = [getattr(c, n) for n in ("not_a_server_error", "status_code_conformance", "content_type_conformance",
                                      "response_schema_conformance") if hasattr(c, n)]
    for operation in wanted:
        params = {p.name for p in operation.path_parameters}
        for name in ("price_followup", "departure"):
            values = {"name": name, "contact_id": more_hub.contacts[CHEN[0]]}
            strategy = operation.as_strategy(GenerationMode.POSITIVE, path_parameters={n: values[n] for n in params})

            @settings(max_examples=2, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                case.call_and_validate(checks=checks)

            run()


@pytest.mark.parametrize("expression, zh, en", [
    ("0 9 * * 1-5", "每周一至周五 09:00", "at 09:00, Monday to Friday"),
    ("0 9 * * MON-FRI", "每周一至周五 09:00", "at 09:00, Monday to Friday"),
    ("30 8 * * *", "每天 08:30", "at 08:30, every day"),
    ("0 9,14 * * 1,3,5", "每周一、周三、周五 09:00、14:00", "at 09:00 and 14:00, Monday, Wednesday and Friday"),
    ("0 * * * *", "每小时整点", "every hour at :00"),
    ("*/15 * * * *", "每 15 分钟", "every 15 minutes"),
    ("0 0 1 * *", "每月1日 00:00", "at 00:00, on day 1 of the month"),
    ("@daily", "每天 00:00", "at 00:00, every day"),
    ("0 10 1 1 *", "每年1月1日 10:00", "at 10:00, on day 1 of the month, in January"),
    ("0 9 1 * 1", None, None),  # day of month *or* weekday: shown as written only
    ("15 9-17 * * *", None, None),
])
def test_a_cron_expression_in_words(expression, zh, en):
    from hub.web.cron_text import describe

    assert (describe(expression, "zh-CN"), describe(expression, "en")) == (zh, en)
