"""The chat archive (会话内容存档): real RSA key pairs, key rotation by publickey_ver, wrong
keys (a clear error, the seq cursor kept before the undecryptable messages, which are
listed), message shapes, and the ctypes backend against a compiled stand-in of the SDK."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap

import pytest
from hypothesis import given, settings, strategies as st

from hub.connector import CheckFailed, PermanentError
from hub.testing import read_all

from connectors.wecom.archive import keys
from connectors.wecom.archive.backends import FinanceSdkBackend, _libraries
from connectors.wecom.sandbox import depth


@pytest.fixture(scope="module")
def pems():
    """Three real 2048-bit key pairs (generated once for the module)."""
    return [keys.generate_private_pem() for _ in range(3)]


def customer_of(sandbox, userid="zhangsan"):
    return next(ext for (ext, uid) in sandbox.relations if uid == userid)


def make(make_connector, **keyring):
    return make_connector(archive_private_keys={str(v): pem for v, pem in keyring.items()})


def test_messages_are_decrypted_with_the_key_of_their_version(make_connector, sandbox, pems):
    sandbox.archive_key(1, keys.public_pem(pems[0]))
    ext = customer_of(sandbox)
    sandbox.send_chat(ext, "太贵了", to="zhangsan")
    sandbox.send_chat("zhangsan", "我们有早鸟优惠，可以便宜 300 元", to=ext)
    records, cursor = read_all(make(make_connector, **{"1": pems[0]}), "chat_messages")
    assert [r.data["text"] for r in records] == ["太贵了", "我们有早鸟优惠，可以便宜 300 元"]
    assert [r.data["direction"] for r in records] == ["in", "out"]
    assert {r.data["external_userid"] for r in records} == {ext}
    assert records[1].data["member_name"] == "张三" and records[1].data["userid"] == "zhangsan"
    assert records[0].dedupe_key == f"wecom-msg:{records[0].native_id}"
    assert cursor == {"seq": 2}


def test_rotation_reads_old_and_new_versions_with_both_keys(make_connector, sandbox, pems):
    ext = customer_of(sandbox)
    sandbox.archive_key(1, keys.public_pem(pems[0]))
    sandbox.send_chat(ext, "旧钥匙加密的消息", to="zhangsan")
    sandbox.archive_key(2, keys.public_pem(pems[1]))
    sandbox.send_chat(ext, "新钥匙加密的消息", to="zhangsan")
    assert [i["publickey_ver"] for i in sandbox.archive] == [1, 2]
    records, cursor = read_all(make(make_connector, **{"1": pems[0], "2": pems[1]}), "chat_messages")
    assert [r.data["text"] for r in records] == ["旧钥匙加密的消息", "新钥匙加密的消息"]
    assert cursor == {"seq": 2}


def test_a_wrong_key_stops_before_the_message_lists_it_and_never_skips_it(make_connector, sandbox, pems):
    ext = customer_of(sandbox)
    sandbox.archive_key(1, keys.public_pem(pems[0]))
    first = sandbox.send_chat(ext, "第一条", to="zhangsan")
    sandbox.archive_key(2, keys.public_pem(pems[1]))
    bad = [sandbox.send_chat(ext, f"第{n}条", to="zhangsan") for n in ("二", "三")]
    wrong = make(make_connector, **{"1": pems[0], "2": pems[2]})  # version 2 holds another key
    stream = wrong.stream("chat_messages").read(None)
    batch = next(stream)
    assert [r.data["text"] for r in batch.records] == ["第一条"] and batch.cursor == {"seq": first["seq"]}
    with pytest.raises(PermanentError) as info:
        next(stream)
    message = info.value.message
    assert "2 message(s) cannot be decrypted" in message and "cursor stays at seq 1" in message
    for item in bad:
        assert f"seq {item['seq']} msgid {item['msgid']} (publickey_ver 2)" in message
    assert "wrong key" in message
    assert "PRIVATE KEY" not in message and pems[2].splitlines()[1] not in message
    assert [b["seq"] for b in wrong.state.get("archive:undecryptable")] == [2, 3]
    # With the right key the read resumes from the kept cursor: nothing was skipped.
    fixed = make(make_connector, **{"1": pems[0], "2": pems[1]})
    fixed.state = wrong.state
    records, cursor = read_all(fixed, "chat_messages", batch.cursor)
    assert [r.data["text"] for r in records] == ["第二条", "第三条"] and cursor == {"seq": 3}
    assert fixed.state.get("archive:undecryptable") is None


def test_a_version_without_a_configured_key_is_named(make_connector, sandbox, pems):
    sandbox.archive_key(7, keys.public_pem(pems[0]))
    sandbox.send_chat(customer_of(sandbox), "你好", to="zhangsan")
    with pytest.raises(PermanentError) as info:
        read_all(make(make_connector, **{"1": pems[0]}), "chat_messages")
    assert "no private key for publickey_ver 7 (configured versions: 1)" in info.value.message


def test_good_messages_after_a_bad_one_in_the_same_page_are_not_yielded_yet(make_connector, sandbox, pems):
    ext = customer_of(sandbox)
    sandbox.archive_key(1, keys.public_pem(pems[0]))
    sandbox.send_chat(ext, "好1", to="zhangsan")
    sandbox.archive_key(2, keys.public_pem(pems[1]))
    sandbox.send_chat(ext, "坏", to="zhangsan")
    sandbox.archive_key(1, keys.public_pem(pems[0]))
    sandbox.send_chat(ext, "好2", to="zhangsan")
    connector = make(make_connector, **{"1": pems[0]})
    stream = connector.stream("chat_messages").read(None)
    batch = next(stream)
    assert [r.data["text"] for r in batch.records] == ["好1"] and batch.cursor == {"seq": 1}
    with pytest.raises(PermanentError):
        next(stream)


def test_mixed_media_group_and_recall_shapes(make_connector, sandbox, pems):
    sandbox.archive_key(1, keys.public_pem(pems[0]))
    ext = customer_of(sandbox)
    group = sandbox.add_group("少儿编程家长服务群", owner="wangwu")
    sandbox.join_group(group["chat_id"], ext)
    sandbox.send_chat(ext, "老师，周六几点上课？", group="少儿编程家长服务群")
    sandbox.send_chat("wangwu", "各位家长好", group="少儿编程家长服务群")  # a member to a group: no one customer
    mixed = {"msgid": "mixed-1", "action": "send", "from": ext, "tolist": ["zhangsan"], "roomid": "", "msgtime": 1767571200123,
             "msgtype": "mixed", "mixed": {"item": [
                 {"type": "text", "content": json.dumps({"content": "这是孩子的作品"})},
                 {"type": "image", "content": json.dumps({"md5sum": "abc", "filesize": 1024, "sdkfileid": "CtYBMzA2OTAy"})},
                 {"type": "text", "content": json.dumps({"content": "，请老师点评"})}]}}
    depth.archive_message(sandbox, mixed)
    image = {"msgid": "img-1", "action": "send", "from": ext, "tolist": ["zhangsan"], "roomid": "", "msgtime": 1767571300000,
             "msgtype": "image", "image": {"md5sum": "def", "filesize": 2048, "sdkfileid": "CtYBMzA3"}}
    depth.archive_message(sandbox, image)
    switch = {"msgid": "sw-1", "action": "switch", "time": 1767571300000, "user": "zhangsan"}
    depth.archive_message(sandbox, switch)
    records, _ = read_all(make(make_connector, **{"1": pems[0]}), "chat_messages")
    by_id = {r.native_id: r.data for r in records}
    assert len(records) == 3  # the member's group message and the switch are not recorded
    grouped = next(d for d in by_id.values() if d.get("roomid"))
    assert grouped["group_name"] == "少儿编程家长服务群" and grouped["direction"] == "in" and "userid" not in grouped
    assert by_id["mixed-1"]["text"] == "这是孩子的作品，请老师点评"
    assert by_id["mixed-1"]["media"] == [{"type": "image", "sdkfileid": "CtYBMzA2OTAy", "md5sum": "abc", "filesize": 1024}]
    assert by_id["mixed-1"]["sent_at"] == 1767571200
    assert by_id["img-1"]["text"] == "[图片]" and by_id["img-1"]["media"][0]["sdkfileid"] == "CtYBMzA3"
    # A recall updates the recalled message's record.
    sandbox.update_record("chat_messages", "img-1")
    again, _ = read_all(make(make_connector, **{"1": pems[0]}), "chat_messages", {"seq": 5})
    assert [(r.native_id, r.data["recalled"]) for r in again] == [("img-1", True)]
    assert again[0].dedupe_key == "wecom-msg:img-1:recalled"


def test_check_reports_bad_keys_and_a_wrong_archive_secret(make_connector, sandbox, pems):
    make(make_connector, **{"1": pems[0]}).check()
    with pytest.raises(CheckFailed) as info:
        make_connector(archive_private_keys={"1": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"}).check()
    assert "archive_private_keys[1] is not a PEM RSA private key" in info.value.message
    with pytest.raises(CheckFailed) as info:
        make_connector(archive_secret="wrong-archive-secret").check()
    assert "10000" in info.value.message and "wrong-archive-secret" not in info.value.message


# -- the production backend: Tencent's SDK through ctypes ------------------------------------

def test_a_missing_sdk_is_a_clear_check_error_and_nothing_is_downloaded(make_connector, tmp_path):
    connector = make_connector(archive_backend="sdk", sdk_path=None)
    with pytest.raises(CheckFailed) as info:
        connector.check()
    assert "sdk_path is not set" in info.value.message and "never downloads" in info.value.message
    missing = tmp_path / "libWeWorkFinanceSdk_C.so"
    with pytest.raises(CheckFailed) as info:
        make_connector(archive_backend="sdk", sdk_path=str(missing)).check()
    assert f"sdk_path {missing} does not exist" in info.value.message
    missing.write_bytes(b"not an ELF file")
    with pytest.raises(CheckFailed) as info:
        make_connector(archive_backend="sdk", sdk_path=str(missing)).check()
    assert "cannot be loaded" in info.value.message
    assert not list(tmp_path.iterdir())[1:]  # nothing fetched next to it


FAKE_SDK = r"""
#include <stdlib.h>
#include <string.h>
typedef struct Slice_t { char* buf; int len; } Slice_t;
typedef struct { int ok; } WeWorkFinanceSdk_t;
static const char* CHAT = CHAT_JSON;
static const char* KEY = RANDOM_KEY;
static const char* BODY = BODY_JSON;
static void put(Slice_t* s, const char* text) { s->len = strlen(text); s->buf = malloc(s->len + 1); memcpy(s->buf, text, s->len + 1); }
WeWorkFinanceSdk_t* NewSdk(void) { WeWorkFinanceSdk_t* s = malloc(sizeof *s); s->ok = 0; return s; }
int Init(WeWorkFinanceSdk_t* sdk, const char* corpid, const char* secret) { if (strcmp(secret, "sdk-secret")) return 10000; sdk->ok = 1; return 0; }
int GetChatData(WeWorkFinanceSdk_t* sdk, unsigned long long seq, unsigned int limit, const char* proxy, const char* passwd, int timeout, Slice_t* out) {
    if (!sdk->ok || limit < 1 || limit > 1000) return 10000;
    put(out, seq == 0 ? CHAT : "{\"errcode\":0,\"errmsg\":\"ok\",\"chatdata\":[]}"); return 0; }
int DecryptData(const char* key, const char* msg, Slice_t* out) {
    if (strcmp(key, KEY) || strcmp(msg, "sealed-body")) return 10006; put(out, BODY); return 0; }
Slice_t* NewSlice(void) { Slice_t* s = malloc(sizeof *s); s->buf = 0; s->len = 0; return s; }
void FreeSlice(Slice_t* s) { if (s) { free(s->buf); free(s); } }
void DestroySdk(WeWorkFinanceSdk_t* s) { free(s); }
"""


def _c_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)  # a JSON string is a valid C string literal here


@pytest.fixture
def fake_sdk(tmp_path, pems):
    """A compiled stand-in exporting the SDK's C API: proves the ctypes binding (Slice_t,
    argument types, Init's secret, error codes) and the RSA step before DecryptData."""
    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to build the stand-in SDK")
    random_key = "0123456789abcdef0123456789abcdef"
    item = {"seq": 1, "msgid": "sdk-msg-1", "publickey_ver": 3, "encrypt_chat_msg": "sealed-body",
            "encrypt_random_key": keys.encrypt_random_key(keys.public_pem(pems[0]), random_key.encode())}
    body = {"msgid": "sdk-msg-1", "action": "send", "from": "wmSDKcustomer", "tolist": ["zhangsan"], "roomid": "",
            "msgtime": 1767571200000, "msgtype": "text", "text": {"content": "太贵了"}}
    source = FAKE_SDK.replace("CHAT_JSON", _c_string(json.dumps({"errcode": 0, "errmsg": "ok", "chatdata": [item]})))
    source = source.replace("RANDOM_KEY", _c_string(random_key)).replace("BODY_JSON", _c_string(json.dumps(body)))
    (tmp_path / "sdk.c").write_text(textwrap.dedent(source))
    library = tmp_path / "libWeWorkFinanceSdk_C.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), str(tmp_path / "sdk.c")], check=True)
    yield str(library)
    _libraries.pop(str(library), None)


def test_the_ctypes_backend_reads_and_decrypts_through_the_sdk(make_connector, fake_sdk, pems):
    connector = make_connector(archive_backend="sdk", sdk_path=fake_sdk, archive_secret="sdk-secret",
                               archive_private_keys={"3": pems[0]})
    connector.check()
    records, cursor = read_all(connector, "chat_messages")
    assert [(r.native_id, r.data["text"], r.data["direction"]) for r in records] == [("sdk-msg-1", "太贵了", "in")]
    assert cursor == {"seq": 1}


def test_the_ctypes_backend_reports_sdk_error_codes(make_connector, fake_sdk, pems):
    with pytest.raises(CheckFailed) as info:
        make_connector(archive_backend="sdk", sdk_path=fake_sdk, archive_secret="other",
                       archive_private_keys={"3": pems[0]}).check()
    assert "Init: 10000 parameter error" in info.value.message
    backend = FinanceSdkBackend(fake_sdk, "ww1", "sdk-secret")
    with pytest.raises(keys.UndecryptableError) as wrong:
        backend.decrypt_data(b"not-the-key", "sealed-body")
    assert "10006" in wrong.value.reason
    backend.close()
    # A wrong private key for version 3: the message is listed and not skipped.
    connector = make_connector(archive_backend="sdk", sdk_path=fake_sdk, archive_secret="sdk-secret",
                               archive_private_keys={"3": pems[1]})
    with pytest.raises(PermanentError) as info:
        read_all(connector, "chat_messages")
    assert "seq 1 msgid sdk-msg-1 (publickey_ver 3)" in info.value.message


def test_hub_check_names_a_missing_sdk_library(router, sandbox, database_url, db, redis_url, redis_conn, tmp_path, pems):
    """`hub check` (preflight) runs the connector's check(): a missing SDK is one clear line."""
    from click.testing import CliRunner

    from hub.cli import cli

    config = {**sandbox.config_for(router.base_url), "archive_backend": "sdk", "sdk_path": str(tmp_path / "libWeWorkFinanceSdk_C.so"),
              "archive_private_keys": {"1": pems[0]}}
    path = tmp_path / "hub.yaml"
    path.write_text(f"""hub:
  database_url: "{database_url}"
  redis_url: "{redis_url}"
  var_dir: "{tmp_path}/var"
connectors:
  wecom_sales:
    type: wecom
    config: {json.dumps(config, ensure_ascii=False)}
""", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "check"])
    assert result.exit_code == 2, result.output
    line = next(line for line in result.output.splitlines() if "chat archive" in line)
    assert "wecom_sales" in line and f"sdk_path {tmp_path / 'libWeWorkFinanceSdk_C.so'} does not exist" in line
    assert "PRIVATE KEY" not in result.output and config["secret"] not in result.output


def test_a_backend_can_be_plugged_in_by_import_path(make_connector, sandbox, pems):
    sandbox.archive_key(1, keys.public_pem(pems[0]))
    sandbox.send_chat(customer_of(sandbox), "你好", to="zhangsan")
    plugged = make_connector(archive_backend="connectors.wecom.archive.backends:SandboxArchiveBackend",
                             archive_private_keys={"1": pems[0]})
    assert [r.data["text"] for r in read_all(plugged, "chat_messages")[0]] == ["你好"]
    with pytest.raises(CheckFailed) as info:
        make_connector(archive_backend="no_such_module:Backend", archive_private_keys={"1": pems[0]}).check()
    assert "archive_backend no_such_module:Backend: cannot import it" in info.value.message
    from marshmallow import ValidationError

    from connectors.wecom.connector import WeComConnector

    with pytest.raises(ValidationError) as bad:
        WeComConnector.validate_config({**sandbox.config_for("http://x"), "archive_backend": "ftp"})
    assert "archive_backend" in bad.value.messages


def test_private_keys_and_the_archive_secret_are_masked_secrets(sandbox, pems):
    from hub.connector import secret_values

    from connectors.wecom.config import WeComConfig

    config = WeComConfig().load({**sandbox.config_for("http://x"), "archive_private_keys": {"1": pems[0], "2": pems[1]}})
    found = secret_values(WeComConfig(), config)
    assert pems[0] in found and pems[1] in found and config["archive_secret"] in found


@settings(max_examples=15, deadline=None)
@given(versions=st.lists(st.sampled_from([1, 2, 3]), min_size=1, max_size=8), configured=st.sets(st.sampled_from([1, 2, 3])),
       page=st.integers(min_value=1, max_value=4))
def test_the_cursor_never_passes_an_undecryptable_message(pems, versions, configured, page):
    """Messages encrypted for versions 1–3, keys configured for some of them, any page size:
    a read yields exactly the messages before the first undecryptable one, in seq order, and
    its last cursor is that prefix's last seq — never beyond."""
    from connectors.wecom.connector import WeComConnector
    from connectors.wecom.sandbox import WeComSandbox
    from hub.connector import DictState
    from hub.testing import SandboxRouter

    sandbox = WeComSandbox()
    with SandboxRouter(sandbox, prefix="/sandbox/wecom") as router:
        ext = customer_of(sandbox)
        for n, version in enumerate(versions):
            sandbox.archive_key(version, keys.public_pem(pems[version - 1]))
            sandbox.send_chat(ext, f"m{n}", to="zhangsan")
        raw = {**sandbox.config_for(router.base_url), "archive_page_size": page,
               "archive_private_keys": {str(v): pems[v - 1] for v in configured}}
        connector = WeComConnector("wecom", WeComConnector.validate_config(raw), state=DictState())
        good = next((i for i, v in enumerate(versions) if v not in configured), len(versions))
        texts, cursor, failed = [], None, False
        try:
            for batch in connector.stream("chat_messages").read(None):
                texts += [r.data["text"] for r in batch.records]
                cursor = batch.cursor
        except PermanentError:
            failed = True
    assert texts == [f"m{n}" for n in range(good)]
    assert failed == (good < len(versions))
    assert cursor == {"seq": good}
