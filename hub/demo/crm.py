"""The demo's sample CRM: a SQLite database with ~1,000 realistic Chinese customers.

The table has the shape the shipped ``sql.rows`` mappings expect (the SQL connector's
sandbox schema, audit triggers included): ``id, name, phone, tier, city, is_deleted,
created_at, updated_at``, plus the sales stage (``stage``, 销售阶段: 兴趣 → 资料 → 评估价格 →
要求试用 → 购买 → 复购), empty until sales sets it, which the automations demo reads. Times are the CRM's local (China) time as SQLite text, the way a
small in-house CRM keeps them. The content is the same on every run (fixed seed); the
dates are spread over the two years before today.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable

from connectors.sql.sandbox import SCHEMA

CHINA = timezone(timedelta(hours=8))
TS_FORMAT = "%Y-%m-%d %H:%M:%S"
SEED = 20260601

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
            "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤")
GIVEN_ONE = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚辉鹏华玲婷燕雪琳倩颖浩宇轩晨阳凯欣怡涵萱"
GIVEN_TWO = ("秀英", "桂英", "晓东", "雨欣", "子涵", "梓萱", "一诺", "思远", "嘉怡", "俊杰", "晨曦", "浩然", "欣妍", "志强",
             "建国", "海燕", "丽娟", "文博", "雅琪", "宇航", "佳怡", "子轩", "明哲", "诗涵", "国栋", "晓峰", "春梅", "美玲")
CITIES = (("上海市", 14), ("北京市", 12), ("杭州市", 11), ("深圳市", 10), ("广州市", 9), ("成都市", 8), ("南京市", 7),
          ("武汉市", 6), ("苏州市", 6), ("西安市", 4), ("宁波市", 4), ("重庆市", 4), ("长沙市", 3), ("厦门市", 2))
TIERS = (("普通会员", 60), ("银卡", 25), ("金卡", 12), ("钻石卡", 3))
#: The sales stage the shipped ``sql.rows`` mapping reads when a table has it.
STAGE_COLUMN = "ALTER TABLE customers ADD COLUMN stage TEXT"
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156",
                   "157", "158", "159", "166", "173", "176", "177", "180", "181", "182", "183", "185", "186", "187",
                   "188", "189", "191", "198", "199")


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN_TWO) if rng.random() < 0.55 else rng.choice(GIVEN_ONE)
    return rng.choice(SURNAMES) + given


def generate(count: int = 1000, *, avoid: Iterable[str] = (), today: datetime | None = None) -> list[dict]:
    """``count`` customers, oldest first; no mobile in ``avoid`` (the script's own people)."""
    rng = random.Random(SEED)
    today = (today or datetime.now(CHINA)).astimezone(CHINA).replace(tzinfo=None, microsecond=0)
    taken = {p[-11:] for p in avoid}
    rows: list[dict] = []
    start = today - timedelta(days=730)
    for i in range(count):
        while True:
            phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            if phone not in taken and len(set(phone[3:])) > 2:  # no 138xxxx0000-style placeholders
                taken.add(phone)
                break
        created = start + timedelta(seconds=int(i * 730 * 86400 / count) + rng.randrange(3600 * 8))
        edited = min(created + timedelta(days=rng.randrange(0, 200), seconds=rng.randrange(86400)), today - timedelta(days=1))
        rows.append({"name": _name(rng), "phone": phone, "tier": _weighted(rng, TIERS), "city": _weighted(rng, CITIES),
                     "created_at": created.strftime(TS_FORMAT), "updated_at": max(created, edited).strftime(TS_FORMAT)})
    return rows


def create(path: Path, count: int = 1000, *, avoid: Iterable[str] = ()) -> Counter:
    """Write a fresh CRM database at ``path`` (replacing one left by an earlier run);
    return how many customers each tier has."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    rows = generate(count, avoid=avoid)
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.executescript(SCHEMA)
            conn.execute(STAGE_COLUMN)
            conn.executemany(
                "INSERT INTO customers (name, phone, tier, city, created_at, updated_at) "
                "VALUES (:name, :phone, :tier, :city, :created_at, :updated_at)", rows)
    finally:
        conn.close()
    return Counter(r["tier"] for r in rows)


def crm_now(conn: sqlite3.Connection) -> str:
    """A CRM user's "now" for ``updated_at``: China local time, and never behind a newer
    stamp already in the table (the hub's sink writes UTC text), so the hub's cursor sees it."""
    newest = conn.execute("SELECT MAX(updated_at) FROM customers").fetchone()[0] or ""
    now = datetime.now(CHINA).replace(tzinfo=None)
    if newest[:19] >= now.strftime(TS_FORMAT):
        now = datetime.fromisoformat(newest[:19]) + timedelta(seconds=1)
    return now.strftime(TS_FORMAT)


def set_tier(path: Path, phone: str, tier: str) -> int | None:
    """A CRM user changes the tier of the customer with ``phone`` (national or E.164);
    returns the row id, or None when the CRM has no such customer."""
    return _set(path, phone, "tier", tier)


def set_stage(path: Path, phone: str, stage: str) -> int | None:
    """A CRM user moves the customer with ``phone`` to sales stage ``stage``; returns the
    row id, or None when the CRM has no such customer."""
    return _set(path, phone, "stage", stage)


def _set(path: Path, phone: str, column: str, value: str) -> int | None:
    if column not in ("tier", "stage"):
        raise ValueError(f"the demo sets tier or stage, not {column!r}")
    national = phone[-11:]
    conn = sqlite3.connect(path, timeout=30)
    try:
        with conn:
            row = conn.execute("SELECT id FROM customers WHERE phone IN (?, ?) ORDER BY id LIMIT 1",
                               (national, "+86" + national)).fetchone()
            if row is None:
                return None
            conn.execute(f"UPDATE customers SET {column} = ?, updated_at = ? WHERE id = ?", (value, crm_now(conn), row[0]))
            return row[0]
    finally:
        conn.close()


def rows_since(path: Path, after_id: int) -> list[dict]:
    """Customers with an id above ``after_id`` (what the hub inserted), oldest first."""
    conn = sqlite3.connect(path, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM customers WHERE id > ? ORDER BY id", (after_id,))]
    finally:
        conn.close()


def customers_where(path: Path, tier: str, limit: int) -> list[dict]:
    conn = sqlite3.connect(path, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM customers WHERE tier = ? ORDER BY id LIMIT ?", (tier, limit))]
    finally:
        conn.close()


def tier_counts(path: Path) -> dict[str, int]:
    """Customers per tier, in the tiers' order."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        found = dict(conn.execute("SELECT tier, COUNT(*) FROM customers WHERE is_deleted = 0 GROUP BY tier").fetchall())
    finally:
        conn.close()
    return {t: found[t] for t, _ in TIERS if t in found} | {t: n for t, n in found.items() if t not in dict(TIERS)}


def max_id(path: Path) -> int:
    conn = sqlite3.connect(path, timeout=30)
    try:
        return conn.execute("SELECT COALESCE(MAX(id), 0) FROM customers").fetchone()[0]
    finally:
        conn.close()
