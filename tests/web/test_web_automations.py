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

from conftest import bearer

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
