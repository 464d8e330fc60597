"""Config changes reach running processes: reload on SIGHUP, and say when one is stale.

Why: a worker or web process loads the config (and compiles mappings) once. A connector
added to the config gave ``KeyError`` in the worker and 404 at its webhook, and a fixed
mapping was not used until a restart nobody mentioned. Now:

* ``hub worker`` and ``hub serve`` reload on ``SIGHUP`` (``kill -HUP PID``): the config is
  loaded again into the *same* runtime object (so the ticker, the web app and jobs all see
  it) and cached mappings and rules are dropped. A config that no longer loads is logged
  and the old one kept. (Under gunicorn, ``kill -HUP`` on the master re-creates the app.)
* Each worker records a digest of the config file and the mapping files it uses in Redis
  (``hub:config:loaded``); ``hub check`` and ``hub sync`` compare it with the files on
  disk and say which live worker needs a SIGHUP or restart.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import socket
from typing import Any

log = logging.getLogger(__name__)

LOADED_KEY = "hub:config:loaded"


def config_digest(config: Any) -> str:
    """SHA-256 over the config file and every mapping file the config uses, as on disk."""
    from hub.mapping.instances import locate, mappings_in_config

    digest = hashlib.sha256()
    files = [config.source_file]
    try:
        for use in mappings_in_config(config):
            path = locate(use)
            if path is not None:
                files.append(str(path))
    except Exception:  # a broken mapping setup still has a digest (of what is readable)
        pass
    for name in sorted(set(files)):
        digest.update(name.encode())
        try:
            with open(name, "rb") as f:
                digest.update(f.read())
        except OSError:
            digest.update(b"<missing>")
    return digest.hexdigest()


def reload(runtime: Any) -> bool:
    """Load the config again into ``runtime``; False (old config kept) when it no longer loads."""
    from hub import logs
    from hub.config import ConfigError, load_config

    try:
        config = load_config(runtime.config.source_file)
    except ConfigError as exc:
        for line in exc.errors:
            log.error("config reload refused, keeping the running config: %s", line)
        return False
    old = runtime.config
    runtime.config = config
    for secret in config.secrets():
        logs.register_secret(secret)
    for cached in ("_mappings", "rules"):
        runtime.__dict__.pop(cached, None)
    if config.hub.database_url != old.hub.database_url:
        runtime.__dict__.pop("db", None)
    if config.hub.redis_url != old.hub.redis_url:
        runtime.__dict__.pop("redis_url", None)
        runtime.__dict__.pop("redis", None)
    log.warning("config reloaded from %s (%d connector instances)", config.source_file, len(config.connectors))
    return True


def record_loaded(runtime: Any, who: str) -> None:
    """Note in Redis which config ``who`` (a worker name) runs."""
    try:
        runtime.redis.hset(LOADED_KEY, who, config_digest(runtime.config))
    except Exception as exc:  # Redis down: nothing to compare against later, not fatal
        log.warning("could not record the loaded config (%s)", type(exc).__name__)


def install_sighup(runtime: Any, who: str | None = None, defer: Any = None) -> None:
    """Reload ``runtime`` on SIGHUP (and re-record it as ``who`` when given). ``defer``
    (``hub.queue.between_jobs`` in a warm worker) decides when the reload runs: a job in
    progress in this process finishes on the config it started with."""

    def apply() -> None:
        if reload(runtime) and who:
            record_loaded(runtime, who)

    def on_hup(signum: int, frame: Any) -> None:
        (defer or (lambda func: func()))(apply)

    signal.signal(signal.SIGHUP, on_hup)
    if who:
        record_loaded(runtime, who)


def default_worker_name() -> str:
    """``hub.<host>.<pid>``: unique, and says where to send the SIGHUP."""
    return f"hub.{socket.gethostname()}.{os.getpid()}"


def stale_workers(runtime: Any) -> list[Any]:
    """Live RQ workers whose recorded config differs from the files on disk now."""
    from rq import Worker

    conn = runtime.redis
    recorded = {k.decode(): v.decode() for k, v in conn.hgetall(LOADED_KEY).items()}
    live = Worker.all(connection=conn)
    names = {w.name for w in live}
    gone = [k for k in recorded if k not in names]
    if gone:
        conn.hdel(LOADED_KEY, *gone)
    now = config_digest(runtime.config)
    return [w for w in live if w.name in recorded and recorded[w.name] != now]


def stale_notice(runtime: Any) -> str | None:
    """One or two lines telling the admin which workers run an older config, or None."""
    try:
        stale = stale_workers(runtime)
    except Exception:  # Redis unreachable: the preflight already says so
        return None
    if not stale:
        return None
    who = ", ".join(f"{w.name} (pid {w.pid} on {w.hostname})" for w in stale)
    pids = " ".join(str(w.pid) for w in stale)
    return (f"note: the config or a mapping changed since these workers loaded it: {who}.\n"
            f"      reload them with `kill -HUP {pids}` (or restart them); web processes too (`kill -HUP` the server).")
