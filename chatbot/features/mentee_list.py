"""``!mentees``: a mentor's mentees with their sessions, check-ins and goal; with ``all``, the
mentees of earlier rounds too, so a mentor keeps their history after a round closes.

Each mentee's goal and sessions are those of the round the pair belongs to (not whichever round
runs today), so a closed round never shows ``goal: ?`` for a goal that was set.
"""

from __future__ import annotations

from datetime import datetime

from chatbot.commands import Arg, CommandSpec, Example, format_minutes
from chatbot.context import Context, Feature
from chatbot.features.matchmaking import PAIRED
from chatbot.features.round_close import goal_state, pair_sessions
from chatbot.i18n import N_
from storage.mentorship import Pair
from storage.tables import Member, Round

#: the earlier pairs ``!mentees all`` shows (newest first)
PAST_SHOWN = 20


def _last_checkin(ctx: Context, then: datetime) -> str:
    days = (ctx.now - then).days
    if days == 0:
        return ctx._("last check-in today")
    if days == 1:
        return ctx._("last check-in yesterday")
    return ctx.ngettext("last check-in {n} day ago", "last check-in {n} days ago", days)


def _goal_of(ctx: Context, mentee: Member, round_id: int) -> str:
    signups = ctx.repos.signups.of(mentee.pk, round_id, "mentee")
    return (signups[0].goal if signups else None) or ctx._("not set yet")


def _current_line(ctx: Context, me: Member, pair: Pair, mentee: Member) -> str:
    total = next((t for t in ctx.repos.mentoring_sessions.totals(pair.round_id) if (t.mentor_id, t.mentee_id) == (me.id, mentee.id)), None)
    if total:
        sessions = ctx.ngettext("{n} session ({duration})", "{n} sessions ({duration})", total.sessions, duration=format_minutes(total.minutes))
    else:
        sessions = ctx._("no sessions yet")
    last = ctx.repos.checkins.last_answered(mentee.pk)
    checkin = _last_checkin(ctx, last.answered_at) if last and last.answered_at else ctx._("no check-in yet")
    return ctx._("{handle} ({timezone}): {sessions}; {checkin}; goal: {goal}",
                 handle=mentee.handle, timezone=mentee.timezone or "?", sessions=sessions, checkin=checkin, goal=_goal_of(ctx, mentee, pair.round_id))


def _past_line(ctx: Context, pair: Pair, mentee: Member, rnd: Round) -> str:
    lang = ctx.language
    return ctx._("{handle} in {round}: {sessions}; {goal}", handle=mentee.handle, round=rnd.name,
                 sessions=pair_sessions(ctx, rnd, pair, lang), goal=goal_state(ctx, rnd, mentee, lang))


async def my_mentees(ctx: Context, which: str | None = None) -> str:
    me = ctx.require_member()
    current = ctx.repos.pairs.of_mentor(me.pk)
    past = ctx.repos.pairs.past_of_mentor(me.pk)
    gone = ctx.repos.leavers.left({p.mentee_id for p in past})  # erased at their request: not listed by name
    past = [p for p in past if p.mentee_id not in gone]
    people = {m.id: m for m in ctx.repos.pairs.mentees_of(me.pk)}
    lines = [_current_line(ctx, me, p, people[p.mentee_id]) for p in current if p.mentee_id in people]
    if not lines:
        lines.append(ctx._("You have no mentees yet.") if not past else ctx._("You have no mentees now."))
    if past and which != "all":
        lines.append(ctx.ngettext("You mentored {n} more person before: {command} shows them.",
                                  "You mentored {n} more people before: {command} shows them.",
                                  len({(p.mentee_id, p.round_id) for p in past}), command=ctx.command("mentees", "all")))
    elif past:
        lines.append(ctx._("Earlier:"))
        seen: set[tuple[int, int]] = set()
        for pair in past:
            mentee, rnd = ctx.repos.members.get(pair.mentee_id), ctx.repos.db.get(Round, pair.round_id)
            if mentee is None or rnd is None or (pair.mentee_id, pair.round_id) in seen or len(seen) >= PAST_SHOWN:
                continue
            seen.add((pair.mentee_id, pair.round_id))
            lines.append(_past_line(ctx, pair, mentee, rnd))
    return "\n".join(lines)


FEATURE = Feature(
    name="mentee-list",
    commands=(
        CommandSpec(
            ("mentees",),
            N_("your mentees with their goals (all: those of earlier rounds too)"),
            roles=("mentor",),
            handler=my_mentees,
            private=True,
            args=(Arg("which", choices=("all",), required=False, help=N_("all: earlier mentees too")),),
            examples=(
                Example("bob: !mentees", r"alice \(Europe/Berlin\): no sessions yet; no check-in yet; goal: Land my first patch", setup=PAIRED),
                Example("bob: !mentees all", r"Earlier:\nalice in 2027 Q1: no session logged; goal “Land my first patch in core”: open",
                        setup=(*PAIRED, "!round close")),
            ),
        ),
    ),
)
