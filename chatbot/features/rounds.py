"""Programme rounds: coordinators open and close them; sign-ups attach to the open one."""

from __future__ import annotations

from datetime import date

from chatbot.commands import ActionError, Arg, CommandSpec, Example
from chatbot.context import Context, Feature
from storage.tables import Round


def current_round(ctx: Context) -> Round:
    """The open round, or a clear answer that there is none."""
    rnd = ctx.repos.rounds.current()
    if rnd is None:
        raise ActionError(
            f"No round is open right now. A coordinator opens one with {ctx.prefix}round open NAME START END."
        )
    return rnd


async def round_open(ctx: Context, name: str, start: date, end: date) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 40:
        raise ActionError("A round's name is 1 to 40 characters, e.g. \"2027 Q1\".")
    if end <= start:
        raise ActionError(f"The round must end after it starts ({start} → {end}).")
    if (end - start).days > 366:
        raise ActionError("A round lasts a year at most.")
    existing = ctx.repos.rounds.current()
    if existing is not None:
        raise ActionError(f"{existing.name} is still open; close it first with {ctx.prefix}round close.")
    if ctx.repos.rounds.by_name(name) is not None:
        raise ActionError(f"There was a round called {name} already; pick another name.")
    ctx.repos.rounds.add(name, start, end, ctx.member.id if ctx.member else None, ctx.now)
    return f"Round {name} is open ({start} → {end}). Sign-ups: {ctx.prefix}signup mentee or {ctx.prefix}signup mentor."


async def round_close(ctx: Context) -> str:
    rnd = current_round(ctx)
    rnd.status, rnd.closed_at = "closed", ctx.now
    ctx.repos.session.add(rnd)
    counts = ctx.repos.signups.counts(rnd.id)  # type: ignore[arg-type]
    return f"Round {rnd.name} is closed: {counts.mentees} mentees, {counts.mentors} mentors."


async def round_status(ctx: Context) -> str:
    rnd = ctx.repos.rounds.current()
    if rnd is None:
        last = ctx.repos.rounds.latest()
        tail = f" The last one was {last.name} ({last.starts_on} → {last.ends_on})." if last else ""
        return f"No round is open.{tail}"
    c = ctx.repos.signups.counts(rnd.id)  # type: ignore[arg-type]
    return (
        f"Round {rnd.name} ({rnd.starts_on} → {rnd.ends_on}) is open: "
        f"{c.mentees} mentees, {c.mentors} mentors signed up, {c.withdrawn} withdrawn."
    )


OPEN_EXAMPLE = '!round open "2027 Q1" 2027-01-01 2027-03-31'

FEATURE = Feature(
    name="rounds",
    commands=(
        CommandSpec(
            ("round", "open"),
            "open a programme round for sign-ups",
            roles=("coordinator",),
            handler=round_open,
            args=(
                Arg("name", help="the round's name, quoted if it has spaces"),
                Arg("start", kind="date", help="first day, YYYY-MM-DD"),
                Arg("end", kind="date", help="last day, YYYY-MM-DD"),
            ),
            examples=(Example(OPEN_EXAMPLE, r"Round 2027 Q1 is open"),),
        ),
        CommandSpec(
            ("round", "close"),
            "close the open round",
            roles=("coordinator",),
            handler=round_close,
            examples=(Example("!round close", r"Round 2027 Q1 is closed: 0 mentees", setup=(OPEN_EXAMPLE,)),),
        ),
        CommandSpec(
            ("round", "status"),
            "the open round and how many have signed up",
            roles=("member",),
            handler=round_status,
            examples=(Example("!round status", r"2027 Q1 .* is open: 0 mentees", setup=(OPEN_EXAMPLE,)),),
        ),
    ),
)
