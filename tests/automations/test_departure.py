"""Departure hand-over (``on: {member: left}`` + ``transfer_customers``), end to end on the real
backends with real HTTP into the WeCom sandbox: the delete_user callback and the unassigned
list signal a departure; the ticker's departures job lists the member's customers, chooses
the takeover, writes ``resigned/transfer_customer`` batches of ≤ 100 through the outbox,
follows ``transfer_result`` and records every step on each customer's timeline."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select, update

from connectors.wecom.sandbox import WeComSandbox
from hub.automations.departure import LEASE, advance_departures
from hub.cli import cli
from hub.config import load_config
from hub.config.errors import ConfigError
from hub.pipeline.inline import run_inline, sync_inline
from hub.pipeline.webhook import ingest_webhook
from hub.runtime import Runtime, set_current
from hub.store.models import AutomationAction, Departure, Event, Identity, InboxRow, OutboxRow
from hub.store.types import utcnow
from hub.testing import SandboxRouter

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
WECOM = "wecom_sales"
PAST = datetime(2026, 1, 1, tzinfo=timezone.utc)  # an outbox row due at once

MANAGER = """
departure:
  on: {member: left}
  do: {transfer_customers: {to: manager_of_member, fallback: sunqi}}
"""


def config_text(tmp_path, database_url: str, redis_url: str, wecom: dict, automations: str, transfers_mode: str = "live") -> str:
    import textwrap

    return f"""hub:
  database_url: "{database_url}"
  redis_url: "{redis_url}"
  var_dir: "{tmp_path}/var"
  backoff_base: 1s
  backoff_cap: 2s
  max_attempts: 3
connectors:
  {WECOM}:
    type: wecom
    config: {json.dumps(wecom, ensure_ascii=False)}
    streams:
      external_contacts: {{mapping: "{MAPPINGS / 'wecom.external_contacts.yaml'}"}}
      unassigned: {{mapping: "{MAPPINGS / 'wecom.unassigned.yaml'}"}}
      follow_users: {{mapping: "{MAPPINGS / 'wecom.follow_users.yaml'}"}}
    sinks:
      transfers: {{mode: {transfers_mode}, sources: []}}
automation_settings:
  dir: "{tmp_path}/automations"
automations:
{textwrap.indent(textwrap.dedent(automations).strip(), '  ')}
"""


class DepHub:
    def __init__(self, runtime: Runtime, wecom: WeComSandbox):
        self.runtime, self.wecom = runtime, wecom
        self.now = utcnow()  # the job's clock; tests move it on (never assert it)

    def sync(self, stream: str) -> dict:
        got = sync_inline(self.runtime, WECOM, stream)
        assert got["rejected"] == 0 and not got["error"], got
        return got

    def push(self, fields: dict) -> None:
        """One encrypted WeCom callback through the webhook door, then processing."""
        ingest_webhook(self.runtime, WECOM, self.wecom.callback(fields))
        with self.runtime.db.session() as s:
            pending = list(s.scalars(select(InboxRow.id).where(InboxRow.status == "pending")))
        assert run_inline(self.runtime, inbox_ids=pending)["rejected"] == 0

    def depart(self, userid: str, *, callback: bool = True) -> None:
        self.wecom.depart_member(userid)
        if callback:
            self.push({"Event": "change_contact", "ChangeType": "delete_user", "UserID": userid, "CreateTime": 1767571200})

    def advance(self, hours: float = 0) -> dict:
        """The ticker's departures job at ``now + hours``, then delivery of what it wrote."""
        self.now = max(self.now, utcnow()) + timedelta(hours=hours)  # never behind what was recorded
        done = advance_departures(self.runtime, now=self.now)
        delivered = run_inline(self.runtime, outbox_ids=done.outbox_ids) if done.outbox_ids else {}
        return {"queued": done.queued, "changed": done.changed, "previewed": done.previewed, "outbox": done.outbox_ids, **delivered}

    def approve(self, name: str = "departure") -> None:
        from hub.automations.control import approve

        approve(self.runtime, name, actor="test")

    def actions(self) -> list[AutomationAction]:
        with self.runtime.db.session() as s:
            rows = list(s.scalars(select(AutomationAction).where(AutomationAction.kind == "transfer").order_by(AutomationAction.id)))
            s.expunge_all()
        return rows

    def departures(self) -> list[Departure]:
        with self.runtime.db.session() as s:
            rows = list(s.scalars(select(Departure).order_by(Departure.id)))
            s.expunge_all()
        return rows

    def transfers(self) -> list[OutboxRow]:
        with self.runtime.db.session() as s:
            rows = list(s.scalars(select(OutboxRow).where(OutboxRow.sink == "transfers").order_by(OutboxRow.id)))
            s.expunge_all()
        return rows

    def timeline(self, external_userid: str) -> list[Event]:
        with self.runtime.db.session() as s:
            cid = s.scalar(select(Identity.contact_id).where(Identity.kind == "wecom_external_userid", Identity.value == external_userid))
            rows = list(s.scalars(select(Event).where(Event.contact_id == cid, Event.kind == "automation").order_by(Event.id)))
            s.expunge_all()
        return rows

    def customers_of(self, userid: str) -> list[str]:
        return sorted(e for (e, u) in self.wecom.relations if u == userid)

    def accepted(self) -> dict[str, int]:
        """How often WeCom started a transfer per customer (errcode 0)."""
        counts: dict[str, int] = {}
        for effect in self.wecom.effects("transfers"):
            for c in effect["customer"]:
                if c["errcode"] == 0:
                    counts[c["external_userid"]] = counts.get(c["external_userid"], 0) + 1
        return counts


@pytest.fixture
def make_dep_hub(tmp_path, db, database_url, redis_url, redis_conn):
    opened = []

    def make(automations: str = MANAGER, *, approve: bool = True, transfers_mode: str = "live") -> DepHub:
        wecom, router = WeComSandbox(), SandboxRouter()
        base = router.mount(wecom, f"/sandbox/{WECOM}")
        path = tmp_path / "hub.yaml"
        path.write_text(config_text(tmp_path, database_url, redis_url, wecom.config_for(base), automations, transfers_mode), encoding="utf-8")
        runtime = Runtime(load_config(path, env={}))
        set_current(runtime)
        router.__enter__()
        opened.append((runtime, router))
        hub = DepHub(runtime, wecom)
        if approve:
            for name in runtime.config.automations.automations:
                hub.approve(name)
        return hub

    yield make
    for runtime, router in opened:
        router.__exit__(None, None, None)
        runtime.close()
    set_current(None)


# -- signals ---------------------------------------------------------------------------------


def test_a_delete_user_callback_hands_the_members_customers_to_their_manager(make_dep_hub):
    hub = make_dep_hub()
    hub.sync("external_contacts")
    customers = hub.customers_of("lisi")
    assert customers
    hub.depart("lisi")
    [dep] = hub.departures()
    assert (dep.connector, dep.member, dep.status, dep.signals) == (WECOM, "lisi", "open", 1)
    assert dep.source.startswith(f"{WECOM}.follow_users:lisi")

    got = hub.advance()
    assert got["queued"] == len(customers) and got["delivered"] == 1
    [row] = hub.transfers()
    assert row.payload == {"handover_userid": "lisi", "takeover_userid": "zhangsan", "external_userid": customers, "resigned": True}
    assert row.origin == "automation:departure" and row.idempotency_key == "auto:departure:wecom_sales:lisi:zhangsan:b1"
    assert [e["op"] for e in hub.wecom.effects("transfers")] == ["resigned"]
    assert {a.status for a in hub.actions()} == {"queued"}

    hub.advance(hours=1)  # transfer_result: waiting (WeCom takes over after 24 hours)
    assert {a.status for a in hub.actions()} == {"waiting"}
    hub.wecom.advance_transfers()
    hub.advance(hours=1)
    assert {a.status for a in hub.actions()} == {"done"}
    assert hub.departures()[0].status == "done" and hub.departures()[0].next_due_at is None
    said = [e.summary for e in hub.timeline(customers[0])]
    assert said == ["departure: 离职交接：李四（lisi） 的客户转给 张三（zhangsan）（第 1 批，待发送）",
                    "departure: 离职交接：已发起转接给 张三（zhangsan），等待接替",
                    "departure: 离职交接：已由 张三（zhangsan） 接替"]
    last = hub.timeline(customers[0])[-1].data
    assert (last["departed_member"], last["takeover"], last["transfer_status"]) == ("lisi", "zhangsan", "done")
    assert hub.advance(hours=2) == {"queued": 0, "changed": 0, "previewed": 0, "outbox": []}  # nothing due any more


def test_the_unassigned_list_signals_a_departure_without_any_callback(make_dep_hub):
    hub = make_dep_hub()
    waiting = hub.customers_of("zhaoliu")  # the sandbox's member who left before the hub ran
    assert waiting
    hub.sync("unassigned")
    [dep] = hub.departures()
    assert (dep.member, dep.signals) == ("zhaoliu", 1) and dep.source.startswith(f"{WECOM}.unassigned:")
    hub.advance()
    [row] = hub.transfers()
    assert row.payload["handover_userid"] == "zhaoliu" and row.payload["takeover_userid"] == "zhangsan"
    assert row.payload["external_userid"] == waiting


def test_a_re_signalled_departure_hands_over_once_and_later_customers_too(make_dep_hub):
    hub = make_dep_hub()
    hub.sync("external_contacts")
    first = hub.customers_of("lisi")
    hub.depart("lisi")
    hub.sync("unassigned")  # the same departure, once per waiting customer
    hub.push({"Event": "change_contact", "ChangeType": "delete_user", "UserID": "lisi", "CreateTime": 1767571300})
    [dep] = [d for d in hub.departures() if d.member == "lisi"]
    assert dep.signals >= 3
    hub.advance()
    hub.advance(hours=1)
    assert hub.accepted() == {c: 1 for c in first + hub.customers_of("zhaoliu")}
    assert len([a for a in hub.actions() if a.payload["member"] == "lisi"]) == len(first)

    later = hub.wecom.add_customer(userid="lisi").partition(":")[0]  # a pair that shows up later in unassigned
    hub.sync("unassigned")
    got = hub.advance()
    assert got["queued"] == 1
    newest = hub.transfers()[-1]
    assert newest.payload["external_userid"] == [later] and newest.idempotency_key.endswith(":lisi:zhangsan:b2")
    assert hub.accepted()[later] == 1 and all(n == 1 for n in hub.accepted().values())


def test_more_than_100_customers_go_in_batches_of_at_most_100(make_dep_hub):
    hub = make_dep_hub()
    for _ in range(230):
        hub.wecom.add_customer(userid="lisi")
    everyone = hub.customers_of("lisi")
    hub.depart("lisi", callback=False)
    hub.sync("unassigned")
    got = hub.advance()
    rows = [r for r in hub.transfers() if r.payload["handover_userid"] == "lisi"]
    assert [len(r.payload["external_userid"]) for r in rows] == [100, 100, len(everyone) - 200]
    assert [r.idempotency_key.rsplit(":", 1)[1] for r in rows] == ["b1", "b2", "b3"]
    assert sorted(c for r in rows for c in r.payload["external_userid"]) == everyone
    assert got["delivered"] == len(hub.transfers())
    assert all(len(e["customer"]) <= 100 for e in hub.wecom.effects("transfers"))
    batches = {a.payload["customer"]: a.payload["batch"] for a in hub.actions() if a.payload["member"] == "lisi"}
    assert sorted(set(batches.values())) == [1, 2, 3]


# -- choosing the takeover -----------------------------------------------------------------------


def test_without_a_manager_the_fallback_takes_over(make_dep_hub):
    hub = make_dep_hub()  # fallback: sunqi
    hub.sync("external_contacts")
    hub.depart("wangwu")  # wangwu has no direct_leader
    hub.advance()
    assert {r.payload["takeover_userid"] for r in hub.transfers()} == {"sunqi"}
    assert "fallback" in hub.departures()[0].detail


def test_a_named_member_takes_over(make_dep_hub):
    hub = make_dep_hub("""
    departure:
      on: {member: left}
      do: {transfer_customers: {to: wangwu}}
    """)
    hub.sync("external_contacts")
    hub.depart("lisi")
    hub.advance()
    assert {r.payload["takeover_userid"] for r in hub.transfers()} == {"wangwu"}


def test_round_robin_within_a_department(make_dep_hub):
    hub = make_dep_hub("""
    departure:
      on: {member: left}
      do: {transfer_customers: {to: {round_robin: {department: 2}}, fallback: sunqi}}
    """)
    added = hub.wecom.add_records("follow_users", 2)  # two more sales in department 2
    for _ in range(4):
        hub.wecom.add_customer(userid="lisi")
    hub.sync("external_contacts")
    customers = hub.customers_of("lisi")
    hub.depart("lisi")
    hub.advance()
    takeover = {a.payload["customer"]: a.payload["takeover"] for a in hub.actions()}
    pool = ["zhangsan", *added]  # lisi left, zhaoliu too: neither takes over
    assert [takeover[c] for c in customers] == [pool[i % 3] for i in range(len(customers))]
    assert {tuple(sorted(r.payload["external_userid"])) for r in hub.transfers()} == {
        tuple(sorted(c for c in customers if takeover[c] == who)) for who in pool}


def test_an_empty_department_falls_back_and_no_fallback_fails_visibly(make_dep_hub):
    hub = make_dep_hub("""
    departure:
      on: {member: left}
      do: {transfer_customers: {to: {round_robin: {department: 9}}, fallback: sunqi}}
    strict:
      on: {member: left}
      do: {transfer_customers: {to: {round_robin: {department: 9}}}}
    """)
    hub.sync("external_contacts")
    hub.depart("lisi")
    hub.advance()
    mine = [a for a in hub.actions() if a.automation == "departure"]
    assert {a.payload["takeover"] for a in mine} == {"sunqi"}
    strict = [a for a in hub.actions() if a.automation == "strict"]
    assert strict and {a.status for a in strict} == {"failed"} and "nobody to take over" in strict[0].detail
    assert "nobody to take over" in hub.timeline(strict[0].payload["customer"])[-1].summary + strict[0].detail


# -- following transfer_result -------------------------------------------------------------------


def test_transfer_results_end_in_done_refused_or_limit(make_dep_hub):
    hub = make_dep_hub()
    for _ in range(2):
        hub.wecom.add_customer(userid="lisi")
    hub.sync("external_contacts")
    a, b, c, *rest = hub.customers_of("lisi")
    hub.depart("lisi")
    hub.advance()
    hub.wecom.advance_transfers(refuse={a})
    hub.wecom.transfers[("lisi", "zhangsan", True)][b]["status"] = 4  # zhangsan has too many customers
    hub.advance(hours=1)
    state = {x.payload["customer"]: x.status for x in hub.actions()}
    assert (state[a], state[b], state[c]) == ("refused", "limit", "done")
    assert "客户拒绝" in hub.timeline(a)[-1].summary and "上限" in hub.timeline(b)[-1].summary
    assert hub.departures()[0].status == "done"


def test_a_customer_wecom_refused_in_the_request_fails_and_the_rest_go_on(make_dep_hub):
    hub = make_dep_hub()
    hub.sync("external_contacts")
    customers = hub.customers_of("lisi")
    hub.depart("lisi")
    gone = customers[0]
    del hub.wecom.relations[(gone, "lisi")]  # the customer deleted the member meanwhile: 40096
    hub.advance()
    hub.advance(hours=1)
    state = {x.payload["customer"]: (x.status, x.detail) for x in hub.actions()}
    assert state[gone] == ("failed", "WeCom errcode 40096")
    assert all(s == "waiting" for c, (s, _) in state.items() if c != gone)


# -- kills and retries -------------------------------------------------------------------------------


def test_a_job_run_twice_or_killed_never_transfers_twice(make_dep_hub, redis_conn):
    hub = make_dep_hub()
    hub.sync("external_contacts")
    customers = hub.customers_of("lisi")
    hub.depart("lisi")
    hub.now = utcnow()
    done = advance_departures(hub.runtime, now=hub.now)  # written, not yet delivered
    assert done.outbox_ids
    # The same job again (a retry after the worker died before it knew it had committed).
    with hub.runtime.db.session() as s:
        s.execute(update(Departure).values(next_due_at=hub.now))
    again = advance_departures(hub.runtime, now=hub.now)
    assert again.queued == 0 and again.outbox_ids == [] and len(hub.transfers()) == 1
    run_inline(hub.runtime, outbox_ids=done.outbox_ids)
    # Delivery killed after WeCom took the request: the reconciler sends the row again.
    with hub.runtime.db.session() as s:
        s.execute(update(OutboxRow).where(OutboxRow.id == done.outbox_ids[0]).values(status="pending", next_attempt_at=PAST))
    run_inline(hub.runtime, outbox_ids=done.outbox_ids)
    # ... and once more with the sink's memo lost (Redis restarted): WeCom answers 40129.
    for key in redis_conn.scan_iter("hub:wecom:written:*"):
        redis_conn.delete(key)
    with hub.runtime.db.session() as s:
        s.execute(update(OutboxRow).where(OutboxRow.id == done.outbox_ids[0]).values(status="pending", next_attempt_at=PAST))
    run_inline(hub.runtime, outbox_ids=done.outbox_ids)
    assert hub.accepted() == {c: 1 for c in customers}
    hub.advance(hours=1)
    assert {a.status for a in hub.actions()} == {"waiting"}


def test_a_job_that_dies_mid_way_is_picked_up_after_its_lease(make_dep_hub):
    hub = make_dep_hub()
    hub.sync("external_contacts")
    hub.depart("lisi")
    hub.wecom.fail_next("-1", times=1, path="user/get")  # the directory read fails: nothing is written
    first = hub.advance()
    assert first["queued"] == 0 and hub.transfers() == [] and "TransientError" in (hub.departures()[0].detail or "")
    assert hub.advance(hours=0.01)["queued"] == 0  # still leased
    later = hub.advance(hours=LEASE / 3600)
    assert later["queued"] == len(hub.customers_of("lisi")) and len(hub.transfers()) == 1


_hubs: dict = {}


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(st.sampled_from(["callback", "unassigned", "job", "deliver_again", "new_customer"]), min_size=1, max_size=8))
def test_any_interleaving_of_signals_and_jobs_transfers_each_customer_once(make_dep_hub, steps):
    # One hub per test run (the fixture is function-scoped; hypothesis runs every example in
    # it): each example is a member of their own who leaves.
    made = _hubs.get("hub")
    if made is None or made[0] is not make_dep_hub:
        made = _hubs["hub"] = (make_dep_hub, make_dep_hub())
    hub = made[1]
    (member,) = hub.wecom.add_records("follow_users", 1)
    for _ in range(3):
        hub.wecom.add_customer(userid=member)
    hub.sync("external_contacts")
    hub.wecom.depart_member(member)
    mine = lambda: [r for r in hub.transfers() if r.payload["handover_userid"] == member]  # noqa: E731
    for step in steps + ["unassigned", "job", "job"]:
        if step == "callback":
            hub.push({"Event": "change_contact", "ChangeType": "delete_user", "UserID": member, "CreateTime": 1767571200})
        elif step == "unassigned":
            hub.sync("unassigned")
        elif step == "job":
            hub.advance(hours=0.5)
        elif step == "new_customer":
            hub.wecom.add_customer(userid=member)
        elif mine():
            with hub.runtime.db.session() as s:
                s.execute(update(OutboxRow).where(OutboxRow.id.in_([r.id for r in mine()])).values(status="pending", next_attempt_at=PAST))
            run_inline(hub.runtime, outbox_ids=[r.id for r in mine()])
    accepted = {c: n for c, n in hub.accepted().items() if c in hub.customers_of(member)}
    assert accepted == {c: 1 for c in hub.customers_of(member)}
    per_customer = [a.payload["customer"] for a in hub.actions() if a.payload["member"] == member]
    assert sorted(per_customer) == hub.customers_of(member)


# -- safety: preview, pause --------------------------------------------------------------------------


def test_a_previewed_departure_only_records_what_it_would_transfer(make_dep_hub):
    hub = make_dep_hub(approve=False)
    hub.sync("external_contacts")
    customers = hub.customers_of("lisi")
    hub.depart("lisi")
    got = hub.advance()
    assert got["previewed"] == len(customers) and hub.transfers() == [] and hub.wecom.effects("transfers") == []
    assert {(a.status, a.payload["takeover"]) for a in hub.actions()} == {("preview", "zhangsan")}
    assert hub.timeline(customers[0]) == [] and hub.departures()[0].status == "previewed"
    hub.approve()
    assert hub.advance(hours=1)["queued"] == 0  # previewed actions are not sent afterwards …
    hub.push({"Event": "change_contact", "ChangeType": "delete_user", "UserID": "lisi", "CreateTime": 1767571300})
    assert hub.advance()["queued"] == len(customers)  # … a departure signalled while live is handed over
    assert hub.accepted() == {c: 1 for c in customers}


def test_a_paused_departure_waits_and_goes_on_when_resumed(make_dep_hub):
    from hub.automations.control import pause, resume

    hub = make_dep_hub()
    pause(hub.runtime, "departure", actor="test")
    hub.sync("external_contacts")
    hub.depart("lisi")
    assert hub.advance()["queued"] == 0 and hub.departures()[0].status == "open"
    resume(hub.runtime, "departure", actor="test")
    assert hub.advance()["queued"] == len(hub.customers_of("lisi"))


def test_a_transfers_sink_in_preview_holds_the_batches(make_dep_hub):
    hub = make_dep_hub(transfers_mode="preview")
    hub.sync("external_contacts")
    hub.depart("lisi")
    hub.advance()
    assert [r.status for r in hub.transfers()] == ["held"] and hub.wecom.effects("transfers") == []
    hub.advance(hours=1)
    assert {a.status for a in hub.actions()} == {"queued"}  # waits for hub approve, nothing lost


# -- CLI -----------------------------------------------------------------------------------------------


def test_show_and_dry_run_describe_the_hand_over(make_dep_hub):
    hub = make_dep_hub(approve=False)
    hub.sync("external_contacts")
    hub.depart("lisi")

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), obj={"config_file": hub.runtime.config.source_file, "runtime": hub.runtime})

    dry = invoke("automations", "run", "departure", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "member lisi (wecom_sales) left" in dry.output and '"takeover": "zhangsan"' in dry.output
    assert hub.actions() == [] and hub.transfers() == []
    hub.advance()
    shown = invoke("automations", "show", "departure")
    assert shown.exit_code == 0, shown.output
    assert "on: member left" in shown.output and "transfer_customers to manager_of_member, fallback sunqi" in shown.output
    assert "departures: previewed 1" in shown.output and f"preview {len(hub.customers_of('lisi'))}" in shown.output
    listed = invoke("automations", "list")
    assert "departure" in listed.output and "member left" in listed.output


# -- the language -------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, message", [
    ("on: {member: left}\n  do: {transfer_customers: {to: {round_robin: {dept: 2}}}}", "transfer_customers.to: expected {round_robin: {department: ID}}"),
    ("on: {member: left}\n  do: {transfer_customers: {to: manager_of_member, fallbak: x}}", "transfer_customers.fallbak: unknown key (did you mean 'fallback'?)"),
    ("on: {member: joined}\n  do: {transfer_customers: {to: x}}", "on.member: expected member: left"),
    ("on: {member: left}\n  do: {tag: x}", "a departure rule does one thing"),
    ("on: {member: left}\n  do: {transfer_customers: {to: x, instance: crm}}", "'crm' is no connector instance that can hand customers over"),
    ("on: {event: chat_message}\n  do: {transfer_customers: {to: x}}", "transfer_customers is the action of a departure rule"),
    ("enroll: {member: left}\n  steps: [{after: 0m, do: {tag: x}}]", "enroll.member: a member trigger starts a departure rule"),
])
def test_departure_rules_are_validated_with_file_and_line(tmp_path, database_url, redis_url, body, message):
    path = tmp_path / "hub.yaml"
    path.write_text(config_text(tmp_path, database_url, redis_url, WeComSandbox().config_for("http://sandbox.hub.test/w"), f"bad:\n  {body}"),
                    encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    text = str(info.value)
    assert message in text and f"{path}:" in text and "not built yet" not in text


# -- the ticker -----------------------------------------------------------------------------------------


def test_the_ticker_queues_the_departures_job_which_hands_over_and_queues_delivery(make_dep_hub, redis_conn):
    from hub.automations.departure import departures_job
    from hub.pipeline.scheduler import tick
    from hub.queue import get_queue

    hub = make_dep_hub()
    hub.sync("external_contacts")
    hub.depart("lisi")
    tick(hub.runtime)
    queue = get_queue(redis_conn)
    assert "departures" in queue.job_ids and queue.fetch_job("departures").func is departures_job
    result = departures_job()  # what the worker runs
    assert result["queued"] == len(hub.customers_of("lisi")) and result["departures"] == 1
    (row,) = hub.transfers()
    assert row.status == "pending" and any(j.startswith("deliver-") for j in queue.job_ids)


def test_without_departure_rules_there_is_no_departures_job(make_dep_hub, redis_conn):
    from hub.pipeline.scheduler import tick
    from hub.queue import get_queue

    hub = make_dep_hub("only_rule: {on: {attribute: stage, changes: true}, do: {tag: t}}")
    tick(hub.runtime)
    assert "departures" not in get_queue(redis_conn).job_ids
    hub.depart("lisi")  # a departure signalled with no departure rule: nothing recorded
    assert hub.departures() == []


# -- what support sees ------------------------------------------------------------------------------------


def test_the_contact_page_and_the_automation_page_show_the_hand_over(make_dep_hub):
    from hub.web import create_app
    from hub.web.auth import create_token, hash_token

    hub = make_dep_hub()
    hub.sync("external_contacts")
    customer = hub.customers_of("lisi")[0]
    hub.depart("lisi")
    hub.advance()
    hub.wecom.advance_transfers()
    hub.advance(hours=1)
    app = create_app(hub.runtime)
    token = create_token(hub.runtime.db, "support-tester", "support")[1]
    client = app.test_client()
    with client.session_transaction() as session:
        session["token_hash"] = hash_token(token)
        session["csrf"] = "test-csrf"
    with hub.runtime.db.session() as s:
        cid = s.scalar(select(Identity.contact_id).where(Identity.kind == "wecom_external_userid", Identity.value == customer))
    page = client.get(f"/contacts/{cid}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "离职交接：已由 张三（zhangsan） 接替" in html and "已接替" in html and "接替成员" in html
    english = client.get(f"/contacts/{cid}?lang=en").get_data(as_text=True)
    assert "Taken over" in english and "Taking over" in english
    auto = client.get("/automations/departure")
    assert auto.status_code == 200 and "transfer_customers" in auto.get_data(as_text=True)
    api = app.test_client().get("/api/v1/automations/departure", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.get_json()["status"] == "live"


def test_two_workers_racing_on_one_departure_hand_over_once(make_dep_hub):
    import threading

    hub = make_dep_hub()
    for _ in range(5):
        hub.wecom.add_customer(userid="lisi")
    hub.sync("external_contacts")
    hub.depart("lisi")
    now = utcnow()
    results, errors = [], []
    start = threading.Barrier(2)

    def worker():
        try:
            start.wait()
            results.append(advance_departures(hub.runtime, now=now))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.departures for r in results) == [0, 1]  # the claim: one of them worked it
    assert len(hub.transfers()) == 1 and sum(r.queued for r in results) == len(hub.customers_of("lisi"))
    run_inline(hub.runtime, outbox_ids=[r.id for r in hub.transfers()])
    assert hub.accepted() == {c: 1 for c in hub.customers_of("lisi")}
