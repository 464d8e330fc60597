"""``hub tokens create|list|revoke`` against the real store."""

from click.testing import CliRunner
from sqlalchemy import select

from hub.cli import cli
from hub.store.models import ApiToken, AuditEntry
from hub.web.auth import hash_token, lookup


def invoke(db, *args):
    return CliRunner().invoke(cli, list(args), obj={"db": db}, catch_exceptions=False)


def test_create_prints_the_token_once_and_stores_its_hash(db):
    result = invoke(db, "tokens", "create", "--role", "support", "--name", "alice")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("hub_") and len(token) > 40
    principal = lookup(db, hash_token(token))
    assert principal is not None and principal.role == "support" and principal.name == "alice"
    with db.session() as s:
        row = s.scalars(select(ApiToken)).one()
        assert row.token_hash == hash_token(token)
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "token.create"))
        assert entry.target == f"token:{row.id}" and entry.actor.startswith("cli")
    listed = invoke(db, "tokens", "list")
    assert "alice" in listed.output and "support" in listed.output and token not in listed.output


def test_roles_are_checked(db):
    result = CliRunner().invoke(cli, ["tokens", "create", "--role", "root", "--name", "x"], obj={"db": db})
    assert result.exit_code == 2 and "root" in result.output


def test_revoke_stops_the_token(db):
    token = invoke(db, "tokens", "create", "--role", "admin", "--name", "ops").stdout.strip()
    with db.session() as s:
        token_id = s.scalars(select(ApiToken.id)).one()
    assert invoke(db, "tokens", "revoke", str(token_id)).exit_code == 0
    assert lookup(db, hash_token(token)) is None
    assert '"revoked": true' in invoke(db, "tokens", "list", "--json").output
    missing = CliRunner().invoke(cli, ["tokens", "revoke", "999"], obj={"db": db})
    assert missing.exit_code == 1
