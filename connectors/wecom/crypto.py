"""WeCom callback crypto (WXBizMsgCrypt), in one place for the webhook and the sandbox.

WeCom signs and encrypts every callback:

* ``msg_signature = sha1("".join(sorted([token, timestamp, nonce, encrypt])))``
* ``key = base64decode(EncodingAESKey + "=")`` (32 bytes), ``iv = key[:16]``, AES-256-CBC,
  PKCS#7 padding to a **32-byte** block (pad byte 1..32, not the 16 of the AES block).
* plaintext = 16 random bytes + 4-byte big-endian length + message + receiveid (the corp id).

Every failure raises :class:`CryptoError` with a message that never contains the key,
the token or the plaintext: the webhook turns it into a 4xx.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32
AES_KEY_LENGTH = 43


class CryptoError(ValueError):
    """A callback could not be verified or decrypted."""


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key behind a 43-character EncodingAESKey."""
    if not isinstance(encoding_aes_key, str) or len(encoding_aes_key) != AES_KEY_LENGTH:
        raise CryptoError(f"EncodingAESKey must be {AES_KEY_LENGTH} characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError("EncodingAESKey is not base64") from None
    if len(key) != 32:
        raise CryptoError("EncodingAESKey does not decode to 32 bytes")
    return key


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """WeCom's msg_signature: SHA-1 over the four strings sorted and concatenated."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


def verify_signature(token: str, timestamp: str, nonce: str, encrypt: str, msg_signature: str) -> bool:
    """Constant-time comparison of the expected and the received signature."""
    expected = signature(token, timestamp, nonce, encrypt)
    return hmac.compare_digest(expected.encode(), (msg_signature or "").lower().encode())


def _cipher(key: bytes) -> Cipher:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(encoding_aes_key: str, message: bytes, receive_id: str, *, random: bytes | None = None) -> str:
    """Encrypt ``message`` for ``receive_id`` the way WeCom does (base64 text)."""
    key = aes_key(encoding_aes_key)
    random = os.urandom(16) if random is None else random
    plain = random + struct.pack(">I", len(message)) + message + receive_id.encode()
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    encryptor = _cipher(key).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def decrypt(encoding_aes_key: str, encrypted: str, receive_id: str) -> bytes:
    """Decrypt a callback's ``Encrypt`` text; the embedded receiveid must equal ``receive_id``."""
    key = aes_key(encoding_aes_key)
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise CryptoError("Encrypt is not valid base64") from None
    if not raw or len(raw) % 16:
        raise CryptoError("Encrypt is not a whole number of AES blocks")
    decryptor = _cipher(key).decryptor()
    plain = decryptor.update(raw) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
        raise CryptoError("bad PKCS#7 padding")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise CryptoError("decrypted payload too short")
    (length,) = struct.unpack(">I", plain[16:20])
    if 20 + length > len(plain):
        raise CryptoError("decrypted length field out of range")
    message = plain[20 : 20 + length]
    found = plain[20 + length :]
    if not hmac.compare_digest(found, receive_id.encode()):
        raise CryptoError("receiveid does not match the configured corp id")
    return message
