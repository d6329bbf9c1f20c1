"""The programme's figures: report rows in, a :class:`Figure` out (what a chart draws, the CSV
behind it, and a one-line summary for chat platforms without images).

Plain functions of rows, so each figure is tested on a known history; the web pages and the
``!round chart`` command draw the very same figures. Weeks start on Monday (UTC dates; a round's
weeks are its calendar weeks).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Literal, Sequence
from zoneinfo import ZoneInfo

from chatbot.dashboard.charts import NO_DATA, Series, bar_chart, heat_map, line_chart
from chatbot.features.office_hours.report import percentile, spreadsheet_safe
from chatbot.i18n import ENGLISH, N_, Language
from storage.checkins import ANSWERED, SKIPPED
from storage.reports import CheckinRow, ScoreRow, SessionRow, WaitRow
from storage.tables import Round

#: the charts ``!round chart`` can send, in the order its usage lists them
CHAT_CHARTS = ("answers", "sessions", "waits", "skills")
#: assessment kinds as the skills chart shows them
SKILL_KINDS = (N_("self"), N_("mentor"), N_("final"))


@dataclass(frozen=True)
class Figure:
    name: str
    title: str
    kind: Literal["line", "bars", "heat"]
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    #: the CSV behind the chart: header and rows
    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    #: one line that says what the chart shows, for chat platforms without images
    summary: str
    y_max: float | None = None
    unit: str = ""
    #: the reader's language (what an empty chart says)
    lang: Language = field(default=ENGLISH, compare=False, repr=False)

    def svg(self) -> str:
        nothing = self.lang._(NO_DATA)
        if self.kind == "heat":
            counts = [[int(v or 0) for v in s.values] for s in self.series]
            return heat_map(self.title, [s.name for s in self.series], self.labels, counts, nothing=nothing)
        draw = line_chart if self.kind == "line" else bar_chart
        return draw(self.title, self.labels, self.series, y_max=self.y_max, unit=self.unit, nothing=nothing)

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([spreadsheet_safe(v) if isinstance(v, str) else v for v in row])
        return out.getvalue()

    @property
    def empty(self) -> bool:
        return not any(v for s in self.series for v in s.values if v is not None)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weeks(first: date, last: date) -> list[date]:
    """The Mondays of the weeks from ``first`` to ``last`` (at least one)."""
    start, end = monday(first), monday(max(first, last))
    return [start + timedelta(weeks=n) for n in range((end - start).days // 7 + 1)]


def round_weeks(rnd: Round, today: date) -> list[date]:
    """A round's weeks so far (all of them once it is over)."""
    return weeks(rnd.starts_on, min(rnd.ends_on, max(today, rnd.starts_on)))


def _label(day: date, lang: Language) -> str:
    """A week (its Monday) or a day on a chart's axis and in a summary: "4 Jan", "4 janv."."""
    return lang.date(day, "MMMd")


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


# ---------------------------------------------------------------------------- round overview


def round_span(rnd: Round) -> tuple[datetime, datetime]:
    """The instants a round's records are looked for in: its first day to the end of its last (UTC)."""
    start = datetime.combine(rnd.starts_on, time.min, timezone.utc)
    return start, datetime.combine(rnd.ends_on + timedelta(days=1), time.min, timezone.utc)


def answers(rnd: Round, statuses: Sequence[tuple[int, datetime, str]], today: date, lang: Language = ENGLISH) -> Figure:
    """Share of check-ins answered per week, from (mentee, due, status) rows (a prompt skipped
    while the bot was down is not counted; one still open counts as not answered yet)."""
    asked: Counter[date] = Counter()
    answered: Counter[date] = Counter()
    for _mentee, due, status in statuses:
        if status == SKIPPED:
            continue
        week = monday(due.date())
        asked[week] += 1
        answered[week] += status == ANSWERED
    ws = round_weeks(rnd, today)
    rates = tuple(_pct(answered[w], asked[w]) for w in ws)
    total_asked, total_answered = sum(asked[w] for w in ws), sum(answered[w] for w in ws)
    if total_asked:
        last = next((w for w in reversed(ws) if asked[w]), ws[-1])
        summary = lang._(
            "Check-in answers in {round}: {week_pct}% in the week of {week} ({answered} of {asked}), "
            "{total_pct}% over the round ({total_answered} of {checkins}).",
            round=rnd.name, week_pct=lang.number(_pct(answered[last], asked[last]) or 0), week=_label(last, lang),
            answered=answered[last], asked=asked[last], total_pct=lang.number(_pct(total_answered, total_asked) or 0),
            total_answered=total_answered, checkins=lang.ngettext("{n} check-in", "{n} check-ins", total_asked))
    else:
        summary = lang._("Check-in answers in {round}: no check-in has been sent yet.", round=rnd.name)
    return Figure(
        "answers", lang._("Check-ins answered per week, {round}", round=rnd.name), "line", tuple(_label(w, lang) for w in ws),
        (Series(lang._("answered"), rates),), ("week", "asked", "answered", "percent"),
        tuple((w.isoformat(), asked[w], answered[w], "" if r is None else r) for w, r in zip(ws, rates)),
        summary, y_max=100, unit="%", lang=lang,
    )


def sessions(rnd: Round, logs: Sequence[SessionRow], today: date, lang: Language = ENGLISH) -> Figure:
    """Mentoring sessions logged per week (by the day they were held)."""
    held = Counter(monday(s.held_on) for s in logs)
    minutes = Counter()
    for s in logs:
        minutes[monday(s.held_on)] += s.minutes
    ws = round_weeks(rnd, today)
    counts = tuple(float(held[w]) for w in ws)
    total = sum(held[w] for w in ws)
    summary = lang._("Sessions in {round}: {logged} logged over {weeks}, {latest} in the week of {week}.",
                     round=rnd.name, logged=lang.ngettext("{n} session", "{n} sessions", total),
                     weeks=lang.ngettext("{n} week", "{n} weeks", len(ws)),
                     latest=lang.ngettext("{n} session", "{n} sessions", held[ws[-1]]), week=_label(ws[-1], lang))
    return Figure(
        "sessions", lang._("Sessions logged per week, {round}", round=rnd.name), "bars", tuple(_label(w, lang) for w in ws),
        (Series(lang._("sessions"), counts),), ("week", "sessions", "minutes"),
        tuple((w.isoformat(), held[w], minutes[w]) for w in ws), summary, lang=lang,
    )


def mood(checkins: Sequence[CheckinRow], handle: str, lang: Language = ENGLISH) -> Figure:
    """One mentee's mood (1-5) at each answered check-in."""
    rated = [c for c in checkins if c.status == ANSWERED and c.rating is not None]
    labels = tuple(_label(c.due_at.date(), lang) for c in rated)
    values = tuple(float(c.rating) for c in rated)  # type: ignore[arg-type]
    summary = (lang._("Mood of {handle}: {mood} of 5 at the last check-in.", handle=handle, mood=rated[-1].rating) if rated
               else lang._("Mood of {handle}: no answer with a mood yet.", handle=handle))
    return Figure(
        "mood", lang._("Mood at each check-in, {handle}", handle=handle), "line", labels, (Series(lang._("mood"), values),),
        ("due_at", "status", "mood", "blocker"),
        tuple((c.due_at.isoformat(), c.status, "" if c.rating is None else c.rating, c.blocker or "") for c in checkins),
        summary, y_max=5, lang=lang,
    )


# ---------------------------------------------------------------------------- skills


def skills(rnd: Round, scores: Sequence[ScoreRow], lang: Language = ENGLISH) -> tuple[Figure, Figure, float | None]:
    """Average score (0-3) per skill for each kind of assessment; the average change per skill
    and over the round as bars (per person and skill, the final score, else the mentor's
    review, minus the self score, averaged over everyone who has both); and that round average."""
    by: dict[tuple[str, str], list[int]] = defaultdict(list)
    latest: dict[tuple[int, str, str], int] = {}
    for s in scores:
        by[(s.kind, s.skill)].append(s.score)
        latest[(s.member_id, s.kind, s.skill)] = s.score
    names = tuple(sorted({s.skill for s in scores}))
    series = tuple(
        Series(lang._(kind), tuple(round(statistics.mean(by[(kind, n)]), 2) if by[(kind, n)] else None for n in names))
        for kind in SKILL_KINDS
    )
    changes: list[int] = []
    per_skill: dict[str, list[int]] = defaultdict(list)
    for (member, kind, skill), score in latest.items():
        if kind != "self":
            continue
        later = latest.get((member, "final", skill), latest.get((member, "mentor", skill)))
        if later is not None:
            changes.append(later - score)
            per_skill[skill].append(later - score)
    change = float(round(statistics.mean(changes), 2)) if changes else None
    if change is None:
        summary = lang._("Skills in {round}: no skill has both a self-assessment and a mentor's score yet.", round=rnd.name)
    else:
        summary = lang._("Skills in {round}: average change {change} points (0-3 scale) over {skills}, "
                         "self-assessment to mentor's score.", round=rnd.name, change=lang.signed(change),
                         skills=lang.ngettext("{n} rated skill", "{n} rated skills", len(changes)))
    rows = tuple((n, *(("" if s.values[i] is None else s.values[i]) for s in series),
                  len(by[("self", n)]), len(by[("mentor", n)]), len(by[("final", n)])) for i, n in enumerate(names))
    fig = Figure(
        "skills", lang._("Skills, self vs mentor vs final, {round}", round=rnd.name), "bars", names, series,
        ("skill", "self_avg", "mentor_avg", "final_avg", "self_n", "mentor_n", "final_n"), rows, summary, y_max=3, lang=lang,
    )
    changed = tuple(sorted(per_skill))
    averages = tuple(float(round(statistics.mean(per_skill[n]), 2)) for n in changed)
    everything = lang._("all skills")
    change_fig = Figure(
        "change", lang._("Average change per skill, self-assessment to mentor's score, {round}", round=rnd.name), "bars",
        (*changed, everything) if changed else (), (Series(lang._("change"), (*averages, change) if changed else ()),),
        ("skill", "average_change", "people"),
        (*((n, a, len(per_skill[n])) for n, a in zip(changed, averages)), *(((everything, change, len(changes)),) if changed else ())),
        summary, lang=lang,
    )
    return fig, change_fig, change


# ---------------------------------------------------------------------------- office hours


def _wait_minutes(w: WaitRow) -> float | None:
    return (w.called_at - w.joined_at).total_seconds() / 60 if w.called_at is not None else None


def waits(log: Sequence[WaitRow], lang: Language = ENGLISH) -> Figure:
    """Wait from joining the line to being called, per week: median and 90th percentile."""
    per: dict[date, list[float]] = defaultdict(list)
    for w in log:
        minutes = _wait_minutes(w)
        if minutes is not None:
            per[monday(w.joined_at.date())].append(minutes)
    ws = weeks(min(per), max(per)) if per else []
    med = tuple(round(statistics.median(per[w]), 1) if per[w] else None for w in ws)
    p90 = tuple(round(percentile(per[w], 90), 1) if per[w] else None for w in ws)
    everyone = [m for w in ws for m in per[w]]
    if everyone:
        summary = lang._("Office-hour waits: median {median} min, p90 {p90} min over {people} called in {weeks}.",
                         median=lang.number(round(statistics.median(everyone))), p90=lang.number(round(percentile(everyone, 90))),
                         people=lang.ngettext("{n} person", "{n} people", len(everyone)),
                         weeks=lang.ngettext("{n} week", "{n} weeks", len(ws)))
    else:
        summary = lang._("Office-hour waits: nobody has been called from a line yet.")
    return Figure(
        "waits", lang._("Office-hour waits per week (minutes)"), "line", tuple(_label(w, lang) for w in ws),
        (Series(lang._("median"), med), Series(lang._("p90"), p90)), ("week", "called", "median_minutes", "p90_minutes"),
        tuple((w.isoformat(), len(per[w]), "" if m is None else m, "" if p is None else p) for w, m, p in zip(ws, med, p90)),
        summary, unit=" min", lang=lang,
    )


def busiest(log: Iterable[WaitRow], channel: str, tz: str, name: str = "busiest", lang: Language = ENGLISH) -> Figure:
    """People joining the line by weekday and hour, in the channel's timezone."""
    zone = ZoneInfo(tz)
    days = [lang.locale.days["format"]["abbreviated"][d] for d in range(7)]  # Mon..Sun in the reader's language
    slots = Counter((j.weekday(), j.hour) for j in (w.joined_at.astimezone(zone) for w in log))
    hours = tuple(f"{h:02d}" for h in range(24))
    series = tuple(Series(days[d], tuple(float(slots[(d, h)]) for h in range(24))) for d in range(7))
    top = sorted(slots.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    if top:
        slots_text = ", ".join(lang._("{day} {time} ({n})", day=days[d], time=lang.time(time(h)), n=lang.number(n))
                               for (d, h), n in top)
        summary = lang._("Busiest office-hour slots in {channel} ({tz}): {slots}.", channel=channel, tz=tz, slots=slots_text)
    else:
        summary = lang._("Busiest office-hour slots in {channel}: nobody has joined a line yet.", channel=channel)
    return Figure(
        name, lang._("Busiest slots, {channel} ({tz})", channel=channel, tz=tz), "heat", hours, series, ("weekday", "hour", "joined"),
        tuple((days[d], f"{h:02d}", slots[(d, h)]) for d in range(7) for h in range(24) if slots[(d, h)]), summary, lang=lang,
    )


def channels(log: Iterable[WaitRow]) -> list[tuple[str, str]]:
    """The (platform, channel) of every line in the log, in first-seen order."""
    return list(dict.fromkeys((w.platform, w.channel) for w in log))


def at(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M UTC")
