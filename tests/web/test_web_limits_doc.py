"""docs/web.md's table of webhook door limits says what the code enforces."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.connector import WebhookHandler

from connectors.callcenter.webhook import SignedCdrWebhook
from connectors.feiyu.webhook import FeiyuPushWebhook
from connectors.ticketing.udesk.webhook import UdeskWebhook
from connectors.wecom.webhook import WeComWebhook

DOC = Path(__file__).resolve().parents[2] / "docs" / "web.md"
UNITS = {"KiB": 1024, "MiB": 1024 * 1024}


def documented() -> dict[str, tuple[int, int]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3:
            continue
        door = re.search(r"\(`(\w+)`\)", cells[0])
        key = door[1] if door else ("default" if cells[0].startswith("any other") else None)
        size = re.match(r"([0-9]+) (KiB|MiB)", cells[1])
        records = re.match(r"([0-9]+)", cells[2]) or re.search(r"≤ ([0-9]+)", cells[2])
        if key and size and records:
            rows[key] = (int(size[1]) * UNITS[size[2]], int(records[1]))
    return rows


@pytest.mark.parametrize("door, handler", [("feiyu", FeiyuPushWebhook), ("clink", SignedCdrWebhook), ("udesk", UdeskWebhook),
                                           ("wecom", WeComWebhook), ("default", WebhookHandler)])
def test_documented_limits_match_the_handlers(door, handler):
    rows = documented()
    assert door in rows, f"docs/web.md has no limits row for {door}"
    max_body, max_records = rows[door]
    assert max_body == handler.max_body
    assert max_records == handler.max_records
