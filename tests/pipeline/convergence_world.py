"""A small world for the convergence tests: the demo's wiring on the real backends.

A CRM (a real SQLite database through the SQL connector, sink fed by Feiyu leads, matching
existing rows by phone), Feiyu leads, the Clink call center and WeCom (customer relations
in, tier tags out), each through its sandbox over HTTP (``responses``). Helpers play what
people do in those systems and run the hub's pipeline in-process, so a test can feed the
same people in any order and compare where everything ends.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from connectors.callcenter.sandbox import ClinkSandbox
from connectors.feiyu.sandbox import FeiyuSandbox
from connectors.sql.sandbox import SqlSandbox
from connectors.wecom.sandbox import WeComSandbox
from hub.config import load_config
from hub.pipeline.deliver import deliver
from hub.pipeline.inline import sync_inline
from hub.pipeline.process import process_inbox
from hub.runtime import Runtime
from hub.store.models import Contact, Identity, InboxRow, MergeConflict, OutboxRow
from hub.testing import SandboxRouter

REPO = Path(__file__).resolve().parents[2]
MAPPINGS = REPO / "mappings"

CRM, FEIYU, CLINK, WECOM = "crm", "feiyu_ads", "cc_400", "wecom_sales"
TIER_TAG = {"钻石卡": "客户等级/VIP客户", "金卡": "客户等级/重要客户", "银卡": "客户等级/银卡客户", "普通会员": "客户等级/普通客户"}

LOOKUPS = """
lookups:
  crm_tier_to_wecom_tag:
    钻石卡: 客户等级/VIP客户
    金卡: 客户等级/重要客户
    银卡: 客户等级/银卡客户
    普通会员: 客户等级/普通客户
  crm_tier_to_wecom_untag:
    钻石卡: [客户等级/重要客户, 客户等级/银卡客户, 客户等级/普通客户]
    金卡: [客户等级/VIP客户, 客户等级/银卡客户, 客户等级/普通客户]
    银卡: [客户等级/VIP客户, 客户等级/重要客户, 客户等级/普通客户]
    普通会员: [客户等级/VIP客户, 客户等级/重要客户, 客户等级/银卡客户]
  crm_segment_to_wecom_tag: {}
"""


def write_config(tmp_path, database_url: str, redis_url: str, configs: dict[str, dict], *, create_after: str = "0s",
                 match_on: bool = True, tags_mode: str = "live") -> Path:
    crm_config = dict(configs[CRM])
    if match_on:
        crm_config["sinks"] = {name: {**spec, "match_on": ["phone"]} for name, spec in crm_config["sinks"].items()}
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
        sources: [{FEIYU}]
        create_after: {create_after}
        mode: live
  {FEIYU}:
    type: feiyu
    config: {json.dumps(configs[FEIYU], ensure_ascii=False)}
    streams:
      leads: {{mapping: "{MAPPINGS / 'feiyu.leads.yaml'}"}}
  {CLINK}:
    type: clink
    config: {json.dumps(configs[CLINK], ensure_ascii=False)}
    streams:
      cdr_inbound: {{mapping: "{MAPPINGS / 'clink.cdr_inbound.yaml'}"}}
  {WECOM}:
    type: wecom
    config: {json.dumps(configs[WECOM], ensure_ascii=False)}
    streams:
      external_contacts: {{mapping: "{MAPPINGS / 'wecom.external_contacts.yaml'}"}}
    sinks:
      tags:
        mapping: "{MAPPINGS / 'wecom.tags.out.yaml'}"
        sources: [{CRM}]
        mode: {tags_mode}
""",
        encoding="utf-8",
    )
    return path


@dataclass
class Person:
    """Someone the world knows in some of its systems."""

    n: int
    crm_row: bool = False
    lead: bool = False
    wecom: bool = False
    call: bool = False
    upgrade: bool = False  # the CRM changes the tier after the first pull

    @property
    def mobile(self) -> str:
        return f"139{self.n:08d}"

    @property
    def e164(self) -> str:
        return "+86" + self.mobile

    @property
    def name(self) -> str:
        return f"客户{self.n}"

    @property
    def tier(self) -> str:
        return "金卡" if self.upgrade else "普通会员"


class World:
    def __init__(self, tmp_path, database_url: str, redis_url: str, *, create_after: str = "0s", match_on: bool = True,
                 tags_mode: str = "live"):
        self.crm, self.wecom, self.feiyu, self.clink = SqlSandbox(seed_count=0), WeComSandbox(), FeiyuSandbox(), ClinkSandbox()
        self.router = SandboxRouter()
        configs = {
            CRM: self.crm.config_for(""),
            WECOM: self.wecom.config_for(self.router.mount(self.wecom, f"/sandbox/{WECOM}")),
            FEIYU: self.feiyu.config_for(self.router.mount(self.feiyu, f"/sandbox/{FEIYU}")),
            CLINK: self.clink.config_for(self.router.mount(self.clink, f"/sandbox/{CLINK}")),
        }
        self.runtime = Runtime(load_config(write_config(tmp_path, database_url, redis_url, configs, create_after=create_after,
                                                       match_on=match_on, tags_mode=tags_mode), env={}))
        self.crm_ids: dict[int, str] = {}
        self.relations: dict[int, str] = {}
        self.channel = self.wecom.add_channel_code(state="feiyu_ad_1", user=["zhangsan"], remark="飞鱼广告1")

    # -- what people do in each system ---------------------------------------------------
    def crm_insert(self, p: Person) -> None:
        stamp = self.crm._tick(advance=True)
        self.crm.execute("INSERT INTO customers (name, phone, tier, city, updated_at) VALUES (?, ?, '普通会员', '杭州', ?)",
                         (p.name, p.mobile, stamp))
        self.crm_ids[p.n] = str(self.crm.execute("SELECT id FROM customers WHERE phone = ?", (p.mobile,))[0][0])

    def crm_upgrade(self, p: Person) -> None:
        self.crm.execute("UPDATE customers SET tier = '金卡', updated_at = ? WHERE id = ?",
                         (self.crm._tick(advance=True), int(self.crm_ids[p.n])))

    def lead_arrives(self, p: Person) -> None:
        self.feiyu.new_lead(telephone=p.mobile, name=p.name)

    def wecom_add(self, p: Person) -> None:
        added = self.wecom.add_friend(name=p.name, state="feiyu_ad_1", remark_mobiles=[p.mobile])
        self.relations[p.n] = added["relation"]

    def call_comes_in(self, p: Person) -> None:
        self.clink.new_call("inbound", p.mobile, int(datetime.now(timezone.utc).timestamp()) - 6 * 3600 - p.n)

    # -- the hub ---------------------------------------------------------------------------
    def pull(self, instance: str) -> dict:
        stream = {CRM: "rows", FEIYU: "leads", CLINK: "cdr_inbound", WECOM: "external_contacts"}[instance]
        with self.router:
            return sync_inline(self.runtime, instance, stream)

    def ingest(self, instance: str) -> None:
        """Pull ``instance`` into the inbox only; processing happens when a test says so."""
        from hub.pipeline.pull import pull

        stream = {CRM: "rows", FEIYU: "leads", CLINK: "cdr_inbound", WECOM: "external_contacts"}[instance]
        with self.router:
            pull(self.runtime, instance, stream)

    def pending_inbox(self) -> list[int]:
        with self.runtime.db.session() as s:
            return list(s.scalars(select(InboxRow.id).where(InboxRow.status == "pending").order_by(InboxRow.id)))

    def process(self, ids: list[int], workers: int = 1) -> list[int]:
        """Process ``ids`` split among ``workers`` concurrent threads; the outbox ids made."""
        if workers <= 1:
            return process_inbox(self.runtime, ids).outbox_ids
        chunks = [ids[i::workers] for i in range(workers)]
        made: list[int] = []
        errors: list[BaseException] = []

        def run(chunk: list[int]) -> None:
            try:
                made.extend(process_inbox(self.runtime, chunk).outbox_ids)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(c,)) for c in chunks if c]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return made

    def deliver_due(self, *, time_passes: bool = False) -> int:
        """Deliver what is due; the number of rows written, matched or superseded."""
        with self.runtime.db.session() as s:
            if time_passes:  # every settle window and retry delay has run out
                s.execute(update(OutboxRow).where(OutboxRow.status == "pending").values(
                    next_attempt_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
            ids = list(s.scalars(select(OutboxRow.id).where(OutboxRow.status == "pending").order_by(OutboxRow.id)))
        if not ids:
            return 0
        with self.router:
            counts = deliver(self.runtime, ids, on_matched=lambda found: None)  # the inbox rows wait for `process`
        return counts.delivered + counts.matched + counts.superseded + counts.dead

    def quiesce(self, rounds: int = 8) -> None:
        """Inputs have stopped: pull everything, process, deliver, until nothing is left."""
        for _ in range(rounds):
            new = sum(self.pull(instance)["new"] for instance in (CRM, FEIYU, CLINK, WECOM))
            pending = self.pending_inbox()
            if pending:
                self.process(pending)
            moved = self.deliver_due(time_passes=True)
            with self.runtime.db.session() as s:
                busy = s.scalar(select(OutboxRow.id).where(OutboxRow.status.in_(("pending", "sending"))).limit(1))
            if new == 0 and moved == 0 and busy is None and not self.pending_inbox():
                return
        raise AssertionError("the hub did not go quiet")

    # -- what the tests inspect ---------------------------------------------------------------
    def contact_of(self, kind: str, value: str) -> int | None:
        with self.runtime.db.session() as s:
            cid = s.scalar(select(Identity.contact_id).where(Identity.kind == kind, Identity.value == value))
            while cid is not None:
                parent = s.scalar(select(Contact.merged_into).where(Contact.id == cid))
                if parent is None:
                    return cid
                cid = parent
        return None

    def crm_rows_for(self, p: Person) -> list[dict[str, Any]]:
        with self.crm.connect() as conn:
            rows = conn.execute("SELECT id, name, phone, tier FROM customers WHERE phone IN (?, ?)", (p.mobile, p.e164)).fetchall()
        return [dict(zip(("id", "name", "phone", "tier"), r)) for r in rows]

    def open_conflicts(self) -> list[tuple]:
        with self.runtime.db.session() as s:
            return s.execute(select(MergeConflict.kind, MergeConflict.value, MergeConflict.reason)
                             .where(MergeConflict.status == "open")).all()

    def end_state(self, people: list[Person]) -> dict[int, dict[str, Any]]:
        """Per person: what each system ends up holding (ids replaced by what they mean)."""
        out = {}
        for p in people:
            contact = self.contact_of("phone", p.e164)
            rows = self.crm_rows_for(p)
            tags = sorted(t for t in self.wecom.relation_tags(self.relations[p.n]) if t.startswith("客户等级/")) if p.n in self.relations else None
            out[p.n] = {
                "one_contact": contact is not None and all(
                    self.contact_of(kind, value) == contact for kind, value in self._ids_of(p)),
                "crm_rows": sorted((r["name"], r["phone"][-11:], r["tier"]) for r in rows),
                "wecom_tier_tags": tags,
            }
        return out

    def _ids_of(self, p: Person) -> list[tuple[str, str]]:
        ids = [("phone", p.e164)]
        if p.n in self.crm_ids:
            ids.append(("crm_id", f"{CRM}:{self.crm_ids[p.n]}"))
        if p.n in self.relations:
            ids.append(("wecom_external_userid", self.relations[p.n].partition(":")[0]))
        return ids


def expected_state(people: list[Person]) -> dict[int, dict[str, Any]]:
    """What the persons imply, whatever the order their records arrived in."""
    out = {}
    for p in people:
        if p.crm_row:
            rows = [(p.name, p.mobile, p.tier)]
        elif p.lead:
            rows = [(p.name, p.mobile, "普通会员")]  # created by the hub; the CRM's default tier
        else:
            rows = []
        has_tier = p.crm_row or p.lead  # a hub-made CRM row comes back with the CRM's default tier
        out[p.n] = {
            "one_contact": True,
            "crm_rows": rows,
            "wecom_tier_tags": ([TIER_TAG[p.tier]] if has_tier else []) if p.wecom else None,
        }
    return out
