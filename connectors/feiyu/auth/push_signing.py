"""The Feiyu lead-push signature, as the one public receiver of real pushes reads it.

saoxia/erpnext_china (``lead_domain_for_douyin.py``, ``verify_token``) receives Feiyu lead
pushes with the headers ``Signature``, ``Timestamp`` and ``Access-Token`` and documents the
signature as "clue_id|token|timestamp 进行sha256的hash运算，再进行base64加密", noting that a push
rule sends them only when both a 秘钥 (secret) and a token are configured on it. That is one
source, and a thin one: it does not say whether the secret keys the hash (HMAC) nor whether the
base64 is of the raw digest or of its hex text (the legacy pull signature base64-encodes hex).
So :func:`expected_signatures` returns every reading, and the door accepts a push matching any
of them — safe, because each needs the token (and the HMAC ones the secret), and the token is
also checked on its own against ``Access-Token``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def signed_text(clue_id: str, token: str, timestamp: str) -> bytes:
    return f"{clue_id}|{token}|{timestamp}".encode()


def push_signature(clue_id: str, token: str, timestamp: str) -> str:
    """The literal reading: ``base64(sha256(clue_id|token|timestamp))`` (raw digest). The
    sandbox signs this way."""
    return base64.b64encode(hashlib.sha256(signed_text(clue_id, token, timestamp)).digest()).decode()


def expected_signatures(clue_id: str, token: str, timestamp: str, secret: str | None = None) -> list[str]:
    text = signed_text(clue_id, token, timestamp)
    digests = [hashlib.sha256(text)]
    if secret:
        digests.append(hmac.new(secret.encode(), text, hashlib.sha256))
    out = []
    for digest in digests:
        out.append(base64.b64encode(digest.digest()).decode())
        out.append(base64.b64encode(digest.hexdigest().encode()).decode())
    return out


def signature_matches(given: str, clue_id: str, token: str, timestamp: str, secret: str | None = None) -> bool:
    given_bytes = given.strip().encode()
    # Compare against every reading (no early exit): the time taken does not say which was close.
    results = [hmac.compare_digest(given_bytes, candidate.encode())
               for candidate in expected_signatures(clue_id, token, timestamp, secret)]
    return any(results)
