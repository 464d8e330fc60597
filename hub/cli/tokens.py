"""``hub tokens``: API tokens for the web UI and ``/api/v1`` (create, list, revoke).

A token is shown once, when it is created; the hub keeps only its SHA-256. Creating and
revoking are written to the audit log (actor ``cli:<os user>``).
"""

from __future__ import annotations

import getpass
import json
import sys

import click

from hub.cli.context import get_database


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


@click.group("tokens")
def tokens() -> None:
    """Create, list and revoke API tokens (roles: support, operator, admin)."""


@tokens.command("create")
@click.option("--role", required=True, type=click.Choice(["support", "operator", "admin"]),
              help="support: search and read (masked); operator: + connectors, dead letters, merges, reveal; admin: everything.")
@click.option("--name", required=True, help="Who or what holds the token (shown in the audit log).")
def create(role: str, name: str) -> None:
    """Create a token and print it (once: it cannot be shown again)."""
    from hub.web.auth import create_token
    from hub.web.queries import audit

    db = get_database()
    token_id, token = create_token(db, name, role)
    with db.session() as s:
        audit(s, _actor(), "token.create", f"token:{token_id}", {"name": name, "role": role})
    click.echo(token)
    click.echo(f"token #{token_id} for {name!r} ({role}); store it now, it is not shown again", err=True)


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """List tokens (never their values)."""
    from sqlalchemy import select

    from hub.store.models import ApiToken

    db = get_database()
    with db.session() as s:
        rows = list(s.scalars(select(ApiToken).order_by(ApiToken.id)))
    data = [{"id": r.id, "name": r.name, "role": r.role, "created_at": r.created_at.isoformat() if r.created_at else None,
             "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
             "revoked": r.revoked_at is not None} for r in rows]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not data:
        click.echo("no tokens; create one with: hub tokens create --role support --name alice")
        return
    click.echo(f"{'ID':>4}  {'ROLE':<9} {'STATE':<8} {'LAST USED':<20} NAME")
    for d in data:
        state = "revoked" if d["revoked"] else "active"
        click.echo(f"{d['id']:>4}  {d['role']:<9} {state:<8} {(d['last_used_at'] or '-')[:19]:<20} {d['name']}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID: it stops working at once."""
    from hub.store.models import ApiToken
    from hub.store.types import utcnow
    from hub.web.queries import MAX_ID, audit

    db = get_database()
    with db.session() as s:
        row = s.get(ApiToken, token_id) if 0 < token_id <= MAX_ID else None
        if row is None:
            click.echo(f"Error: no token {token_id}", err=True)
            sys.exit(1)
        if row.revoked_at is not None:
            click.echo(f"token #{token_id} was already revoked")
            return
        row.revoked_at = utcnow()
        audit(s, _actor(), "token.revoke", f"token:{token_id}", {"name": row.name})
    click.echo(f"revoked token #{token_id} ({row.name}, {row.role})")
