"""A cron expression in words, in Chinese and English: ``0 9 * * 1-5`` → 每周一至周五 09:00 /
at 09:00, Monday to Friday. The common shapes only (fixed times, every N minutes or hours,
weekdays, days of the month, months, the ``@daily`` aliases); anything else gives None and
the page shows the expression as written (it always shows it as written too)."""

from __future__ import annotations

import re

ALIASES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
           "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
WEEKDAYS = {"zh-CN": ["周日", "周一", "周二", "周三", "周四", "周五", "周六", "周日"],
            "en": ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]}
MONTHS_EN = ["", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]
NAMES = {name: i for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
MONTH_NAMES = {name: i for i, name in enumerate(["", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]) if name}
NUMBER = re.compile(r"^\d{1,2}$")


def _value(text: str, names: dict[str, int]) -> int | None:
    text = text.lower()
    if NUMBER.match(text):
        return int(text)
    return names.get(text)


def _items(field: str, names: dict[str, int] | None = None) -> list[tuple[int, int]] | None:
    """``1-5,7`` → ``[(1, 5), (7, 7)]``; None for ``*``, steps or anything unreadable."""
    out = []
    for part in field.split(","):
        lo, _, hi = part.partition("-")
        a, b = _value(lo, names or {}), _value(hi, names or {}) if hi else None
        if a is None or (hi and b is None):
            return None
        out.append((a, b if b is not None else a))
    return out


def _join(parts: list[str], lang: str) -> str:
    if lang == "en":
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return "、".join(parts)


def _span(items: list[tuple[int, int]], word, lang: str) -> str:
    to = "至" if lang != "en" else " to "
    return _join([word(a) if a == b else f"{word(a)}{to}{word(b)}" for a, b in items], lang)


def describe(expression: str, lang: str = "zh-CN") -> str | None:
    """The expression in words, or None when it is not one of the shapes this reads."""
    lang = "en" if lang == "en" else "zh-CN"
    fields = ALIASES.get(expression.strip(), expression).split()
    if len(fields) != 5:
        return None
    minute, hour, dom, month, dow = fields
    en = lang == "en"
    # -- when in the day
    minutes, hours = _items(minute), _items(hour)
    step = re.fullmatch(r"\*/(\d{1,2})", minute)
    hstep = re.fullmatch(r"\*/(\d{1,2})", hour)
    if minutes and hours and all(a == b for a, b in minutes) and len(minutes) == 1 and all(a == b for a, b in hours):
        times = [f"{h:02d}:{minutes[0][0]:02d}" for h, _ in hours]
        when = ("at " + _join(times, lang)) if en else _join(times, lang)
    elif minutes and len(minutes) == 1 and minutes[0][0] == minutes[0][1] and hour == "*":
        m = minutes[0][0]
        when = f"every hour at :{m:02d}" if en else ("每小时整点" if m == 0 else f"每小时第 {m} 分")
    elif minutes and len(minutes) == 1 and minutes[0][0] == minutes[0][1] and hstep:
        when = (f"every {hstep.group(1)} hours at :{minutes[0][0]:02d}" if en
                else f"每 {hstep.group(1)} 小时（第 {minutes[0][0]} 分）")
    elif step and hour == "*":
        when = f"every {step.group(1)} minutes" if en else f"每 {step.group(1)} 分钟"
    elif minute == "*" and hour == "*":
        when = "every minute" if en else "每分钟"
    else:
        return None
    # -- which days
    if dom != "*" and dow != "*":
        return None  # cron's "either" rule: too easy to misread in words
    day = None  # every day
    if dow != "*":
        days = _items(dow, NAMES)
        if days is None or any(not 0 <= d <= 7 for span in days for d in span):
            return None
        names = WEEKDAYS[lang]
        day = _span(days, lambda d: names[d], lang) if en else "每" + _span(days, lambda d: names[d], lang)
    elif dom != "*":
        dates = _items(dom)
        if dates is None or any(not 1 <= d <= 31 for span in dates for d in span):
            return None
        day = f"on day {_span(dates, str, lang)} of the month" if en else _span(dates, str, lang) + "日"
    if month != "*":
        months = _items(month, MONTH_NAMES)
        if months is None or any(not 1 <= m <= 12 for span in months for m in span):
            return None
        said = _span(months, (lambda m: MONTHS_EN[m]) if en else (lambda m: f"{m}月"), lang)
        if en:
            day = f"{day or 'every day'}, in {said}"
        else:
            day = "每年" + said + (day if dom != "*" else f"{day}" if day else "每天")
    elif dom != "*" and not en:
        day = "每月" + day
    if en:
        return f"{when}, {day}" if day else (when if when.startswith("every") else f"{when}, every day")
    if day is None:
        return when if when.startswith("每") else f"每天 {when}"
    return f"{day} {when}"
