"""Config changes reach running processes: reload on SIGHUP, and say when one is stale.

Why: a worker or web process loads the config (and compiles mappings) once. A connector
added to the config gave ``KeyError`` in the worker and 404 at its webhook, and a fixed
mapping was not used until a restart nobody mentioned. Now:

* ``hub worker`` and ``hub serve`` reload on ``SIGHUP`` (``kill -HUP PID``): the config is
  loaded again into the *same* runtime object (so the ticker, the web app and jobs all see
  it) and cached mappings and rules are dropped. A config that no longer loads is logged
  and the old one kept. (Under gunicorn, ``kill -HUP`` on the master re-creates the app.)
* Each worker (``hub:config:loaded``) and ``hub serve`` process (``hub:config:web:…``, kept
  alive while it runs) records a digest of the config file and the mapping files it uses
  in Redis; ``hub check`` and ``hub sync`` compare it with the files on disk and say which
  live process needs a SIGHUP or restart.
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


#: Web processes are not RQ workers, so nothing lists the live ones: each keeps its own key
#: alive (``WEB_PREFIX<name>`` → digest, expiring unless refreshed).
WEB_PREFIX = "hub:config:web:"
WEB_TTL = 180


def record_loaded(runtime: Any, who: str) -> None:
    """Note in Redis which config ``who`` (a worker name, or ``web.…`` for a web process) runs."""
    try:
        if who.startswith("web."):
            runtime.redis.set(WEB_PREFIX + who, config_digest(runtime.config), ex=WEB_TTL)
        else:
            runtime.redis.hset(LOADED_KEY, who, config_digest(runtime.config))
    except Exception as exc:  # Redis down: nothing to compare against later, not fatal
        log.warning("could not record the loaded config (%s)", type(exc).__name__)


def keep_recording(runtime: Any, who: str, every: float = WEB_TTL / 3) -> None:
    """Refresh ``who``'s record while this process lives (a daemon thread)."""
    import threading

    def loop() -> None:
        stop = threading.Event()
        while not stop.wait(every):
            record_loaded(runtime, who)

    threading.Thread(target=loop, name="hub-config-record", daemon=True).start()


def web_process_name(port: int) -> str:
    return f"web.{socket.gethostname()}.{os.getpid()}.{port}"


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


def stale_web(runtime: Any) -> list[tuple[str, str, int]]:
    """``(name, host, pid)`` of live web processes whose recorded config differs from disk."""
    conn = runtime.redis
    now = config_digest(runtime.config)
    out = []
    for key in conn.scan_iter(match=WEB_PREFIX + "*", count=100):
        digest = conn.get(key)
        if digest is not None and digest.decode() != now:
            name = key.decode()[len(WEB_PREFIX):]
            _, host, pid, _port = name.rsplit(".", 3) if name.count(".") >= 3 else (name, "?", "0", "0")
            out.append((name, host, int(pid) if pid.isdigit() else 0))
    return out


def stale_notice(runtime: Any) -> str | None:
    """One or two lines telling the admin which processes run an older config, or None."""
    try:
        stale = [(w.name, w.hostname, w.pid) for w in stale_workers(runtime)] + stale_web(runtime)
    except Exception:  # Redis unreachable: the preflight already says so
        return None
    if not stale:
        return None
    who = ", ".join(f"{name} (pid {pid} on {host})" for name, host, pid in stale)
    pids = " ".join(str(pid) for _, _, pid in stale)
    return (f"note: the config or a mapping changed since these processes loaded it: {who}.\n"
            f"      reload them with `kill -HUP {pids}` (or restart them; gunicorn: `kill -HUP` its master).")
