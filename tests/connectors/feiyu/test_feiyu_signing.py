"""The legacy Feiyu CRM signature: base64 of the *hex* HMAC-SHA256, one space before the
timestamp, over the path + start/end query only — and the sandbox enforces it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
import requests

from hub.connector import CheckFailed, PermanentError

from connectors.feiyu.auth import signing
from connectors.feiyu.sandbox import CRM_ACCESS_TOKEN, SIGNATURE_KEY


def test_signature_is_base64_of_the_hex_digest_with_one_space():
    text = "/crm/v2/openapi/pull-clues/?start_time=2026-01-01 00:00:00&end_time=2026-01-01 23:59:59 1767196800"
    hex_digest = hmac.new(b"TDJDMkNDVDlVTFY5", text.encode(), hashlib.sha256).hexdigest()
    expected = base64.b64encode(hex_digest.encode()).decode()
    got = signing.signature(
        "TDJDMkNDVDlVTFY5",
        signing.pull_signed_path("2026-01-01 00:00:00", "2026-01-01 23:59:59"),
        "1767196800",
    )
    assert got == expected
    # Not base64 of the raw digest: 88 chars (64 hex chars encoded), not 44.
    assert len(got) == 88
    assert got != base64.b64encode(bytes.fromhex(hex_digest)).decode()


def _pull(base_url: str, headers: dict, start="2026-01-01 00:00:00", end="2026-01-02 00:00:00"):
    params = {"start_time": start, "end_time": end, "page": 1, "page_size": 10}
    return requests.get(base_url + signing.PULL_PATH, params=params, headers=headers).json()


def test_sandbox_accepts_the_exact_signature_and_refuses_near_misses(crm):
    _sandbox, config = crm
    base = config["crm_base_url"]
    ts = str(int(time.time()))
    signed = signing.pull_signed_path("2026-01-01 00:00:00", "2026-01-02 00:00:00")
    good = signing.headers(SIGNATURE_KEY, CRM_ACCESS_TOKEN, signed, ts)
    assert _pull(base, good)["status"] == "success"

    no_space = {**good, "Signature": base64.b64encode(
        hmac.new(SIGNATURE_KEY.encode(), (signed + ts).encode(), hashlib.sha256).hexdigest().encode()).decode()}
    raw_digest = {**good, "Signature": base64.b64encode(
        hmac.new(SIGNATURE_KEY.encode(), f"{signed} {ts}".encode(), hashlib.sha256).digest()).decode()}
    other_window = signing.headers(SIGNATURE_KEY, CRM_ACCESS_TOKEN, signing.pull_signed_path("2026-01-01", "2026-01-02"), ts)
    stale = signing.headers(SIGNATURE_KEY, CRM_ACCESS_TOKEN, signed, str(int(time.time()) - 3600))
    wrong_token = {**good, "Access-Token": "not-the-token"}
    for bad in (no_space, raw_digest, other_window, stale, wrong_token):
        answer = _pull(base, bad)
        assert answer["status"] == -2, answer


def test_connector_with_a_wrong_signature_key_fails_without_echoing_it(crm, make_connector):
    _sandbox, config = crm
    connector = make_connector(config, signature_key="WRONGKEYWRONGKEY")
    with pytest.raises(CheckFailed) as info:
        connector.check()
    assert "WRONGKEYWRONGKEY" not in str(info.value)
    with pytest.raises(PermanentError) as info:
        list(connector.stream("leads").read(None))
    assert "signature" in str(info.value)
    assert "WRONGKEYWRONGKEY" not in str(info.value)
