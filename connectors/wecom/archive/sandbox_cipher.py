"""The sandbox's stand-in for the SDK's body cipher.

The real ``DecryptData`` runs inside Tencent's closed SDK and its cipher is not published
(unverified). The sandbox needs *some* cipher keyed by the random key so that a wrong
random key really fails: AES-256-CBC with key = SHA-256(random key), IV = its first 16
bytes, PKCS#7, base64. Only the sandbox and :class:`~.backends.SandboxArchiveBackend`
use it; the RSA layer around it is WeCom's real one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def _cipher(random_key: bytes) -> Cipher:
    key = hashlib.sha256(random_key).digest()
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def seal(random_key: bytes, plaintext: bytes) -> str:
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext) + padder.finalize()
    enc = _cipher(random_key).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


def open_(random_key: bytes, sealed: str) -> bytes:
    """Raises ValueError when the key is wrong or the text damaged."""
    try:
        raw = base64.b64decode(sealed, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("encrypt_chat_msg is not base64") from None
    if not raw or len(raw) % 16:
        raise ValueError("encrypt_chat_msg is not whole AES blocks")
    dec = _cipher(random_key).decryptor()
    data = dec.update(raw) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(data) + unpadder.finalize()
