"""The waiting list: mentees a round cannot match for lack of capacity wait in sign-up order.

A mentee joins it when ``!match suggest`` finds no mentor with room for them (the matcher's
``NO_CAPACITY``); they are told once, with their place. When a mentor gains room (a new mentor
signs up, ``!mentor open``, a higher capacity, a pair ends), the coordinators hear who waits
first, with the matcher's suggested pair and the command that makes it. A mentee leaves the list
by being paired or withdrawing; places are counted live among those still waiting.

The list is one small row (the sign-up ids, in ``kv``), read and written once per change.
"""

from __future__ import annotations

import json

from chatbot.commands import CommandSpec, Example
from chatbot.context import Context, Feature
from chatbot.features.matchmaking import SIGNED_UP_PAIR, PAIRED
from chatbot.features.matchmaking.pairs import capacity_of
from chatbot.features.matchmaking.suggestions import _suggest, _suggestion_line
from chatbot.features.rounds import current_round
from chatbot.i18n import N_
from chatbot.domain.matching import NO_CAPACITY, MatchResult
from chatbot.people import coordinators
from storage.tables import Member, Round, Signup

NAMESPACE = "waiting-list"


def _listed(ctx: Context, round_id: int) -> list[int]:
    return json.loads(ctx.repos.kv.get(NAMESPACE, str(round_id)) or "[]")


def waiting(ctx: Context, rnd: Round) -> list[Signup]:
    """Who waits in ``rnd``, first come first: listed, still signed up, still without a mentor."""
    listed = set(_listed(ctx, rnd.pk))
    if not listed:
        return []
    matched = {p.mentee_id for p in ctx.repos.pairs.active(rnd.pk) if p.kind == "mentor"}
    return [s for s in ctx.repos.signups.active(rnd.pk, "mentee") if s.id in listed and s.member_id not in matched]


def place_of(ctx: Context, rnd: Round, member: Member) -> int | None:
    for n, signup in enumerate(waiting(ctx, rnd), 1):
        if signup.member_id == member.id:
            return n
    return None


def note_waiting(ctx: Context, rnd: Round, result: MatchResult) -> None:
    """The mentees the matcher found no room for join the list, and hear their place once."""
    full = {u.mentee_id for u in result.unmatched if u.code == NO_CAPACITY}
    if not full:
        return
    signups = {s.member_id: s for s in ctx.repos.signups.active(rnd.pk, "mentee") if s.member_id in full}
    listed = _listed(ctx, rnd.pk)
    fresh = [s for s in signups.values() if s.id not in listed]
    if not fresh:
        return
    ctx.repos.kv.set(NAMESPACE, str(rnd.pk), json.dumps(sorted([*listed, *(s.id for s in fresh)])))
    for signup in fresh:
        member = ctx.repos.members.get(signup.member_id)
        if member is None:
            continue
        lang = ctx.language_of(member)
        ctx.dm(member, lang._(
            "Every mentor of your track is full in {round} for now, so you are on the waiting list: number {place}. "
            "You will be introduced as soon as a mentor has room; {command} shows your place.",
            round=rnd.name, place=lang.number(place_of(ctx, rnd, member) or 0), command=ctx.command("signup", "status"),
        ), key=f"waiting:{signup.id}")


def capacity_freed(ctx: Context, round_id: int) -> None:
    """A mentor gained room in the round: the coordinators hear who waits first, with the
    matcher's suggestion for them (once per suggested pair)."""
    rnd = ctx.repos.db.get(Round, round_id)
    if rnd is None or rnd.status == "closed":
        return
    queue = waiting(ctx, rnd)
    if not queue:
        return
    order = {s.member_id: n for n, s in enumerate(queue)}
    texts: dict[str, tuple[str, str]] = {}  # one matcher run per language the coordinators read
    for person in coordinators(ctx):
        lang = ctx.language_of(person)
        if lang.code not in texts:
            result, people = _suggest(ctx, rnd, set(order), lang)
            if not result.suggestions:
                return
            first = min(result.suggestions, key=lambda s: order[s.mentee_id])
            mentee, mentor = people[first.mentee_id], people[first.mentor_id]
            texts[lang.code] = f"{rnd.id}:{mentee.id}:{mentor.id}", "\n".join([
                lang._("A mentor has room in {round}. First in line who fits: {mentee}, number {place} of {count} on the waiting list.",
                       round=rnd.name, mentee=mentee.handle, place=lang.number(order[first.mentee_id] + 1), count=lang.number(len(queue))),
                lang._("Suggested: {pair}", pair=_suggestion_line(first, people)),
                lang._("{command} pairs them.", command=ctx.command("match", "assign", mentee.handle, mentor.handle)),
            ])
        key, text = texts[lang.code]
        ctx.dm(person, text, key=f"waitlist:{key}:{person.id}")


# ---------------------------------------------------------------------------- !signup status


def _status_line(ctx: Context, rnd: Round, signup: Signup, me: Member) -> str:
    if signup.kind == "mentor":
        load = ctx.repos.pairs.load(rnd.pk).get(me.pk, 0)
        return ctx.ngettext("mentor in {round}: {load} of {n} mentee", "mentor in {round}: {load} of {n} mentees",
                            capacity_of(ctx, signup), round=rnd.name, load=ctx.language.number(load))
    mentors = [ctx.repos.members.get(p.mentor_id) for p in ctx.repos.pairs.of_mentee(me.pk) if p.round_id == rnd.pk]
    names = [m.handle for m in mentors if m is not None]
    if names:
        return ctx._("mentee in {round}: mentored by {mentors}", round=rnd.name, mentors=ctx.language.join(names))
    place = place_of(ctx, rnd, me)
    if place is not None:
        return ctx._("mentee in {round}: on the waiting list, number {place}", round=rnd.name, place=ctx.language.number(place))
    return ctx._("mentee in {round}: not matched yet", round=rnd.name)


async def signup_status(ctx: Context) -> str:
    """Where the asker stands in each round not closed: their mentor, their place in line, their load."""
    me = ctx.require_member()
    lines = [
        _status_line(ctx, rnd, s, me)
        for rnd in ctx.repos.rounds.not_closed()
        for s in ctx.repos.signups.of(me.pk, rnd.pk)
        if s.status == "active"
    ]
    if not lines:
        rnd = current_round(ctx)
        return ctx._("You are not signed up in {round}; {command} joins.", round=rnd.name, command=ctx.command("signup", "mentee"))
    return "\n".join(lines)


FEATURE = Feature(
    name="waiting-list",
    commands=(
        CommandSpec(
            ("signup", "status"),
            N_("where you stand: your mentor, or your place on the waiting list"),
            roles=("member",),
            handler=signup_status,
            private=True,
            examples=(
                Example("alice: !signup status", r"mentee in 2027 Q1: not matched yet", setup=SIGNED_UP_PAIR),
                Example("alice: !signup status", r"mentee in 2027 Q1: mentored by bob", setup=PAIRED),
            ),
        ),
    ),
)
