"""WeCom sinks: remark, tags, channel codes and transfers against the sandbox."""

from __future__ import annotations

import pytest

from hub.connector import DictState, PermanentError


def first_relation(sandbox, userid="zhangsan"):
    return next(k for k in sandbox.relations if k[1] == userid)


def paths(sandbox, name):
    return [body for path, body in sandbox.calls if path == name]


# -- remark -----------------------------------------------------------------------------------
def test_remark_sets_remark_mobiles_on_the_relation_named_by_native_id(connector, sandbox):
    ext, userid = first_relation(sandbox)
    result = connector.write("remark", {"remark": "陈静-VIP", "remark_mobiles": ["13912345678"]}, idempotency_key="k1", native_id=f"{ext}:{userid}")
    assert result.native_id == f"{ext}:{userid}"
    assert sandbox.relations[(ext, userid)]["remark_mobiles"] == ["13912345678"]
    assert sandbox.effects("remark") == [{"userid": userid, "external_userid": ext, "remark": "陈静-VIP", "remark_mobiles": ["13912345678"]}]


def test_remark_refuses_what_wecom_would_refuse(connector, sandbox):
    ext, userid = first_relation(sandbox)
    with pytest.raises(PermanentError):
        connector.write("remark", {"userid": userid, "external_userid": ext, "remark": "长" * 21}, idempotency_key="k")
    with pytest.raises(PermanentError):
        connector.write("remark", {"remark": "x"}, idempotency_key="k2")  # no relation at all
    assert sandbox.effects("remark") == []


# -- tags -------------------------------------------------------------------------------------
def test_tags_resolve_names_and_create_missing_ones_in_the_configured_group(connector, sandbox):
    ext, userid = first_relation(sandbox)
    connector.write("tags", {"userid": userid, "external_userid": ext, "add": ["VIP客户", "高净值"], "remove": ["普通客户", "从未存在"]}, idempotency_key="t1")
    [created] = paths(sandbox, "externalcontact/add_corp_tag")
    assert created == {"group_name": "汇流同步", "tag": [{"name": "高净值"}]}
    tags = {t["name"]: t["id"] for g in sandbox.tag_groups for t in g["tag"]}
    [effect] = sandbox.effects("tags")
    assert set(effect["add_tag"]) == {tags["VIP客户"], tags["高净值"]} and effect["remove_tag"] == [tags["普通客户"]]
    assert set(effect["add_tag"]) <= set(sandbox.relations[(ext, userid)]["tag_id"])


def test_tag_resolution_is_cached(connector, sandbox):
    ext, userid = first_relation(sandbox)
    for n in range(3):
        connector.write("tags", {"add": ["重要客户"]}, idempotency_key=f"t{n}", native_id=f"{ext}:{userid}")
    assert len(paths(sandbox, "externalcontact/get_corp_tag_list")) == 1
    assert len(sandbox.effects("tags")) == 3


def test_tag_resolution_cache_is_shared_through_redis(make_connector, sandbox, redis_conn):
    ext, userid = first_relation(sandbox)
    make_connector(cache=redis_conn).write("tags", {"add": ["重要客户"]}, idempotency_key="a", native_id=f"{ext}:{userid}")
    make_connector(cache=redis_conn).write("tags", {"add": ["VIP客户"]}, idempotency_key="b", native_id=f"{ext}:{userid}")
    assert len(paths(sandbox, "externalcontact/get_corp_tag_list")) == 1


def test_a_tag_deleted_behind_the_cache_is_re_resolved(connector, sandbox):
    ext, userid = first_relation(sandbox)
    connector.write("tags", {"add": ["小红书"]}, idempotency_key="a", native_id=f"{ext}:{userid}")
    group = sandbox.tag_groups[1]
    old = next(t for t in group["tag"] if t["name"] == "小红书")
    group["tag"].remove(old)
    new = sandbox.add_tag(group, "小红书")
    connector.write("tags", {"add": ["小红书"]}, idempotency_key="b", native_id=f"{ext}:{userid}")
    assert sandbox.effects("tags")[-1]["add_tag"] == [new["id"]]


def test_tag_names_may_name_their_group(connector, sandbox):
    ext, userid = first_relation(sandbox)
    sandbox.add_tag(sandbox.tag_groups[1], "VIP客户")  # same name, another group
    connector.write("tags", {"add": ["客户等级/VIP客户"]}, idempotency_key="a", native_id=f"{ext}:{userid}")
    wanted = next(t["id"] for t in sandbox.tag_groups[0]["tag"] if t["name"] == "VIP客户")
    assert sandbox.effects("tags")[-1]["add_tag"] == [wanted]


# -- channel codes ----------------------------------------------------------------------------
def test_a_channel_code_is_created_once_per_state_and_updated_afterwards(make_connector, sandbox):
    state = DictState()
    payload = {"state": "douyin_live_0401", "remark": "抖音直播间", "user": ["zhangsan"]}
    created = make_connector(state=state).write("channel_codes", payload, idempotency_key="c1")
    assert created.created and created.data["qr_code"].startswith("https://")
    assert state["channel_code:douyin_live_0401"]["config_id"] == created.native_id
    # A later process (new connector, same durable state) edits the same code.
    updated = make_connector(state=state).write("channel_codes", {**payload, "remark": "抖音直播间（改）"}, idempotency_key="c2")
    assert updated.native_id == created.native_id and not updated.created
    assert [e["op"] for e in sandbox.effects("channel_codes")] == ["add", "update"]
    assert sandbox.contact_ways[created.native_id]["remark"] == "抖音直播间（改）"


def test_a_create_interrupted_before_its_config_id_was_saved_is_adopted(make_connector, sandbox):
    state = DictState()
    payload = {"state": "xhs_0402", "user": ["lisi"]}
    make_connector(state=state).write("channel_codes", payload, idempotency_key="c1")
    config_id = state["channel_code:xhs_0402"]["config_id"]
    # As if the process died after WeCom created the code but before the config_id was saved.
    state["channel_code:xhs_0402"] = {"pending_since": sandbox.contact_ways[config_id]["create_time"] - 60}
    again = make_connector(state=state).write("channel_codes", payload, idempotency_key="c1-retry")
    assert again.native_id == config_id
    assert [e["op"] for e in sandbox.effects("channel_codes")] == ["add", "update"]


def test_channel_code_state_is_validated(connector, sandbox):
    with pytest.raises(PermanentError):
        connector.write("channel_codes", {"state": "x" * 31, "user": ["zhangsan"]}, idempotency_key="c")
    assert sandbox.effects("channel_codes") == []


# -- transfers --------------------------------------------------------------------------------
def test_in_service_transfer_reports_per_customer_results_and_follows_through(connector, sandbox):
    payload = sandbox.sample_payload("transfers")
    result = connector.write("transfers", payload, idempotency_key="x1")
    assert result.native_id == "lisi>wangwu"
    assert [(c["errcode"], c["status"]) for c in result.data["customers"]] == [(0, "waiting")] * len(payload["external_userid"])
    assert paths(sandbox, "externalcontact/transfer_customer")[0]["transfer_success_msg"]
    sandbox.advance_transfers(refuse={payload["external_userid"][0]})
    again = connector.write("transfers", payload, idempotency_key="x1")  # same key: re-read, no new transfer
    assert len(sandbox.effects("transfers")) == 1
    assert [c["status"] for c in again.data["customers"]] == ["refused", "done"]
    assert (payload["external_userid"][1], "wangwu") in sandbox.relations


def test_a_repeated_transfer_while_pending_is_reported_not_failed(connector, sandbox):
    payload = sandbox.sample_payload("transfers")
    connector.write("transfers", payload, idempotency_key="x1")
    second = connector.write("transfers", payload, idempotency_key="x2")
    assert {c["errcode"] for c in second.data["customers"]} == {40129}


def test_resigned_transfer_uses_the_resigned_api(connector, sandbox):
    ext = next(e for (e, u) in sandbox.relations if u == "zhaoliu")
    result = connector.write("transfers", {"handover_userid": "zhaoliu", "takeover_userid": "zhangsan", "external_userid": [ext], "resigned": True}, idempotency_key="r1")
    assert paths(sandbox, "externalcontact/resigned/transfer_customer") and paths(sandbox, "externalcontact/resigned/transfer_result")
    assert result.data["customers"] == [{"external_userid": ext, "errcode": 0, "status": "waiting", "takeover_time": sandbox.clock + 86400}]


def test_a_transfer_refused_for_every_customer_is_permanent(connector, sandbox):
    with pytest.raises(PermanentError) as info:
        connector.write("transfers", {"handover_userid": "lisi", "takeover_userid": "wangwu", "external_userid": ["wmNOTACUSTOMER"]}, idempotency_key="bad")
    assert info.value.code == 40096


def test_write_errors_do_not_leak_the_token(connector, sandbox):
    token = connector.client.token()
    sandbox.fail_next("-1", path="externalcontact/remark")
    ext, userid = first_relation(sandbox)
    with pytest.raises(Exception) as info:
        connector.write("remark", {"remark": "x"}, idempotency_key="z", native_id=f"{ext}:{userid}")
    assert token not in str(info.value)


def test_the_shipped_outbound_mapping_payload_is_accepted(connector, sandbox):
    """What mappings/wecom.tags.out.yaml yields for a tier change (one add, a list to remove)."""
    ext, userid = first_relation(sandbox)
    payload = {"external_userid": ext, "userid": userid, "add_tier": "客户等级/VIP客户", "remove_tier": ["客户等级/重要客户", "客户等级/普通客户"]}
    connector.write("tags", payload, idempotency_key="m1")
    tags = {t["name"]: t["id"] for t in sandbox.tag_groups[0]["tag"]}
    [effect] = sandbox.effects("tags")
    assert effect["add_tag"] == [tags["VIP客户"]] and set(effect["remove_tag"]) == {tags["重要客户"], tags["普通客户"]}
