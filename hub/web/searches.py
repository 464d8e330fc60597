"""Contact search as the API and the UI run it: rate-limited per token, fragment-free for roles
that may not see phones, and audited.

Masking alone does not keep a phone number private if search answers fragments: a support
agent could type ``1391``, ``13912``, … and watch the one match stay, rebuilding a masked
number in about 40 queries. So:

* a caller without reveal rights (below ``operator``) finds a contact by phone only with the
  *whole* number — the query must normalise to a valid number and is matched exactly; digit
  fragments match neither phones nor names. Names, e-mails and ids work as for everyone;
* every search is written to the audit log: who, what kind of query (``phone``,
  ``phone_fragment``, ``email``, ``identity:<kind>``, ``name_or_id``) and how many hits — never
  the query text, so the log holds no phone numbers;
* searches are rate-limited per token (a Redis token bucket shared by every web process):
  ``HUB_SEARCH_RATE`` = ``calls/seconds``, default ``30/60``.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field

from hub.web.auth import Principal
from hub.web.queries import ContactHit, audit, search_contacts

log = logging.getLogger(__name__)

#: Default searches per token: a burst of 30, refilled at 30 a minute.
DEFAULT_RATE = "30/60"
#: The weakest role that may reveal phones, and so may search by phone fragments.
REVEAL_ROLE = "operator"
_RATE = re.compile(r"^\s*([0-9]{1,6})\s*/\s*([0-9]{1,6})\s*$", re.ASCII)
_PHONEISH = re.compile(r"^[\s()+\-0-9]+$", re.ASCII)


class SearchThrottled(Exception):
    """The token searched too often; ``retry_after`` seconds until the next search may run."""

    def __init__(self, retry_after: float):
        super().__init__(f"too many searches; try again in {max(1, round(retry_after))} s")
        self.retry_after = max(1, int(retry_after + 0.999))


@dataclass
class SearchOutcome:
    hits: list[ContactHit]
    #: What kind of query it was (the audit log's ``query_kind``).
    query_kind: str
    #: True when the query looked like part of a phone number and the caller may only search
    #: by whole numbers: the UI and the API say so instead of an unexplained empty result.
    whole_number_required: bool = False
    extra: dict = field(default_factory=dict)


def search_rate() -> tuple[int, float]:
    """``(calls, per_seconds)`` from ``HUB_SEARCH_RATE`` (``calls/seconds``)."""
    text = os.environ.get("HUB_SEARCH_RATE") or DEFAULT_RATE
    match = _RATE.match(text)
    if not match or int(match[1]) < 1 or int(match[2]) < 1:
        raise ValueError(f"HUB_SEARCH_RATE must look like 30/60 (calls/seconds), got {text!r}")
    return int(match[1]), float(match[2])


def throttle(runtime, principal: Principal) -> None:
    """Draw one search from the token's bucket, or raise :class:`SearchThrottled`.

    Redis being unreachable does not stop searches (the queue is down then too, and a
    support desk must keep working); the whole-number rule still holds without it."""
    from hub.pipeline.ratelimit import TokenBucket

    calls, per = search_rate()
    try:
        wait = TokenBucket(runtime.redis, f"search:token:{principal.token_id}", calls=calls, per_seconds=per).acquire()
    except Exception as exc:  # noqa: BLE001 - any Redis failure: log and let the search run
        log.warning("search rate limit unavailable (%s); search allowed", type(exc).__name__)
        return
    if wait > 0:
        raise SearchThrottled(wait)


def query_kind(rules, text: str) -> str:
    """The kind of a search query, for the audit log (never the query itself)."""
    from hub.identity_kinds import normalize_phone

    text = text.strip()
    if ":" in text:
        kind = text.partition(":")[0].strip()
        known = set(getattr(rules, "kinds", {}) or {}) | {"phone", "email"}
        return f"identity:{kind}" if kind in known else "name_or_id"
    if "@" in text:
        return "email"
    if _PHONEISH.match(text) and any(ch.isdigit() for ch in text):
        region = getattr(rules, "default_region", "CN") or "CN"
        return "phone" if normalize_phone(text, region, valid_only=True) else "phone_fragment"
    return "name_or_id"


def run_search(runtime, session, principal: Principal | None, query: str, *, limit: int, via: str) -> SearchOutcome:
    """One search, as ``principal``: throttled, fragment-free unless they may reveal, audited."""
    if principal is not None:
        throttle(runtime, principal)
    may_reveal = principal is not None and principal.can(REVEAL_ROLE)
    kind = query_kind(runtime.rules, query)
    # Without reveal rights only exact lookups run (a digit string may still be some
    # plugin kind's whole id); phone and name fragments are not searched at all.
    hits = search_contacts(session, runtime.rules, query, limit=limit, fragments=may_reveal)
    audit(session, principal.actor if principal else "anonymous", "contact.search", None,
          {"query_kind": kind, "hits": len(hits), "via": via})
    return SearchOutcome(hits, kind, whole_number_required=kind == "phone_fragment" and not may_reveal and not hits)
