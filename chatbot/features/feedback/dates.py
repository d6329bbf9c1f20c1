"""When feedback windows fall: pure date logic, no database.

A window is named in the config as ``"NAME: WHEN"``; WHEN is read against the round's dates:

- ``week N``: the end of the round's week N (``week 2``: its 14th day);
- ``midpoint``: halfway between the first and the last day;
- ``last week``: the first day of the round's last seven days;
- ``start+20d`` / ``end-10d``: an offset in days from the first or the last day;
- ``2027-02-15``: that date.

A date outside the round is moved inside it, so a short round still gets every window.
The questions go out on that date at ``[feedback] time`` where each person lives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Sequence

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_WEEK = re.compile(r"^week\s+(\d{1,2})$")
_LAST_WEEK = re.compile(r"^last\s+week$")
_OFFSET = re.compile(r"^(start|end)\s*([+-])\s*(\d{1,3})\s*d(?:ays?)?$")


@dataclass(frozen=True)
class WindowRule:
    """One window of every round: its name and when it falls, as configured."""

    name: str
    when: str

    def on(self, starts_on: date, ends_on: date) -> date:
        """The window's date in a round running from ``starts_on`` to ``ends_on`` (inclusive)."""
        rule = " ".join(self.when.lower().split())
        if rule == "midpoint":
            day = starts_on + timedelta(days=(ends_on - starts_on).days // 2)
        elif _LAST_WEEK.match(rule):
            day = ends_on - timedelta(days=6)
        elif m := _WEEK.match(rule):
            day = starts_on + timedelta(days=7 * int(m[1]) - 1)
        elif m := _OFFSET.match(rule):
            base = starts_on if m[1] == "start" else ends_on
            day = base + timedelta(days=int(m[3]) * (1 if m[2] == "+" else -1))
        else:
            day = date.fromisoformat(rule)
        return min(max(day, starts_on), ends_on)


def parse_window(text: str) -> WindowRule:
    """``"midpoint: week 6"`` -> a rule; ValueError (holding the text) when it is not one: the
    config says what a window looks like."""
    name, sep, rule = text.partition(":")
    name, rule = name.strip().lower(), rule.strip()
    if not sep or not _NAME.match(name):
        raise ValueError(text)
    parsed = WindowRule(name, rule)
    parsed.on(date(2027, 1, 1), date(2027, 3, 31))  # a WHEN it cannot read raises ValueError
    return parsed


def windows_of(texts: Sequence[str]) -> list[WindowRule]:
    return [parse_window(t) for t in texts]


def local_instant(day: date, at: time, zone: tzinfo) -> datetime:
    """``day`` at ``at`` o'clock in ``zone`` (a ZoneInfo or UTC), as an aware instant."""
    return datetime.combine(day, at, tzinfo=zone)


def dated_windows(rules: Sequence[WindowRule], starts_on: date, ends_on: date) -> list[tuple[WindowRule, date]]:
    """Every window of a round with its date, in date order."""
    return sorted(((r, r.on(starts_on, ends_on)) for r in rules), key=lambda item: item[1])
