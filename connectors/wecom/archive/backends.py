"""Archive backends: where ``GetChatData`` and ``DecryptData`` come from.

* :class:`FinanceSdkBackend` — production. Loads Tencent's ``libWeWorkFinanceSdk_C.so``
  from ``sdk_path`` with ctypes. The library is proprietary and platform-specific, so the
  hub never downloads or bundles it; a missing or wrong file is a clear error from
  :meth:`check` (and so from ``hub check``). C signatures as in the SDK header
  ``WeWorkFinanceSdk_C.h`` (doc 91774; the same signatures in SKIT.FlurlHttpClient.Wechat's
  ``FinanceDllWindowsPInvoker.cs``): ``NewSdk()``, ``Init(sdk, corpid, secret)``,
  ``GetChatData(sdk, seq, limit, proxy, passwd, timeout, Slice_t*)``,
  ``DecryptData(encrypt_key, encrypt_msg, Slice_t*)``, ``NewSlice()``, ``FreeSlice()``,
  ``DestroySdk()``; ``Slice_t {char* buf; int len}``.
* :class:`SandboxArchiveBackend` — the WeCom sandbox's imitation of the same two calls
  (``POST <base_url>/finance/GetChatData``), so the RSA path runs for real in tests and the
  demo; only the body cipher is the sandbox's own (:mod:`.sandbox_cipher`).

Both return ``chatdata`` items unchanged and decrypt a body given the plaintext random key;
the RSA step in between is the hub's (:mod:`.keys`).
"""

from __future__ import annotations

import ctypes
import json
import os
import threading
from typing import TYPE_CHECKING, Any, Protocol

from hub.connector import ConnectorError, PermanentError, TransientError
from hub.connector.http import request

from connectors.wecom.archive import sandbox_cipher
from connectors.wecom.archive.keys import UndecryptableError

if TYPE_CHECKING:
    from connectors.wecom.connector import WeComConnector

#: The SDK's own return codes (WeWorkFinanceSdk_C.h, doc 91774).
SDK_ERRORS = {
    10000: "parameter error",
    10001: "network error",
    10002: "data parse failure",
    10003: "system failure",
    10004: "encryption failed because of a wrong key",
    10005: "wrong fileid",
    10006: "decryption failed",
    10007: "no private key for the message's encryption version: upload the key pair again",
    10008: "cannot parse encrypt_key",
    10009: "IP not allowed (add this host to the archive's trusted IPs)",
    10010: "data expired",
    10011: "certificate error",
}
TRANSIENT_SDK_ERRORS = frozenset({10001, 10003})


class ArchiveUnavailable(PermanentError):
    """The backend cannot run at all (no library, wrong library, no secret)."""


def sdk_error(code: int, where: str) -> ConnectorError:
    text = f"WeCom finance SDK {where}: {code} {SDK_ERRORS.get(code, 'unknown error')}"
    return TransientError(text, code=code) if code in TRANSIENT_SDK_ERRORS else PermanentError(text, code=code)


class ArchiveBackend(Protocol):
    def check(self) -> None:
        """Raise :class:`ArchiveUnavailable` when the backend cannot work."""

    def get_chat_data(self, seq: int, limit: int) -> list[dict[str, Any]]:
        """Encrypted ``chatdata`` items after ``seq`` (at most ``limit``)."""

    def decrypt_data(self, random_key: bytes, encrypt_chat_msg: str) -> dict[str, Any]:
        """One message's plaintext JSON; :class:`UndecryptableError` when it cannot."""


class _Slice(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("len", ctypes.c_int)]


_libraries: dict[str, ctypes.CDLL] = {}
_load_guard = threading.Lock()
SYMBOLS = ("NewSdk", "Init", "GetChatData", "DecryptData", "NewSlice", "FreeSlice", "DestroySdk")


def load_library(path: str | None) -> ctypes.CDLL:
    """The SDK at ``path`` with its signatures declared, loaded once per process."""
    if not path:
        raise ArchiveUnavailable(
            "sdk_path is not set: download libWeWorkFinanceSdk_C.so from WeCom (developer doc 91774), "
            "install it on every worker and set sdk_path — the hub never downloads it"
        )
    with _load_guard:
        if path in _libraries:
            return _libraries[path]
        if not os.path.isfile(path):
            raise ArchiveUnavailable(f"sdk_path {path} does not exist: install WeCom's finance SDK there (doc 91774)")
        try:
            lib = ctypes.CDLL(os.path.abspath(path))
        except OSError as exc:
            raise ArchiveUnavailable(f"sdk_path {path} cannot be loaded: {exc}") from None
        missing = [name for name in SYMBOLS if not hasattr(lib, name)]
        if missing:
            raise ArchiveUnavailable(f"sdk_path {path} is not WeCom's finance SDK (missing {', '.join(missing)})")
        slice_p = ctypes.POINTER(_Slice)
        lib.NewSdk.restype = ctypes.c_void_p
        lib.NewSdk.argtypes = []
        lib.Init.restype = ctypes.c_int
        lib.Init.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
        lib.GetChatData.restype = ctypes.c_int
        lib.GetChatData.argtypes = [ctypes.c_void_p, ctypes.c_ulonglong, ctypes.c_uint, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, slice_p]
        lib.DecryptData.restype = ctypes.c_int
        lib.DecryptData.argtypes = [ctypes.c_char_p, ctypes.c_char_p, slice_p]
        lib.NewSlice.restype = slice_p
        lib.NewSlice.argtypes = []
        lib.FreeSlice.restype = None
        lib.FreeSlice.argtypes = [slice_p]
        lib.DestroySdk.restype = None
        lib.DestroySdk.argtypes = [ctypes.c_void_p]
        _libraries[path] = lib
        return lib


class FinanceSdkBackend:
    """Tencent's SDK through ctypes. One SDK handle per backend object (per pull)."""

    def __init__(self, path: str | None, corp_id: str, secret: str | None, *, proxy: str | None = None,
                 proxy_password: str | None = None, timeout: int = 10):
        self.path, self.corp_id, self._secret = path, corp_id, secret
        self._proxy, self._passwd, self.timeout = proxy or "", proxy_password or "", timeout
        self._sdk: int | None = None
        self._lib: ctypes.CDLL | None = None

    def check(self) -> None:
        self._handle()

    def _handle(self) -> tuple[ctypes.CDLL, int]:
        if self._sdk is not None and self._lib is not None:
            return self._lib, self._sdk
        if not self._secret:
            raise ArchiveUnavailable("archive_secret (the 会话内容存档 Secret) is not set")
        lib = load_library(self.path)
        sdk = lib.NewSdk()
        if not sdk:
            raise ArchiveUnavailable("the finance SDK could not create a handle (NewSdk returned NULL)")
        code = lib.Init(sdk, self.corp_id.encode(), self._secret.encode())
        if code != 0:
            lib.DestroySdk(sdk)
            raise sdk_error(code, "Init")
        self._lib, self._sdk = lib, sdk
        return lib, sdk

    def _read(self, lib: ctypes.CDLL, slc) -> bytes:
        data = slc.contents
        return ctypes.string_at(data.buf, data.len) if data.buf and data.len > 0 else b""

    def get_chat_data(self, seq: int, limit: int) -> list[dict[str, Any]]:
        lib, sdk = self._handle()
        slc = lib.NewSlice()
        try:
            code = lib.GetChatData(sdk, int(seq), int(limit), self._proxy.encode(), self._passwd.encode(), int(self.timeout), slc)
            if code != 0:
                raise sdk_error(code, "GetChatData")
            raw = self._read(lib, slc)
        finally:
            lib.FreeSlice(slc)
        return parse_chat_data(raw)

    def decrypt_data(self, random_key: bytes, encrypt_chat_msg: str) -> dict[str, Any]:
        lib, _sdk = self._handle()
        slc = lib.NewSlice()
        try:
            code = lib.DecryptData(random_key, encrypt_chat_msg.encode(), slc)
            if code != 0:
                raise UndecryptableError(f"DecryptData returned {code} ({SDK_ERRORS.get(code, 'unknown error')})")
            raw = self._read(lib, slc)
        finally:
            lib.FreeSlice(slc)
        return parse_message(raw)

    def close(self) -> None:
        if self._sdk is not None and self._lib is not None:
            self._lib.DestroySdk(self._sdk)
        self._sdk = None


def parse_chat_data(raw: bytes | str) -> list[dict[str, Any]]:
    """GetChatData's JSON → its ``chatdata`` list; a non-zero errcode is an error."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise TransientError("WeCom finance SDK GetChatData: answer is not JSON") from None
    if not isinstance(body, dict):
        raise TransientError("WeCom finance SDK GetChatData: answer is not a JSON object")
    code = int(body.get("errcode", 0) or 0)
    if code:
        from connectors.wecom.errors import error_for

        raise error_for(code, body.get("errmsg", ""), "finance GetChatData")
    items = body.get("chatdata") or []
    return sorted((i for i in items if isinstance(i, dict)), key=lambda i: int(i.get("seq") or 0))


def parse_message(raw: bytes) -> dict[str, Any]:
    try:
        message = json.loads(raw)
    except ValueError:
        raise UndecryptableError("the decrypted message is not JSON") from None
    if not isinstance(message, dict):
        raise UndecryptableError("the decrypted message is not a JSON object")
    return message


class SandboxArchiveBackend:
    """The WeCom sandbox's imitation of the SDK (see the module docstring)."""

    def __init__(self, connector: "WeComConnector"):
        self.connector = connector

    def check(self) -> None:
        if not self.connector.config.get("archive_secret"):
            raise ArchiveUnavailable("archive_secret (the 会话内容存档 Secret) is not set")
        self.get_chat_data(0, 1)

    def get_chat_data(self, seq: int, limit: int) -> list[dict[str, Any]]:
        config = self.connector.config
        url = config["base_url"].rstrip("/") + "/finance/GetChatData"
        body = {"corpid": config["corp_id"], "secret": config.get("archive_secret") or "", "seq": int(seq), "limit": int(limit)}
        try:
            response = request(self.connector.http, "POST", url, json=body)
        except ConnectorError as exc:
            exc.__cause__ = exc.__context__ = None
            raise
        code = response.json().get("errcode", 0) if response.headers.get("content-type", "").startswith("application/json") else 0
        if code and int(code) in SDK_ERRORS:
            raise sdk_error(int(code), "GetChatData")
        return parse_chat_data(response.content)

    def decrypt_data(self, random_key: bytes, encrypt_chat_msg: str) -> dict[str, Any]:
        try:
            raw = sandbox_cipher.open_(random_key, encrypt_chat_msg)
        except ValueError:
            raise UndecryptableError("DecryptData returned 10006 (decryption failed)") from None
        return parse_message(raw)

    def close(self) -> None:
        pass


def backend_for(connector: "WeComConnector") -> ArchiveBackend:
    """The configured backend: ``sdk`` (default), ``sandbox``, or ``package.module:factory``
    — a callable taking the connector and returning an object with ``check``,
    ``get_chat_data`` and ``decrypt_data`` (e.g. one that reads an archive export)."""
    config = connector.config
    name = config.get("archive_backend") or "sdk"
    if name == "sandbox":
        return SandboxArchiveBackend(connector)
    if ":" in name:
        import importlib

        module, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ArchiveUnavailable(f"archive_backend {name}: cannot import it ({type(exc).__name__}: {exc})") from None
        return factory(connector)
    return FinanceSdkBackend(config.get("sdk_path"), config["corp_id"], config.get("archive_secret"),
                             proxy=config.get("archive_proxy"), proxy_password=config.get("archive_proxy_password"),
                             timeout=int(config.get("archive_timeout") or 10))
