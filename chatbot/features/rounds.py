"""Programme rounds: coordinators open them; each takes sign-ups, then runs, then closes.

A round's states follow from its dates (see ``RoundRepo``): it *takes sign-ups* from
``signups_from`` through ``signups_until`` and *runs* from its first day until it is closed (by
``!round close`` or the day after its last day, see ``round_close.py``). The next round may take
sign-ups while one runs; at most one round runs and at most one takes sign-ups at a time.

Which round a command is about:
- ``!signup`` joins the round taking sign-ups (:func:`signup_round`);
- pairs are made and work in :func:`current_round`: the running round, else the one taking
  sign-ups (matching happens while sign-ups come in, ahead of the start);
- reports take an optional round name (``ROUND_ARG``, :func:`chosen_round`): the running round,
  else the one that started last, so a round that just closed keeps its figures.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from chatbot.commands import ActionError, Arg, CommandSpec, Example, Invalid, UsageError, parse_date
from chatbot.context import Context, Feature
from chatbot.i18n import N_
from storage.tables import Member, Round

def today(ctx: Context) -> date:
    """The day rounds are counted in (UTC, as their dates are stored)."""
    return ctx.now.date()


def tomorrow_starts(ctx: Context) -> datetime:
    """When :func:`today` next changes (the next UTC midnight): a job whose duties follow the
    date rests until then (``Context.quiet_until``)."""
    return datetime.combine(today(ctx) + timedelta(days=1), time.min, timezone.utc)


def current_round(ctx: Context) -> Round:
    """The round pairs are made and work in (running, else taking sign-ups), or a clear answer."""
    rnd = ctx.repos.rounds.current(today(ctx))
    if rnd is None:
        raise ActionError(
            ctx._("No round is open right now. A coordinator opens one with {command}.", command=ctx.command("round", "open", "NAME", "START", "END"))
        )
    return rnd


def signup_round(ctx: Context) -> Round:
    """The round taking sign-ups now, or why there is none (and when the next one takes them)."""
    day = today(ctx)
    rnd = ctx.repos.rounds.taking_signups(day)
    if rnd is not None:
        return rnd
    later = [r for r in ctx.repos.rounds.not_closed() if r.signups_from and r.signups_from > day]
    if later:
        raise ActionError(ctx._(
            "No round takes sign-ups right now; {round} will from {date}.", round=later[0].name, date=ctx.language.date(later[0].signups_from),
        ))
    if ctx.repos.rounds.not_closed():
        raise ActionError(ctx._("No round takes sign-ups right now; the coordinators will announce the next one."))
    return current_round(ctx)  # no round at all: the usual answer


def matching_round(ctx: Context) -> Round:
    """The round suggestions are made for: the one taking sign-ups (its mentees are the ones
    still waiting for a mentor), else the running one (late pairs, the waiting list)."""
    return ctx.repos.rounds.taking_signups(today(ctx)) or current_round(ctx)


def signed_up_round(ctx: Context, member: Member, kind: str) -> Round:
    """The round a person takes part in as ``kind``: of the rounds not closed, the latest where
    their sign-up is active (a mentor may be in the running round and the next one)."""
    for rnd in reversed(ctx.repos.rounds.not_closed()):
        if any(s.status == "active" for s in ctx.repos.signups.of(member.pk, rnd.pk, kind)):
            return rnd
    return current_round(ctx)


def mentee_round(ctx: Context, mentee: Member) -> Round:
    """The round a mentee's goal and sessions belong to: their lead pair's, else their sign-up's,
    else (between rounds) the latest round they signed up for."""
    pairs = ctx.repos.pairs.of_mentee(mentee.pk)
    if pairs:
        rnd = ctx.repos.db.get(Round, pairs[0].round_id)
        if rnd is not None:
            return rnd
    for rnd in reversed(ctx.repos.rounds.not_closed()):
        if ctx.repos.signups.of(mentee.pk, rnd.pk, "mentee"):
            return rnd
    if not ctx.repos.rounds.current(today(ctx)):
        last = ctx.repos.signups.latest_round_of(mentee.pk, "mentee")
        if last is not None:
            return last
    return current_round(ctx)


#: the optional last argument of every command that reports on a round
ROUND_ARG = Arg("round", required=False, rest=True, help=N_("a round's name; the running round, else the latest, if left out"))


#: a person, a round's name, or both, for reports about one person in a round
PERSON_AND_ROUND = Arg(
    "mentee", kind="text", required=False, rest=True, complete="my-mentees",
    help=N_("a person, a round's name, or both (alice 2027 Q1); the running round, else the latest, if left out"),
)


def person_and_round(ctx: Context, text: str | None) -> tuple[Member | None, str | None]:
    """``alice``, ``2027 Q1`` or ``alice 2027 Q1`` (a ``PERSON_AND_ROUND`` argument) as a person
    and a round's name, either left out."""
    words = (text or "").split()
    if not words:
        return None, None
    if ctx.repos.rounds.by_name(" ".join(words)) is not None:
        return None, " ".join(words)
    return ctx.find_member(words[0], "mentee"), " ".join(words[1:]) or None


def named_round(ctx: Context, name: str) -> Round:
    rnd = ctx.repos.rounds.by_name(" ".join(name.split()))
    if rnd is None:
        raise ActionError(ctx._("There is no round called {name}.", name=name))
    return rnd


def chosen_round(ctx: Context, name: str | None) -> Round:
    """The round a report is about: the one named, else the running one, else the latest.

    Reports work on closed rounds too, so a name is looked up among all rounds; without one the
    coordinator means the round in progress, or the one that just ended.
    """
    if name:
        return named_round(ctx, name)
    rnd = ctx.repos.rounds.running(today(ctx)) or ctx.repos.rounds.latest_started(today(ctx))
    if rnd is None:
        raise ActionError(
            ctx._("There has been no round yet. A coordinator opens one with {command}.", command=ctx.command("round", "open", "NAME", "START", "END"))
        )
    return rnd


# ---------------------------------------------------------------------------- opening

SIGNUP_OPTIONS = ("--signups-from", "--signups-until")


def _signup_dates(ctx: Context, options: list[str], start: date, end: date) -> tuple[date, date]:
    """``--signups-from DATE --signups-until DATE``; by default sign-ups run from today until the
    day before the round starts, or until its last day when it has started already (late-comers
    still join)."""
    given: dict[str, date] = {}
    words = list(options)
    while words:
        option = words.pop(0).lower()
        if option not in SIGNUP_OPTIONS:
            raise UsageError(ctx._("{option} is not an option here; use {options}.", option=option, options=" ".join(SIGNUP_OPTIONS)))
        if not words:
            raise UsageError(ctx._("{option} needs a date like 2027-01-15.", option=option))
        try:
            given[option] = parse_date(words.pop(0))
        except Invalid as exc:
            raise UsageError(exc.message, **exc.fields) from None
    day = today(ctx)
    first = given.get("--signups-from", day)
    last = given.get("--signups-until", start - timedelta(days=1) if start > first else end)
    if last < first:
        raise ActionError(ctx._("Sign-ups must end on or after they begin ({start} → {end}).", start=ctx.language.date(first), end=ctx.language.date(last)))
    if last > end:
        raise ActionError(ctx._("Sign-ups must end by the round's last day ({end}).", end=ctx.language.date(end)))
    return first, last


def _overlaps(a: tuple[date, date], b: tuple[date, date]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _refuse_overlap(ctx: Context, start: date, end: date, signups: tuple[date, date]) -> None:
    """At most one round runs and at most one takes sign-ups on any day: say which one is in the way."""
    lang = ctx.language
    for other in ctx.repos.rounds.not_closed():
        if _overlaps((start, end), (other.starts_on, other.ends_on)):
            raise ActionError(ctx._(
                "{other} runs until {end}; a new round may start after that (or close {other} first with {command}).",
                other=other.name, end=lang.date(other.ends_on), command=ctx.command("round", "close", other.name),
            ))
        theirs = (other.signups_from or other.starts_on, other.signups_until or other.ends_on)
        if _overlaps(signups, theirs):
            option = "--signups-from " + (theirs[1] + timedelta(days=1)).isoformat()
            raise ActionError(ctx._(
                "{other} takes sign-ups until {until}; let sign-ups for the new round begin after that with {option}.",
                other=other.name, until=lang.date(theirs[1]), option=option,
            ))


async def round_open(ctx: Context, name: str, start: date, end: date, options: list[str]) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 40:
        raise ActionError(ctx._("A round's name is 1 to 40 characters, e.g. \"2027 Q1\"."))
    lang = ctx.language
    if end <= start:
        raise ActionError(ctx._("The round must end after it starts ({start} → {end}).", start=lang.date(start), end=lang.date(end)))
    if (end - start).days > 366:
        raise ActionError(ctx._("A round lasts a year at most."))
    if ctx.repos.rounds.by_name(name) is not None:
        raise ActionError(ctx._("There was a round called {name} already; pick another name.", name=name))
    signups = _signup_dates(ctx, options, start, end)
    _refuse_overlap(ctx, start, end, signups)
    ctx.repos.rounds.add(name, start, end, ctx.member.id if ctx.member else None, ctx.now, signups)
    return ctx._(
        "Round {name} is open: it runs {start} → {end}, sign-ups {from_} → {until} with {mentee} or {mentor}.",
        name=name, start=lang.date(start), end=lang.date(end), from_=lang.date(signups[0]), until=lang.date(signups[1]),
        mentee=ctx.command("signup", "mentee"), mentor=ctx.command("signup", "mentor"),
    )


# ---------------------------------------------------------------------------- status


def closed_on(rnd: Round) -> date:
    """The day a closed round closed (its last day for a round closed before that was recorded)."""
    return rnd.closed_at.date() if rnd.closed_at else rnd.ends_on


def state_of(ctx: Context, rnd: Round) -> str:
    """What a round is doing today, in words."""
    lang, day = ctx.language, today(ctx)
    if rnd.status == "closed":
        return ctx._("closed on {date}", date=lang.date(closed_on(rnd)))
    until = rnd.signups_until
    taking_until = until if rnd.signups_from and until and rnd.signups_from <= day <= until else None
    if rnd.starts_on <= day:
        if taking_until:
            return ctx._("running, taking sign-ups until {date}", date=lang.date(taking_until))
        return ctx._("running")
    if taking_until:
        return ctx._("taking sign-ups until {date}", date=lang.date(taking_until))
    if rnd.signups_from and rnd.signups_from > day:
        return ctx._("taking sign-ups from {date}", date=lang.date(rnd.signups_from))
    return ctx._("starting on {date}", date=lang.date(rnd.starts_on))


def round_line(ctx: Context, rnd: Round) -> str:
    c = ctx.repos.signups.counts(rnd.pk)
    lang = ctx.language
    return ctx._(
        "Round {name} ({start} → {end}), {state}: {mentees}, {mentors} signed up, {withdrawn} withdrawn.",
        name=rnd.name, start=lang.date(rnd.starts_on), end=lang.date(rnd.ends_on), state=state_of(ctx, rnd),
        mentees=mentees_count(ctx, c.mentees), mentors=mentors_count(ctx, c.mentors), withdrawn=lang.number(c.withdrawn),
    )


async def round_status(ctx: Context, round: str | None = None) -> str:
    rnd = chosen_round(ctx, round)
    lines = [round_line(ctx, rnd)]
    if not round:  # the next round's sign-ups are news too
        lines += [round_line(ctx, r) for r in ctx.repos.rounds.not_closed() if r.id != rnd.id]
    return "\n".join(lines)


def mentees_count(ctx: Context, n: int) -> str:
    return ctx.ngettext("{n} mentee", "{n} mentees", n)


def mentors_count(ctx: Context, n: int) -> str:
    return ctx.ngettext("{n} mentor", "{n} mentors", n)


OPEN_EXAMPLE = '!round open "2027 Q1" 2027-01-01 2027-03-31'

FEATURE = Feature(
    name="rounds",
    commands=(
        CommandSpec(
            ("round", "open"),
            N_("open a round: it takes sign-ups (by default from today until the day before it starts, or "
               "until its end if it has started), then runs from START to END"),
            roles=("coordinator",),
            handler=round_open,
            args=(
                Arg("name", help=N_("the round's name, quoted if it has spaces")),
                Arg("start", kind="date", help=N_("first day, YYYY-MM-DD")),
                Arg("end", kind="date", help=N_("last day, YYYY-MM-DD")),
                Arg("options", many=True, required=False, help=N_("--signups-from DATE and --signups-until DATE")),
            ),
            examples=(
                Example(OPEN_EXAMPLE, r"Round 2027 Q1 is open: it runs .*2027"),
                Example(
                    '!round open "2027 Q2" 2027-04-01 2027-06-30 --signups-from 2027-03-01 --signups-until 2027-03-31',
                    r"Round 2027 Q2 is open: .* sign-ups .*1 Mar 2027",
                ),
            ),
        ),
        CommandSpec(
            ("round", "status"),
            N_("a round's state and how many have signed up (the next round's too)"),
            roles=("member",),
            handler=round_status,
            args=(ROUND_ARG,),
            examples=(Example("!round status", r"Round 2027 Q1 .*, taking sign-ups until .*: 0 mentees", setup=(OPEN_EXAMPLE,)),),
        ),
    ),
)
