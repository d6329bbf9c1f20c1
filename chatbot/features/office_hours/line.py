"""Office hours: a queue as it stands, and how long people will likely wait.

Estimates come from the channel's own history: the median of its recent help lengths (a
configured default until there are ``MIN_HISTORY``), played out over the hosts on duty. The
wording of waits lives here too, so a list, a DM and a reply say the same thing.
"""

from __future__ import annotations

import heapq
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, partial
from typing import Callable

from chatbot.context import Context
from chatbot.i18n import ENGLISH, Language
from storage.addressees import Addressee
from storage.office_hours import OhEntry, OfficeHour, OpenHour, Place

#: a help counts towards estimates once the channel has this many
MIN_HISTORY = 3


def minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def about(minutes: float, lang: Language = ENGLISH) -> str:
    """A wait in words, as precise as an estimate deserves."""
    if minutes < 1:
        return lang._("any moment now")
    m = round(minutes)
    if m < 10:
        return lang._("about {minutes} min", minutes=lang.number(m))
    m = 5 * round(m / 5)
    if m < 60:
        return lang._("about {minutes} min", minutes=lang.number(m))
    return lang._("about {hours}h{minutes}", hours=lang.number(m // 60), minutes=format(m % 60, "02d"))


def compact(minutes: float, lang: Language = ENGLISH) -> str:
    """A wait for a list: ``now``, ``~5m``, ``~1h15``."""
    if minutes < 1:
        return lang._("now")
    m = round(minutes) if minutes < 10 else 5 * round(minutes / 5)
    if m < 60:
        return lang._("~{minutes}m", minutes=lang.number(m))
    return lang._("~{hours}h{minutes}", hours=lang.number(m // 60), minutes=format(m % 60, "02d"))


def took(delta: timedelta, lang: Language = ENGLISH) -> str:
    """How long something took: ``under a minute``, ``12 min``, ``1h05``."""
    m = round(minutes(delta))
    if m < 1:
        return lang._("under a minute")
    if m < 60:
        return lang._("{minutes} min", minutes=lang.number(m))
    return lang._("{hours}h{minutes}", hours=lang.number(m // 60), minutes=format(m % 60, "02d"))


def expected_waits(people: int, free_hosts: int, busy_remaining: list[float], per_help: float) -> list[float]:
    """Minutes until each of ``people`` in line is likely called.

    Each host is free at some moment (now, or when their current help is likely over); the
    person first in line takes the host free soonest, and so on, each help taking ``per_help``.
    """
    hosts = [0.0] * free_hosts + [max(r, 0.0) for r in busy_remaining]
    if not hosts:
        return [float("inf")] * people
    heapq.heapify(hosts)
    waits = []
    for _ in range(people):
        at = heapq.heappop(hosts)
        waits.append(at)
        heapq.heappush(hosts, at + per_help)
    return waits


def help_minutes(ctx: Context, platform: str, channel: str) -> float:
    """The typical help length in this channel: the median of its recent helps."""
    cfg = ctx.settings.office_hours
    recent = ctx.repos.office_hours.recent_help_minutes(platform, channel, cfg.estimate_from_last)
    if len(recent) < MIN_HISTORY:
        return float(cfg.default_help_minutes)
    return float(statistics.median(recent))


@dataclass
class Duty:
    """The hosts' side of a queue: who is on duty, since when each is with someone, how long a
    help takes.

    Enough for the estimates: ``!q join`` and ``!q leave`` add only the line's summary (how many
    wait, one person's place), not every entry, and read the hosts as plain values (issue 24)."""

    hosts: list[int]
    #: the hosts on duty who are with someone, and when they called them
    busy_since: dict[int, datetime | None]
    #: the hosts on duty as a DM to them needs them
    people: dict[int, Addressee]
    #: reads the typical help length (``help_minutes``): only an estimate that needs it asks
    help_length: Callable[[], float]
    now: datetime

    @classmethod
    def of(cls, ctx: Context, hour: OfficeHour | OpenHour) -> "Duty":
        now = ctx.repos.office_hours.hosts_now(hour.pk)
        return cls(now.hosts, now.busy_since, now.people, partial(help_minutes, ctx, hour.platform, hour.channel), ctx.now)

    @cached_property
    def per_help(self) -> float:
        """Minutes a help likely takes here, read once."""
        return self.help_length()

    def waits_of(self, people: int) -> list[float]:
        """Minutes until each of ``people`` waiting is likely called, first first. When a free
        host is there for each of them, that is now, whatever a help takes (nothing is read)."""
        free = len(self.hosts) - len(self.busy_since)
        if people <= free:
            return [0.0] * people
        remaining = [max(self.per_help - minutes(self.now - at), 1.0) for at in self.busy_since.values() if at]
        return expected_waits(people, free, remaining, self.per_help)


@dataclass
class Line(Duty):
    """A queue as it stands: who waits (every entry), who is with a host, and the estimates."""

    called: list[OhEntry]
    waiting: list[OhEntry]

    @classmethod
    def of(cls, ctx: Context, hour: OfficeHour | OpenHour) -> "Line":
        duty, repo = Duty.of(ctx, hour), ctx.repos.office_hours
        return cls(duty.hosts, duty.busy_since, duty.people, duty.help_length, duty.now, repo.called(hour.pk), repo.waiting(hour.pk))

    def waits(self) -> list[float]:
        """Minutes until each person waiting is likely called, first first."""
        return self.waits_of(len(self.waiting))

    def position(self, entry: OhEntry | Place) -> int:
        return next(i for i, e in enumerate(self.waiting, 1) if e.id == entry.id)
