"""Office hours looked back on: the summary a closing posts, ``!oh stats`` figures, the CSV export.

All of it is read from the help log (ended entries are never deleted, see
``storage.office_hours``). Figures are plain functions of rows, so they are tested on known
histories; nothing here sends a message.
"""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import Session

from chatbot.features.office_hours_line import minutes, took
from chatbot.wording import plural
from storage.office_hours import LogRow, OfficeHoursRepo, OhEntry, OhSession

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def summary(entries: list[OhEntry]) -> str:
    """``5 helped (median wait 8 min), 1 no-show, 1 left``: what a closing queue posts."""
    helped = [e for e in entries if e.outcome == "helped"]
    waits = [e.called_at - e.joined_at for e in helped if e.called_at]
    parts = [f"{len(helped)} helped" + (f" (median wait {took(statistics.median(waits))})" if waits else "")]
    counts = Counter(e.outcome for e in entries)
    if counts["no-show"]:
        parts.append(plural(counts["no-show"], "no-show"))
    if counts["left"]:
        parts.append(f"{counts['left']} left")
    return ", ".join(parts)


# ---------------------------------------------------------------------------- statistics


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (``q`` in 0..100): a value that occurred, never interpolated."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


@dataclass(frozen=True)
class Stats:
    sessions: int
    helps: int
    people: int
    median_wait: float | None
    p90_wait: float | None
    no_shows: int
    left: int
    not_reached: int
    #: (weekday 0-6, hour, joins), busiest first
    busiest: list[tuple[int, int, int]]


def compute_stats(sessions: list[OhSession], log: list[LogRow], tz: str) -> Stats:
    helped = [r for r in log if r.entry.outcome == "helped"]
    waits = [minutes(r.entry.called_at - r.entry.joined_at) for r in helped if r.entry.called_at]
    outcomes = Counter(r.entry.outcome for r in log)
    zone = ZoneInfo(tz)
    slots = Counter((j.weekday(), j.hour) for j in (r.entry.joined_at.astimezone(zone) for r in log))
    busiest = sorted(slots.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    return Stats(
        sessions=len(sessions),
        helps=len(helped),
        people=len({r.person for r in helped}),
        median_wait=statistics.median(waits) if waits else None,
        p90_wait=percentile(waits, 90) if waits else None,
        no_shows=outcomes["no-show"],
        left=outcomes["left"],
        not_reached=outcomes["closed"],
        busiest=[(d, h, n) for (d, h), n in busiest],
    )


def stats_text(st: Stats, where: str, days: int, tz: str) -> str:
    """``!oh stats`` in one line; ``where`` is ``in #oh`` or ``in all channels``."""
    if not st.sessions and not st.helps:
        return f"No office hours {where} in the last {days} days."
    people = plural(st.people, "person") if st.people == 1 else f"{st.people} people"
    parts = [f"Office hours {where}, last {days} days: {plural(st.sessions, 'session')}, "
             f"{plural(st.helps, 'help')} for {people}"]
    if st.median_wait is not None and st.p90_wait is not None:
        parts.append(f"wait median {took(timedelta(minutes=st.median_wait))}, p90 {took(timedelta(minutes=st.p90_wait))}")
    parts.append(f"{plural(st.no_shows, 'no-show')}, {st.left} left, {st.not_reached} not reached")
    if st.busiest:
        slots = ", ".join(f"{DAYS[d]} {h:02d}:00 ({n})" for d, h, n in st.busiest)
        parts.append(f"busiest ({tz}): {slots}")
    return "; ".join(parts) + "."


# ---------------------------------------------------------------------------- export

CSV_FIELDS = (
    "channel", "opened_at", "joined_at", "called_at", "done_at", "wait_minutes", "help_minutes",
    "outcome", "skips", "host", "person", "topic",
)


def _iso(instant: datetime | None) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if instant else ""


def _safe(text: str | None) -> str:
    """Text a spreadsheet will not run as a formula (people choose their nicks and topics)."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_row(row: LogRow) -> list[str]:
    e, s = row.entry, row.session
    waited_until = e.called_at or e.ended_at
    wait = f"{minutes(waited_until - e.joined_at):.1f}" if waited_until else ""
    helped = e.outcome == "helped" and e.called_at and e.ended_at
    length = f"{minutes(e.ended_at - e.called_at):.1f}" if helped else ""  # type: ignore[operator]
    return [
        _safe(f"{s.platform}:{s.channel}"), _iso(s.opened_at), _iso(e.joined_at), _iso(e.called_at),
        _iso(e.ended_at), wait, length, e.outcome or "", str(e.skips), _safe(row.host), _safe(row.person),
        _safe(e.topic),
    ]


def export_help_log(db: DbEngine, out: TextIO) -> int:
    """Write the help log as CSV (one row per person who was in line); returns the rows written.

    Times are UTC ISO 8601; wait_minutes is joined -> called (or -> left/closed when never
    called); help_minutes only for helps. Nothing private is in it: no DMs, no notes. The
    channel is the raw ``platform:channel`` id (data for machines, not a label for people)."""
    with Session(db) as session:
        rows = OfficeHoursRepo(session).help_log()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in rows:
        writer.writerow(csv_row(row))
    return len(rows)
