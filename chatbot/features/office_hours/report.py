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
from datetime import datetime, time, timedelta, timezone
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import Session

from chatbot.features.office_hours.line import minutes, took
from chatbot.i18n import ENGLISH, Language
from storage.office_hours import LogRow, OfficeHoursRepo, OhEntry, OfficeHour


def summary(entries: list[OhEntry], lang: Language = ENGLISH) -> str:
    """``5 helped (median wait 8 min), 1 no-show, 1 left``: what a closing queue posts."""
    helped = [e for e in entries if e.outcome == "helped"]
    waits = [e.called_at - e.joined_at for e in helped if e.called_at]
    if waits:
        parts = [lang.ngettext("{n} helped (median wait {wait})", "{n} helped (median wait {wait})", len(helped),
                               wait=took(statistics.median(waits), lang))]
    else:
        parts = [lang.ngettext("{n} helped", "{n} helped", len(helped))]
    counts = Counter(e.outcome for e in entries)
    if counts["no-show"]:
        parts.append(lang.ngettext("{n} no-show", "{n} no-shows", counts["no-show"]))
    if counts["left"]:
        parts.append(lang.ngettext("{n} left", "{n} left", counts["left"]))
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


def compute_stats(sessions: list[OfficeHour], log: list[LogRow], tz: str) -> Stats:
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


def stats_text(st: Stats, channel: str | None, days: int, tz: str, lang: Language = ENGLISH) -> str:
    """``!oh stats`` in one line; ``channel`` is the channel's name, None for all channels."""
    if not st.sessions and not st.helps:
        if channel is None:
            return lang.ngettext("No office hours in all channels in the last {n} day.",
                                 "No office hours in all channels in the last {n} days.", days)
        return lang.ngettext("No office hours in {channel} in the last {n} day.",
                             "No office hours in {channel} in the last {n} days.", days, channel=channel)
    counts = {
        "sessions": lang.ngettext("{n} session", "{n} sessions", st.sessions),
        "helps": lang.ngettext("{n} help", "{n} helps", st.helps),
        "people": lang.ngettext("{n} person", "{n} people", st.people),
    }
    if channel is None:
        head = lang.ngettext("Office hours in all channels, last {n} day: {sessions}, {helps} for {people}",
                             "Office hours in all channels, last {n} days: {sessions}, {helps} for {people}", days, **counts)
    else:
        head = lang.ngettext("Office hours in {channel}, last {n} day: {sessions}, {helps} for {people}",
                             "Office hours in {channel}, last {n} days: {sessions}, {helps} for {people}", days,
                             channel=channel, **counts)
    parts = [head]
    if st.median_wait is not None and st.p90_wait is not None:
        parts.append(lang._("wait median {median}, p90 {p90}", median=took(timedelta(minutes=st.median_wait), lang),
                            p90=took(timedelta(minutes=st.p90_wait), lang)))
    parts.append(", ".join((
        lang.ngettext("{n} no-show", "{n} no-shows", st.no_shows),
        lang.ngettext("{n} left", "{n} left", st.left),
        lang.ngettext("{n} not reached", "{n} not reached", st.not_reached),
    )))
    if st.busiest:
        slots = ", ".join(
            lang._("{day} {time} ({n})", day=lang.locale.days["format"]["abbreviated"][d], time=lang.time(time(h)),
                   n=lang.number(n))
            for d, h, n in st.busiest
        )
        parts.append(lang._("busiest ({zone}): {slots}", zone=tz, slots=slots))
    return "; ".join(parts) + "."


# ---------------------------------------------------------------------------- export

CSV_FIELDS = (
    "channel", "opened_at", "joined_at", "called_at", "done_at", "wait_minutes", "help_minutes",
    "outcome", "skips", "host", "person", "topic",
)


def _iso(instant: datetime | None) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if instant else ""


def spreadsheet_safe(text: str | None) -> str:
    """Text a spreadsheet will not run as a formula (people choose their nicks and topics)."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_row(row: LogRow) -> list[str]:
    e, s = row.entry, row.hour
    waited_until = e.called_at or e.ended_at
    wait = f"{minutes(waited_until - e.joined_at):.1f}" if waited_until else ""
    length = f"{minutes(e.ended_at - e.called_at):.1f}" if e.outcome == "helped" and e.called_at and e.ended_at else ""
    return [
        spreadsheet_safe(f"{s.platform}:{s.channel}"), _iso(s.opened_at), _iso(e.joined_at), _iso(e.called_at),
        _iso(e.ended_at), wait, length, e.outcome or "", str(e.skips), spreadsheet_safe(row.host), spreadsheet_safe(row.person),
        spreadsheet_safe(e.topic),
    ]


def export_help_log(database: DbEngine, out: TextIO) -> int:
    """Write the help log as CSV (one row per person who was in line); returns the rows written.

    Times are UTC ISO 8601; wait_minutes is joined -> called (or -> left/closed when never
    called); help_minutes only for helps. Nothing private is in it: no DMs, no notes. The
    channel is the raw ``platform:channel`` id (data for machines, not a label for people)."""
    with Session(database) as db:
        rows = OfficeHoursRepo(db).help_log()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in rows:
        writer.writerow(csv_row(row))
    return len(rows)
