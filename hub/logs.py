"""Logging setup with secret masking.

Masking happens where records are created (a log-record factory), not in one handler's
formatter, so every handler — files, JSON, pytest's capture, gunicorn's — sees only the
masked text. Masked: every value registered with :func:`register_secret` (the secret
fields of every connector config), and anything shaped like a credential: URL passwords,
``access_token=…``, ``corpsecret=…``, ``Signature=…``, bearer tokens.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import datetime, timezone

MASK = "***"
_secrets: set[str] = set()
_lock = threading.Lock()
_pattern: re.Pattern | None = None

_SHAPES = [
    # scheme://user:password@host
    (re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@/\s]+)(?P<post>@)"), None),
    # key=value in query strings / forms / logs
    (
        re.compile(
            r"(?P<pre>\b(?:access_token|refresh_token|corpsecret|secret|app_secret|password|passwd|token|api_key|apikey|"
            r"signature|sign|Signature|AccessKeySecret|encoding_aes_key|EncodingAESKey)\b[\"']?\s*[=:]\s*[\"']?)"
            r"(?P<secret>[^\s&\"',}]+)",
            re.IGNORECASE,
        ),
        None,
    ),
    # Authorization: Bearer xxx / Access-Token: xxx headers
    (re.compile(r"(?P<pre>\b(?:Bearer|Access-Token:?)\s+)(?P<secret>[A-Za-z0-9._~+/=-]{8,})"), None),
]


def register_secret(value: str | None) -> None:
    """Never let ``value`` appear in a log line (values shorter than 4 chars are ignored:
    masking "1" would shred every log)."""
    global _pattern
    if not value or len(value) < 4:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def mask(text: str) -> str:
    """``text`` with registered secrets and credential-shaped values replaced by ``***``."""
    if not text:
        return text
    if _pattern is not None:
        text = _pattern.sub(MASK, text)
    for shape, _ in _SHAPES:
        text = shape.sub(lambda m: m.group("pre") + MASK + (m.groupdict().get("post") or ""), text)
    return text


_base_factory = logging.getLogRecordFactory()


def _masking_factory(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a bad %-format must not lose the log line
        message = str(record.msg)
    record.msg = mask(message)
    record.args = ()
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
    return record


def install_masking() -> None:
    """Install the masking record factory (idempotent)."""
    if logging.getLogRecordFactory() is not _masking_factory:
        logging.setLogRecordFactory(_masking_factory)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_text:
            out["exc"] = record.exc_text
        for key in ("connector", "stream", "run_id", "job_id"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        return json.dumps(out, ensure_ascii=False)


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Configure root logging once per process (CLI, worker, web)."""
    install_masking()
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_hub", False):
            root.removeHandler(old)
    handler._hub = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic narrates every plugin it sets up; only its warnings matter to operators.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))


install_masking()
