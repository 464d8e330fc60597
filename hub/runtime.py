"""The runtime: config + plugins + database + Redis, built once per process.

The CLI, the web app and RQ jobs all get their collaborators from here, so a worker
process and a web process configured by the same ``HUB_CONFIG`` see the same hub.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Generic, TypeVar

from hub import logs
from hub.config import HubConfig, load_config
from hub.plugins import Registry, get_registry
from hub.store import Database

log = logging.getLogger(__name__)

T = TypeVar("T")


class lazy(Generic[T]):
    """A cached attribute without ``functools.cached_property``'s lock: in Python 3.11 that
    lock is shared by all instances, and an RQ work-horse forked while another thread holds
    it deadlocks on first access. Two threads may both compute on first access; the first value
    stored wins and both get it. (The loser must never be handed out: a dropped ``redis.Redis``
    built by ``from_url`` closes its pool on garbage collection, under whoever still uses it.)"""

    def __init__(self, func: Callable[[Any], T]):
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        value = self.func(obj)
        return obj.__dict__.setdefault(self.name, value)


class Runtime:
    def __init__(self, config: HubConfig, registry: Registry | None = None):
        self.config = config
        self.registry = registry or get_registry()
        for secret in config.secrets():
            logs.register_secret(secret)

    @classmethod
    def from_env(cls, config_file: str | None = None) -> "Runtime":
        return cls(load_config(config_file))

    @lazy
    def db(self) -> Database:
        return Database(self.config.hub.database_url)

    @lazy
    def redis_url(self) -> str:
        from hub.queue import redis_url_for

        return redis_url_for(self.config.hub)

    @lazy
    def redis(self):
        import redis

        return redis.Redis.from_url(self.redis_url)

    @lazy
    def rules(self):
        """Identity rules: the registry's kinds with the config's overrides and block-lists."""
        from hub.identity.rules import build_rules

        return build_rules(self.registry, self.config.identity)

    def mapping(self, instance: str, *, stream: str | None = None, sink: str | None = None):
        """The compiled inbound (``stream=``) or outbound (``sink=``) mapping, compiled once."""
        key = (instance, stream, sink)
        cache = self.__dict__.setdefault("_mappings", {})
        if key not in cache:
            from hub.mapping import load_for_instance

            cache[key] = load_for_instance(self.config, instance, stream=stream, sink=sink, registry=self.registry)
        return cache[key]

    def connector(self, instance: str, *, http=None) -> Any:
        """A live connector object for a configured instance, with SQL-backed state."""
        from hub.state import SqlState

        inst = self.config.connectors[instance]
        return inst.connector_class(inst.name, inst.config, state=SqlState(self.db, inst.name), http=http, cache=self.redis)

    def warm_up(self) -> None:
        """Build the shared collaborators now, before a worker starts threads and forks."""
        self.db, self.redis, self.rules  # noqa: B018 - evaluated for their side effect

    def preload(self) -> None:
        """Everything a warm worker's jobs will need, loaded once before the first job:
        the pipeline modules and every enabled stream's and sink's compiled mapping. A
        mapping that does not compile is left for its job to report (as rejected rows)."""
        import hub.pipeline.deliver  # noqa: F401
        import hub.pipeline.jobs  # noqa: F401
        import hub.pipeline.process  # noqa: F401
        import hub.pipeline.pull  # noqa: F401

        for name, inst in self.config.enabled_connectors().items():
            wanted = [{"stream": s.name} for s in inst.streams.values() if s.enabled]
            wanted += [{"sink": s.name} for s in inst.sinks.values() if s.enabled]
            for which in wanted:
                try:
                    self.mapping(name, **which)
                except Exception as exc:  # reported where it matters: by the job that needs it
                    log.warning("mapping for %s %s not preloaded: %s", name, which, type(exc).__name__)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()


_current: Runtime | None = None


def current() -> Runtime:
    """The process's runtime, loaded from ``HUB_CONFIG`` on first use (RQ jobs use this)."""
    global _current
    if _current is None:
        _current = Runtime.from_env(os.environ.get("HUB_CONFIG"))
    return _current


def set_current(runtime: Runtime | None) -> None:
    global _current
    _current = runtime
