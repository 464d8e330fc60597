"""Change detection for full scans: emit only what changed since the last complete scan.

WeCom gives customer relations no "updated since" filter and no change time, and it fires
**no callback** for a remark-mobile change or for anything changed through the API. The
only way to notice those is to read everything on a schedule and compare. A scan therefore
reads every page, hashes each record's content and emits a record only when its hash
differs from what the last complete scan saw; at the end it emits a tombstone for records
that vanished (where the stream says a vanished record really means deletion).

Where the hashes live: a cursor holding one hash per relation would be rewritten on every
committed batch (O(N²) bytes per scan for N relations). Instead each scan is a numbered
*generation*; each page's hashes go into the connector's durable state as one chunk
(``scan:<stream>:<gen>:<chunk>``), and the cursor only names generations and a resume
position::

    {"v": 1,
     "baseline": {"gen": 4, "chunks": 37},          # the last complete scan (immutable)
     "scan": {"gen": 5, "chunks": 12, "position": …}, # the one in progress, or None
     "stale": {"gen": 3, "chunks": 35}}              # superseded; cleared on the next run

Why this is crash-safe although state and cursor are not written in one transaction: the
baseline generation is never modified, and the in-progress generation is only trusted up
to the chunk count recorded in the committed cursor. A crash before the hub commits batch
*k* leaves a cursor at batch *k-1*; the rerun compares page *k* against the same baseline
and emits the same changes again (the inbox dedupe key makes that a no-op). A generation is
cleared only once a committed cursor proves a newer baseline exists.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from hub.connector import ReadBatch, Record, StateStore


@dataclass
class Page:
    """One page of a scan: its records and the position after it (None = end of scan)."""

    records: list[Record]
    next_position: Any


@dataclass
class ScanContext:
    """Values a stream fixes when a scan starts (e.g. the list of follow users) so that a
    resumed scan pages through the same thing. Persisted with the generation."""

    values: dict[str, Any] = field(default_factory=dict)
    fresh: bool = True


def content_hash(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ChangeDetectingScan:
    """Runs one stream's scan from a cursor (see the module docstring)."""

    def __init__(self, state: StateStore, namespace: str):
        self.state = state
        self.namespace = namespace

    def _key(self, gen: int, suffix: str | int) -> str:
        return f"scan:{self.namespace}:{gen}:{suffix}"

    def _load(self, gen: dict[str, int] | None) -> dict[str, str]:
        hashes: dict[str, str] = {}
        if gen:
            for chunk in range(gen["chunks"]):
                hashes.update(self.state.get(self._key(gen["gen"], chunk)) or {})
        return hashes

    def _clear(self, gen: dict[str, int] | None) -> None:
        if gen:
            for chunk in range(gen["chunks"]):
                self.state.set(self._key(gen["gen"], chunk), None)
            self.state.set(self._key(gen["gen"], "context"), None)

    def run(
        self,
        cursor: Any,
        pages: Callable[[Any, ScanContext], Iterator[Page]],
        *,
        tombstone: Callable[[str, ScanContext], Record | None] | None = None,
    ) -> Iterator[ReadBatch]:
        """Yield batches of changed records. ``pages(position, context)`` pages through the
        remote from ``position`` (None = the start); ``tombstone(native_id, context)`` turns
        a vanished id into a deletion record, or None when its absence proves nothing."""
        cursor = cursor if isinstance(cursor, dict) and cursor.get("v") == 1 else {"v": 1, "baseline": None, "scan": None}
        baseline = cursor.get("baseline")
        scan = cursor.get("scan")
        if scan is None:
            self._clear(cursor.get("stale"))
            scan = {"gen": (baseline["gen"] + 1) if baseline else 1, "chunks": 0, "position": None}
            context = ScanContext()
        else:
            scan = dict(scan)
            context = ScanContext(values=self.state.get(self._key(scan["gen"], "context")) or {}, fresh=False)
        old = self._load(baseline)
        current = self._load({"gen": scan["gen"], "chunks": scan["chunks"]})  # resumed part of this scan
        known = {**old, **current}
        for page in pages(scan["position"], context):
            if context.fresh:
                self.state.set(self._key(scan["gen"], "context"), context.values)
                context.fresh = False
            changed: list[Record] = []
            chunk: dict[str, str] = {}
            for record in page.records:
                digest = content_hash([record.data, record.deleted])
                chunk[record.native_id] = digest
                if known.get(record.native_id) != digest:
                    changed.append(record)
                known[record.native_id] = digest
                current[record.native_id] = digest
            self.state.set(self._key(scan["gen"], scan["chunks"]), chunk)
            scan = {"gen": scan["gen"], "chunks": scan["chunks"] + 1, "position": page.next_position}
            if page.next_position is not None:
                yield ReadBatch(records=changed, cursor={"v": 1, "baseline": baseline, "scan": scan})
                continue
            if tombstone is not None:
                for native_id in sorted(set(old) - set(current)):
                    record = tombstone(native_id, context)
                    if record is not None:
                        changed.append(record)
            done = {"gen": scan["gen"], "chunks": scan["chunks"]}
            yield ReadBatch(records=changed, cursor={"v": 1, "baseline": done, "scan": None, "stale": baseline}, complete=True)
            return
