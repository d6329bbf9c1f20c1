"""What coordinators hear of at once: answers missing after the deadline, and answers that flag
a risk or an old (or no) last contact. One message per coordinator per tick, listing every pair,
and each item is stamped when it is listed, so advancing the clock never lists it again."""

from __future__ import annotations

from chatbot.context import Context
from chatbot.wording import clip
from chatbot.features.feedback.answers import flags_of
from chatbot.features.feedback.interview import window_label
from chatbot.i18n import Language
from chatbot.people import coordinators as programme_coordinators, local_date
from storage.feedback import MENTOR_SIDE, FeedbackAnswer, FeedbackRequest
from storage.mentorship import Pair
from storage.tables import Member

#: items an alert lists; the rest are counted
SHOWN = 30

People = dict[int, tuple[Pair, Member, Member]]


def _sides(people: People, pair_id: int, respondent_id: int) -> tuple[Member, Member] | None:
    """(respondent, the other side) of a pair, or None once the pair has ended."""
    found = people.get(pair_id)
    if found is None or found[0].ended_at is not None:
        return None
    pair, mentee, mentor = found
    return (mentor, mentee) if respondent_id == pair.mentor_id else (mentee, mentor)


def _missing_line(lang: Language, request: FeedbackRequest, who: Member, other: Member, when: str) -> str:
    fields = {"who": who.handle, "other": other.handle, "when": when}
    if request.side == MENTOR_SIDE:
        return lang._("{who} has not given feedback about their mentee {other} ({when}).", **fields)
    return lang._("{who} has not given feedback about their mentor {other} ({when}).", **fields)


def _flag_line(ctx: Context, lang: Language, answer: FeedbackAnswer, who: Member, other: Member, when: str) -> str:
    stale = ctx.settings.feedback.stale_contact_days
    flags = flags_of(answer.last_contact, answer.risk, local_date(who, answer.answered_at), stale)
    reasons = []
    if flags.no_contact:
        reasons.append(lang._("no contact yet"))
    elif flags.stale and flags.days_since is not None:
        reasons.append(lang.ngettext("last contact {n} day ago", "last contact {n} days ago", flags.days_since))
    if flags.risk:
        reasons.append(lang._("at risk: {risk}", risk=clip(flags.risk, 200)))
    return lang._("{who} about {other} ({when}): {flags}.", who=who.handle, other=other.handle, when=when, flags=lang.join(reasons))


def alert_coordinators(ctx: Context) -> None:
    """Stamp and list, in one message to each coordinator, what needs a look since last time."""
    repo = ctx.repos.feedback
    missing, flagged = repo.missing_after_deadline(ctx.now), repo.flagged_unreported()
    if not missing and not flagged:
        return
    people: People = {p.pk: (p, a, b) for p, a, b in ctx.repos.pairs.with_people({r.pair_id for r in missing} | {a.pair_id for a in flagged})}
    rounds = repo.round_names([r.round_id for r in missing] + [a.round_id for a in flagged])
    items: list[tuple[FeedbackRequest | FeedbackAnswer, Member, Member]] = []
    for request in missing:
        request.missing_alerted_at = ctx.now
        repo.save(request)
        if (sides := _sides(people, request.pair_id, request.respondent_id)) is not None:
            items.append((request, *sides))
    for answer in flagged:
        answer.flag_alerted_at = ctx.now
        repo.save(answer)
        if (sides := _sides(people, answer.pair_id, answer.respondent_id)) is not None:
            items.append((answer, *sides))
    if not items:
        return
    for coordinator in programme_coordinators(ctx):
        lang = ctx.language_of(coordinator)
        lines = [lang._("Feedback that needs a look (only coordinators see this):")]
        for row, who, other in items[:SHOWN]:
            when = window_label(lang, row.window, rounds.get(row.round_id, ""))
            if isinstance(row, FeedbackRequest):
                lines.append(_missing_line(lang, row, who, other, when))
            else:
                lines.append(_flag_line(ctx, lang, row, who, other, when))
        if len(items) > SHOWN:
            lines.append(lang.ngettext(
                "… and {n} more: {command} shows them.", "… and {n} more: {command} shows them.",
                len(items) - SHOWN, command=ctx.command("feedback", "status"),
            ))
        ctx.dm(coordinator, "\n".join(lines), key=f"feedback-alerts:{coordinator.id}:{ctx.now.isoformat()}")
