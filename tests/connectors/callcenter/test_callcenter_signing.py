"""Clink's query signature: the string to sign and the signature match Clink's documented form."""

import base64
import hashlib
import hmac

from connectors.callcenter.signing import cdr_push_signature, clink_signature, clink_string_to_sign


def test_string_to_sign_is_method_host_path_and_sorted_encoded_query():
    # The shape Clink's SDK signs (values form-encoded, keys sorted, no Signature).
    params = {"Timestamp": "2021-11-16T15:55:30Z", "Expires": "3600", "AccessKeyId": "26bb43f7c9d14da0c6e0e927f0a60475",
              "Signature": "ignored"}
    assert clink_string_to_sign("GET", "api-bj.clink.cn", "/cc/list_cdr_ibs", params) == (
        "GETapi-bj.clink.cn/cc/list_cdr_ibs?AccessKeyId=26bb43f7c9d14da0c6e0e927f0a60475"
        "&Expires=3600&Timestamp=2021-11-16T15%3A55%3A30Z"
    )


def test_signature_is_base64_hmac_sha1_of_the_string_to_sign():
    params = {"AccessKeyId": "ak", "Expires": "60", "Timestamp": "2024-01-15T10:30:00Z", "startTime": "1"}
    expected = base64.b64encode(hmac.new(b"sk", clink_string_to_sign("GET", "h", "/p", params).encode(), hashlib.sha1).digest())
    assert clink_signature("sk", "GET", "h", "/p", params) == expected.decode()


def test_signature_changes_with_any_parameter_value():
    base = {"AccessKeyId": "ak", "Expires": "60", "Timestamp": "2024-01-15T10:30:00Z", "offset": "0"}
    assert clink_signature("sk", "GET", "h", "/p", base) != clink_signature("sk", "GET", "h", "/p", {**base, "offset": "10"})


def test_cdr_push_signature_covers_timestamp_and_body():
    sig = cdr_push_signature("s", "1700000000", b"{}")
    assert sig == hmac.new(b"s", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sig != cdr_push_signature("s", "1700000001", b"{}")
