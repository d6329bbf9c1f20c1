"""Closing a round ends it: its pairs end (kept as history), so check-in prompts, reminders,
digests and risk nudges stop; each pair gets a wrap-up, lead mentors are asked for the final
checks still missing (with a deadline), and mentees hear how to join the next round.

A round closes by ``!round close`` or by itself the day after its last day; coordinators get a
reminder a week before. Closing happens once, in one unit of work: a closed round is never
closed again, and every message has a key, so a restart or a second attempt repeats nothing.

The checks: ending the pairs is what stops the jobs that act on pairs. Check-in prompts and
reminders ask ``CheckinRepo.eligible`` (an active pair), digests ``CheckinRepo.mentees_of``
(active pairs), the risk scan and intro follow-ups ``PairRepo.activity`` (active pairs of the
running round).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chatbot.commands import ActionError, CommandSpec, Example, format_minutes
from chatbot.context import Context, Feature, Job
from chatbot.features.assessment_report import summarise
from chatbot.features.assessments import FINAL_CHECK_DAYS
from chatbot.features.checkins.prompts import EDIT_FLOW as CHECKIN_EDIT_FLOW, FLOW as CHECKIN_FLOW
from chatbot.features.matchmaking import PAIRED
from chatbot.features.rounds import ROUND_ARG, OPEN_EXAMPLE, closed_on, mentees_count, named_round, today, tomorrow_starts
from chatbot.i18n import N_, Language
from chatbot.people import coordinators
from storage.checkins import MISSED
from storage.mentorship import ROUND_CLOSED, Pair
from storage.tables import Member, Round

#: coordinators are reminded this long before a round's last day
REMINDER_BEFORE = timedelta(days=7)
CHECK_EVERY = timedelta(hours=1)


def final_check_until(rnd: Round) -> datetime:
    """Until when the lead mentors of a closed round may still do its final checks (asked only
    once the round is closed: an open round has no such date, and that is a bug)."""
    if rnd.closed_at is None:
        raise RuntimeError(f"round {rnd.name} is not closed")
    return rnd.closed_at + timedelta(days=FINAL_CHECK_DAYS)


def close_round(ctx: Context, rnd: Round) -> str:
    """Close ``rnd`` and do everything closing means; returns the coordinator's summary."""
    pairs = ctx.repos.pairs.active(rnd.pk)
    ctx.repos.rounds.close(rnd, ctx.now)
    for pair in pairs:
        ctx.repos.pairs.end(pair, ROUND_CLOSED, ctx.now)
    people = {p.pk: (mentee, mentor) for p, mentee, mentor in ctx.repos.pairs.with_people(p.pk for p in pairs)}
    asked = 0
    for pair in pairs:
        mentee, mentor = people[pair.pk]
        _end_checkin_interview(ctx, mentee)
        _wrap_up(ctx, rnd, pair, mentee, mentor)
        if pair.kind == "mentor" and ctx.repos.assessments.completed_final(mentee.pk, rnd.pk) is None:
            asked += _ask_final_check(ctx, rnd, pair, mentee, mentor)
    _tell_unpaired(ctx, rnd, {mentee.id for mentee, _ in people.values()})
    lang = ctx.language
    counts = ctx.repos.signups.counts(rnd.pk)
    return "\n".join(line for line in (
        ctx._("Round {name} is closed: {mentees}, {pairs} ended; wrap-ups are on their way.", name=rnd.name,
              mentees=mentees_count(ctx, counts.mentees), pairs=ctx.ngettext("{n} pair", "{n} pairs", len(pairs))),
        ctx.ngettext("{n} final check was asked for, due {date}.", "{n} final checks were asked for, due {date}.", asked,
                     date=lang.date(final_check_until(rnd).date())) if asked else "",
    ) if line)


# ---------------------------------------------------------------------------- wrap-ups


def pair_sessions(ctx: Context, rnd: Round, pair: Pair, lang: Language) -> str:
    logs = ctx.repos.mentoring_sessions.of_round(rnd.pk, mentor_id=pair.mentor_id, mentee_id=pair.mentee_id)
    if not logs:
        return lang._("no session logged")
    return lang.ngettext("{n} session ({duration})", "{n} sessions ({duration})", len(logs),
                         duration=format_minutes(sum(log.minutes for log in logs)))


def _checkins(ctx: Context, pair: Pair, lang: Language) -> str:
    """Check-ins answered of those asked while the pair lasted."""
    end = pair.ended_at or ctx.now
    asked = [c for c in ctx.repos.checkins.history(pair.mentee_id) if pair.created_at <= c.due_at <= end and c.status != "skipped"]
    answered = sum(1 for c in asked if c.answered_at is not None)
    return lang.ngettext("{done} of {n} check-in answered", "{done} of {n} check-ins answered", len(asked), done=lang.number(answered))


def goal_state(ctx: Context, rnd: Round, mentee: Member, lang: Language) -> str:
    signups = ctx.repos.signups.of(mentee.pk, rnd.pk, "mentee")
    signup = signups[0] if signups else None
    if signup is None or signup.id is None or not signup.goal:
        return lang._("no goal set")
    steps = ctx.repos.goals.steps(signup.id)
    if ctx.repos.goals.completion(signup.id) is not None:
        state = lang._("reached")
    elif steps:
        state = lang.ngettext("{done} of {n} step done", "{done} of {n} steps done", len(steps),
                              done=lang.number(sum(1 for s in steps if s.done_at)))
    else:
        state = lang._("open")
    return lang._("goal “{goal}”: {state}", goal=signup.goal, state=state)


def _skills(ctx: Context, rnd: Round, mentee: Member, lang: Language) -> str | None:
    changes = [line.change for line in summarise(ctx.repos.assessments.ratings(mentee.pk, rnd.pk)).values()]
    changes = [c for c in changes if c is not None]
    if not changes:
        return None
    return lang._("skills since the first self-assessment: {up} up, {down} down, {same} the same",
                  up=lang.number(sum(c > 0 for c in changes)), down=lang.number(sum(c < 0 for c in changes)),
                  same=lang.number(sum(c == 0 for c in changes)))


def wrap_up_text(ctx: Context, rnd: Round, pair: Pair, mentee: Member, mentor: Member, reader: Member) -> str:
    """The round in figures for one pair, in ``reader``'s language."""
    lang = ctx.language_of(reader)
    parts = [pair_sessions(ctx, rnd, pair, lang), _checkins(ctx, pair, lang), goal_state(ctx, rnd, mentee, lang), _skills(ctx, rnd, mentee, lang)]
    figures = "; ".join(p for p in parts if p)
    if reader.id == mentee.id:
        head = lang._("{round} is over. With {mentor}: {figures}. Thank you for taking part!", round=rnd.name, mentor=mentor.handle, figures=figures)
        return "\n".join([head, next_round_text(ctx, rnd, lang)])
    return lang._("{round} is over. With {mentee}: {figures}. Thank you for mentoring!", round=rnd.name, mentee=mentee.handle, figures=figures)


def next_round_text(ctx: Context, rnd: Round, lang: Language) -> str:
    """How a mentee joins the next round."""
    nxt = ctx.repos.rounds.taking_signups(today(ctx))
    if nxt is not None and nxt.id != rnd.id:
        return lang._("{round} takes sign-ups now: {command}.", round=nxt.name, command=ctx.command("signup", "mentee"))
    return lang._("The coordinators will announce the next round.")


def _wrap_up(ctx: Context, rnd: Round, pair: Pair, mentee: Member, mentor: Member) -> None:
    if pair.kind == "mentor":  # one wrap-up for the mentee, from their lead pair
        ctx.dm(mentee, wrap_up_text(ctx, rnd, pair, mentee, mentor, mentee), key=f"wrapup:{pair.id}:mentee")
    ctx.dm(mentor, wrap_up_text(ctx, rnd, pair, mentee, mentor, mentor), key=f"wrapup:{pair.id}:mentor")


def _end_checkin_interview(ctx: Context, mentee: Member) -> None:
    """A check-in still waiting for answers is over with the round (missed): a later reply is
    not taken for one."""
    ctx.end_flow(mentee.pk, CHECKIN_FLOW, CHECKIN_EDIT_FLOW)
    ctx.drop_aside([mentee.pk], CHECKIN_FLOW)
    row = ctx.repos.checkins.open_for(mentee.pk)
    if row is not None:
        row.status, row.closed_at = MISSED, ctx.now
        ctx.repos.checkins.save(row)


def _ask_final_check(ctx: Context, rnd: Round, pair: Pair, mentee: Member, mentor: Member) -> int:
    lang = ctx.language_of(mentor)
    ctx.dm(mentor, lang._(
        "One last thing for {round}: the final check of {mentee}'s skills, by {date}. {command} starts it.",
        round=rnd.name, mentee=mentee.handle, date=lang.date(final_check_until(rnd).date()),
        command=ctx.command("assess", "final", mentee.handle),
    ), key=f"final-check:{pair.id}")
    return 1


def _tell_unpaired(ctx: Context, rnd: Round, paired: set[int | None]) -> None:
    """Mentees who never got a mentor hear that the round is over, and about the next one."""
    for signup in ctx.repos.signups.active(rnd.pk, "mentee"):
        member = ctx.repos.members.get(signup.member_id)
        if member is None or member.id in paired:
            continue
        lang = ctx.language_of(member)
        text = lang._("{round} is over, and no mentor had room for you this time; sorry.", round=rnd.name)
        ctx.dm(member, "\n".join([text, next_round_text(ctx, rnd, lang)]), key=f"wrapup:{rnd.id}:unpaired:{member.id}")


def closed_report(ctx: Context, rnd: Round) -> str:
    """``!match report`` on a closed round: how many lead pairs took part and which never met."""
    pairs = [p for p in ctx.repos.pairs.of_round(rnd.pk, ended=True) if p.kind == "mentor"]
    met = {(t.mentor_id, t.mentee_id) for t in ctx.repos.mentoring_sessions.totals(rnd.pk)}
    silent = [p.pk for p in pairs if (p.mentor_id, p.mentee_id) not in met]
    took_part = ctx.ngettext("{round} is closed: {n} pair took part", "{round} is closed: {n} pairs took part", len(pairs), round=rnd.name)
    if not silent:
        return ctx._("{took_part}; every one logged sessions.", took_part=took_part)
    names = [ctx._("{mentor} and {mentee}", mentor=b.handle, mentee=a.handle) for _, a, b in ctx.repos.pairs.with_people(silent)]
    return ctx.ngettext("{took_part}; {n} logged no session: {pairs}.", "{took_part}; {n} logged no session: {pairs}.",
                        len(silent), took_part=took_part, pairs="; ".join(names))


# ---------------------------------------------------------------------------- command and job


async def round_close(ctx: Context, round: str | None = None) -> str:
    if round:
        rnd = named_round(ctx, round)
    else:
        rnd = ctx.repos.rounds.running(today(ctx))
        if rnd is None:
            waiting = ctx.repos.rounds.not_closed()
            if len(waiting) != 1:
                raise ActionError(ctx._("No round is running; name the round to close: {command}.", command=ctx.command("round", "close", "NAME")))
            rnd = waiting[0]
    if rnd.status == "closed":
        raise ActionError(ctx._("{round} is closed already (on {date}).", round=rnd.name, date=ctx.language.date(closed_on(rnd))))
    return close_round(ctx, rnd)


async def close_when_due(ctx: Context) -> None:
    """Rounds past their last day close; coordinators hear a week before a round ends, and when it closed."""
    if not ctx.due_every("round-close", CHECK_EVERY):
        return
    day = today(ctx)
    ctx.quiet_until(tomorrow_starts(ctx))  # what is due follows the date and the rounds
    for rnd in ctx.repos.rounds.ending_by(day - timedelta(days=1)):
        close_round(ctx, rnd)
        for person in coordinators(ctx):
            lang = ctx.language_of(person)
            ctx.dm(person, lang._(
                "{round} ended on {date}, so I closed it: its pairs have their wrap-ups, and their check-ins stopped.",
                round=rnd.name, date=lang.date(rnd.ends_on),
            ), key=f"round-closed:{rnd.id}:{person.id}")
    for rnd in ctx.repos.rounds.ending_by(day + REMINDER_BEFORE):
        for person in coordinators(ctx):
            lang = ctx.language_of(person)
            ctx.dm(person, lang._(
                "{round} ends on {date}: it closes by itself the day after (check-ins stop, pairs get their wrap-up). "
                "{command} closes it earlier.", round=rnd.name, date=lang.date(rnd.ends_on), command=ctx.command("round", "close", rnd.name),
            ), key=f"round-ending:{rnd.id}:{person.id}")


FEATURE = Feature(
    name="round-closing",
    commands=(
        CommandSpec(
            ("round", "close"),
            N_("close a round (default: the running one): pairs end with a wrap-up, check-ins stop"),
            roles=("coordinator",),
            handler=round_close,
            args=(ROUND_ARG,),
            examples=(
                Example("!round close", r"Round 2027 Q1 is closed: 0 mentees, 0 pairs ended", setup=(OPEN_EXAMPLE,)),
                Example("!round close 2027 Q1", r"Round 2027 Q1 is closed: 1 mentee, 1 pair ended.*\n1 final check", setup=PAIRED),
            ),
        ),
    ),
    jobs=(Job("round-close", close_when_due),),
)
