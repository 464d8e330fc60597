"""Helpers for the automation tests: a hub with automations on the real test backends: a CRM (the example connector's
``contacts`` stream, mapped by ``crm.contacts.yaml``) feeding the hub, and a WeCom instance
whose ``messages`` and ``tags`` sinks the automations write to. Records go straight into
the inbox and are processed as any pull's would be; nothing is delivered (the tests read
the outbox), so no remote is needed."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timedelta, timezone
from itertools import count
from pathlib import Path

from sqlalchemy import select

from connectors.wecom.sandbox import WeComSandbox
from hub.config import load_config
from hub.connector import Record
from hub.pipeline.ingest import store_records
from hub.pipeline.process import process_inbox
from hub.runtime import Runtime, set_current
from hub.store.models import AutomationAction, JourneyEnrollment, OutboxRow
from hub.testing import SandboxRouter

HERE = Path(__file__).parent


def config_text(tmp_path: Path, database_url: str, redis_url: str, automations: str, settings: str = "",
                wecom: dict | None = None) -> str:
    wecom = wecom or WeComSandbox().config_for("http://sandbox.hub.test/sandbox/wecom_sales")
    return f"""hub:
  database_url: "{database_url}"
  redis_url: "{redis_url}"
  var_dir: "{tmp_path}/var"
connectors:
  crm:
    type: example
    config: {{base_url: "http://sandbox.hub.test/sandbox/crm", api_key: sandbox-api-key-0001, webhook_secret: sandbox-webhook-secret}}
    streams:
      contacts: {{mapping: "{HERE / 'crm.contacts.yaml'}"}}
  wecom_sales:
    type: wecom
    config: {json.dumps(wecom, ensure_ascii=False)}
    sinks:
      messages: {{mode: live, sources: []}}
      tags: {{mode: live, sources: []}}
lookups:  # what the shipped wecom.tags.out.yaml reads
  crm_tier_to_wecom_tag: {{金卡: 客户等级/VIP客户}}
  crm_tier_to_wecom_untag: {{金卡: [客户等级/普通客户]}}
  crm_segment_to_wecom_tag: {{}}
automation_settings:
  dir: "{tmp_path}/automations"
{textwrap.indent(settings, '  ')}
automation_templates:
  trial_guide: {{sender: "{{attributes.owner}}", external_userid: "{{identities.wecom_external_userid}}", text: "试用指南：三步上手"}}
  trial_case: {{sender: "{{attributes.owner}}", external_userid: "{{identities.wecom_external_userid}}", text: "客户案例"}}
automations:
{textwrap.indent(textwrap.dedent(automations).strip(), '  ')}
"""


class AutoHub:
    """The runtime plus helpers to feed CRM records and read what automations did."""

    def __init__(self, runtime: Runtime, wecom: WeComSandbox):
        self.runtime = runtime
        self.wecom = wecom  # served through the router: delivery reaches it
        self._seq = count(1)

    def feed(self, *records: dict) -> list[int]:
        """Store CRM contact records in the inbox and process them; returns new outbox ids."""
        rows = []
        for data in records:
            n = next(self._seq)
            # Later records are newer (the field policy is "latest"), unless a test says otherwise.
            data = {"updated_at": (datetime(2026, 12, 1, tzinfo=timezone.utc) + timedelta(minutes=n)).isoformat(), **data}
            rows.append(Record(native_id=str(data["id"]), data=data))
        with self.runtime.db.session() as s:
            ids, _ = store_records(s, "crm", "contacts", rows)
        return process_inbox(self.runtime, ids).outbox_ids

    def reprocess_all(self) -> list[int]:
        """Mark every inbox row pending again and process it (a replay / remap)."""
        from sqlalchemy import update

        from hub.store.models import InboxRow

        with self.runtime.db.session() as s:
            ids = list(s.scalars(select(InboxRow.id)))
            s.execute(update(InboxRow).values(status="pending"))
        return process_inbox(self.runtime, ids).outbox_ids

    def outbox(self, sink: str | None = None) -> list[OutboxRow]:
        with self.runtime.db.session() as s:
            q = select(OutboxRow).order_by(OutboxRow.id)
            if sink:
                q = q.where(OutboxRow.sink == sink)
            return list(s.scalars(q))

    def actions(self, automation: str | None = None) -> list[AutomationAction]:
        with self.runtime.db.session() as s:
            q = select(AutomationAction).order_by(AutomationAction.id)
            if automation:
                q = q.where(AutomationAction.automation == automation)
            return list(s.scalars(q))

    def enrollments(self) -> list[JourneyEnrollment]:
        with self.runtime.db.session() as s:
            return list(s.scalars(select(JourneyEnrollment).order_by(JourneyEnrollment.id)))

    def approve(self, *names: str) -> None:
        from hub.automations.control import approve

        for name in names:
            approve(self.runtime, name, actor="test")


def at(text: str) -> datetime:
    """An aware UTC datetime from ISO text (tests pass explicit times, never the clock)."""
    return datetime.fromisoformat(text).astimezone(timezone.utc)


TRIAL_SOP = """
trial_sop:
  enroll: {attribute: stage, becomes: 要求试用}
  exit: [{attribute: stage, changes: true}, {event: chat_message, from: customer}]
  steps:
    - {after: 0m, do: {sink: wecom_sales.messages, template: trial_guide}}
    - {after: 2d, do: {sink: wecom_sales.messages, template: trial_case}, at: "10:00-20:00"}
    - {after: 5d, do: {tag: 试用回访}}
"""

LEAD = {"id": 7, "name": "李先生", "wxid": "wmBBB", "owner": "lisi", "stage": "兴趣"}
