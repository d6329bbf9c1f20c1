"""Matchmaking: coordinators assign mentors, mentors claim mentees, both sides are introduced.

Matching never crosses tracks, whoever makes the pair. Co-mentors see everything the lead
mentor sees, and co-mentoring counts in full against a mentor's capacity (a co-mentee gets the
same attention as a lead mentee). Capacity is never exceeded unless a coordinator says so
explicitly (``over-capacity`` on ``!match assign``/``!match comentor``), and the reply says so.

The parts: :mod:`.pairs` (making pairs and the pair commands), :mod:`.suggestions` (the matcher
run over a round: ``!match suggest``/``confirm``), :mod:`.leaving` (pairs ending when a person
leaves), :mod:`.risk` (pairs that stopped meeting, ``!match report``, the silence job). This module
declares the commands and the examples other features build on (``PAIRED``)."""

from __future__ import annotations


from chatbot.commands import Arg, CommandSpec, Example
from chatbot.context import Context, Feature, Job
from chatbot.features.rounds import OPEN_EXAMPLE, ROUND_ARG, today
from chatbot.i18n import N_
from storage.tables import Member
from chatbot.features.matchmaking.pairs import OVER_CAPACITY, assign, claim, comentor, mentor_closed, mentor_open, my_mentors, unassign
from chatbot.features.matchmaking.risk import notice_silence, report
from chatbot.features.matchmaking.suggestions import confirm, suggest


def complete_my_mentees(ctx: Context, partial: str) -> list[str]:
    """The asker's mentees, for choosing one from a list while typing."""
    if ctx.member is None:
        return []
    return [m.handle for m in ctx.repos.pairs.mentees_of(ctx.member.pk) if m.handle.lower().startswith(partial)]


def complete_unmatched(ctx: Context, partial: str) -> list[str]:
    """Mentees of the round being matched without a lead mentor."""
    rnd = ctx.repos.rounds.taking_signups(today(ctx)) or ctx.repos.rounds.current(today(ctx))
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
    for mentor in ctx.repos.pairs.mentors_of(member.pk):
        ctx.dm(
            mentor,
            ctx.language_of(mentor)._(
                "I cannot send private messages to your mentee {mentee} on {platform} (they do not accept "
                "them from me), so prompts will not reach them there. Could you ask them to allow messages "
                "or to link another platform with {prefix}link?",
                mentee=member.handle, platform=platform, prefix=ctx.prefix,
            ),
            key=f"unreachable:{member.id}:{platform}:{mentor.id}:{ctx.now.date()}",
        )


MENTEE = Arg("mentee", kind="member", help=N_("the mentee"))
#: a mentee of the person typing (offered from their own mentees while they type)
MY_MENTEE = Arg("mentee", kind="member", help=N_("your mentee"), complete="my-mentees")
MENTOR = Arg("mentor", kind="member", help=N_("the mentor"))
OVERRIDE = Arg(
    "override", choices=(OVER_CAPACITY,), required=False,
    help=N_("pair past the mentor's capacity on purpose (co-mentored mentees count in full)"),
)
#: a mentee (alice) and a mentor (bob) signed up in the open round, for examples and tests
SIGNED_UP_PAIR = (
    OPEN_EXAMPLE,
    "alice: !signup mentee", "alice: Europe/Berlin", "alice: en", "alice: 3", "alice: programming",
    "alice: testing", "alice: Land my first patch in core",
    "bob: !signup mentor", "bob: America/New_York", "bob: en", "bob: 3", "bob: all", "bob: testing", "bob: 2",
)
PAIRED = (*SIGNED_UP_PAIR, "!match assign alice bob")
#: bob (capacity 2) leads alice and dave; carol has another mentor, erin
COMENTOR_FULL = (
    *PAIRED,
    *(f"{who}: {text}" for who in ("carol", "dave") for text in (
        "!signup mentee", "Europe/Berlin", "en", "3", "programming", "testing", "Land a patch")),
    "erin: !signup mentor", "erin: Europe/Berlin", "erin: en", "erin: 3", "erin: all", "erin: testing", "erin: 2",
    "!match assign dave bob", "!match assign carol erin",
)

FEATURE = Feature(
    name="matchmaking",
    commands=(
        CommandSpec(
            ("match", "suggest"),
            N_("propose mentor-mentee pairs for the open round, each with why"),
            roles=("coordinator",),
            handler=suggest,
            private=True,
            examples=(Example("!match suggest", r"1\. alice ← bob: .*both speak en", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("match", "confirm"),
            N_("make suggestions real: all, or their numbers"),
            roles=("coordinator",),
            handler=confirm,
            args=(Arg("which", many=True, help=N_("all, or numbers from {prefix}match suggest")),),
            examples=(Example("!match confirm all", r"Paired 1: alice ← bob", setup=(*SIGNED_UP_PAIR, "!match suggest")),),
        ),
        CommandSpec(
            ("match", "report"),
            N_("pairs that stopped meeting or never started (of a closed round: how its pairs did)"),
            roles=("coordinator",),
            handler=report,
            private=True,
            args=(ROUND_ARG,),
            examples=(
                Example("!match report", r"No pair of 2027 Q1 looks stuck", setup=PAIRED),
                Example("!match report 2027 Q1", r"2027 Q1 is closed: 1 pair took part; 1 logged no session: bob and alice",
                        setup=(*PAIRED, "!round close")),
            ),
        ),
        CommandSpec(
            ("match", "assign"),
            N_("make a mentor the lead mentor of a mentee"),
            roles=("coordinator",),
            handler=assign,
            args=(MENTEE, MENTOR, OVERRIDE),
            examples=(Example("!match assign alice bob", r"bob now mentors alice", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("match", "comentor"),
            N_("add a co-mentor, who sees everything the mentor sees (a co-mentee counts against capacity)"),
            roles=("coordinator",),
            handler=comentor,
            args=(MENTEE, MENTOR, OVERRIDE),
            examples=(
                Example("!match comentor alice bob", r"has no mentor yet", setup=SIGNED_UP_PAIR),
                Example(
                    "!match comentor carol bob over-capacity",
                    r"bob now co-mentors carol\. This puts bob over capacity \(3 of 2 mentees\), as you asked\.",
                    setup=COMENTOR_FULL,
                ),
            ),
        ),
        CommandSpec(
            ("match", "unassign"),
            N_("end a mentee's pairing (both sides are told)"),
            roles=("coordinator",),
            handler=unassign,
            args=(MENTEE,),
            examples=(Example("!match unassign alice", r"alice has no mentor now \(was: bob\)", setup=PAIRED),),
        ),
        CommandSpec(
            ("match", "claim"),
            N_("mentor an unmatched mentee of your track yourself"),
            roles=("mentor",),
            handler=claim,
            args=(Arg("mentee", kind="member", help=N_("the mentee"), complete="unmatched-mentees"),),
            examples=(Example("bob: !match claim alice", r"You now mentor alice", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("mentor", "open"),
            N_("take new mentees"),
            roles=("mentor",),
            handler=mentor_open,
            examples=(Example("bob: !mentor open", r"open to new mentees", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("mentor", "closed"),
            N_("take no new mentees (current ones stay)"),
            roles=("mentor",),
            handler=mentor_closed,
            examples=(Example("bob: !mentor closed", r"closed to new mentees", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("mentor",),
            N_("who your mentors are"),
            roles=("mentee",),
            handler=my_mentors,
            private=True,
            examples=(Example("alice: !mentor", r"mentor: bob \(bob, timezone America/New_York\)", setup=PAIRED),),
        ),
    ),
    jobs=(Job("pair-silence", notice_silence),),
    completions={"my-mentees": complete_my_mentees, "unmatched-mentees": complete_unmatched},
    on_undeliverable=tell_mentors_unreachable,
)
