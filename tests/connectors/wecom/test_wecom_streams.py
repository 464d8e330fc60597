"""WeCom streams: full scans that emit only changes, resumable batch by batch."""

from __future__ import annotations

import json

import pytest

from hub.connector import DictState, RateLimitedError
from hub.testing import read_all


def visible(sandbox) -> set[str]:
    """Relations of members with the customer-contact permission (a departed member's are not read)."""
    return {f"{e}:{u}" for (e, u) in sandbox.relations if u in sandbox.follow_users}


def batches(connector, stream, cursor=None):
    return list(connector.stream(stream).read(cursor))


def test_first_read_returns_every_relation_with_follow_info(connector, sandbox):
    sandbox.add_records("external_contacts", 20)
    got = batches(connector, "external_contacts")
    assert [b.complete for b in got] == [False] * (len(got) - 1) + [True]
    records = [r for b in got for r in b.records]
    assert {r.native_id for r in records} == visible(sandbox)
    record = records[0]
    ext, userid = record.native_id.split(":")
    follow = record.data["follow_info"]
    assert record.data["external_userid"] == ext and record.data["userid"] == userid == follow["userid"]
    for field in ("remark", "remark_mobiles", "tag_id", "add_way", "createtime"):
        assert field in follow
    assert follow["tags"][0]["name"] and follow["tags"][0]["group_name"]  # ids resolved to names
    assert record.data["external_contact"]["name"] == sandbox.customers[ext]["name"]


def test_pages_are_requested_with_cursor_and_limit(connector, sandbox):
    sandbox.add_records("external_contacts", 20)
    read_all(connector, "external_contacts")
    bodies = [body for path, body in sandbox.calls if path == "externalcontact/batch/get_by_user"]
    assert len(bodies) == 3 and all(b["limit"] == 10 for b in bodies)
    assert bodies[0]["cursor"] == "" and bodies[1]["cursor"] and bodies[1]["userid_list"] == sorted(sandbox.follow_users)


def test_a_remark_mobile_change_without_callback_is_caught_by_the_next_scan(connector, sandbox):
    relations = sandbox.add_records("external_contacts", 15)
    _, cursor = read_all(connector, "external_contacts")
    sandbox.update_record("external_contacts", relations[3])
    records, cursor = read_all(connector, "external_contacts", cursor)
    assert [r.native_id for r in records] == [relations[3]]
    assert records[0].data["follow_info"]["remark_mobiles"] == sandbox.relations[tuple(relations[3].split(":"))]["remark_mobiles"]
    assert read_all(connector, "external_contacts", cursor)[0] == []


def test_a_scan_resumes_from_any_committed_batch(connector, sandbox):
    sandbox.add_records("external_contacts", 25)
    everything = visible(sandbox)
    first = connector.stream("external_contacts").read(None)
    seen = [r.native_id for r in next(first).records]
    committed = next(first)
    seen += [r.native_id for r in committed.records]
    first.close()  # the worker dies before the third batch is committed
    cursor = json.loads(json.dumps(committed.cursor))
    rest, final = read_all(connector, "external_contacts", cursor)
    assert set(seen) | {r.native_id for r in rest} == everything
    assert not set(seen) & {r.native_id for r in rest}
    assert read_all(connector, "external_contacts", final)[0] == []


def test_an_uncommitted_batch_is_emitted_again_after_a_crash(connector, sandbox):
    sandbox.add_records("external_contacts", 25)
    _, cursor = read_all(connector, "external_contacts")
    changed = sorted(sandbox.relations, key=lambda k: sandbox.relations[k]["_seq"])[-1]
    sandbox.update_record("external_contacts", ":".join(changed))
    run = connector.stream("external_contacts").read(cursor)
    last_committed = cursor
    for batch in run:
        if batch.records:
            break  # yielded but never committed: the hub crashed
        last_committed = batch.cursor
    again, _ = read_all(connector, "external_contacts", last_committed)
    assert [r.native_id for r in again] == [":".join(changed)]


def test_a_removed_relation_becomes_a_tombstone_but_a_lost_permission_does_not(connector, sandbox):
    sandbox.add_records("external_contacts", 8)
    _, cursor = read_all(connector, "external_contacts")
    removed = next(k for k in sandbox.relations if k[1] == "zhangsan")
    del sandbox.relations[removed]
    sandbox.follow_users.remove("wangwu")  # wangwu loses the customer-contact permission
    got = batches(connector, "external_contacts", cursor)
    records = [r for b in got for r in b.records]
    assert [(r.native_id, r.deleted) for r in records] == [(":".join(removed), True)]
    assert got[-1].complete


def test_rate_limited_scan_continues_from_the_last_cursor(connector, sandbox):
    sandbox.add_records("external_contacts", 25)
    run = connector.stream("external_contacts").read(None)
    first = next(run)
    sandbox.fail_next("45009", path="externalcontact/batch/get_by_user")
    with pytest.raises(RateLimitedError):
        next(run)
    rest, _ = read_all(connector, "external_contacts", first.cursor)
    assert {r.native_id for r in first.records} | {r.native_id for r in rest} == visible(sandbox)


def test_superseded_generations_are_cleared_from_state(connector, sandbox):
    sandbox.add_records("external_contacts", 12)
    cursor = None
    for _ in range(4):
        _, cursor = read_all(connector, "external_contacts", cursor)
    live = {k for k, v in connector.state.items() if v is not None and k.startswith("scan:external_contacts:")}
    gens = {int(k.split(":")[2]) for k in live}
    assert gens <= {cursor["baseline"]["gen"], cursor["stale"]["gen"]}


def test_follow_users_carry_member_details(connector, sandbox):
    records, cursor = read_all(connector, "follow_users")
    by_id = {r.native_id: r.data for r in records}
    assert set(by_id) == set(sandbox.follow_users)
    assert by_id["zhangsan"]["name"] == "张三" and by_id["zhangsan"]["department"] == [2]
    sandbox.update_record("follow_users", "lisi")
    assert [r.native_id for r in read_all(connector, "follow_users", cursor)[0]] == ["lisi"]


def test_corp_tags_are_read_with_their_group(connector, sandbox):
    records, cursor = read_all(connector, "corp_tags")
    names = {(r.data["group_name"], r.data["name"]) for r in records}
    assert ("客户等级", "VIP客户") in names and ("来源渠道", "抖音直播") in names
    group = sandbox.tag_groups[0]
    gone = group["tag"].pop()
    records, _ = read_all(connector, "corp_tags", cursor)
    assert [(r.native_id, r.deleted) for r in records] == [(gone["id"], True)]


def test_stream_state_is_per_instance(make_connector, sandbox):
    sandbox.add_records("external_contacts", 5)
    a, b = make_connector(state=DictState()), make_connector(state=DictState())
    _, cursor = read_all(a, "external_contacts")
    # b has no generations in its state: the same cursor shape still reads safely (all new).
    records, _ = read_all(b, "external_contacts", cursor)
    assert len(records) == len(visible(sandbox))
