"""Example CRM's webhook signature: hex HMAC-SHA256 over ``"{timestamp}.{raw body}"``."""

import hashlib
import hmac


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
