"""Outcome metrics of a round (CHAOSS "mentorship outcomes"): completion, skills grown, answer
rates, sessions, repeat mentors, and retention beside people office hours helped.

The definitions are the README's ("Outcome metrics"); this module is their one implementation.
:func:`gather` asks the repositories, :func:`compute` is pure arithmetic over what they returned
(tests feed it known inputs), :func:`outcome_rows` hands the figures to exports as plain rows.

Retention, precisely: a person counts as *active W weeks after* their reference day R when the
bot saw them do something (answer a check-in, hold a session on either side, join an
office-hour line, sign up for a round) on a UTC day D with R + W weeks - 4 weeks < D <= R + W
weeks. R is the round's last day for its mentees; for the comparison group (people who joined
an office-hour line by the round's last day and were never a mentee of any round) it is the
UTC day of their first visit. A window counts once it is over (today > R + W weeks): before,
the share is "not yet" (None), never 0 %; in the comparison group each person counts from
when their own window is over.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Sequence

from storage.assessments import Rating
from storage.checkins import ANSWERED, SKIPPED

if TYPE_CHECKING:
    from storage.repos import Repos
    from storage.tables import Round

#: the retention windows, in weeks after the reference day
RETENTION_WEEKS = (4, 12, 26)
#: how far back from the end of a window activity counts
WINDOW = timedelta(weeks=4)


@dataclass(frozen=True)
class Share:
    """``part`` of ``whole`` (a rate); ``percent`` None when there is nothing to count."""

    part: int
    whole: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.part / self.whole, 1) if self.whole else None


@dataclass(frozen=True)
class SkillChange:
    """One skill of one person: the score compared from, and the score reached."""

    skill: str
    first: int
    last: int

    @property
    def change(self) -> int:
        return self.last - self.first


def skill_changes(ratings: Sequence[Rating], kinds: tuple[str, ...]) -> tuple[SkillChange, ...]:
    """Per skill, from ratings oldest first: the first score of these kinds against the final
    check's (when ``final`` is among them and given), else the latest; only skills scored in
    two different assessments ("not applicable" answers left out)."""
    by_skill: dict[str, list[Rating]] = {}
    for r in ratings:
        if r.kind in kinds and r.score is not None:
            by_skill.setdefault(r.skill, []).append(r)
    out = []
    for skill, rs in by_skill.items():
        finals = [r for r in rs if r.kind == "final"]
        last = finals[-1] if finals else rs[-1]
        if last.assessment_id != rs[0].assessment_id:
            out.append(SkillChange(skill, rs[0].score, last.score))  # type: ignore[arg-type]
    return tuple(sorted(out, key=lambda c: c.skill))


def mean_change(changes: Sequence[SkillChange]) -> float | None:
    return round(statistics.mean(c.change for c in changes), 2) if changes else None


def answer_rate(statuses: Sequence[str]) -> Share:
    """Check-ins answered of those sent (a prompt skipped while the bot was down not counted),
    as the dashboard counts them."""
    asked = [s for s in statuses if s != SKIPPED]
    return Share(sum(s == ANSWERED for s in asked), len(asked))


def active_at(reference: date, days: set[date], weeks: int) -> bool:
    end = reference + timedelta(weeks=weeks)
    return any(end - WINDOW < d <= end for d in days)


def retention(references: dict[int, date], activity: dict[int, set[date]], weeks: int, today: date) -> Share | None:
    """The share of people active ``weeks`` after their reference day, among those whose window
    is over; None ("not yet") when nobody's is."""
    over = [m for m, ref in references.items() if today > ref + timedelta(weeks=weeks)]
    if not over:
        return None
    return Share(sum(active_at(references[m], activity.get(m, set()), weeks) for m in over), len(over))


@dataclass(frozen=True)
class OutcomeInputs:
    """What the repositories say about a round (see :func:`gather`)."""

    ends_on: date
    #: (mentor, mentee, kind) of every pair of the round
    pairs: tuple[tuple[int, int, str], ...]
    goals_reached: frozenset[int]
    finals_done: frozenset[int]
    ratings: dict[int, list[Rating]]
    #: per mentee, the statuses of their check-ins due in the round
    checkins: dict[int, list[str]]
    #: sessions per (mentor, mentee)
    sessions: dict[tuple[int, int], int]
    earlier_mentors: frozenset[int]
    #: per person (mentees and the comparison group), the days they were active after a date
    activity: dict[int, set[date]]
    #: the comparison group: per person, the day of their first office-hour visit
    visitors: dict[int, date]
    #: feedback answered of asked, both sides together; None when nobody was asked
    feedback: Share | None = None


@dataclass(frozen=True)
class MenteeOutcome:
    member_id: int
    goal_reached: bool
    final_done: bool
    self_changes: tuple[SkillChange, ...]
    mentor_changes: tuple[SkillChange, ...]
    checkins: Share
    sessions: int

    @property
    def completed(self) -> bool:
        return self.goal_reached and self.final_done


@dataclass(frozen=True)
class RoundOutcomes:
    mentees: tuple[MenteeOutcome, ...]
    #: (mentor, mentee, kind, sessions) of each pair
    pairs: tuple[tuple[int, int, str, int], ...]
    mentors: frozenset[int]
    repeat_mentors: frozenset[int]
    checkins: Share
    feedback: Share | None
    #: weeks -> share (None: not yet), for the mentees and for the comparison group
    retention: dict[int, Share | None] = field(default_factory=dict)
    comparison: dict[int, Share | None] = field(default_factory=dict)
    comparison_size: int = 0

    def share(self, attribute: str) -> Share:
        return Share(sum(bool(getattr(m, attribute)) for m in self.mentees), len(self.mentees))

    def changes(self, attribute: str) -> tuple[SkillChange, ...]:
        return tuple(c for m in self.mentees for c in getattr(m, attribute))

    @property
    def sessions_per_pair(self) -> float | None:
        return round(statistics.mean(p[3] for p in self.pairs), 2) if self.pairs else None


def compute(inputs: OutcomeInputs, today: date) -> RoundOutcomes:
    """The round's figures from what the repositories said, as of ``today`` (UTC)."""
    mentee_ids = sorted({mentee for _mentor, mentee, _kind in inputs.pairs})
    mentees = tuple(
        MenteeOutcome(
            m, m in inputs.goals_reached, m in inputs.finals_done,
            skill_changes(inputs.ratings.get(m, []), ("self",)),
            skill_changes(inputs.ratings.get(m, []), ("mentor", "final")),
            answer_rate(inputs.checkins.get(m, [])),
            sum(n for (_mentor, mentee), n in inputs.sessions.items() if mentee == m),
        )
        for m in mentee_ids
    )
    mentors = frozenset(mentor for mentor, _mentee, _kind in inputs.pairs)
    pairs = tuple((mentor, mentee, kind, inputs.sessions.get((mentor, mentee), 0)) for mentor, mentee, kind in inputs.pairs)
    references = {m: inputs.ends_on for m in mentee_ids}
    return RoundOutcomes(
        mentees=mentees, pairs=pairs, mentors=mentors, repeat_mentors=mentors & inputs.earlier_mentors,
        checkins=answer_rate([s for m in mentee_ids for s in inputs.checkins.get(m, [])]), feedback=inputs.feedback,
        retention={w: retention(references, inputs.activity, w, today) for w in RETENTION_WEEKS},
        comparison={w: retention(inputs.visitors, inputs.activity, w, today) for w in RETENTION_WEEKS},
        comparison_size=len(inputs.visitors),
    )


def gather(repos: "Repos", rnd: "Round") -> OutcomeInputs:
    """Ask the repositories about ``rnd``."""
    from chatbot.dashboard.figures import round_span

    q = repos.outcomes
    pairs = tuple(q.pairs(rnd.pk))
    mentees = {mentee for _mentor, mentee, _kind in pairs}
    start, end = round_span(rnd)
    checkins: dict[int, list[str]] = {}
    for mentee, _due, status in repos.reports.checkin_statuses(mentees, start, end):
        checkins.setdefault(mentee, []).append(status)
    visitors = q.first_visits_unmentored(rnd.ends_on)
    earliest = min([rnd.ends_on, *visitors.values()])
    return OutcomeInputs(
        ends_on=rnd.ends_on, pairs=pairs, goals_reached=frozenset(q.goals_reached(rnd.pk)),
        finals_done=frozenset(q.finals_done(rnd.pk)), ratings=q.ratings(rnd.pk), checkins=checkins,
        sessions={(t.mentor_id, t.mentee_id): t.sessions for t in repos.mentoring_sessions.totals(rnd.pk)},
        earlier_mentors=frozenset(q.earlier_mentors(rnd)), activity=q.activity_days(mentees | set(visitors), earliest),
        visitors=visitors, feedback=_feedback_share(repos, rnd.pk),
    )


def _feedback_share(repos: "Repos", round_id: int) -> Share | None:
    """Feedback answered of asked over every window, mentors and mentees together."""
    rates = repos.feedback.answer_rates(round_id)
    asked = rates.mentor.asked + rates.mentee.asked
    return Share(rates.mentor.answered + rates.mentee.answered, asked) if asked else None


@dataclass(frozen=True)
class OutcomeRow:
    """One figure for an export: ``scope`` round, mentee, pair or retention; ``subject`` a
    handle ("mentor>mentee" for a pair), or a group for retention; ``value`` a number, or
    empty when there is nothing to count yet ("not yet")."""

    scope: str
    subject: str
    metric: str
    value: float | int | str


def outcome_rows(repos: "Repos", rnd: "Round", today: date) -> list[OutcomeRow]:
    """The round's outcome figures as rows, for ``mentorbot export round`` and the like."""
    out = compute(gather(repos, rnd), today)
    names = repos.reports.handles([m.member_id for m in out.mentees] + list(out.mentors))
    rows = [OutcomeRow("round", rnd.name, metric, value) for metric, value in _round_figures(out)]
    for m in out.mentees:
        who = names.get(m.member_id, str(m.member_id))
        rows += [OutcomeRow("mentee", who, metric, value) for metric, value in (
            ("goal_reached", int(m.goal_reached)), ("final_check_done", int(m.final_done)),
            ("self_change", _blank(mean_change(m.self_changes))), ("mentor_change", _blank(mean_change(m.mentor_changes))),
            ("checkins_answered", m.checkins.part), ("checkins_sent", m.checkins.whole), ("sessions", m.sessions))]
    rows += [OutcomeRow("pair", f"{names.get(mentor, mentor)}>{names.get(mentee, mentee)}", "sessions", n)
             for mentor, mentee, _kind, n in out.pairs]
    for group, shares in (("mentees", out.retention), ("office_hours_unmentored", out.comparison)):
        for weeks, share in shares.items():
            rows.append(OutcomeRow("retention", group, f"active_{weeks}w_percent", _blank(share and share.percent)))
    return rows


def _round_figures(out: RoundOutcomes) -> list[tuple[str, float | int | str]]:
    completed, goals, finals = out.share("completed"), out.share("goal_reached"), out.share("final_done")
    return [
        ("mentees", completed.whole), ("completed", completed.part), ("goals_reached", goals.part),
        ("final_checks_done", finals.part), ("self_change", _blank(mean_change(out.changes("self_changes")))),
        ("mentor_change", _blank(mean_change(out.changes("mentor_changes")))),
        ("checkin_answer_percent", _blank(out.checkins.percent)),
        ("feedback_answer_percent", _blank(out.feedback and out.feedback.percent)),
        ("sessions_per_pair", _blank(out.sessions_per_pair)), ("mentors", len(out.mentors)),
        ("repeat_mentors", len(out.repeat_mentors)), ("office_hours_unmentored", out.comparison_size),
    ]


def _blank(value: float | None) -> float | str:
    return "" if value is None else value
