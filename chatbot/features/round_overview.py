"""The coordinator's view of a round: every pair on one line (``!round pairs``), the
programme-wide check-in picture (``!checkins overview``) and the round's figures in one message
(``!round report``).

``!mentees`` is a mentor's list and ``!checkins`` one person's history; a coordinator needs the
whole programme at once, closed rounds included (their pairs have ended, they are still the
round's pairs). The numbers come from the dashboard's queries (``storage.reports``), the at-risk
flag from matchmaking's own scan, so chat, the dashboard and the nudges never disagree.
Listings name mentees and their blockers: they are answered in private.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from chatbot.commands import CommandSpec, Example, format_minutes
from chatbot.context import Context, Feature
from chatbot.dashboard.figures import answers, round_span
from chatbot.features.matchmaking.risk import Risk, pairs_at_risk
from chatbot.features.rounds import OPEN_EXAMPLE, ROUND_ARG, chosen_round
from chatbot.i18n import N_
from storage.checkins import ANSWERED, MISSED, SKIPPED
from storage.reports import CheckinRow
from storage.round_reports import MenteeGoal, RoundPair
from storage.tables import Round
from chatbot.wording import clip

#: pairs listed before the rest is summarised (``--all`` lists every one)
PAGE = 20
ALL = "--all"
#: a blocker quoted in the overview is cut to this many characters
BLOCKER_CHARS = 80


@dataclass(frozen=True)
class MenteeLine:
    """What one line of ``!round pairs`` says about a mentee and their mentors."""

    mentee: str
    pairs: tuple[RoundPair, ...]
    sessions: int
    last_session: date | None
    asked: int
    answered: int
    goal: MenteeGoal | None
    risk: Risk | None


def _percent(ctx: Context, part: int, whole: int) -> str:
    return ctx._("{pct}%", pct=ctx.language.number(round(100 * part / whole)))


def round_and_all(ctx: Context, text: str | None) -> tuple[Round, bool]:
    """The round named (``--all`` anywhere among the words asks for every line)."""
    words = (text or "").split()
    name = " ".join(w for w in words if w.lower() != ALL)
    return chosen_round(ctx, name or None), len(name.split()) != len(words)


# ---------------------------------------------------------------------------- !round pairs


def mentee_lines(ctx: Context, rnd: Round) -> list[MenteeLine]:
    """One entry per mentee of the round, those at risk first, then by handle."""
    groups: dict[int, list[RoundPair]] = defaultdict(list)
    for pair in ctx.repos.round_reports.pairs(rnd.pk):
        groups[pair.mentee_id].append(pair)
    held: dict[int, list[date]] = defaultdict(list)
    for s in ctx.repos.reports.sessions(rnd.pk):
        held[s.mentee_id].append(s.held_on)
    asked: dict[int, int] = defaultdict(int)
    answered: dict[int, int] = defaultdict(int)
    for mentee_id, _due, status in ctx.repos.reports.checkin_statuses(groups, *round_span(rnd)):
        if status != SKIPPED:
            asked[mentee_id] += 1
            answered[mentee_id] += status == ANSWERED
    goals = {g.mentee_id: g for g in ctx.repos.round_reports.goals(rnd.pk)}
    risks = {r.mentee.id: r for r in pairs_at_risk(ctx, rnd)}
    lines = [
        MenteeLine(pairs[0].mentee, tuple(pairs), len(held[m]), max(held[m], default=None), asked[m], answered[m],
                   goals.get(m), risks.get(m))
        for m, pairs in groups.items()
    ]
    return sorted(lines, key=lambda line: (line.risk is None, line.mentee.lower()))


def _who(ctx: Context, line: MenteeLine) -> str:
    """"alice with bob and co-mentor carl": the pairs in force (all of them once all ended)."""
    shown = [p for p in line.pairs if p.ended_at is None] or list(line.pairs)
    leads = ", ".join(p.mentor for p in shown if p.kind == "mentor") or "—"
    co = [p.mentor for p in shown if p.kind != "mentor"]
    if not co:
        return ctx._("{mentee} with {mentor}", mentee=line.mentee, mentor=leads)
    return ctx.ngettext("{mentee} with {mentor} and co-mentor {comentors}", "{mentee} with {mentor} and co-mentors {comentors}",
                        len(co), mentee=line.mentee, mentor=leads, comentors=ctx.language.join(co))


def _goal(ctx: Context, goal: MenteeGoal | None) -> str:
    if goal is None or not goal.goal:
        return ctx._("no goal yet")
    if goal.reached_at is not None:
        return ctx._("goal reached")
    if not goal.steps:
        return ctx._("goal set, no steps yet")
    return ctx.ngettext("goal: {done} of {n} step done", "goal: {done} of {n} steps done", goal.steps,
                        done=ctx.language.number(goal.steps_done))


def _risk(ctx: Context, risk: Risk) -> str:
    if risk.kind == "intro":
        return ctx._("AT RISK: no word from the mentee since the introduction")
    days = (ctx.now - risk.since).days
    return ctx.ngettext("AT RISK: no session for {n} day", "AT RISK: no session for {n} days", days)


def pair_line(ctx: Context, line: MenteeLine) -> str:
    sessions = ctx.ngettext("{n} session", "{n} sessions", line.sessions)
    if line.last_session is not None:
        sessions = ctx._("{sessions}, the last on {date}", sessions=sessions, date=line.last_session.isoformat())
    facts = [sessions, ctx._("check-ins answered: {answered} of {asked}", answered=ctx.language.number(line.answered),
                             asked=ctx.language.number(line.asked)), _goal(ctx, line.goal)]
    ended = [p.ended_at for p in line.pairs if p.ended_at is not None]
    if len(ended) == len(line.pairs):
        facts.append(ctx._("ended {date}", date=max(ended).date().isoformat()))
    if line.risk is not None:
        facts.append(_risk(ctx, line.risk))
    return ctx._("{who}: {facts}", who=_who(ctx, line), facts="; ".join(facts))


async def round_pairs(ctx: Context, round: str | None = None) -> str:
    rnd, everything = round_and_all(ctx, round)
    lines = mentee_lines(ctx, rnd)
    if not lines:
        return ctx._("Nobody has been paired in {round} yet.", round=rnd.name)
    at_risk = sum(line.risk is not None for line in lines)
    head = ctx._("Pairs in {round}: {mentees}, {at_risk}.", round=rnd.name,
                 mentees=ctx.ngettext("{n} mentee", "{n} mentees", len(lines)),
                 at_risk=ctx.ngettext("{n} at risk", "{n} at risk", at_risk))
    shown = lines if everything else lines[:PAGE]
    out = [head, *(pair_line(ctx, line) for line in shown)]
    if len(shown) < len(lines):
        more = len(lines) - len(shown)
        out.append(ctx.ngettext("… and {n} more: {command}", "… and {n} more: {command}", more,
                                command=ctx.command("round", "pairs", rnd.name, ALL)))
    return "\n".join(out)


# ---------------------------------------------------------------------------- !checkins overview


def weekly(rnd: Round, rows: list[CheckinRow], today: date) -> list[tuple[str, int, int]]:
    """(week, asked, answered) for the weeks that had check-ins, counted as the dashboard's
    answers chart counts them (a check-in skipped while the bot was down is not asked)."""
    figure = answers(rnd, [(r.mentee_id, r.due_at, r.status) for r in rows], today)
    return [(str(week), n, done) for week, n, done, _pct in figure.rows if isinstance(n, int) and isinstance(done, int) and n]


def open_blockers(rows: list[CheckinRow]) -> list[CheckinRow]:
    """Each mentee's latest answered check-in, where it names a blocker (a later answer without
    one means it was solved)."""
    latest: dict[int, CheckinRow] = {}
    for row in rows:  # oldest first
        if row.status == ANSWERED:
            latest[row.mentee_id] = row
    return [row for row in latest.values() if row.blocker]


def missed_twice(rows: list[CheckinRow]) -> list[int]:
    """Mentees whose last two check-ins that closed were both missed (the mentors' own alert)."""
    closed: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        if row.status in (ANSWERED, MISSED):
            closed[row.mentee_id].append(row.status)
    return [m for m, statuses in closed.items() if statuses[-2:] == [MISSED, MISSED]]


async def checkins_overview(ctx: Context, round: str | None = None) -> str:
    rnd = chosen_round(ctx, round)
    mentees = {p.mentee_id for p in ctx.repos.round_reports.pairs(rnd.pk)}
    rows = ctx.repos.reports.checkins(mentees, *round_span(rnd))
    weeks = weekly(rnd, rows, ctx.now.date())
    asked, answered = sum(w[1] for w in weeks), sum(w[2] for w in weeks)
    if not asked:
        return ctx._("Check-ins in {round}: none has been asked yet.", round=rnd.name)
    out = [ctx._("Check-ins in {round}: {pct} answered ({answered} of {asked}).", round=rnd.name,
                 pct=_percent(ctx, answered, asked), answered=ctx.language.number(answered), asked=ctx.language.number(asked))]
    out += [ctx._("week of {week}: {pct} ({answered} of {asked})", week=week, pct=_percent(ctx, done, n),
                  answered=ctx.language.number(done), asked=ctx.language.number(n))
            for week, n, done in weeks]
    handles = ctx.repos.reports.handles(mentees)
    blockers = open_blockers(rows)
    if blockers:
        items = [ctx._("{who} ({date}): {blocker}", who=handles.get(r.mentee_id, "?"), date=r.due_at.date().isoformat(),
                       blocker=clip(r.blocker or "", BLOCKER_CHARS)) for r in blockers]
        out.append(ctx.ngettext("{n} open blocker: {blockers}", "{n} open blockers: {blockers}", len(items), blockers="; ".join(items)))
    else:
        out.append(ctx._("No open blocker."))
    missed = sorted(handles.get(m, "?") for m in missed_twice(rows))
    if missed:
        out.append(ctx.ngettext("{n} mentee missed their last two check-ins: {names}",
                                "{n} mentees missed their last two check-ins: {names}", len(missed), names=ctx.language.join(missed)))
    else:
        out.append(ctx._("Nobody missed their last two check-ins."))
    return "\n".join(out)


# ---------------------------------------------------------------------------- !round report


def _checkin_rate(ctx: Context, rnd: Round, mentees: set[int]) -> str:
    statuses = [s for _m, _d, s in ctx.repos.reports.checkin_statuses(mentees, *round_span(rnd)) if s != SKIPPED]
    if not statuses:
        return ctx._("no check-in asked yet")
    done = statuses.count(ANSWERED)
    return ctx._("check-ins answered: {pct} ({answered} of {asked})", pct=_percent(ctx, done, len(statuses)),
                 answered=ctx.language.number(done), asked=ctx.language.number(len(statuses)))


def _office_hour_visits(ctx: Context, rnd: Round) -> int:
    start, end = round_span(rnd)
    return sum(w.joined_at < end for w in ctx.repos.reports.waits(start))


async def round_report(ctx: Context, round: str | None = None) -> str:
    rnd = chosen_round(ctx, round)
    signups = ctx.repos.signups.counts(rnd.pk)
    pairs = ctx.repos.round_reports.pairs(rnd.pk)
    leads = [p for p in pairs if p.kind == "mentor"]
    logs = ctx.repos.reports.sessions(rnd.pk)
    goals = [g for g in ctx.repos.round_reports.goals(rnd.pk) if g.goal]
    figures = [
        ctx._("{mentees} and {mentors} signed up, {withdrawn} withdrawn",
              mentees=ctx.ngettext("{n} mentee", "{n} mentees", signups.mentees),
              mentors=ctx.ngettext("{n} mentor", "{n} mentors", signups.mentors),
              withdrawn=ctx.language.number(signups.withdrawn)),
        ctx._("{pairs}, {ended} ended", pairs=ctx.ngettext("{n} pair", "{n} pairs", len(leads)),
              ended=ctx.language.number(sum(p.ended_at is not None for p in leads))),
        ctx._("{sessions}, {duration} in all", sessions=ctx.ngettext("{n} session", "{n} sessions", len(logs)),
              duration=format_minutes(sum(s.minutes for s in logs)) if logs else "0m"),
        _checkin_rate(ctx, rnd, {p.mentee_id for p in pairs}),
        ctx._("goals reached: {reached} of {goals}", reached=ctx.language.number(sum(g.reached_at is not None for g in goals)),
              goals=ctx.language.number(len(goals))),
        ctx.ngettext("{n} assessment done", "{n} assessments done", ctx.repos.round_reports.assessments_done(rnd.pk)),
        ctx.ngettext("{n} office-hour visit", "{n} office-hour visits", _office_hour_visits(ctx, rnd)),
    ]
    return ctx._("Round {name} ({start} → {end}): {figures}.", name=rnd.name, start=rnd.starts_on, end=rnd.ends_on,
                 figures="; ".join(figures))


FEATURE = Feature(
    name="round-overview",
    commands=(
        CommandSpec(
            ("round", "pairs"),
            N_("every pair of a round on one line each, those at risk first (add --all past 20), in private"),
            roles=("coordinator",),
            handler=round_pairs,
            private=True,
            args=(ROUND_ARG,),
            examples=(Example("!round pairs", r"Nobody has been paired in 2027 Q1 yet", setup=(OPEN_EXAMPLE,)),),
        ),
        CommandSpec(
            ("round", "report"),
            N_("a round's figures: sign-ups, pairs, sessions, check-ins, goals, assessments, office hours"),
            roles=("coordinator",),
            handler=round_report,
            args=(ROUND_ARG,),
            examples=(Example("!round report", r"Round 2027 Q1 \(2027-01-01 → 2027-03-31\): 0 mentees and 0 mentors",
                              setup=(OPEN_EXAMPLE,)),),
        ),
        CommandSpec(
            ("checkins", "overview"),
            N_("the programme's check-ins: answer rate per week, open blockers, who missed two, in private"),
            roles=("coordinator",),
            handler=checkins_overview,
            private=True,
            args=(ROUND_ARG,),
            examples=(Example("!checkins overview", r"Check-ins in 2027 Q1: none has been asked yet", setup=(OPEN_EXAMPLE,)),),
        ),
    ),
)
