"""Programme rounds: coordinators open and close them; sign-ups attach to the open one."""

from __future__ import annotations

from datetime import date

from chatbot.commands import ActionError, Arg, CommandSpec, Example
from chatbot.context import Context, Feature
from chatbot.i18n import N_
from storage.tables import Round


def current_round(ctx: Context) -> Round:
    """The open round, or a clear answer that there is none."""
    rnd = ctx.repos.rounds.current()
    if rnd is None:
        raise ActionError(
            ctx._("No round is open right now. A coordinator opens one with {command}.", command=ctx.command("round", "open", "NAME", "START", "END"))
        )
    return rnd


#: the optional last argument of every command that reports on a round
ROUND_ARG = Arg("round", required=False, rest=True, help=N_("a round's name; the running round, else the latest, if left out"))


def chosen_round(ctx: Context, name: str | None) -> Round:
    """The round a report is about: the one named, else the running one, else the latest.

    Reports work on closed rounds too, so a name is looked up among all rounds; without one the
    coordinator means the round in progress, or the one that just ended.
    """
    if name:
        rnd = ctx.repos.rounds.by_name(" ".join(name.split()))
        if rnd is None:
            raise ActionError(ctx._("There is no round called {name}.", name=name))
        return rnd
    rnd = ctx.repos.rounds.current() or ctx.repos.rounds.latest()
    if rnd is None:
        raise ActionError(
            ctx._("There has been no round yet. A coordinator opens one with {command}.", command=ctx.command("round", "open", "NAME", "START", "END"))
        )
    return rnd


async def round_open(ctx: Context, name: str, start: date, end: date) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 40:
        raise ActionError(ctx._("A round's name is 1 to 40 characters, e.g. \"2027 Q1\"."))
    if end <= start:
        raise ActionError(ctx._("The round must end after it starts ({start} → {end}).", start=start, end=end))
    if (end - start).days > 366:
        raise ActionError(ctx._("A round lasts a year at most."))
    existing = ctx.repos.rounds.current()
    if existing is not None:
        raise ActionError(ctx._("{name} is still open; close it first with {command}.", name=existing.name, command=ctx.command("round", "close")))
    if ctx.repos.rounds.by_name(name) is not None:
        raise ActionError(ctx._("There was a round called {name} already; pick another name.", name=name))
    ctx.repos.rounds.add(name, start, end, ctx.member.id if ctx.member else None, ctx.now)
    return ctx._(
        "Round {name} is open ({start} → {end}). Sign-ups: {mentee} or {mentor}.",
        name=name, start=start, end=end, mentee=ctx.command("signup", "mentee"), mentor=ctx.command("signup", "mentor"),
    )


async def round_close(ctx: Context) -> str:
    rnd = current_round(ctx)
    rnd.status, rnd.closed_at = "closed", ctx.now
    ctx.repos.session.add(rnd)
    counts = ctx.repos.signups.counts(rnd.id)  # type: ignore[arg-type]
    return ctx._(
        "Round {name} is closed: {mentees}, {mentors}.",
        name=rnd.name, mentees=_mentees(ctx, counts.mentees), mentors=_mentors(ctx, counts.mentors),
    )


async def round_status(ctx: Context) -> str:
    rnd = ctx.repos.rounds.current()
    if rnd is None:
        last = ctx.repos.rounds.latest()
        if last is None:
            return ctx._("No round is open.")
        return ctx._(
            "No round is open. The last one was {name} ({start} → {end}).", name=last.name, start=last.starts_on, end=last.ends_on
        )
    c = ctx.repos.signups.counts(rnd.id)  # type: ignore[arg-type]
    return ctx._(
        "Round {name} ({start} → {end}) is open: {mentees}, {mentors} signed up, {withdrawn} withdrawn.",
        name=rnd.name, start=rnd.starts_on, end=rnd.ends_on,
        mentees=_mentees(ctx, c.mentees), mentors=_mentors(ctx, c.mentors), withdrawn=ctx.language.number(c.withdrawn),
    )


def _mentees(ctx: Context, n: int) -> str:
    return ctx.ngettext("{n} mentee", "{n} mentees", n)


def _mentors(ctx: Context, n: int) -> str:
    return ctx.ngettext("{n} mentor", "{n} mentors", n)


OPEN_EXAMPLE = '!round open "2027 Q1" 2027-01-01 2027-03-31'

FEATURE = Feature(
    name="rounds",
    commands=(
        CommandSpec(
            ("round", "open"),
            N_("open a programme round for sign-ups"),
            roles=("coordinator",),
            handler=round_open,
            args=(
                Arg("name", help=N_("the round's name, quoted if it has spaces")),
                Arg("start", kind="date", help=N_("first day, YYYY-MM-DD")),
                Arg("end", kind="date", help=N_("last day, YYYY-MM-DD")),
            ),
            examples=(Example(OPEN_EXAMPLE, r"Round 2027 Q1 is open"),),
        ),
        CommandSpec(
            ("round", "close"),
            N_("close the open round"),
            roles=("coordinator",),
            handler=round_close,
            examples=(Example("!round close", r"Round 2027 Q1 is closed: 0 mentees", setup=(OPEN_EXAMPLE,)),),
        ),
        CommandSpec(
            ("round", "status"),
            N_("the open round and how many have signed up"),
            roles=("member",),
            handler=round_status,
            examples=(Example("!round status", r"2027 Q1 .* is open: 0 mentees", setup=(OPEN_EXAMPLE,)),),
        ),
    ),
)
