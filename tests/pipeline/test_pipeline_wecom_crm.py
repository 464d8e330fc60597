"""The demo's WeCom ⇄ CRM story on the real backends, through the connectors' sandboxes.

A customer of the CRM (a real temporary SQLite database) scans a Feiyu ad's 联系我 channel
code and adds sales 张三 on WeCom; 张三 notes her mobile as a remark mobile. The WeCom scan
must attach her WeCom relation to the CRM customer's existing contact (by phone: the CRM
stores national 11-digit mobiles, WeCom's remark mobiles are national too, identities are
E.164) — and as she becomes addressable in WeCom, her current tier goes out as a tag
(convergence). Then the CRM upgrades her tier: the hub marks the WeCom tag for the new tier on her
relation (``externalcontact/mark_tag`` in the WeCom sandbox), and that tag write, read back
by the next WeCom scan, is not a change that travels anywhere — no second mark_tag and no
write to the CRM.

Wiring copied from config/demo.yaml: instances ``crm`` (sql, stream and sink ``rows``, the
sink only fed by ``feiyu_ads``) and ``wecom_sales`` (stream ``external_contacts``, sink
``tags`` fed by ``crm``), the CRM-owned field policies, the tier lookups and
``identity.default_region: CN``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connectors.sql.sandbox import SqlSandbox
from connectors.wecom.sandbox import WeComSandbox
from hub.config import load_config
from hub.pipeline.inline import sync_inline
from hub.runtime import Runtime, set_current
from hub.store.models import Contact, ContactAttribute, Event, Identity, InboxRow, Link, OutboxRow
from hub.testing import SandboxRouter
from tests.pipeline.convergence_world import LOOKUPS

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = REPO / "mappings"

CRM, WECOM = "crm", "wecom_sales"
STATE = "feiyu_ad_1"
TIER_TAGS = {"钻石卡": "VIP客户", "金卡": "重要客户", "银卡": "银卡客户", "普通会员": "普通客户"}



def write_config(tmp_path, database_url: str, redis_url: str, crm_config: dict, wecom_config: dict) -> Path:
    # JSON is YAML: the sandboxes' config dicts go in verbatim (no ${…} in them).
    path = tmp_path / "hub.yaml"
    path.write_text(
        f"""hub:
  database_url: "{database_url}"
  redis_url: "{redis_url}"
  var_dir: "{tmp_path}/var"
  backoff_base: 1s
  backoff_cap: 2s
  max_attempts: 3
identity:
  default_region: CN
fields:
  name: {{prefer: crm unless blank}}
  city: {{prefer: crm unless blank}}
  tier: {{prefer: crm}}
{LOOKUPS}
connectors:
  {CRM}:
    type: sql
    config: {json.dumps(crm_config, ensure_ascii=False)}
    streams:
      rows: {{mapping: "{MAPPINGS / 'sql.rows.yaml'}"}}
    sinks:
      rows:
        mapping: "{MAPPINGS / 'sql.rows.out.yaml'}"
        sources: []                # the demo's [feiyu_ads]: no Feiyu instance here
        mode: live
  {WECOM}:
    type: wecom
    config: {json.dumps(wecom_config, ensure_ascii=False)}
    streams:
      external_contacts: {{mapping: "{MAPPINGS / 'wecom.external_contacts.yaml'}"}}
    sinks:
      tags:
        mapping: "{MAPPINGS / 'wecom.tags.out.yaml'}"
        sources: [{CRM}]
        mode: live
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def hub(tmp_path, db, database_url, redis_url, redis_conn):
    crm, wecom = SqlSandbox(seed_count=3), WeComSandbox()
    router = SandboxRouter()
    base = router.mount(wecom, f"/sandbox/{WECOM}")
    runtime = Runtime(load_config(write_config(tmp_path, database_url, redis_url, crm.config_for(""), wecom.config_for(base)), env={}))
    set_current(runtime)
    with router:
        yield runtime, crm, wecom, router
    runtime.close()
    set_current(None)


def scalar(runtime, stmt):
    with runtime.db.session() as s:
        return s.scalar(stmt)


def contact_of(runtime, kind: str, value: str) -> int | None:
    """The surviving contact holding identity ``kind``/``value``."""
    cid = scalar(runtime, select(Identity.contact_id).where(Identity.kind == kind, Identity.value == value))
    while cid is not None:
        parent = scalar(runtime, select(Contact.merged_into).where(Contact.id == cid))
        if parent is None:
            return cid
        cid = parent
    return None


def test_wecom_friend_joins_crm_customer_and_tier_change_tags_without_echo(hub):
    runtime, crm, wecom, router = hub

    # -- 08:30 the CRM's customers come in --------------------------------------------------
    first = sync_inline(runtime, CRM, "rows")
    assert first["error"] is None and first["read"] == 3 and first["processed"] == 3, first
    assert first["delivered"] == 0, first  # no WeCom id yet: nothing to tag
    customer_id = "1"
    customer = crm.row(customer_id)
    mobile = customer["phone"]
    assert len(mobile) == 11 and mobile.isdigit(), mobile  # the CRM's national form
    e164 = "+86" + mobile
    crm_contact = contact_of(runtime, "crm_id", f"{CRM}:{customer_id}")
    assert crm_contact is not None
    assert contact_of(runtime, "phone", e164) == crm_contact

    # -- 11:02 she adds 张三 through the Feiyu ad's channel code ------------------------------
    wecom.add_channel_code(state=STATE, user=["zhangsan"], remark="飞鱼广告1")
    added = wecom.add_friend(name="微信昵称小林", state=STATE, remark_mobiles=[mobile], remark="小林-飞鱼线索",
                             gender=2, at="2026-01-05T11:02:00+08:00")
    ext, relation = added["external_userid"], added["relation"]
    assert added["userid"] == "zhangsan"

    # -- 11:45 the WeCom scan reads every relation -------------------------------------------
    contacts_before = scalar(runtime, select(func.count()).select_from(Contact))
    scan = sync_inline(runtime, WECOM, "external_contacts")
    assert scan["error"] is None and scan["rejected"] == 0, scan
    # every relation of a member with the customer-contact permission (not 赵六's: he left)
    followed = [r for r in wecom.relations if r[1] in wecom.follow_users]
    assert scan["read"] == len(followed) and scan["processed"] == len(followed), scan
    # she just became addressable in WeCom: her current CRM tier goes out as a tag at once
    # (convergence: the tier was set before the relation existed; nothing else moves)
    assert scan["delivered"] == 1, scan

    # attached to the existing CRM contact: no contact created for her, none merged away
    assert contact_of(runtime, "wecom_external_userid", ext) == crm_contact
    assert contact_of(runtime, "crm_id", f"{CRM}:{customer_id}") == crm_contact
    assert contact_of(runtime, "phone", e164) == crm_contact
    assert scalar(runtime, select(Contact.merged_into).where(Contact.id == crm_contact)) is None
    others = len(followed) - 1  # seeded relations: random mobiles, their own contacts
    assert scalar(runtime, select(func.count()).select_from(Contact)) == contacts_before + others
    with runtime.db.session() as s:
        identities = set(s.execute(select(Identity.kind, Identity.value).where(Identity.contact_id == crm_contact)).all())
        attributes = {a.name: a for a in s.scalars(select(ContactAttribute).where(ContactAttribute.contact_id == crm_contact))}
        events = list(s.scalars(select(Event).where(Event.contact_id == crm_contact, Event.kind == "wecom_friend_added")))
        links = set(s.execute(select(Link.connector, Link.stream, Link.native_id).where(Link.contact_id == crm_contact)).all())
    assert {("crm_id", f"{CRM}:{customer_id}"), ("wecom_external_userid", ext), ("phone", e164)} <= identities, identities
    assert attributes["source_channel"].value == STATE and attributes["source_channel"].connector == WECOM
    assert attributes["owner"].value == "zhangsan"
    # the CRM owns name and tier: WeCom's nickname does not replace them
    assert attributes["name"].value == customer["name"] and attributes["name"].connector == CRM
    assert attributes["tier"].value == customer["tier"]
    assert len(events) == 1, events
    (event,) = events
    assert event.connector == WECOM and event.native_id == f"{relation}:added"
    assert event.data["state"] == STATE and event.data["userid"] == "zhangsan"
    assert {(CRM, "rows", customer_id), (WECOM, "external_contacts", relation)} <= links, links
    assert len(wecom.effects("tags")) == 1
    assert f"客户等级/{TIER_TAGS[customer['tier']]}" in wecom.relation_tags(relation)
    assert crm.effects("rows") == []

    # -- 16:30 the CRM upgrades her ----------------------------------------------------------
    assert customer["tier"] != "钻石卡"
    crm.update_record("rows", customer_id)  # a CRM user sets tier = 钻石卡
    upgrade = sync_inline(runtime, CRM, "rows")
    assert upgrade["error"] is None and upgrade["new"] == 1 and upgrade["processed"] == 1, upgrade
    assert upgrade["delivered"] == 1 and upgrade["dead"] == 0 and upgrade["retrying"] == 0, upgrade
    tag_writes = wecom.effects("tags")
    assert len(tag_writes) == 2, tag_writes
    write = tag_writes[-1]
    vip = next(t["id"] for g in wecom.tag_groups if g["group_name"] == "客户等级" for t in g["tag"] if t["name"] == "VIP客户")
    assert write["userid"] == "zhangsan" and write["external_userid"] == ext
    assert write["add_tag"] == [vip]
    assert vip not in write["remove_tag"]
    assert "客户等级/VIP客户" in wecom.relation_tags(relation)
    assert ("POST", f"/sandbox/{WECOM}/cgi-bin/externalcontact/mark_tag") in router.calls
    with runtime.db.session() as s:
        delivered = s.execute(select(OutboxRow.connector, OutboxRow.sink, OutboxRow.contact_id, OutboxRow.status)).all()
    assert delivered == [(WECOM, "tags", crm_contact, "delivered")] * 2, delivered
    assert crm.effects("rows") == []

    # -- the next WeCom scan reads our own tag write back: no new change anywhere ------------
    outbox_before = scalar(runtime, select(func.count()).select_from(OutboxRow))
    marks_before = router.calls.count(("POST", f"/sandbox/{WECOM}/cgi-bin/externalcontact/mark_tag"))
    back = sync_inline(runtime, WECOM, "external_contacts")
    assert back["error"] is None and back["rejected"] == 0, back
    assert back["delivered"] == 0 and back["retrying"] == 0 and back["dead"] == 0, back
    assert scalar(runtime, select(func.count()).select_from(OutboxRow)) == outbox_before, "the tag write echoed into the outbox"
    assert len(wecom.effects("tags")) == 2, wecom.effects("tags")
    assert router.calls.count(("POST", f"/sandbox/{WECOM}/cgi-bin/externalcontact/mark_tag")) == marks_before
    assert crm.effects("rows") == [], "the WeCom tag write came back to the CRM"
    assert contact_of(runtime, "wecom_external_userid", ext) == crm_contact
    assert scalar(runtime, select(ContactAttribute.value).where(ContactAttribute.contact_id == crm_contact,
                                                                ContactAttribute.name == "tier")) == "钻石卡"

    # and a quiet re-run of both sides reads nothing new and writes nothing
    quiet_crm = sync_inline(runtime, CRM, "rows")
    quiet_wecom = sync_inline(runtime, WECOM, "external_contacts")
    assert quiet_crm["new"] == 0 and quiet_crm["delivered"] == 0, quiet_crm
    assert quiet_wecom["new"] == 0 and quiet_wecom["delivered"] == 0, quiet_wecom
    assert scalar(runtime, select(func.count()).select_from(InboxRow).where(InboxRow.status == "pending")) == 0
    assert len(wecom.effects("tags")) == 2 and crm.effects("rows") == []
