"""The effective identity rules: registry kinds + ``identity:`` config + built-in block-list.

Kinds come from the plugin registry (built-ins and plugins); config may override a kind's
strength and per-contact maximum. Block-listed values (placeholders such as 13800138000,
``null``, all-zero numbers) are never attached and never merge anyone: CRM users type them
when a field is mandatory, and one placeholder shared by a thousand records would otherwise
fuse a thousand strangers into one contact.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from hub.config.model import IdentityRules

#: Always block-listed, whatever the config adds (config values extend this list).
DEFAULT_BLOCK_VALUES: tuple[str, ...] = (
    "", "null", "none", "nil", "unknown", "undefined", "anonymous", "n/a", "na", "-1",
    "13800138000", "00000000000", "12345678901", "test@test.com", "test@example.com",
)
DEFAULT_BLOCK_PATTERNS: tuple[str, ...] = (r"^[0-]*$",)

#: Kinds whose values are namespaced by the connector instance that owns them.
NAMESPACED_KINDS = frozenset({"crm_id"})


class IdentityError(ValueError):
    """A malformed ``kind:value`` (unknown kind, value that does not normalise)."""


@dataclass(frozen=True)
class KindRule:
    kind: str
    strong: bool
    max_per_contact: int
    normalize: Callable[..., str | None] | None
    #: Lower sorts first; strong kinds before weak ones. Decides which identifiers are
    #: looked at first and which are dropped first when a limit is hit.
    priority: int
    takes_region: bool = False
    namespaced: bool = False


@dataclass
class Rules:
    kinds: dict[str, KindRule]
    block_values: frozenset[str] = field(default_factory=frozenset)
    block_patterns: tuple[re.Pattern, ...] = ()
    default_region: str = "CN"

    def rule(self, kind: str) -> KindRule:
        try:
            return self.kinds[kind]
        except KeyError:
            known = ", ".join(sorted(self.kinds))
            raise IdentityError(f"unknown identity kind {kind!r} (known: {known})") from None

    def normalize(self, kind: str, value: object, instance: str | None = None) -> str | None:
        """The stored form of ``value``, or None if it is not a valid value of ``kind``.

        ``crm_id`` values are namespaced by CRM instance (``crm_main:1001``): a bare id from
        instance ``crm_main`` becomes ``crm_main:1001``; a value that already contains a
        colon is taken as namespaced (mappings on other connectors write it that way).
        """
        rule = self.rule(kind)
        if value is None:
            return None
        text = str(value).strip()
        if not text:
            return None
        if rule.namespaced:
            if ":" in text:
                prefix, _, rest = text.partition(":")
                rest = _apply(rule, rest, self.default_region)
                return f"{prefix.strip()}:{rest}" if rest and prefix.strip() else None
            if instance is None:
                return None
            rest = _apply(rule, text, self.default_region)
            return f"{instance}:{rest}" if rest else None
        return _apply(rule, text, self.default_region)

    def blocked(self, kind: str, raw: object, normalized: str | None = None) -> bool:
        """True if the raw or normalised value is block-listed (values or patterns)."""
        forms = _forms(kind, raw, normalized)
        if any(form.lower() in self.block_values for form in forms):
            return True
        return any(p.search(form) for p in self.block_patterns for form in forms)

    def scope(self, kind: str, value: str) -> str:
        """What "one value per contact" counts against: the kind, or kind + CRM instance."""
        if kind in self.kinds and self.kinds[kind].namespaced:
            return f"{kind}:{value.partition(':')[0]}"
        return kind

    def sort_key(self, kind: str) -> int:
        return self.kinds[kind].priority if kind in self.kinds else 10_000

    def parse(self, text: str) -> tuple[str, str]:
        """``phone:+8613800138001`` → ``("phone", "+8613800138001")`` (normalised).

        Splits on the first colon only, so ``crm_id:crm_main:1001`` keeps its namespace.
        """
        kind, sep, value = str(text).partition(":")
        kind, value = kind.strip(), value.strip()
        if not sep or not kind or not value:
            raise IdentityError(f"{text}: expected KIND:VALUE, e.g. phone:+8613800138001")
        rule = self.rule(kind)
        if rule.namespaced and ":" not in value:
            raise IdentityError(f"{text}: {kind} values are namespaced, e.g. {kind}:crm_main:{value}")
        normalized = self.normalize(kind, value)
        if normalized is None:
            raise IdentityError(f"{text}: not a valid {kind.replace('_', ' ')}" + (" number" if kind == "phone" else ""))
        return kind, normalized


#: A mainland mobile already in E.164 — what the mapping's ``phone`` transform emits, so
#: nearly every phone the resolver sees. Built-in normalisation returns it unchanged and
#: its national number is the part after ``+86``, so neither needs a phonenumbers parse.
_CN_MOBILE_E164 = re.compile(r"\+861[3-9][0-9]{9}")


def _builtin_phone(func: Callable | None) -> bool:
    from hub.identity_kinds import normalize_phone

    return func is normalize_phone


def _apply(rule: KindRule, text: str, region: str) -> str | None:
    if rule.normalize is None:
        return text or None
    if rule.kind == "phone" and _CN_MOBILE_E164.fullmatch(text) and _builtin_phone(rule.normalize):
        return text
    if rule.takes_region:
        return rule.normalize(text, region)
    return rule.normalize(text)


_NOT_DIGITS = re.compile(r"[^0-9]+")


def _forms(kind: str, raw: object, normalized: str | None) -> list[str]:
    forms = []
    if raw is not None:
        text = str(raw).strip()
        forms.append(text)
        if kind == "phone":
            # ASCII (nearly every phone): [0-9] is exactly what isdigit() keeps there.
            digits = _NOT_DIGITS.sub("", text) if text.isascii() else "".join(ch for ch in text if ch.isdigit())
            if digits:
                forms.append(digits)
    if normalized is not None:
        forms.append(normalized)
        if kind == "phone" and normalized.startswith("+"):
            national = _national(normalized)
            if national:
                forms.append(national)
        if ":" in normalized and kind in NAMESPACED_KINDS:
            forms.append(normalized.partition(":")[2])
    return forms


def _national(e164: str) -> str | None:
    if _CN_MOBILE_E164.fullmatch(e164):
        return e164[3:]
    import phonenumbers

    try:
        return str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        return None


def _takes_region(func: Callable | None) -> bool:
    if func is None:
        return False
    try:
        return "region" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def build_rules(registry=None, config: IdentityRules | None = None) -> Rules:
    """Effective rules: registry kinds, overridden by ``identity.kinds``, plus block-lists."""
    if registry is None:
        from hub.plugins import get_registry

        registry = get_registry()
    config = config or IdentityRules()
    specs = list(registry.identity_kinds.values())
    kinds: dict[str, KindRule] = {}
    overrides = config.kinds or {}
    resolved = []
    for index, spec in enumerate(specs):
        over = overrides.get(spec.kind, {}) or {}
        strong = bool(over.get("strong", spec.strong))
        maximum = int(over.get("max_per_contact", spec.max_per_contact))
        resolved.append((0 if strong else 1, index, spec, strong, maximum))
    for priority, (_, _, spec, strong, maximum) in enumerate(sorted(resolved, key=lambda r: (r[0], r[1]))):
        kinds[spec.kind] = KindRule(
            kind=spec.kind,
            strong=strong,
            max_per_contact=max(1, maximum),
            normalize=spec.normalize,
            priority=priority,
            takes_region=_takes_region(spec.normalize),
            namespaced=spec.kind in NAMESPACED_KINDS,
        )
    values = {v.strip().lower() for v in (*DEFAULT_BLOCK_VALUES, *(config.block_values or []))}
    patterns = tuple(re.compile(p) for p in _unique((*DEFAULT_BLOCK_PATTERNS, *(config.block_patterns or []))))
    return Rules(kinds=kinds, block_values=frozenset(values), block_patterns=patterns, default_region=config.default_region or "CN")


def _unique(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def mask_value(kind: str, value: str) -> str:
    """A log-safe form of an identifier: never a raw phone number or e-mail at INFO."""
    if kind == "phone":
        return value[:-8] + "****" + value[-4:] if len(value) > 8 else "****"
    if kind == "email":
        local, _, domain = value.partition("@")
        return (local[:1] + "***@" + domain) if domain else "***"
    return value
