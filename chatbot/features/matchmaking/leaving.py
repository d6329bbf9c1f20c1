"""A person leaves the programme: their pairs end, the other side hears of it, and the
coordinators get the orphaned mentees with suggestions for new mentors."""

from __future__ import annotations


from chatbot.context import Context
from chatbot.features.rounds import today
from storage.tables import Member
from chatbot.features.matchmaking.pairs import capacity_freed
from chatbot.features.matchmaking.suggestions import _suggest, _suggestion_line
from chatbot.people import coordinators


def reassignment_notice(ctx: Context, mentor: Member, mentees: list[Member]) -> None:
    """Nobody is left without a mentor silently: the coordinators get the list of the mentees
    of a mentor who withdrew, with suggestions, each in their own language."""
    rnd = ctx.repos.rounds.current(today(ctx))
    if rnd is None or not mentees:
        return
    only = {m.id for m in mentees if m.id is not None}
    texts: dict[str, str] = {}  # one matcher run per language the coordinators read
    for person in coordinators(ctx, exclude=mentor):
        lang = ctx.language_of(person)
        if lang.code not in texts:
            result, people = _suggest(ctx, rnd, only, lang)
            texts[lang.code] = "\n".join([
                lang._("{mentor} has withdrawn. These mentees need a new mentor: {mentees}.",
                       mentor=mentor.handle, mentees=", ".join(m.handle for m in mentees)),
                *(_suggestion_line(s, people) for s in result.suggestions),
                lang._("{prefix}match assign MENTEE MENTOR to pair them.", prefix=ctx.prefix),
            ])
        ctx.dm(person, texts[lang.code], key=f"reassign:{mentor.id}:{ctx.now.date()}:{person.id}")


def end_pairs_of(ctx: Context, member: Member, reason: str) -> None:
    """A person leaves: their pairs end; the other side hears of it, and orphaned mentees are listed."""
    orphans = []
    for pair in ctx.repos.pairs.of_mentor(member.pk):
        ctx.repos.pairs.end(pair, reason, ctx.now)
        mentee = ctx.repos.members.get(pair.mentee_id)
        if mentee is None:
            continue
        ctx.dm(mentee, ctx.language_of(mentee)._(
            "{mentor} can no longer mentor you; a coordinator will find you someone new.", mentor=member.handle,
        ), key=f"pair-ended:{pair.id}:mentee")
        if pair.kind == "mentor":
            orphans.append(mentee)
    for pair in ctx.repos.pairs.of_mentee(member.pk):
        ctx.repos.pairs.end(pair, reason, ctx.now)
        mentor = ctx.repos.members.get(pair.mentor_id)
        if mentor is not None:
            ctx.dm(mentor, ctx.language_of(mentor)._(
                "{mentee} has left the programme, so you no longer mentor them. Thank you!", mentee=member.handle,
            ), key=f"pair-ended:{pair.id}:mentor")
            capacity_freed(ctx, pair.round_id)
    reassignment_notice(ctx, member, orphans)


