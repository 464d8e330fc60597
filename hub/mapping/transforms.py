"""The built-in transforms.

A transform is registered as ``factory(**options)``; the factory runs once, when a
mapping is compiled, validates its options (raising :class:`ValueError` with a
readable message) and returns ``fn(value, record) -> value``, which runs per record.
A bad *value* raises :class:`~hub.mapping.errors.TransformError` (a ``ValueError``);
the engine rejects the record naming the field path and the value.

Conventions the built-ins follow (and ``docs/mappings.md`` documents):

* ``None`` passes through every transform except ``const``, ``default``, ``coalesce``
  and ``when``; blank text (``""`` / spaces) becomes ``None`` in the converting ones
  (``int``, ``float``, ``bool``, ``phone``, ``email``, ``datetime``).
* Value transforms apply to each element of a list (``tags[*]`` gives a list); the
  list transforms (``first``, ``join``, ``split``, ``coalesce``, ``keywords``, ``default``,
  ``const``, ``when``, ``template``) see the whole list. A callable marks itself as a
  list transform with ``fn.accepts_lists = True``; plugin transforms without that mark
  are applied per element, and never see ``None``.
* ``on_invalid: error | null | keep`` chooses what a converting transform does with a
  value it cannot convert.
* A factory that declares a ``context`` parameter receives the :class:`TransformContext`
  (lookup tables, connector instance, nested-transform compiler).
"""

from __future__ import annotations

import math
import re
import string
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.config.errors import did_you_mean
from hub.identity_kinds import normalize_email
from hub.mapping.conditions import compile_condition
from hub.mapping.errors import MappingWarning, TransformError
from hub.phones import FORMATS as PHONE_FORMATS
from hub.phones import format_phone
from hub.mapping.paths import compile_path, is_blank

Transform = Callable[[Any, Any], Any]
_MISSING: Any = object()
ON_INVALID = ("error", "null", "keep")
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass
class TransformContext:
    """What a factory may need besides its options; passed if it declares ``context``."""

    lookups: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    instance: str | None = None
    connector: str | None = None
    #: Compiles a nested list of transform specs (``when.then``) into one callable.
    compile_transforms: Callable[[Any, str], Transform] | None = None


def whole(fn: Transform) -> Transform:
    """Mark ``fn`` as a list transform: it receives a list value whole."""
    fn.accepts_lists = True  # type: ignore[attr-defined]
    return fn


def per_element(fn: Transform) -> Transform:
    """Wrap a plugin transform so it applies to each element of a list and skips ``None``."""
    if getattr(fn, "accepts_lists", False):
        return fn

    def each(value: Any, record: Any) -> Any:
        if value is None:
            return None
        if value.__class__ is list:
            return [fn(x, record) for x in value]
        return fn(value, record)

    each.accepts_lists = True  # type: ignore[attr-defined]
    each.passes_none = True  # type: ignore[attr-defined]
    each.__wrapped__ = fn  # type: ignore[attr-defined]
    return each


def _check_on_invalid(on_invalid: Any) -> None:
    if on_invalid not in ON_INVALID:
        raise ValueError(f"on_invalid must be one of error, null, keep, got {on_invalid!r}{did_you_mean(on_invalid, ON_INVALID)}")


def _failer(on_invalid: str | None, what: str) -> Callable[[Any], Any]:
    """What to do with a value that cannot be converted, per ``on_invalid``
    (YAML's bare ``null`` means ``"null"``)."""
    if on_invalid is None:
        on_invalid = "null"
    _check_on_invalid(on_invalid)
    if on_invalid == "null":
        return lambda v: None
    if on_invalid == "keep":
        return lambda v: v

    def fail(v: Any) -> Any:
        raise TransformError(f"{what} {v!r}", v)

    return fail


def _text(v: Any, name: str) -> str:
    if isinstance(v, (dict, list, tuple, set)):
        raise TransformError(f"{name}: expected text, got {type(v).__name__} {v!r}", v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# --- text -----------------------------------------------------------------------------


def strip_(chars: str | None = None) -> Transform:
    """Trim whitespace, or with ``chars`` every character *in that set* from both ends —
    Python's ``str.strip``. ``{strip: "+86"}`` is therefore not "remove the +86 prefix":
    it eats 8s and 6s off the number too, so the factory warns (see :func:`_strip_warning`)."""
    if chars is not None and not isinstance(chars, str):
        raise ValueError(f"chars must be text, got {chars!r}")
    if chars:
        _strip_warning(chars)

    def strip(v: Any, r: Any) -> Any:
        if v.__class__ is str:
            return v.strip(chars)
        if v is None:
            return None
        if v.__class__ is list:
            return [strip(x, r) for x in v]
        return _text(v, "strip").strip(chars)

    return strip


def _strip_warning(chars: str) -> None:
    """Warn when ``chars`` reads like a prefix or suffix rather than a set of characters.

    Several characters including a letter or digit (``+86``, ``0086``, ``ID-``) almost
    always mean "remove this text", and a set strips the value's own letters and digits
    (``+8613711112226`` → ``1371111222``). Punctuation sets (``" -_"``, ``"，。"``) are what
    ``strip`` is for and pass quietly."""
    if len(chars) < 2 or not any(ch.isalnum() for ch in chars):
        return
    shown = ", ".join(repr(ch) for ch in dict.fromkeys(chars))
    sample = chars + "13711112226"
    example = f" ({sample!r} → {sample.strip(chars)!r})" if sample.strip(chars) != "13711112226" else ""
    warnings.warn(MappingWarning(
        f"strip {chars!r} removes any of the characters {shown} from both ends{example}, not the "
        f"text {chars!r}; to remove a prefix use {{replace: {{pattern: '^{re.escape(chars)}'}}}}"
        + (" or the phone transform" if any(ch.isdigit() for ch in chars) else "")), stacklevel=3)


def replace_(pattern: str, to: str = "", count: int = 0, ignore_case: bool = False,
             examples: Mapping[str, Any] | None = None) -> Transform:
    """Regex substitution (Python ``re.sub``): ``{replace: {pattern: '^(\\+|00)?86', to: ''}}``.

    The pattern and the replacement's group references (``\\1``, ``\\g<name>``) are checked
    when the mapping loads, and so are ``examples`` (input → expected output): a pattern
    that does not do what its examples say stops the load, naming the example. Anchor it
    (``^…``, ``…$``) when only a prefix or suffix should change. ``count`` limits the
    number of replacements (0 = all)."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"pattern must be a non-empty regular expression, got {pattern!r}")
    if not isinstance(to, str):
        raise ValueError(f"to must be text (the replacement), got {to!r}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError(f"count must be a whole number >= 0, got {count!r}")
    if not isinstance(ignore_case, bool):
        raise ValueError(f"ignore_case takes true or false, got {ignore_case!r}")
    try:
        rx = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
    try:
        _check_template(to, rx)
    except (re.error, IndexError) as exc:  # IndexError: an unknown group name (Python 3.11)
        raise ValueError(f"to {to!r}: {exc}") from None
    sub = rx.sub

    def replaced(v: Any, r: Any) -> Any:
        if v.__class__ is str:
            return sub(to, v, count)
        if v is None:
            return None
        if v.__class__ is list:
            return [replaced(x, r) for x in v]
        return sub(to, _text(v, "replace"), count)

    if examples is not None:
        if not isinstance(examples, dict) or not examples:
            raise ValueError(f"examples must map inputs to expected outputs, got {examples!r}")
        for given, expected in examples.items():
            got = replaced(given, None)
            if got != (str(expected) if expected is not None else ""):
                raise ValueError(f"example {given!r}: expected {expected!r}, the pattern gives {got!r}")
    return replaced


def _check_template(template: str, rx: re.Pattern) -> None:
    """Raise ``re.error`` for a replacement that would fail on the first match (a group the
    pattern lacks, a bad escape) — before any record is mapped."""
    parser = getattr(re, "_parser", None)
    if parser is not None and hasattr(parser, "parse_template"):
        parser.parse_template(template, rx)


def lower_() -> Transform:
    def lower(v: Any, r: Any) -> Any:
        if v.__class__ is str:
            return v.lower()
        if v is None:
            return None
        if v.__class__ is list:
            return [lower(x, r) for x in v]
        return _text(v, "lower").lower()

    return lower


def upper_() -> Transform:
    def upper(v: Any, r: Any) -> Any:
        if v.__class__ is str:
            return v.upper()
        if v is None:
            return None
        if v.__class__ is list:
            return [upper(x, r) for x in v]
        return _text(v, "upper").upper()

    return upper


def str_() -> Transform:
    def to_str(v: Any, r: Any) -> Any:
        if v.__class__ is str or v is None:
            return v
        if v.__class__ is list:
            return [to_str(x, r) for x in v]
        return _text(v, "str")

    return to_str


# --- numbers and booleans ---------------------------------------------------------------


def int_(on_invalid: str = "error") -> Transform:
    fail = _failer(on_invalid, "not an integer:")

    def to_int(v: Any, r: Any) -> Any:
        c = v.__class__
        if c is int:
            return v
        if c is str:
            s = v.strip()
            if not s:
                return None
            if "_" not in s:
                try:
                    return int(s)
                except ValueError:
                    try:
                        f = float(s)
                    except ValueError:
                        return fail(v)
                    if math.isfinite(f) and f.is_integer():
                        return int(f)
            return fail(v)
        if v is None:
            return None
        if c is float:
            return int(v) if math.isfinite(v) and v.is_integer() else fail(v)
        if c is list:
            return [to_int(x, r) for x in v]
        if c is bool:
            return int(v)
        return fail(v)

    return to_int


def float_(on_invalid: str = "error") -> Transform:
    fail = _failer(on_invalid, "not a number:")

    def to_float(v: Any, r: Any) -> Any:
        c = v.__class__
        if c is float:
            return v if math.isfinite(v) else fail(v)
        if c is int:
            return float(v)
        if c is str:
            s = v.strip().replace(",", "") if "," in v else v.strip()
            if not s:
                return None
            if "_" in s:
                return fail(v)
            try:
                f = float(s)
            except ValueError:
                return fail(v)
            return f if math.isfinite(f) else fail(v)
        if v is None:
            return None
        if c is list:
            return [to_float(x, r) for x in v]
        return fail(v)

    return to_float


TRUE_WORDS = frozenset({"true", "t", "yes", "y", "on", "1", "是", "对", "真"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "off", "0", "否", "错", "假"})


def bool_(on_invalid: str = "error") -> Transform:
    fail = _failer(on_invalid, "not a boolean:")

    def to_bool(v: Any, r: Any) -> Any:
        c = v.__class__
        if c is bool:
            return v
        if c is str:
            s = v.strip().lower()
            if not s:
                return None
            if s in TRUE_WORDS:
                return True
            if s in FALSE_WORDS:
                return False
            return fail(v)
        if v is None:
            return None
        if c is int or c is float:
            if v == 1:
                return True
            if v == 0:
                return False
            return fail(v)
        if c is list:
            return [to_bool(x, r) for x in v]
        return fail(v)

    return to_bool


# --- identifiers ----------------------------------------------------------------------


def phone_(region: str = "CN", on_invalid: str = "error", format: str = "e164") -> Transform:
    """A valid phone via :func:`hub.phones.format_phone` (the one phone implementation, shared
    with identity resolution): ``format: e164`` (default, identities), ``national``
    (``138 0013 8000``) or ``digits`` (``13800138000``, ``01012345678``)."""
    import phonenumbers

    if not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r} (use an ISO code such as CN, HK, US)")
    if format not in PHONE_FORMATS:
        raise ValueError(f"format must be one of {', '.join(PHONE_FORMATS)}, got {format!r}{did_you_mean(format, PHONE_FORMATS)}")
    region = region.upper()
    fail = _failer(on_invalid, "invalid phone number")
    fmt = format

    def phone(v: Any, r: Any) -> Any:
        if v is None:
            return None
        if v.__class__ is list:
            return [phone(x, r) for x in v]
        if isinstance(v, (dict, tuple, set, bool, float)):
            return fail(v)
        text = v if v.__class__ is str else str(v)
        if not text.strip():
            return None
        out = format_phone(text, region, fmt, valid_only=True)
        return out if out is not None else fail(v)

    return phone


_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def email_(on_invalid: str = "error") -> Transform:
    fail = _failer(on_invalid, "invalid email address")

    def email(v: Any, r: Any) -> Any:
        if v is None:
            return None
        if v.__class__ is list:
            return [email(x, r) for x in v]
        if v.__class__ is not str:
            return fail(v)
        if not v.strip():
            return None
        out = normalize_email(v)
        return out if out is not None and _EMAIL.match(out) else fail(v)

    return email


# --- dates ----------------------------------------------------------------------------

DEFAULT_DATETIME_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
    "%Y-%m-%d %H:%M",
)
DATETIME_OUTPUTS = ("iso", "date", "datetime", "epoch", "epoch_ms")


def datetime_(
    formats: str | list[str] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    unit: str = "auto",
    output: str = "iso",
    on_invalid: str = "error",
) -> Transform:
    """Parse text (ISO 8601, ``formats``, common Chinese layouts), epoch seconds / ms,
    or datetime objects. Naive times are in ``timezone``; output is converted to it."""
    if isinstance(formats, str):
        formats = [formats]
    if formats is not None and (not isinstance(formats, list) or not all(isinstance(f, str) for f in formats)):
        raise ValueError(f"formats must be a strptime format or a list of them, got {formats!r}")
    for fmt in formats or ():
        if "%" not in fmt:
            raise ValueError(f"{fmt!r} is not a strptime format (e.g. '%Y-%m-%d %H:%M:%S')")
    try:
        tz = ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {timezone!r} (use an IANA name such as Asia/Shanghai)") from None
    if unit not in ("auto", "s", "ms"):
        raise ValueError(f"unit must be auto, s or ms, got {unit!r}")
    if output not in DATETIME_OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(DATETIME_OUTPUTS)}, got {output!r}{did_you_mean(output, DATETIME_OUTPUTS)}")
    fail = _failer(on_invalid, "invalid date/time")
    all_formats = tuple(formats or ()) + DEFAULT_DATETIME_FORMATS
    explicit = bool(formats)
    fromiso = datetime.fromisoformat
    strptime = datetime.strptime
    fromts = datetime.fromtimestamp

    def from_epoch(n: float) -> datetime:
        ms = unit == "ms" or (unit == "auto" and abs(n) >= 1e11)
        return fromts(n / 1000 if ms else n, tz)

    def parse_text(s: str) -> datetime | None:
        if explicit:
            for fmt in all_formats:
                try:
                    return strptime(s, fmt)
                except ValueError:
                    pass
        if s.isdigit() and len(s) not in (8, 14):
            return from_epoch(int(s))
        try:
            return fromiso(s)
        except ValueError:
            pass
        if not explicit:
            for fmt in all_formats:
                try:
                    return strptime(s, fmt)
                except ValueError:
                    pass
        try:  # "1714538400.5", "-1.5e9"
            return from_epoch(float(s))
        except (ValueError, OverflowError, OSError):
            return None

    if output == "iso":
        def emit(d: datetime) -> Any:
            return d.isoformat()
    elif output == "datetime":
        def emit(d: datetime) -> Any:
            return d
    elif output == "date":
        def emit(d: datetime) -> Any:
            return d.date().isoformat()
    elif output == "epoch":
        def emit(d: datetime) -> Any:
            return int(d.timestamp())
    else:
        def emit(d: datetime) -> Any:
            return int(round(d.timestamp() * 1000))

    def to_datetime(v: Any, r: Any) -> Any:
        c = v.__class__
        if c is str:
            s = v.strip()
            if not s:
                return None
            d = parse_text(s)
            if d is None:
                return fail(v)
        elif v is None:
            return None
        elif c is int or c is float:
            try:
                return emit(from_epoch(v))
            except (ValueError, OverflowError, OSError):
                return fail(v)
        elif c is list:
            return [to_datetime(x, r) for x in v]
        elif isinstance(v, datetime):
            d = v
        elif isinstance(v, date):
            d = datetime(v.year, v.month, v.day)
        else:
            return fail(v)
        if d.tzinfo is None:
            return emit(d.replace(tzinfo=tz))
        return emit(d if d.tzinfo is tz else d.astimezone(tz))

    return to_datetime


# --- tables ---------------------------------------------------------------------------


def _table(values: Mapping[Any, Any]) -> dict[Any, Any]:
    """Keys both as written and as text, so ``1`` in YAML matches ``"1"`` in a record."""
    table = {str(k): v for k, v in values.items()}
    table.update(values)
    return table


def _missing_handler(name: str, on_missing: str | None, default: Any) -> Callable[[Any], Any]:
    if on_missing is None:
        on_missing = "null"
    if on_missing not in ("keep", "null", "error"):
        raise ValueError(f"on_missing must be keep, null or error, got {on_missing!r}")
    if default is not _MISSING:
        return lambda v: default
    if on_missing == "keep":
        return lambda v: v
    if on_missing == "null":
        return lambda v: None

    def fail(v: Any) -> Any:
        raise TransformError(f"{name}: no entry for {v!r}", v)

    return fail


def map_(values: Mapping[Any, Any], default: Any = _MISSING, on_missing: str = "keep") -> Transform:
    """Value table. Unlisted values: ``default`` if given, else per ``on_missing``."""
    if not isinstance(values, dict) or not values:
        raise ValueError(f"map needs 'values:', a non-empty table of source value → result, got {values!r}")
    table = _table(values)
    missing = _missing_handler("map", on_missing, default)
    get = table.get

    def mapped(v: Any, r: Any) -> Any:
        if v is None:
            return None
        if v.__class__ is list:
            return [mapped(x, r) for x in v]
        try:
            out = get(v, _MISSING)
        except TypeError:  # unhashable
            return missing(v)
        if out is _MISSING:
            out = get(str(v), _MISSING)
            if out is _MISSING:
                return missing(v)
        return out

    return mapped


def lookup_(table: str, default: Any = _MISSING, on_missing: str = "null", *, context: TransformContext) -> Transform:
    """A named table from the config's ``lookups:`` section (e.g. CRM tier → WeCom tag id)."""
    if not isinstance(table, str):
        raise ValueError(f"lookup takes a table name, got {table!r}")
    tables = context.lookups or {}
    if table not in tables:
        known = ", ".join(sorted(tables)) or "none"
        raise ValueError(f"unknown lookup table {table!r}{did_you_mean(table, tables)}; config lookups: {known}")
    data = tables[table] or {}
    if not isinstance(data, dict):
        raise ValueError(f"lookup table {table!r} is not a mapping")
    values = _table(data)
    missing = _missing_handler(f"lookup {table}", on_missing, default)

    def looked_up(v: Any, r: Any) -> Any:
        if v is None:
            return None
        if v.__class__ is list:
            return [looked_up(x, r) for x in v]
        try:
            out = values.get(v, _MISSING)
        except TypeError:
            return missing(v)
        if out is _MISSING:
            out = values.get(str(v), _MISSING)
            if out is _MISSING:
                return missing(v)
        return out

    return looked_up


# --- composing values -----------------------------------------------------------------

_FORMATTER = string.Formatter()


def template_(template: str, *, context: TransformContext) -> Transform:
    """``"{last_name}{first_name}"``: record paths in braces; ``{value}`` is the current
    value, ``{instance}`` the connector instance. Missing values render as ``""``; when
    every record/value placeholder is missing the result is ``None``, not the bare text."""
    if not isinstance(template, str):
        raise ValueError(f"template must be text, got {template!r}")
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ValueError(f"invalid template {template!r}: {exc}") from None
    fmt = ""
    getters: list[Callable[[Any, Any], Any]] = []
    data_slots: list[int] = []  # placeholders that read the record or the value
    for literal, name, spec, conv in parsed:
        fmt += literal.replace("{", "{{").replace("}", "}}")
        if name is None:
            continue
        if name == "value":
            getters.append(lambda v, r: v)
        elif name == "instance":
            inst = context.instance
            getters.append(lambda v, r, inst=inst: inst)
        else:
            try:
                g = compile_path(name)
            except ValueError as exc:
                raise ValueError(f"template {template!r}: {exc}") from None
            getters.append(lambda v, r, g=g: g(r))
        if name != "instance":
            data_slots.append(len(getters) - 1)
        fmt += "{" + str(len(getters) - 1) + ("!" + conv if conv else "") + (":" + spec if spec else "") + "}"
    render = fmt.format

    def templated(v: Any, r: Any) -> Any:
        vals = []
        missing = 0
        for g in getters:
            x = g(v, r)
            if x is None or x == "":
                missing += 1
                x = ""
            vals.append(x)
        if data_slots and missing >= len(data_slots) and all(vals[i] == "" for i in data_slots):
            return None  # nothing to render: "{instance}:{id}" without an id is no id
        try:
            return render(*vals)
        except (ValueError, TypeError) as exc:
            raise TransformError(f"template {template!r}: {exc}", v) from None

    return whole(templated)


def coalesce_(paths: str | list[str] = ()) -> Transform:
    """First non-blank of: the value (or a list value's elements), then each path."""
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, (list, tuple)):
        raise ValueError(f"coalesce takes a list of paths, got {paths!r}")
    try:
        getters = [compile_path(p) for p in paths]
    except ValueError as exc:
        raise ValueError(f"coalesce: {exc}") from None

    def coalesced(v: Any, r: Any) -> Any:
        if v.__class__ is list:
            v = next((x for x in v if not is_blank(x)), None)
        if not is_blank(v):
            return v
        for g in getters:
            x = g(r)
            if not is_blank(x):
                return x
        return None

    return whole(coalesced)


def split_(sep: str | list[str] = ",", strip: bool = True, drop_empty: bool = True) -> Transform:
    """Text → list. ``sep`` may be a list (``[",", "，", "、"]``); lists are flattened."""
    seps = [sep] if isinstance(sep, str) else sep
    if not isinstance(seps, list) or not seps or not all(isinstance(s, str) and s for s in seps):
        raise ValueError(f"split takes a non-empty separator or a list of them, got {sep!r}")
    if len(seps) == 1:
        one = seps[0]
        splitter = lambda s: s.split(one)  # noqa: E731
    else:
        rx = re.compile("|".join(re.escape(s) for s in sorted(seps, key=len, reverse=True)))
        splitter = rx.split

    def split(v: Any, r: Any) -> Any:
        if v is None:
            return None
        if v.__class__ is list:
            return [y for x in v for y in (split(x, r) or [])]
        parts = splitter(_text(v, "split"))
        if strip:
            parts = [p.strip() for p in parts]
        if drop_empty:
            parts = [p for p in parts if p]
        return parts

    return whole(split)


def join_(sep: str = ",") -> Transform:
    if not isinstance(sep, str):
        raise ValueError(f"join takes a separator text, got {sep!r}")

    def joined(v: Any, r: Any) -> Any:
        if v.__class__ is list:
            return sep.join(x if x.__class__ is str else _text(x, "join") for x in v if not is_blank(x))
        return v

    return whole(joined)


def first_() -> Transform:
    def first(v: Any, r: Any) -> Any:
        if v.__class__ is list:
            return next((x for x in v if x is not None and x != ""), None)
        return v

    return whole(first)


def const_(value: Any) -> Transform:
    return whole(lambda v, r: value)


def default_(value: Any) -> Transform:
    def defaulted(v: Any, r: Any) -> Any:
        return value if v is None or v == "" or v == [] else v

    return whole(defaulted)


def when_(*, context: TransformContext, then: Any = None, **condition: Any) -> Transform:
    """``{when: {path: clue_state, equals: 3, then: [{const: won}], else: [...]}}``.

    The condition tests the record at ``path`` (or the current value without one); the
    value goes through ``then`` when it holds and ``else`` when not; a branch left out
    keeps the value unchanged.
    """
    otherwise = condition.pop("else", None)
    if then is None and otherwise is None:
        raise ValueError("when needs 'then:' and/or 'else:' transforms")
    pred = compile_condition(condition)
    assert context.compile_transforms is not None
    then_fn = context.compile_transforms(then, "then") if then is not None else None
    else_fn = context.compile_transforms(otherwise, "else") if otherwise is not None else None

    def conditional(v: Any, r: Any) -> Any:
        if pred(v, r):
            return then_fn(v, r) if then_fn is not None else v
        return else_fn(v, r) if else_fn is not None else v

    return whole(conditional)


def keywords_(rules: Mapping[str, Any], ignore_case: bool = True) -> Transform:
    """Text → tags: ``rules`` maps each tag to the words that earn it.

    ``{keywords: {rules: {询价: [多少钱, 怎么卖], 价格敏感: [太贵了]}}}`` turns
    "这个怎么卖？太贵了" into ``[询价, 价格敏感]`` (rule order, each tag once).
    """
    if not isinstance(rules, dict) or not rules:
        raise ValueError("keywords needs 'rules:', a table of tag → list of words")
    compiled: list[tuple[Any, tuple[str, ...]]] = []
    for tag, words in rules.items():
        if isinstance(words, str):
            words = [words]
        if not isinstance(words, list) or not words or not all(isinstance(w, (str, int)) and str(w).strip() for w in words):
            raise ValueError(f"keywords rule {tag!r}: expected a non-empty list of words, got {words!r}")
        ws = tuple(str(w).lower() if ignore_case else str(w) for w in words)
        compiled.append((tag, ws))
    rule_list = tuple(compiled)

    def tagged(v: Any, r: Any) -> Any:
        if v is None:
            return None
        if v.__class__ is list:
            text = "\n".join(_text(x, "keywords") for x in v if x is not None)
        elif v.__class__ is str:
            text = v
        else:
            text = _text(v, "keywords")
        if ignore_case:
            text = text.lower()
        return [tag for tag, words in rule_list if any(w in text for w in words)]

    return whole(tagged)


#: Built-ins that return ``None`` for ``None``: compiled code skips calling them then.
NONE_PASSING = frozenset({"strip", "replace", "lower", "upper", "str", "int", "float", "bool", "phone", "email", "datetime",
                          "map", "lookup", "split", "join", "first", "keywords"})

BUILTIN_TRANSFORMS: dict[str, Callable[..., Transform]] = {
    "strip": strip_,
    "replace": replace_,
    "lower": lower_,
    "upper": upper_,
    "str": str_,
    "int": int_,
    "float": float_,
    "bool": bool_,
    "phone": phone_,
    "email": email_,
    "datetime": datetime_,
    "map": map_,
    "lookup": lookup_,
    "template": template_,
    "coalesce": coalesce_,
    "split": split_,
    "join": join_,
    "first": first_,
    "const": const_,
    "default": default_,
    "when": when_,
    "keywords": keywords_,
}


def register_builtin_transforms(register: Callable[[str, Callable[..., Transform]], None]) -> None:
    """Called by :func:`hub.plugins.build_registry` before any plugin registers its own."""
    for name, factory in BUILTIN_TRANSFORMS.items():
        register(name, factory)


__all__ = [
    "BUILTIN_TRANSFORMS",
    "TransformContext",
    "Transform",
    "per_element",
    "register_builtin_transforms",
    "whole",
]
