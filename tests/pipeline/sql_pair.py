"""A CRM table feeding a write-only members table through the hub (the connector's SQLite
sandboxes), on the test backends. Shared by the dead-letter and sync CLI tests."""

from __future__ import annotations

import json

import pytest

from hub.config import load_config
from hub.runtime import Runtime, set_current

from connectors.sql.sandbox import SqlSandbox

BROKEN = """\
direction: outbound
connector: sql
sink: rows
fields:
  name: attributes.name
  phone: "identities.phone[0]"
  level: attributes.tier          # the members table calls it `tier`: refused by the sink
"""
FIXED = BROKEN.replace("  level: attributes.tier          # the members table calls it `tier`: refused by the sink", "  tier: attributes.tier")


def write_pair_config(tmp_path, database_url, redis_url, src: SqlSandbox, dst: SqlSandbox) -> str:
    dst_config = dst.config_for("")
    dst_config.pop("streams")  # write-only: live without approval
    path = tmp_path / "hub.yaml"
    path.write_text(
        f"""hub:
  database_url: "{database_url}"
  redis_url: "{redis_url}"
  var_dir: "{tmp_path}/var"
  max_attempts: 2
connectors:
  crm:
    type: sql
    config: {json.dumps(src.config_for(""))}
    streams:
      rows: {{}}
  members:
    type: sql
    config: {json.dumps(dst_config)}
    sinks:
      rows: {{mapping: "{tmp_path}/members.rows.out.yaml"}}
""",
        encoding="utf-8",
    )
    return str(path)


@pytest.fixture
def crm_to_members(tmp_path, db, database_url, redis_url, redis_conn):
    """``(runtime, src, dst, tmp_path)``; the members mapping starts out BROKEN."""
    src, dst = SqlSandbox(seed_count=0), SqlSandbox(seed_count=0)
    (tmp_path / "members.rows.out.yaml").write_text(BROKEN, encoding="utf-8")
    runtime = Runtime(load_config(write_pair_config(tmp_path, database_url, redis_url, src, dst), env={}))
    set_current(runtime)
    yield runtime, src, dst, tmp_path
    runtime.close()
    set_current(None)
