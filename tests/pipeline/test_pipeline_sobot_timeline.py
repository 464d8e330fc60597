"""Sobot (智齿) tickets reach the timeline as Udesk's do: the Open Platform 5.0 pull
(query_tickets_by_update_time) through the shipped mapping onto the customer's contact."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from connectors.ticketing.sobot.sandbox import SobotSandbox
from hub.config import load_config
from hub.connector.tokens import clear_local_tokens
from hub.pipeline.inline import sync_inline
from hub.runtime import Runtime
from hub.store.models import Event, Identity
from hub.testing import SandboxRouter

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


def test_sobot_tickets_become_ticket_events_on_the_customers_contact(tmp_path, db, database_url, redis_url, redis_conn):
    clear_local_tokens()
    sobot, router = SobotSandbox(), SandboxRouter()
    base = router.mount(sobot, "/sandbox/sobot_main")
    config = {**sobot.config_for(base), "initial_days": 7}
    path = tmp_path / "hub.yaml"
    path.write_text(f"""hub:
  database_url: "{database_url}"
  redis_url: "{redis_url}"
  var_dir: "{tmp_path}/var"
identity:
  default_region: CN
connectors:
  sobot_main:
    type: sobot
    config: {json.dumps(config, ensure_ascii=False)}
    streams:
      tickets: {{mapping: "{MAPPINGS / 'sobot.tickets.yaml'}"}}
""", encoding="utf-8")
    runtime = Runtime(load_config(path, env={}))
    try:
        with router:
            (tid,) = sobot.add_records("tickets", 1)
            phone = "+86" + sobot.tickets[tid]["user_tels"]
            first = sync_inline(runtime, "sobot_main", "tickets")
            sobot.reply(tid, "已安排上门", status="1")
            second = sync_inline(runtime, "sobot_main", "tickets")
        assert first["error"] is None and second["error"] is None, (first, second)
        with runtime.db.session() as s:
            contact = s.scalar(select(Identity.contact_id).where(Identity.kind == "phone", Identity.value == phone))
            kinds = s.execute(select(Event.kind, Event.native_id).where(Event.contact_id == contact).order_by(Event.id)).all()
        assert [k for k, _ in kinds] == ["ticket_opened", "ticket_updated"]
        assert kinds[0][1] == f"{tid}:opened"
    finally:
        runtime.close()
