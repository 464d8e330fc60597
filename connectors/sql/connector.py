"""SQL connector: the reference two-way connector for an existing CRM / ERP / membership DB.

Any SQLAlchemy URL (SQLite, PostgreSQL through psycopg 3, MySQL / MariaDB through PyMySQL
when installed). Each instance configures its own streams (a table or a query, read
incrementally by ``(cursor_column, key)``, see :mod:`connectors.sql.streams`) and sinks (a
table upserted by a key column, at most once per idempotency key, see
:mod:`connectors.sql.sinks`).

Stream and sink *names* come from each instance's config, so the class-level ``streams`` /
``sinks`` mappings only declare the generic implementations under the default name ``rows``
(what ``hub connectors`` lists and the standard suite exercises). :meth:`stream_names` /
:meth:`sink_names` give an instance's real names; :meth:`stream` / :meth:`sink` build the
generic class for any configured name.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote as url_quote, quote_plus
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, exc as sa_exc, inspect, text
from sqlalchemy.engine import URL

from hub.connector import CheckFailed, Connector, Sink, Stream, scrubbed

from connectors.sql.config import SqlConfig
from connectors.sql.db import describe, driver_message, quote, quote_table, raise_translated, shared_engine
from connectors.sql.sandbox import SqlSandbox
from connectors.sql.sinks import TableSink, ledger_table
from connectors.sql.streams import TableStream, source_sql


class SqlConnector(Connector):
    name = "sql"
    title = "SQL database (CRM / ERP / membership)"
    version = "0.1.0"
    config_schema = SqlConfig
    streams = {"rows": TableStream}
    sinks = {"rows": TableSink}
    webhook = None
    rate_limits = ()
    sandbox = SqlSandbox

    def __init__(self, instance: str, config: Mapping[str, Any], **kwargs: Any):
        super().__init__(instance, config, **kwargs)
        self.zone = ZoneInfo(self.config.get("timezone") or "UTC")
        self._engine: Engine | None = None
        self._url: URL | None = None
        self._ledger_ready = False

    # -- names from config ----------------------------------------------------------------
    @classmethod
    def stream_names(cls, config: Mapping[str, Any] | None = None) -> list[str]:
        """The streams an instance with ``config`` offers (its ``streams:`` keys)."""
        return sorted((config or {}).get("streams") or {})

    @classmethod
    def sink_names(cls, config: Mapping[str, Any] | None = None) -> list[str]:
        """The sinks an instance with ``config`` offers (its ``sinks:`` keys)."""
        return sorted((config or {}).get("sinks") or {})

    def stream_spec(self, name: str) -> dict[str, Any]:
        try:
            return self.config["streams"][name]
        except KeyError:
            raise KeyError(f"sql instance {self.instance!r} configures no stream {name!r}; it has {self.stream_names(self.config)}") from None

    def sink_spec(self, name: str) -> dict[str, Any]:
        try:
            return self.config["sinks"][name]
        except KeyError:
            raise KeyError(f"sql instance {self.instance!r} configures no sink {name!r}; it has {self.sink_names(self.config)}") from None

    def stream(self, name: str) -> Stream:
        return TableStream(self, name)

    def sink(self, name: str) -> Sink:
        return TableSink(self, name)

    # -- discovery ------------------------------------------------------------------------
    def sink_fields(self, sink: str) -> dict[str, str] | None:
        """A sink's writable columns: its ``key`` and ``columns`` (offline, from the config)."""
        spec = (self.config.get("sinks") or {}).get(sink)
        if spec is None:
            return None
        return {c: "column" for c in dict.fromkeys([spec["key"], *spec["columns"]])}

    def discover(self, stream: str | None = None, *, sample: int = 0):
        """The catalogue: streams, sinks and the other tables (:mod:`connectors.sql.discovery`)."""
        from connectors.sql.discovery import discover

        return discover(self, stream, sample=sample)

    # -- the database ---------------------------------------------------------------------
    @property
    def secrets(self) -> list[str]:
        """Strings that must never appear in a message: the URL and its password."""
        out = [str(self.config.get("url") or "")]
        if self._url is not None and self._url.password:
            password = str(self._url.password)
            out[:0] = [password, quote_plus(password), url_quote(password, safe="")]
        return [s for s in out if s]

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine, self._url = shared_engine(self.config["url"], connect_timeout=self.config["connect_timeout"])
        return self._engine

    def close(self) -> None:
        """Release pooled connections (the hub may rebuild connectors on config reload). The
        engine is the process's for this URL (:func:`~connectors.sql.db.shared_engine`): it
        stays usable, and opens connections again when next needed."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def ledger(self):
        """The idempotency ledger table, created on first use; None when turned off."""
        name = self.config.get("idempotency_table")
        if not name:
            return None
        table = ledger_table(name)
        if not self._ledger_ready:
            try:
                table.create(self.engine, checkfirst=True)
            except sa_exc.SQLAlchemyError as exc:
                raise_translated(
                    exc,
                    f"cannot create the idempotency table {name} (create it, or set idempotency_table: null)",
                    self.secrets,
                )
            self._ledger_ready = True
        return table

    # -- check ----------------------------------------------------------------------------
    def check(self) -> None:
        """Connect, then prove each stream's source and each sink's table has its columns."""
        engine = self.engine  # a URL that does not parse or has no driver: CheckFailed here
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except sa_exc.SQLAlchemyError as exc:
            target = describe(self._url) if self._url is not None else "the database"
            raise CheckFailed(scrubbed(f"cannot connect to {target}: {driver_message(exc)}", self.secrets)) from None
        problems: list[str] = []
        for name, spec in sorted(self.config["streams"].items()):
            problems += self._check_stream(name, spec)
        for name, spec in sorted(self.config["sinks"].items()):
            problems += self._check_sink(name, spec)
        if problems:
            raise CheckFailed(scrubbed("; ".join(problems), self.secrets))

    def _columns_of(self, source: str) -> list[str] | str:
        """Column names of ``SELECT * FROM source``, or the driver's complaint (one
        connection per probe: on PostgreSQL a failed statement spoils its transaction)."""
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(text(f"SELECT * FROM {source} WHERE 1 = 0")).keys())
        except sa_exc.SQLAlchemyError as exc:
            return scrubbed(f"unreadable ({driver_message(exc)})", self.secrets)

    def _check_stream(self, name: str, spec: dict[str, Any]) -> list[str]:
        what = spec.get("table") or "its query"
        columns = self._columns_of(source_sql(self, spec))
        if isinstance(columns, str):
            return [f"stream {name!r}: {what} is {columns}"]
        needed = [spec["key"], spec["cursor_column"], spec.get("deleted_column"), *(spec.get("columns") or [])]
        missing = [c for c in dict.fromkeys(needed) if c and c not in columns]
        if missing:
            return [f"stream {name!r}: {what} has no column {', '.join(map(repr, missing))} (it has {', '.join(columns)})"]
        return []

    def _check_sink(self, name: str, spec: dict[str, Any]) -> list[str]:
        table = spec["table"]
        columns = self._columns_of(quote_table(self.engine, table))
        if isinstance(columns, str):
            return [f"sink {name!r}: table {table} is {columns}"]
        needed = [spec["key"], *spec["columns"], spec.get("updated_at_column")]
        missing = [c for c in dict.fromkeys(needed) if c and c not in columns]
        if missing:
            return [f"sink {name!r}: table {table} has no column {', '.join(map(repr, missing))} (it has {', '.join(columns)})"]
        try:
            unique = self._is_unique(table, spec["key"])
        except sa_exc.SQLAlchemyError as exc:
            return [scrubbed(f"sink {name!r}: cannot read the keys of {table} ({driver_message(exc)})", self.secrets)]
        if not unique:
            return [f"sink {name!r}: {table}.{spec['key']} is neither PRIMARY KEY nor UNIQUE, so it cannot be upserted by"]
        return []

    def _is_unique(self, table: str, column: str) -> bool:
        schema, _, bare = table.rpartition(".")
        insp = inspect(self.engine)
        schema_arg = schema or None
        if insp.get_pk_constraint(bare, schema=schema_arg).get("constrained_columns") == [column]:
            return True
        for constraint in insp.get_unique_constraints(bare, schema=schema_arg):
            if constraint.get("column_names") == [column]:
                return True
        if any(ix.get("unique") and ix.get("column_names") == [column] for ix in insp.get_indexes(bare, schema=schema_arg)):
            return True
        if self.engine.dialect.name == "sqlite":
            # SQLAlchemy does not report a column's inline UNIQUE (SQLite's "autoindex").
            prefix = f"{quote(self.engine, schema)}." if schema else ""
            with self.engine.connect() as conn:
                for index in conn.execute(text(f"PRAGMA {prefix}index_list({quote(self.engine, bare)})")).mappings():
                    if index["unique"]:
                        info = conn.execute(text(f"PRAGMA {prefix}index_info({quote(self.engine, index['name'])})")).mappings()
                        if [row["name"] for row in info] == [column]:
                            return True
        return False
