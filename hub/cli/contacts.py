"""``hub contacts``: find a customer by any identifier, read one history, fix wrong merges."""

from __future__ import annotations

import getpass
import json
import os
from zoneinfo import ZoneInfo
import sys
from dataclasses import asdict
from datetime import datetime
from typing import Any

import click

from hub.cli.context import get_database, get_runtime


def _setup() -> tuple[Any, Any, Any]:
    """Database, identity rules and field policies for this invocation.

    Tests (and embedding code) may put ``db`` — and optionally ``rules``/``policies`` — in
    the root ``ctx.obj``; otherwise they come from the config.
    """
    from hub.identity import build_rules

    ctx = click.get_current_context()
    obj = ctx.find_root().obj or {}
    if obj.get("db") is not None and "runtime" not in obj:
        return obj["db"], obj.get("rules") or build_rules(), obj.get("policies") or {}
    runtime = get_runtime(ctx)
    return get_database(), build_rules(runtime.registry, runtime.config.identity), runtime.config.fields


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _contact_id(session, rules, text: str) -> int:
    """``contact:123`` or ``KIND:VALUE`` → surviving contact id; exit 2 if malformed, 1 if unknown."""
    from hub.contacts.queries import find_contact
    from hub.identity import IdentityError
    from hub.identity.merge import root_of

    kind, _, rest = text.partition(":")
    if kind == "contact":
        if not rest.strip().isdigit():
            _fail(f"{text}: expected contact:<number>", 2)
        found = root_of(session, int(rest))
    else:
        try:
            found = find_contact(session, rules, text)
        except IdentityError as exc:
            _fail(str(exc), 2)
    if found is None:
        _fail(f"no contact with {text}", 1)
    return found


def _json(value: Any) -> str:
    def default(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat()
        raise TypeError(type(v).__name__)

    return json.dumps(value, default=default, ensure_ascii=False, indent=2)


def _ts(value: datetime | None) -> str:
    """Local time with its offset (``HUB_TIMEZONE``, default Asia/Shanghai): support staff
    read Beijing time; the store keeps UTC."""
    if not value:
        return "-"
    local = value.astimezone(ZoneInfo(os.environ.get("HUB_TIMEZONE", "Asia/Shanghai")))
    return local.strftime("%Y-%m-%d %H:%M:%S %z")[:-2] + ":" + local.strftime("%z")[-2:]


@click.group("contacts")
def contacts() -> None:
    """Find contacts by any identity, read their history, review and undo merges."""


@contacts.command("show")
@click.argument("identity")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(identity: str, as_json: bool) -> None:
    """Show the contact holding IDENTITY (phone:+86…, wecom_external_userid:wm…, crm_id:crm_main:1001, contact:ID)."""
    from hub.contacts.queries import contact_view

    db, rules, _ = _setup()
    with db.session() as session:
        view = contact_view(session, _contact_id(session, rules, identity))
    if as_json:
        click.echo(_json(asdict(view)))
        return
    click.echo(f"contact {view.id}" + (f"  {view.display_name}" if view.display_name else ""))
    if view.merged_ids:
        click.echo(f"  merged ids: {', '.join(map(str, view.merged_ids))}")
    click.echo("identities:")
    for i in view.identities:
        click.echo(f"  {i.kind}:{i.value}  (from {i.connector})")
    click.echo("attributes:")
    for a in view.attributes:
        click.echo(f"  {a.name} = {json.dumps(a.value, ensure_ascii=False)}  (set by {a.connector}, source {_ts(a.source_ts)})")
    if view.tags:
        click.echo(f"tags: {', '.join(view.tags)}")
    click.echo("links:")
    for link in view.links:
        click.echo(f"  {link.connector}/{link.stream}/{link.native_id}  {link.state}  read {_ts(link.last_read_at)}")
    if view.merge_edges:
        click.echo("merges:")
        for e in view.merge_edges:
            click.echo(f"  edge {e.id}: {e.merged_id} -> {e.survivor_id} through {e.kind}:{e.value} ({e.connector})")
    if view.open_conflicts:
        click.echo("open conflicts:")
        for c in view.open_conflicts:
            click.echo(f"  #{c.id}: contacts {c.contact_a} and {c.contact_b} share {c.kind}:{c.value}: {c.reason}")


@contacts.command("history")
@click.argument("identity")
@click.option("--kind", "kinds", multiple=True, help="Only these event kinds (repeatable).")
@click.option("--connector", "connectors", multiple=True, help="Only events from these connector instances (repeatable).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--before", "cursor", help="Cursor printed at the end of the previous page.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def history_cmd(identity: str, kinds: tuple[str, ...], connectors: tuple[str, ...], limit: int, cursor: str | None,
                as_json: bool) -> None:
    """One timeline across all connectors for the contact holding IDENTITY, newest first."""
    from hub.contacts.queries import CursorError, history

    db, rules, _ = _setup()
    with db.session() as session:
        cid = _contact_id(session, rules, identity)
        try:
            page = history(session, cid, kinds=kinds, connectors=connectors, limit=limit, before=cursor)
        except CursorError as exc:
            _fail(str(exc), 2)
    if as_json:
        click.echo(_json({"events": [asdict(e) for e in page.events], "next_cursor": page.next_cursor}))
        return
    for e in page.events:
        click.echo(f"{_ts(e.occurred_at)}  {e.connector:<14} {e.kind:<22} {e.summary}")
    if not page.events:
        click.echo("(no events)")
    if page.next_cursor:
        click.echo(f"more: --before {page.next_cursor}")


@contacts.command("unmerge")
@click.argument("contact")
@click.option("--edge", "edge_id", type=int, help="Merge edge id (see `hub contacts show`).")
@click.option("--identity", help="Undo every merge through this KIND:VALUE.")
@click.option("--actor", default=lambda: getpass.getuser() or "cli", help="Who does this (audit log).")
def unmerge_cmd(contact: str, edge_id: int | None, identity: str | None, actor: str) -> None:
    """Split CONTACT (an id or KIND:VALUE) by undoing one merge edge."""
    from hub.identity import IdentityError
    from hub.identity.unmerge import UnmergeError, unmerge

    if (edge_id is None) == (identity is None):
        _fail("give --edge ID or --identity KIND:VALUE", 2)
    db, rules, policies = _setup()
    with db.session() as session:
        cid = int(contact) if contact.isdigit() else _contact_id(session, rules, contact)
        try:
            result = unmerge(session, cid, edge_id=edge_id, identity=identity, rules=rules, policies=policies, actor=actor)
        except IdentityError as exc:
            _fail(str(exc), 2)
        except UnmergeError as exc:
            _fail(str(exc), 1)
    click.echo(f"contact {result.root} split into {', '.join(str(s) for s in result.survivors)} "
               f"(edges undone: {', '.join(map(str, result.edges_undone))})")


@contacts.command("conflicts")
@click.option("--status", default="open", show_default=True, type=click.Choice(["open", "merged", "kept_apart", "all"]))
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000))
def conflicts_cmd(status: str, limit: int) -> None:
    """List merge conflicts (contacts kept apart because their strong ids differ)."""
    from hub.identity.review import list_conflicts

    db, _, _ = _setup()
    with db.session() as session:
        rows = list_conflicts(session, None if status == "all" else status, limit)
    for c in rows:
        click.echo(f"#{c.id}  {c.status:<10} contacts {c.contact_a} and {c.contact_b}  {c.kind}:{c.value}  {c.reason}")
    if not rows:
        click.echo("(no conflicts)")


@contacts.command("resolve")
@click.argument("conflict_id", type=int)
@click.option("--merge", "action", flag_value="merge", help="Same person: merge the two contacts.")
@click.option("--keep-apart", "action", flag_value="keep_apart", help="Different people: keep them apart for good.")
@click.option("--acknowledge", "action", flag_value="acknowledge", help="A duplicate-record item: the destination was cleaned up.")
@click.option("--actor", default=lambda: getpass.getuser() or "cli", help="Who decides (audit log).")
def resolve_cmd(conflict_id: int, action: str | None, actor: str) -> None:
    """Resolve merge conflict CONFLICT_ID."""
    from hub.identity.review import ReviewError, resolve_conflict

    if action is None:
        _fail("give --merge, --keep-apart or (a duplicate-record item) --acknowledge", 2)
    db, rules, policies = _setup()
    with db.session() as session:
        try:
            view = resolve_conflict(session, conflict_id, action, actor, rules=rules, policies=policies)
        except ReviewError as exc:
            _fail(str(exc), 1)
    click.echo(f"conflict #{view.id}: {view.status}")
