"""Weekly recurring times kept in a person's own IANA timezone.

Check-ins (by default Monday and Thursday at 10:00 where the mentee lives) and office hours are
promised in *local* wall-clock time, so a schedule stores days, a time and a timezone name and
never a UTC offset: the offset changes twice a year in many places and the occurrence must not.

The rules, all pure functions of the schedule and the tz database:

* Every scheduled local date yields exactly one occurrence; daylight-saving changes never skip
  or double one.
* A wall-clock time that does not exist that day (the spring-forward gap) is read with the
  offset in force before the gap, which moves it forward by the gap's length: 02:30 on a day
  whose clocks jump from 02:00 to 03:00 happens at 03:30. This is the PEP 495 ``fold=0``
  reading and the one ``dateutil.tz.resolve_imaginary`` uses.
* A wall-clock time that happens twice (the fall-back overlap) happens once, at its first
  (``fold=0``) instant.
* Occurrences come back as aware UTC datetimes; naive datetimes are refused, since guessing
  their zone is how reminders end up an hour off.

Two historical oddities the tz database holds are beyond what any rule can smooth over: when a
zone skipped a whole calendar day (Pacific/Apia on 2011-12-30, when it crossed the date line),
the skipped day's occurrence falls on the same instant as the next day's, and is then counted
once; and where the gap straddles midnight (America/Nuuk springs from Saturday 23:00 to Sunday
00:00), a Saturday 23:30 occurrence happens on Sunday at 00:30.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from babel.dates import format_time

from chatbot.commands import parse_timezone
from chatbot.i18n import ENGLISH, Language

__all__ = [
    "DAY_NAMES",
    "DEFAULT_CHECKIN",
    "WeeklySchedule",
    "format_schedule",
    "next_occurrence",
    "occurrences",
    "parse_schedule",
    "previous_occurrence",
]

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: The twice-weekly check-in a new mentee gets until they choose another (in their own zone).
DEFAULT_CHECKIN = "mon,thu 10:00"

_ONE_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)
# A gap moves an occurrence forward by at most a day (the longest in the tz database is the
# 24 h of a date-line crossing), so looking one day further back than the window's first local
# date finds every nominal date whose occurrence can land inside the window; two is margin.
_LOOKBACK = timedelta(days=2)
# next/previous search in windows this long; longer than the largest gap between two
# occurrences of a one-day schedule (7 days, plus a day if a gap pushed one forward).
_SEARCH_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class WeeklySchedule:
    """The same local time on some days of every week, in one IANA timezone.

    ``days`` are weekday numbers (0 = Monday .. 6 = Sunday); any iterable is accepted and
    stored sorted without duplicates, so equal schedules compare and hash equal. ``at`` is a
    naive local time with whole seconds. ``tz`` is stored in its canonical spelling.
    """

    days: tuple[int, ...]
    at: time
    tz: str

    def __post_init__(self) -> None:
        try:
            raw_days = list(self.days)
        except TypeError:
            raise ValueError("days must be a collection of weekday numbers 0-6") from None
        for day in raw_days:
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                raise ValueError(f"{day!r} is not a weekday number: use 0 (Monday) to 6 (Sunday)")
        if not raw_days:
            raise ValueError("a weekly schedule needs at least one day")
        if not isinstance(self.at, time) or self.at.tzinfo is not None:
            raise ValueError("at must be a local time without a timezone (the zone is tz)")
        if self.at.microsecond:
            raise ValueError("at must be a whole number of seconds")
        object.__setattr__(self, "days", tuple(sorted(set(raw_days))))
        object.__setattr__(self, "at", self.at.replace(fold=0))
        object.__setattr__(self, "tz", parse_timezone(str(self.tz)))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)  # ZoneInfo caches instances by key, so this is cheap

    def __str__(self) -> str:
        return format_schedule(self)


# --------------------------------------------------------------------------- occurrences


def occurrences(
    schedule: WeeklySchedule,
    start: datetime,
    end: datetime,
    skip_dates: Collection[date] = (),
) -> list[datetime]:
    """Every occurrence in ``[start, end)``, as aware UTC datetimes in increasing order.

    ``skip_dates`` are local calendar dates (in the schedule's zone) on which no occurrence
    happens, e.g. programme holidays; an occurrence is dropped when the local date it actually
    happens on is one of them.
    """
    _require_aware(start, "start")
    _require_aware(end, "end")
    skip = _as_dates(skip_dates)
    if end <= start:
        return []
    zone = schedule.zone
    days = frozenset(schedule.days)
    day = start.astimezone(zone).date() - _LOOKBACK
    # one day on: where clocks fall back across midnight, early hours of the next local date
    # come before the end of the last one (Antarctica/Casey, 2010)
    last = end.astimezone(zone).date() + _ONE_DAY
    found: set[datetime] = set()  # a set: a skipped calendar day can map two dates to one instant
    while day <= last:
        if day.weekday() in days:
            instant = _instant(day, schedule.at, zone)
            if start <= instant < end and instant.astimezone(zone).date() not in skip:
                found.add(instant)
        day += _ONE_DAY
    return sorted(found)


def next_occurrence(
    schedule: WeeklySchedule, after: datetime, skip_dates: Collection[date] = ()
) -> datetime:
    """The first occurrence strictly after ``after`` (aware UTC)."""
    _require_aware(after, "after")
    skip = _as_dates(skip_dates)
    low = after + _TICK
    # Terminates: skip is finite, and any window wholly past its last date holds an occurrence.
    while True:
        found = occurrences(schedule, low, low + _SEARCH_WINDOW, skip)
        if found:
            return found[0]
        low += _SEARCH_WINDOW


def previous_occurrence(
    schedule: WeeklySchedule, at_or_before: datetime, skip_dates: Collection[date] = ()
) -> datetime:
    """The last occurrence at or before ``at_or_before`` (aware UTC).

    Useful to ask "which check-in is the current one?" at a given moment.
    """
    _require_aware(at_or_before, "at_or_before")
    skip = _as_dates(skip_dates)
    high = at_or_before + _TICK
    while True:  # terminates for the same reason as next_occurrence
        found = occurrences(schedule, high - _SEARCH_WINDOW, high, skip)
        if found:
            return found[-1]
        high -= _SEARCH_WINDOW


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day``: PEP 495 ``fold=0`` resolves both the
    gap (offset before the change, i.e. moved forward by the gap) and the overlap (first)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(timezone.utc)


def _require_aware(moment: datetime, name: str) -> None:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} is a naive datetime: give it a timezone (e.g. UTC)")


def _as_dates(values: Collection[date]) -> frozenset[date]:
    result = frozenset(values)
    for value in result:
        # a datetime is a date subclass but never equal to one, so it would silently not skip
        if isinstance(value, datetime) or not isinstance(value, date):
            raise ValueError(f"skip_dates must hold calendar dates, not {value!r}")
    return result


# --------------------------------------------------------------------------- text


_FILLER = frozenset({"at", "on", "every", "and", "each"})
_GROUPS: dict[str, tuple[int, ...]] = {
    "daily": tuple(range(7)),
    "everyday": tuple(range(7)),
    "weekday": tuple(range(5)),
    "weekdays": tuple(range(5)),
    "weekend": (5, 6),
    "weekends": (5, 6),
}
_ALIASES = {"weds": 2}  # the common spelling that is not a prefix of "wednesday"
_TIME_RE = re.compile(r"(\d{1,2})(?:[:.h](\d{2}))?(?::(\d{2}))?(am|pm)?")
_ZONE_RE = re.compile(r"\(\s*([^()]*?)\s*\)\s*$")
_EXAMPLE = "e.g. 'mon,thu 10:00' or 'tue fri 18:30'"


def parse_schedule(text: str, tz: str) -> WeeklySchedule:
    """Read a schedule a person typed: days, then (or before) one time.

    Accepted: ``"tue,fri 18:30"``, ``"Tue Fri 18:30"``, ``"monday,thursday 9:00"``,
    ``"every tuesday and friday at 6:30pm"``, ``"mon-fri 09:00"``, ``"weekdays 8am"``,
    ``"daily 12:00"``; day names in any case, abbreviated to any unambiguous prefix of two
    letters or more, or plural ("mondays"). A trailing ``(Zone/Name)``, as
    :func:`format_schedule` writes, overrides ``tz``, so formatted schedules read back as they
    were. Raises ValueError with a message meant for the person who typed it.
    """
    raw = text.strip()
    if not raw:
        raise ValueError(f"say which days and at what time, {_EXAMPLE}")
    zone_match = _ZONE_RE.search(raw)
    if zone_match:
        tz = zone_match.group(1)
        raw = raw[: zone_match.start()]
    zone = parse_timezone(tz)

    words = _words(raw)
    times = [w for w in words if w[0].isdigit() or w in ("noon", "midnight")]
    if not times:
        raise ValueError(f"no time given: add one like 18:30, {_EXAMPLE}")
    if len(times) > 1:
        raise ValueError(
            f"more than one time given ({', '.join(times)}): a schedule has one time for all its days"
        )
    days: set[int] = set()
    for word in words:
        if word not in times and word not in _FILLER:
            days.update(_day_word(word))
    if not days:
        raise ValueError(f"no days given: name at least one, {_EXAMPLE}")
    return WeeklySchedule(tuple(days), _time_word(times[0]), zone)


def format_schedule(schedule: WeeklySchedule, lang: Language = ENGLISH) -> str:
    """``"Tue, Fri at 18:30 (Europe/Berlin)"``: short, and (in English) readable back by
    parse_schedule. Other languages name the days as their speakers abbreviate them (Babel's
    locale data: "mar., ven. à 18:30") and write the time on their own clock."""
    if lang.code == ENGLISH.code:  # the source language: exactly what parse_schedule reads back
        days = ", ".join(DAY_NAMES[d][:3] for d in schedule.days)
        at = schedule.at.strftime("%H:%M:%S" if schedule.at.second else "%H:%M")
    else:
        names = lang.locale.days["format"]["abbreviated"]  # Babel numbers days 0 = Monday too
        days = ", ".join(names[d] for d in schedule.days)
        at = format_time(schedule.at, format="medium" if schedule.at.second else "short", locale=lang.locale)
    return lang._("{days} at {time} ({zone})", days=days, time=at, zone=schedule.tz)


def _words(text: str) -> list[str]:
    lowered = text.lower()
    lowered = re.sub(r"(?<![a-z])([ap])\.m\.?", r"\1m", lowered)  # "6:30 p.m." -> "6:30 pm"
    lowered = re.sub(r"\bevery\s+day\b", "daily", lowered)
    # "mon - fri", "mon to fri" -> "mon-fri" (only between words, so "mon- 10:00" stays wrong)
    lowered = re.sub(
        r"(?<=[a-z.])\s*(?:[-\u2013\u2014]|\s(?:to|through|thru|until|till)\s)\s*(?=[a-z])", "-", lowered
    )
    lowered = re.sub(r"(\d)\s+(am|pm)\b", r"\1\2", lowered)
    return [w for w in re.split(r"[\s,;/+&]+", lowered) if w]


def _day_word(word: str) -> Iterable[int]:
    if word in _GROUPS:
        return _GROUPS[word]
    if "-" in word:
        first, _, last = word.partition("-")
        if not first or not last or "-" in last:
            raise ValueError(f"'{word}' is not a range of days like mon-fri")
        a, b = _one_day(first), _one_day(last)
        return [(a + i) % 7 for i in range((b - a) % 7 + 1)]  # wraps: fri-mon is Fri..Mon
    return [_one_day(word)]


def _one_day(word: str) -> int:
    word = word.rstrip(".")  # "tue."
    if word in _ALIASES:
        return _ALIASES[word]
    if len(word) < 2:
        raise ValueError(f"'{word}' is too short for a day: write at least two letters, like mo or th")
    names = [n.lower() for n in DAY_NAMES]
    if word.endswith("s") and word[:-1] in names:  # "mondays"
        word = word[:-1]
    matches = [i for i, name in enumerate(names) if name.startswith(word)]
    if len(matches) == 1:
        return matches[0]
    raise ValueError(f"unknown day '{word}': use day names such as mon, tue or wednesday")


def _time_word(word: str) -> time:
    if word == "noon":
        return time(12, 0)
    if word == "midnight":
        return time(0, 0)
    bad = f"'{word}' is not a time of day: use HH:MM on a 24-hour clock (18:30) or 6:30pm"
    m = _TIME_RE.fullmatch(word)
    if not m:
        raise ValueError(bad)
    hour, minute, second = int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0)
    half = m.group(4)
    if m.group(2) is None and half is None:
        raise ValueError(f"'{word}' is not a clear time: write {hour}:00 or {hour}am/{hour}pm")
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(bad)
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(bad)
    return time(hour, minute, second)
