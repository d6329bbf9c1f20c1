"""Making pairs: capacity and load, the introductions, and the commands that pair by hand
(``!match assign``/``comentor``/``unassign``/``claim``) or set a mentor open or closed.

The rules (tracks, co-mentoring, capacity) are in the package's docstring.
"""

from __future__ import annotations


from chatbot.commands import ActionError
from chatbot.context import Context
from chatbot.features.rounds import current_round, signed_up_round
from chatbot.i18n import N_
from chatbot.people import is_asker, is_away
from storage.mentorship import Pair
from storage.tables import Member, Round, Signup


def capacity_freed(ctx: Context, round_id: int) -> None:
    """A mentor gained room: see ``waiting_list.capacity_freed`` (which builds on this module)."""
    from chatbot.features import waiting_list

    waiting_list.capacity_freed(ctx, round_id)


def active_signup(ctx: Context, member: Member, rnd: Round, kind: str) -> Signup:
    for s in ctx.repos.signups.of(member.pk, rnd.pk, kind):
        if s.status == "active":
            return s
    if is_asker(ctx, member):
        if kind == "mentor":
            raise ActionError(ctx._("You are not signed up as a mentor in {round}.", round=rnd.name))
        raise ActionError(ctx._("You are not signed up as a mentee in {round}.", round=rnd.name))
    if kind == "mentor":
        raise ActionError(ctx._("{handle} is not signed up as a mentor in {round}.", handle=member.handle, round=rnd.name))
    raise ActionError(ctx._("{handle} is not signed up as a mentee in {round}.", handle=member.handle, round=rnd.name))


def capacity_of(ctx: Context, signup: Signup) -> int:
    return signup.capacity or ctx.settings.programme.default_capacity


def _introduce(ctx: Context, pair: Pair, mentee: Member, mentor: Member, mentee_signup: Signup) -> None:
    """Both sides learn who the other is, where they live (in time) and the goal, each in
    their own language."""
    lang = ctx.language_of(mentee)
    if pair.kind == "comentor":
        text = N_("Meet your co-mentor, {name} ({handle}, timezone {timezone}). Your goal: {goal}. Say hello: they will get in touch too.")
    else:
        text = N_("Meet your mentor, {name} ({handle}, timezone {timezone}). Your goal: {goal}. Say hello: they will get in touch too.")
    ctx.dm(
        mentee,
        lang._(text, name=mentor.display_name, handle=mentor.handle, timezone=mentor.timezone or "?",
               goal=mentee_signup.goal or lang._("not set yet")),
        key=f"intro:{pair.id}:mentee",
    )
    lang = ctx.language_of(mentor)
    if pair.kind == "comentor":
        text = N_("You are now co-mentor of {name} ({handle}, timezone {timezone}, track {tracks}). Their goal: {goal}. Please introduce yourself.")
    else:
        text = N_("You are now mentor of {name} ({handle}, timezone {timezone}, track {tracks}). Their goal: {goal}. Please introduce yourself.")
    ctx.dm(
        mentor,
        lang._(text, name=mentee.display_name, handle=mentee.handle, timezone=mentee.timezone or "?",
               tracks=", ".join(mentee_signup.tracks), goal=mentee_signup.goal or lang._("not set yet")),
        key=f"intro:{pair.id}:mentor",
    )


#: the word a coordinator adds to pair a mentor past their capacity on purpose
OVER_CAPACITY = "over-capacity"


def load_of(ctx: Context, rnd: Round, mentor: Member, signup: Signup) -> tuple[int, int]:
    """(mentees the mentor has now, lead and co-mentored alike; their capacity)."""
    return ctx.repos.pairs.load(rnd.pk).get(mentor.pk, 0), capacity_of(ctx, signup)


def _at_capacity(ctx: Context, mentor: Member, load: int, capacity: int) -> str:
    if is_asker(ctx, mentor):
        return ctx.ngettext("You are at capacity ({load} of {n} mentee).", "You are at capacity ({load} of {n} mentees).",
                            capacity, load=ctx.language.number(load))
    return ctx.ngettext(
        "{handle} is at capacity ({load} of {n} mentee).", "{handle} is at capacity ({load} of {n} mentees).",
        capacity, handle=mentor.handle, load=ctx.language.number(load),
    )


def make_pair(ctx: Context, rnd: Round, mentee: Member, mentor: Member, kind: str = "mentor", over: bool | None = None) -> Pair:
    """The one place pairs are made: every rule of who may mentor whom is checked here.
    ``over`` is a coordinator's explicit word that the mentor may go past their capacity
    (None where the command offers no such word). A mentor claiming a mentee is the asker:
    what is said about the mentor is then said to "you"."""
    today = ctx.now.date()
    mentee_signup = active_signup(ctx, mentee, rnd, "mentee")
    mentor_signup = active_signup(ctx, mentor, rnd, "mentor")
    you = is_asker(ctx, mentor)
    if mentee.id == mentor.id:
        raise ActionError(ctx._("Nobody mentors themselves."))
    if not set(mentee_signup.tracks) & set(mentor_signup.tracks):
        tracks = {"mentor_tracks": ", ".join(mentor_signup.tracks), "mentee": mentee.handle, "mentee_tracks": ", ".join(mentee_signup.tracks)}
        if you:
            raise ActionError(ctx._("You mentor in {mentor_tracks}; {mentee} is in {mentee_tracks}. Matching never crosses tracks.", **tracks))
        raise ActionError(ctx._(
            "{mentor} mentors in {mentor_tracks}; {mentee} is in {mentee_tracks}. Matching never crosses tracks.",
            mentor=mentor.handle, **tracks,
        ))
    if is_away(mentor, today) and mentor.away_until is not None:
        until = mentor.away_until.isoformat()
        if you:
            raise ActionError(ctx._("You are away until {until}.", until=until))
        raise ActionError(ctx._("{handle} is away until {until}.", handle=mentor.handle, until=until))
    current = ctx.repos.pairs.of_mentee(mentee.pk)
    if any(p.mentor_id == mentor.id for p in current):
        if you:
            raise ActionError(ctx._("You mentor {mentee} already.", mentee=mentee.handle))
        raise ActionError(ctx._("{mentor} mentors {mentee} already.", mentor=mentor.handle, mentee=mentee.handle))
    lead = [p for p in current if p.kind == "mentor"]
    if kind == "mentor":
        if lead:
            name = ctx.repos.members.get(lead[0].mentor_id)
            raise ActionError(ctx._(
                "{mentee} has a mentor already ({mentor}): {prefix}match unassign {mentee} first, "
                "or add a co-mentor with {prefix}match comentor.",
                mentee=mentee.handle, mentor=name.handle if name else "?", prefix=ctx.prefix,
            ))
    elif not lead:
        raise ActionError(ctx._("{mentee} has no mentor yet; a co-mentor joins a lead mentor.", mentee=mentee.handle))
    load, capacity = load_of(ctx, rnd, mentor, mentor_signup)
    if load >= capacity and not over:
        text = _at_capacity(ctx, mentor, load, capacity)
        if over is False:
            text += " " + ctx._("Add '{word}' to the command to pair them anyway.", word=OVER_CAPACITY)
        raise ActionError(text)
    by = ctx.member.id if ctx.member else None
    pair = ctx.repos.pairs.add(rnd.pk, mentee.pk, mentor.pk, kind, by, ctx.now)
    _introduce(ctx, pair, mentee, mentor, mentee_signup)
    return pair


def _pair_by_coordinator(ctx: Context, mentee: Member, mentor: Member, kind: str, override: str | None) -> str:
    """Make the pair (in the mentee's round); when the coordinator overrode the capacity, say so in the reply."""
    rnd = signed_up_round(ctx, mentee, "mentee")
    make_pair(ctx, rnd, mentee, mentor, kind=kind, over=override == OVER_CAPACITY)
    load, capacity = load_of(ctx, rnd, mentor, active_signup(ctx, mentor, rnd, "mentor"))
    if load > capacity:
        return " " + ctx.ngettext(
            "This puts {handle} over capacity ({load} of {n} mentee), as you asked.",
            "This puts {handle} over capacity ({load} of {n} mentees), as you asked.",
            capacity, handle=mentor.handle, load=ctx.language.number(load),
        )
    return ""


async def assign(ctx: Context, mentee: Member, mentor: Member, override: str | None = None) -> str:
    over = _pair_by_coordinator(ctx, mentee, mentor, "mentor", override)
    return ctx._("{mentor} now mentors {mentee}. Both have been introduced.", mentor=mentor.handle, mentee=mentee.handle) + over


async def comentor(ctx: Context, mentee: Member, mentor: Member, override: str | None = None) -> str:
    over = _pair_by_coordinator(ctx, mentee, mentor, "comentor", override)
    return ctx._("{mentor} now co-mentors {mentee}.", mentor=mentor.handle, mentee=mentee.handle) + over


async def claim(ctx: Context, mentee: Member) -> str:
    me = ctx.require_member()
    rnd = signed_up_round(ctx, mentee, "mentee")
    if not active_signup(ctx, me, rnd, "mentor").accepting:
        raise ActionError(ctx._("You are closed to new mentees; {prefix}mentor open first.", prefix=ctx.prefix))
    make_pair(ctx, rnd, mentee, me)
    return ctx._("You now mentor {mentee}. You have both been introduced.", mentee=mentee.handle)


async def unassign(ctx: Context, mentee: Member) -> str:
    pairs = ctx.repos.pairs.of_mentee(mentee.pk)
    if not pairs:
        raise ActionError(ctx._("{mentee} has no mentor.", mentee=mentee.handle))
    names = []
    for pair in pairs:
        ctx.repos.pairs.end(pair, "unassigned", ctx.now)
        mentor = ctx.repos.members.get(pair.mentor_id)
        if mentor is not None:
            names.append(mentor.handle)
            ctx.dm(mentor, ctx.language_of(mentor)._(
                "You no longer mentor {mentee}. Thank you for your time together.", mentee=mentee.handle,
            ), key=f"unassign:{pair.id}:mentor")
    lang = ctx.language_of(mentee)
    ctx.dm(mentee, lang.ngettext(
        "{mentors} no longer mentors you; a coordinator will find you a new mentor.",
        "{mentors} no longer mentor you; a coordinator will find you a new mentor.",
        len(names), mentors=lang.join(names),
    ), key=f"unassign:{pairs[0].id}:mentee")
    capacity_freed(ctx, pairs[0].round_id)
    return ctx._("{mentee} has no mentor now (was: {mentors}).", mentee=mentee.handle, mentors=", ".join(names))


async def mentor_open(ctx: Context) -> str:
    return _set_accepting(ctx, True)


async def mentor_closed(ctx: Context) -> str:
    return _set_accepting(ctx, False)


def _set_accepting(ctx: Context, accepting: bool) -> str:
    """In every round not closed where the asker mentors (the running one and the next)."""
    me = ctx.require_member()
    signups = [s for r in ctx.repos.rounds.not_closed() for s in ctx.repos.signups.of(me.pk, r.pk, "mentor") if s.status == "active"]
    if not signups:
        active_signup(ctx, me, current_round(ctx), "mentor")  # says why
    for signup in signups:
        signup.accepting = accepting
        ctx.repos.signups.save(signup)
    if accepting:
        for signup in signups:
            capacity_freed(ctx, signup.round_id)
        return ctx._("You are open to new mentees.")
    return ctx._("You are closed to new mentees; your current mentees stay with you.")


async def my_mentors(ctx: Context) -> str:
    me = ctx.require_member()
    pairs = ctx.repos.pairs.of_mentee(me.pk)
    if not pairs:
        return ctx._("You have no mentor yet; a coordinator will match you, or a mentor may pick you.")
    lines = []
    for pair in pairs:
        m = ctx.repos.members.get(pair.mentor_id)
        if m is not None:
            if pair.kind == "comentor":
                line = N_("co-mentor: {name} ({handle}, timezone {timezone})")
            else:
                line = N_("mentor: {name} ({handle}, timezone {timezone})")
            lines.append(ctx._(line, name=m.display_name, handle=m.handle, timezone=m.timezone or "?"))
    return "\n".join(lines)


