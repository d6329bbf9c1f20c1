"""Pairs: coordinators assign mentors, mentors claim mentees, both sides are introduced.

Capacity is never exceeded and matching never crosses tracks, whoever makes the pair. Co-mentors
see everything the lead mentor sees but use no capacity.
"""

from __future__ import annotations

from datetime import date

from chatbot.commands import ActionError, Arg, CommandSpec, Example
from chatbot.engine import Context, Feature
from chatbot.features.rounds import OPEN_EXAMPLE, current_round
from storage.mentorship import Pair
from storage.tables import Member, Round, Signup


def active_signup(ctx: Context, member: Member, rnd: Round, kind: str) -> Signup:
    for s in ctx.repos.signups.of(member.id, rnd.id, kind):  # type: ignore[arg-type]
        if s.status == "active":
            return s
    raise ActionError(f"{member.handle} is not signed up as a {kind} in {rnd.name}.")


def is_away(member: Member, today: date) -> bool:
    return member.away_until is not None and member.away_until >= today


def capacity_of(ctx: Context, signup: Signup) -> int:
    return signup.capacity or ctx.settings.programme.default_capacity


def _introduce(ctx: Context, pair: Pair, mentee: Member, mentor: Member, mentee_signup: Signup) -> None:
    """Both sides learn who the other is, where they live (in time) and the goal."""
    role = "co-mentor" if pair.kind == "comentor" else "mentor"
    goal = mentee_signup.goal or "not set yet"
    ctx.dm(
        mentee,
        f"Meet your {role}, {mentor.display_name} ({mentor.handle}, timezone {mentor.timezone or '?'}). "
        f"Your goal: {goal}. Say hello: they will get in touch too.",
        key=f"intro:{pair.id}:mentee",
    )
    ctx.dm(
        mentor,
        f"You are now {role} of {mentee.display_name} ({mentee.handle}, timezone {mentee.timezone or '?'}, "
        f"track {', '.join(mentee_signup.tracks)}). Their goal: {goal}. Please introduce yourself.",
        key=f"intro:{pair.id}:mentor",
    )


def make_pair(ctx: Context, rnd: Round, mentee: Member, mentor: Member, kind: str = "mentor") -> Pair:
    """The one place pairs are made: every rule of who may mentor whom is checked here."""
    today = ctx.now.date()
    mentee_signup = active_signup(ctx, mentee, rnd, "mentee")
    mentor_signup = active_signup(ctx, mentor, rnd, "mentor")
    if mentee.id == mentor.id:
        raise ActionError("Nobody mentors themselves.")
    if not set(mentee_signup.tracks) & set(mentor_signup.tracks):
        raise ActionError(
            f"{mentor.handle} mentors in {', '.join(mentor_signup.tracks)}; "
            f"{mentee.handle} is in {', '.join(mentee_signup.tracks)}. Matching never crosses tracks."
        )
    if is_away(mentor, today):
        raise ActionError(f"{mentor.handle} is away until {mentor.away_until}.")
    current = ctx.repos.pairs.of_mentee(mentee.id)  # type: ignore[arg-type]
    if any(p.mentor_id == mentor.id for p in current):
        raise ActionError(f"{mentor.handle} mentors {mentee.handle} already.")
    lead = [p for p in current if p.kind == "mentor"]
    if kind == "mentor":
        if lead:
            name = ctx.repos.members.get(lead[0].mentor_id)
            raise ActionError(
                f"{mentee.handle} has a mentor already ({name.handle if name else '?'}): "
                f"{ctx.prefix}match unassign {mentee.handle} first, or add a co-mentor with {ctx.prefix}match comentor."
            )
        load = ctx.repos.pairs.load(rnd.id).get(mentor.id, 0)  # type: ignore[arg-type]
        if load >= capacity_of(ctx, mentor_signup):
            raise ActionError(f"{mentor.handle} is at capacity ({load} of {capacity_of(ctx, mentor_signup)} mentees).")
    elif not lead:
        raise ActionError(f"{mentee.handle} has no mentor yet; a co-mentor joins a lead mentor.")
    by = ctx.member.id if ctx.member else None
    pair = ctx.repos.pairs.add(rnd.id, mentee.id, mentor.id, kind, by, ctx.now)  # type: ignore[arg-type]
    _introduce(ctx, pair, mentee, mentor, mentee_signup)
    return pair


async def assign(ctx: Context, mentee: Member, mentor: Member) -> str:
    make_pair(ctx, current_round(ctx), mentee, mentor)
    return f"{mentor.handle} now mentors {mentee.handle}. Both have been introduced."


async def comentor(ctx: Context, mentee: Member, mentor: Member) -> str:
    make_pair(ctx, current_round(ctx), mentee, mentor, kind="comentor")
    return f"{mentor.handle} now co-mentors {mentee.handle}."


async def claim(ctx: Context, mentee: Member) -> str:
    me = ctx.require_member()
    rnd = current_round(ctx)
    if not active_signup(ctx, me, rnd, "mentor").accepting:
        raise ActionError(f"You are closed to new mentees; {ctx.prefix}mentor open first.")
    make_pair(ctx, rnd, mentee, me)
    return f"You now mentor {mentee.handle}. You have both been introduced."


async def unassign(ctx: Context, mentee: Member) -> str:
    pairs = ctx.repos.pairs.of_mentee(mentee.id)  # type: ignore[arg-type]
    if not pairs:
        raise ActionError(f"{mentee.handle} has no mentor.")
    names = []
    for pair in pairs:
        ctx.repos.pairs.end(pair, "unassigned", ctx.now)
        mentor = ctx.repos.members.get(pair.mentor_id)
        if mentor is not None:
            names.append(mentor.handle)
            ctx.dm(mentor, f"You no longer mentor {mentee.handle}. Thank you for your time together.", key=f"unassign:{pair.id}:mentor")
    ctx.dm(mentee, f"{', '.join(names)} no longer mentor(s) you; a coordinator will find you a new mentor.", key=f"unassign:{pairs[0].id}:mentee")
    return f"{mentee.handle} has no mentor now (was: {', '.join(names)})."


async def mentor_open(ctx: Context) -> str:
    return _set_accepting(ctx, True)


async def mentor_closed(ctx: Context) -> str:
    return _set_accepting(ctx, False)


def _set_accepting(ctx: Context, accepting: bool) -> str:
    signup = active_signup(ctx, ctx.require_member(), current_round(ctx), "mentor")
    signup.accepting = accepting
    ctx.repos.signups.save(signup)
    if accepting:
        return "You are open to new mentees."
    return "You are closed to new mentees; your current mentees stay with you."


async def my_mentors(ctx: Context) -> str:
    me = ctx.require_member()
    pairs = ctx.repos.pairs.of_mentee(me.id)  # type: ignore[arg-type]
    if not pairs:
        return "You have no mentor yet; a coordinator will match you, or a mentor may pick you."
    lines = []
    for pair in pairs:
        m = ctx.repos.members.get(pair.mentor_id)
        if m is not None:
            role = "co-mentor" if pair.kind == "comentor" else "mentor"
            lines.append(f"{role}: {m.display_name} ({m.handle}, timezone {m.timezone or '?'})")
    return "\n".join(lines)


async def my_mentees(ctx: Context) -> str:
    me = ctx.require_member()
    mentees = ctx.repos.pairs.mentees_of(me.id)  # type: ignore[arg-type]
    if not mentees:
        return "You have no mentees yet."
    rnd = ctx.repos.rounds.current()
    lines = []
    for m in mentees:
        goal = "?"
        if rnd is not None:
            signups = ctx.repos.signups.of(m.id, rnd.id, "mentee")  # type: ignore[arg-type]
            goal = signups[0].goal or "?" if signups else "?"
        lines.append(f"{m.handle} ({m.timezone or '?'}): goal: {goal}")
    return "\n".join(lines)


def complete_my_mentees(ctx: Context, partial: str) -> list[str]:
    """The asker's mentees, for choosing one from a list while typing."""
    if ctx.member is None:
        return []
    return [m.handle for m in ctx.repos.pairs.mentees_of(ctx.member.id) if m.handle.lower().startswith(partial)]  # type: ignore[arg-type]


def complete_unmatched(ctx: Context, partial: str) -> list[str]:
    """Mentees of the open round without a lead mentor."""
    rnd = ctx.repos.rounds.current()
    if rnd is None:
        return []
    matched = {p.mentee_id for p in ctx.repos.pairs.active(rnd.id) if p.kind == "mentor"}
    handles = []
    for signup in ctx.repos.signups.active(rnd.id, "mentee"):
        member = ctx.repos.members.get(signup.member_id)
        if member is not None and member.id not in matched and member.handle.lower().startswith(partial):
            handles.append(member.handle)
    return sorted(handles)


def tell_mentors_unreachable(ctx: Context, member: Member, platform: str) -> None:
    """A mentee's platform refuses the bot's DMs: their mentors hear it once, from us."""
    for mentor in ctx.repos.pairs.mentors_of(member.id):  # type: ignore[arg-type]
        ctx.dm(
            mentor,
            f"I cannot send private messages to your mentee {member.handle} on {platform} (they do not accept "
            "them from me), so prompts will not reach them there. Could you ask them to allow messages "
            f"or to link another platform with {ctx.prefix}link?",
            key=f"unreachable:{member.id}:{platform}:{mentor.id}:{ctx.now.date()}",
        )


MENTEE = Arg("mentee", kind="member", help="the mentee")
#: a mentee of the person typing (offered from their own mentees while they type)
MY_MENTEE = Arg("mentee", kind="member", help="your mentee", complete="my-mentees")
MENTOR = Arg("mentor", kind="member", help="the mentor")
#: a mentee (alice) and a mentor (bob) signed up in the open round, for examples and tests
SIGNED_UP_PAIR = (
    OPEN_EXAMPLE,
    "alice: !signup mentee", "alice: Europe/Berlin", "alice: en", "alice: 3", "alice: programming",
    "alice: testing", "alice: Land my first patch in core",
    "bob: !signup mentor", "bob: America/New_York", "bob: en", "bob: 3", "bob: all", "bob: testing", "bob: 2",
)
PAIRED = (*SIGNED_UP_PAIR, "!match assign alice bob")

FEATURE = Feature(
    name="matchmaking",
    commands=(
        CommandSpec(
            ("match", "assign"),
            "make a mentor the lead mentor of a mentee",
            roles=("coordinator",),
            handler=assign,
            args=(MENTEE, MENTOR),
            examples=(Example("!match assign alice bob", r"bob now mentors alice", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("match", "comentor"),
            "add a co-mentor, who sees everything the mentor sees",
            roles=("coordinator",),
            handler=comentor,
            args=(MENTEE, MENTOR),
            examples=(Example("!match comentor alice bob", r"has no mentor yet", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("match", "unassign"),
            "end a mentee's pairing (both sides are told)",
            roles=("coordinator",),
            handler=unassign,
            args=(MENTEE,),
            examples=(Example("!match unassign alice", r"alice has no mentor now \(was: bob\)", setup=PAIRED),),
        ),
        CommandSpec(
            ("match", "claim"),
            "mentor an unmatched mentee of your track yourself",
            roles=("mentor",),
            handler=claim,
            args=(Arg("mentee", kind="member", help="the mentee", complete="unmatched-mentees"),),
            examples=(Example("bob: !match claim alice", r"You now mentor alice", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("mentor", "open"),
            "take new mentees",
            roles=("mentor",),
            handler=mentor_open,
            examples=(Example("bob: !mentor open", r"open to new mentees", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("mentor", "closed"),
            "take no new mentees (current ones stay)",
            roles=("mentor",),
            handler=mentor_closed,
            examples=(Example("bob: !mentor closed", r"closed to new mentees", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("mentor",),
            "who your mentors are",
            roles=("mentee",),
            handler=my_mentors,
            private=True,
            examples=(Example("alice: !mentor", r"mentor: bob \(bob, timezone America/New_York\)", setup=PAIRED),),
        ),
        CommandSpec(
            ("mentees",),
            "your mentees with their goals",
            roles=("mentor",),
            handler=my_mentees,
            private=True,
            examples=(Example("bob: !mentees", r"alice \(Europe/Berlin\): goal: Land my first patch", setup=PAIRED),),
        ),
    ),
    completions={"my-mentees": complete_my_mentees, "unmatched-mentees": complete_unmatched},
    on_undeliverable=tell_mentors_unreachable,
)
