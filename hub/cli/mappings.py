"""``hub mappings test`` and ``hub mappings lint``: try a mapping on sample records, and
check every mapping the config uses, before a connector runs with them."""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from hub.cli.context import get_runtime, handles_config_errors


def _fail(lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(2)


def _config(ctx: click.Context, required: bool):
    """The loaded config, or ``None`` when there is no config file and none is required."""
    from hub.config import config_path

    path = config_path(ctx.find_root().obj.get("config_file"))
    if not path.exists() and not required:
        return None
    return get_runtime(ctx).config


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def _dump(value: Any) -> str:
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    return json.dumps(value, ensure_ascii=False, indent=2, default=_json_default)


def _short(value: Any, limit: int = 60) -> str:
    text = value.isoformat() if isinstance(value, (datetime, date)) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _read_samples(path: str) -> list[Any]:
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as first:
        lines = [line for line in text.splitlines() if line.strip()]
        try:  # JSON Lines
            return [json.loads(line) for line in lines]
        except json.JSONDecodeError:
            _fail([f"{path}:{first.lineno}: invalid JSON: {first.msg}"])
    return data if isinstance(data, list) else [data]


def _default_instance(config: Any, mapping_path: str) -> str | None:
    """``--instance`` default: the only config instance of the mapping's connector type."""
    from hub.mapping.spec import Problems, read_spec

    spec = read_spec(mapping_path, Problems())
    if spec is None or not spec.connector:
        return None
    if config is not None:
        names = [n for n, inst in config.connectors.items() if inst.type == spec.connector]
        if len(names) == 1:
            return names[0]
    return spec.connector


@click.group()
def mappings() -> None:
    """Test and lint declarative field mappings (docs/mappings.md)."""


@mappings.command("test")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False))
@click.argument("sample", type=click.Path(exists=True, dir_okay=False))
@click.option("--instance", help="Connector instance name for 'namespace: instance' and {instance} "
                                 "(default: the config's instance of that type, else the type).")
@click.option("--json", "as_json", is_flag=True, help="Only print the results as JSON.")
@click.pass_context
@handles_config_errors
def test_cmd(ctx: click.Context, mapping: str, sample: str, instance: str | None, as_json: bool) -> None:
    """Map each record in SAMPLE (JSON object, array or JSON Lines) with MAPPING and show
    every field's source, transforms and result. Exits 1 if a record is rejected."""
    from hub.mapping import MappingError, load_mapping
    from hub.plugins import get_registry

    config = _config(ctx, required=False)
    records = _read_samples(sample)
    instance = instance or _default_instance(config, mapping)
    try:
        compiled = load_mapping(mapping, registry=get_registry(), lookups=config.lookups if config else {}, instance=instance)
    except MappingError as exc:
        _fail(exc.errors)
    for line in compiled.warnings:
        click.echo(f"warning: {line}", err=True)
    rejected = 0
    results = []
    for number, record in enumerate(records, 1):
        explanation = compiled.explain(record)
        if explanation.error is not None:
            rejected += 1
        if as_json:
            results.append({"record": number, "result": dataclasses.asdict(explanation.result) if dataclasses.is_dataclass(explanation.result) else explanation.result,
                            "rejected": explanation.error.message if explanation.error else None})
            continue
        what = "canonical record" if compiled.direction == "inbound" else "outbound payload"
        click.echo(f"record {number} ({compiled.direction}, {compiled.file})")
        for t in explanation.traces:
            chain = "".join(f" | {name} → {_short(value)}" for name, value in t.steps)
            if t.skipped:
                tail = "  (skipped: when is false)"
            elif t.error:
                tail = f"  ✗ {t.error}"
            else:
                tail = ""
            source = t.source or "-"
            click.echo(f"  {t.label:<34} {t.target:<26} ← {source} = {_short(t.raw)}{chain}{tail}")
        if explanation.error is not None:
            click.echo(f"  REJECTED: {explanation.error.message}")
        else:
            click.echo(f"  {what}:")
            for line in _dump(explanation.result).splitlines():
                click.echo(f"    {line}")
        click.echo("")
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=2, default=_json_default))
    else:
        click.echo(f"{len(records)} record(s), {len(records) - rejected} mapped, {rejected} rejected")
    if rejected:
        sys.exit(1)


@mappings.command("lint")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.pass_context
@handles_config_errors
def lint(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Check every mapping the config uses (or just FILES): syntax, keys, paths,
    transforms and their options, lookup tables, identity kinds. Exits 2 on problems;
    warnings (e.g. ``{strip: "+86"}`` used like a prefix) are printed but don't fail."""
    from hub.mapping import MappingError, load_mapping
    from hub.mapping.instances import locate, mappings_in_config, not_found_message
    from hub.plugins import get_registry

    registry = get_registry()
    errors: list[str] = []
    warned: list[str] = []
    checked = 0
    if files:
        config = _config(ctx, required=False)
        for f in files:
            if not Path(f).is_file():
                errors.append(f"{f}: mapping file not found")
                continue
            try:
                compiled = load_mapping(f, registry=registry, lookups=config.lookups if config else {},
                                        instance=_default_instance(config, f))
                click.echo(f"ok  {f}")
                warned += compiled.warnings
                checked += 1
            except MappingError as exc:
                errors += exc.errors
    else:
        config = _config(ctx, required=True)
        for use in mappings_in_config(config):
            try:
                path = locate(use)
                if path is None:
                    if use.explicit:
                        errors.append(f"{config.source_file}: {not_found_message(use)}")
                    continue
                compiled = load_mapping(path, registry=registry, lookups=config.lookups, instance=use.instance)
                click.echo(f"ok  {path}  ({use.title})")
                warned += compiled.warnings
                checked += 1
            except MappingError as exc:
                errors += exc.errors
        if not checked and not errors:
            click.echo("no mappings in use (no enabled connector has a stream or sink with a mapping)")
    for line in dict.fromkeys(warned):  # warnings don't fail the lint: the mapping works as written
        click.echo(f"warning: {line}", err=True)
    if errors:
        _fail(list(dict.fromkeys(errors)))


# hub.cli adds this group as `hub mappings`
__all__ = ["mappings"]
