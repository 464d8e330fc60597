"""externalcontact/remark and add_contact_way as WeCom documents them (issue 16).

WeCom doc 92115 (修改客户备注信息), quoted verbatim by public SDKs (e.g. the WeWork Java
``UpdateRemarkRequest`` and the PHP ``Qyweixin`` clients): "remark_company只在此外部联系人为
微信用户时有效" and "如果要清除所有备注手机号,请在remark_mobiles填写一个空字符串(“”)". Doc 92228
(配置客户联系「联系我」方式): ``remark`` "联系方式的备注信息，用于助记，不超过30个字符". The old
sink sent ``remark_mobiles: []`` (which clears nothing), sent remark_company for WeCom users
(silently dropped) and let a 31-character channel-code remark reach WeCom.
"""

from __future__ import annotations

import pytest

from hub.connector import PermanentError


def relation_of_type(sandbox, kind: int):
    return next(k for k in sandbox.relations if sandbox.customers[k[0]]["type"] == kind)


def test_clearing_remark_mobiles_sends_an_empty_string(connector, sandbox):
    ext, userid = relation_of_type(sandbox, 1)
    connector.write("remark", {"remark_mobiles": ["13912345678"]}, idempotency_key="k1", native_id=f"{ext}:{userid}")
    connector.write("remark", {"remark_mobiles": []}, idempotency_key="k2", native_id=f"{ext}:{userid}")
    assert sandbox.effects("remark")[-1]["remark_mobiles"] == [""]
    assert sandbox.relations[(ext, userid)]["remark_mobiles"] == []


def test_the_sandbox_keeps_mobiles_on_an_empty_list_like_wecom(connector, sandbox):
    ext, userid = relation_of_type(sandbox, 1)
    connector.write("remark", {"remark_mobiles": ["13912345678"]}, idempotency_key="k1", native_id=f"{ext}:{userid}")
    connector.client.post("externalcontact/remark", {"userid": userid, "external_userid": ext, "remark_mobiles": []})
    assert sandbox.relations[(ext, userid)]["remark_mobiles"] == ["13912345678"]


def test_remark_company_is_sent_for_wechat_users(connector, sandbox):
    ext, userid = relation_of_type(sandbox, 1)
    connector.write("remark", {"remark_company": "汇流科技"}, idempotency_key="k1", native_id=f"{ext}:{userid}")
    assert sandbox.relations[(ext, userid)]["remark_corp_name"] == "汇流科技"


def test_remark_company_is_left_out_for_wecom_users(connector, sandbox):
    ext, userid = relation_of_type(sandbox, 2)
    result = connector.write("remark", {"remark": "采购王总", "remark_company": "汇流科技"}, idempotency_key="k1",
                             native_id=f"{ext}:{userid}")
    (sent,) = sandbox.effects("remark")
    assert "remark_company" not in sent and sent["remark"] == "采购王总"
    assert result.data["skipped"] == {"remark_company": "汇流科技"}
    # Only a company for a WeCom user: nothing to send at all, and no error.
    again = connector.write("remark", {"remark_company": "汇流科技", "customer_type": 2}, idempotency_key="k2",
                            native_id=f"{ext}:{userid}")
    assert again.data == {"skipped": {"remark_company": "汇流科技"}} and len(sandbox.effects("remark")) == 1


def test_a_channel_code_remark_over_30_characters_is_refused_before_calling(connector, sandbox):
    with pytest.raises(PermanentError, match="30"):
        connector.write("channel_codes", {"state": "douyin_0601", "user": ["zhangsan"], "remark": "备" * 31},
                        idempotency_key="c1")
    assert sandbox.effects("channel_codes") == []
    connector.write("channel_codes", {"state": "douyin_0601", "user": ["zhangsan"], "remark": "备" * 30}, idempotency_key="c2")
    assert len(sandbox.effects("channel_codes")) == 1
