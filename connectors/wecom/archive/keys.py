"""RSA private keys by ``publickey_ver`` and the decryption of ``encrypt_random_key``.

The admin uploads an RSA public key in the console (管理后台 → 会话内容存档 → 消息加密公钥);
each upload gets a new version number and every archived item names the version it was
encrypted for (``publickey_ver``). ``encrypt_random_key`` is base64 of the message key
RSA-encrypted with that public key, PKCS#1 v1.5 padding (MoChat's wework-finance-sdk
``openssl_private_decrypt(..., OPENSSL_PKCS1_PADDING)`` with a key map by version; doc 91774).

A wrong key is not always refused by the RSA step itself: OpenSSL's implicit rejection
for PKCS#1 v1.5 returns random bytes instead of an error, so the stream reports a wrong key
when the body then fails to open (see :mod:`.stream`).

Rotation: keep every version whose messages may still be unread in the config; a message
for a version with no key, or a key that does not open it, is an :class:`UndecryptableError`
naming the version — never the key.
"""

from __future__ import annotations

import base64
import binascii
from typing import Mapping

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class KeyError_(ValueError):
    """A configured private key cannot be loaded (the message names the version only)."""


class UndecryptableError(ValueError):
    """One archived item cannot be decrypted; ``reason`` says why without secrets."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class KeyRing:
    """Private keys by version, loaded once. Values are PEM text (PKCS#1 or PKCS#8)."""

    def __init__(self, pems: Mapping[str, str] | None):
        self._keys: dict[int, rsa.RSAPrivateKey] = {}
        for version, pem in (pems or {}).items():
            try:
                number = int(str(version).strip())
            except ValueError:
                raise KeyError_(f"archive_private_keys: version {version!r} is not a number") from None
            try:
                key = serialization.load_pem_private_key(str(pem).strip().encode(), password=None)
            except (ValueError, TypeError):
                raise KeyError_(f"archive_private_keys[{number}] is not a PEM RSA private key without a passphrase") from None
            if not isinstance(key, rsa.RSAPrivateKey):
                raise KeyError_(f"archive_private_keys[{number}] is not an RSA key")
            self._keys[number] = key

    @property
    def versions(self) -> list[int]:
        return sorted(self._keys)

    def random_key(self, version: int, encrypted_b64: str) -> bytes:
        """The plaintext message key of one item."""
        key = self._keys.get(int(version))
        if key is None:
            have = ", ".join(map(str, self.versions)) or "none"
            raise UndecryptableError(f"no private key for publickey_ver {version} (configured versions: {have})")
        try:
            blob = base64.b64decode(encrypted_b64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise UndecryptableError("encrypt_random_key is not base64") from None
        try:
            return key.decrypt(blob, padding.PKCS1v15())
        except ValueError:
            raise UndecryptableError(f"the private key for publickey_ver {version} does not open encrypt_random_key (wrong key for that version?)") from None


def public_pem(private_pem: str) -> str:
    """The public key (SubjectPublicKeyInfo PEM) of a private key — what the admin uploads."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def encrypt_random_key(public_key_pem: str, random_key: bytes) -> str:
    """What WeCom does with a message key (the sandbox uses it): RSA PKCS#1 v1.5, base64."""
    key = serialization.load_pem_public_key(public_key_pem.encode())
    return base64.b64encode(key.encrypt(random_key, padding.PKCS1v15())).decode()


def generate_private_pem(bits: int = 2048) -> str:
    """A fresh RSA private key as PKCS#8 PEM (tests, the sandbox)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
