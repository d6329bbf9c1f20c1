"""The injected clock. Nothing in a feature reads the wall clock: it asks ``ctx.now``.

Tests and console scripts use :class:`FakeClock` to move time (``@advance 3d``) and run what
became due, so schedules are tested without sleeping.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None):
        self._now = (start or datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)).astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = when.astimezone(timezone.utc)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


_SPAN_RE = re.compile(r"(\d+)\s*([wdhms])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_span(text: str) -> timedelta:
    """``3d4h``, ``90m``, ``1w`` -> timedelta (used by ``@advance`` and config)."""
    compact = text.replace(" ", "").lower()
    parts = _SPAN_RE.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"'{text}' is not a span like 3d4h or 90m")
    delta = timedelta()
    for number, unit in parts:
        delta += timedelta(**{_UNITS[unit]: int(number)})
    return delta
