"""``!feedback`` (answer now, or resume), and for coordinators ``!feedback status`` (who has
answered in a window) and ``!feedback show PERSON`` (the answers about and from a pair).

Answers are shown by the two coordinator commands only: ``!feedback`` tells a mentor or mentee
what is due from them, never what the other side said."""

from __future__ import annotations

from collections import defaultdict

from chatbot.commands import ActionError
from chatbot.context import Context
from chatbot.features.checkins.schedule import when_zoned
from chatbot.features.feedback.answers import answer_line
from chatbot.features.feedback.dates import dated_windows, windows_of
from chatbot.features.feedback.job import plan_requests
from chatbot.features.feedback.interview import FLOW, first_ready, intro, ready, window_label
from chatbot.features.rounds import chosen_round
from chatbot.wording import sentences
from chatbot.people import local_date
from storage.feedback import MENTEE_SIDE, MENTOR_SIDE, FeedbackRequest
from storage.tables import Member, Round


async def feedback(ctx: Context) -> str:
    """Resume the feedback interview, or begin the first that is open, or say when the next is."""
    me = ctx.require_member()
    going = ctx.continue_flow(FLOW)
    if going is not None:
        return ctx._("Your feedback about {name}, where you left off:", name=going["name"])
    plan_requests(ctx)  # the window may have begun here before the job's next look
    data = first_ready(ctx, me)
    if data is None:
        return _nothing_due(ctx, me)
    ctx.start_flow(FLOW, data)
    left = len(ready(ctx, me)) - 1
    more = ctx.ngettext("Then {n} more pair.", "Then {n} more pairs.", left) if left else ""
    return sentences(intro(ctx.language, data), more)


def _nothing_due(ctx: Context, me: Member) -> str:
    rnd = ctx.repos.rounds.current(ctx.now.date())
    today = local_date(me, ctx.now)
    if rnd is not None:
        for rule, day in dated_windows(windows_of(ctx.settings.feedback.windows), rnd.starts_on, rnd.ends_on):
            if day > today:
                return ctx._(
                    "No feedback is due from you now. The next one ({when}) opens on {date}.",
                    when=window_label(ctx.language, rule.name, rnd.name), date=ctx.language.date(day),
                )
    return ctx._("No feedback is due from you now, and none is planned for the rest of this round.")


def _latest_window(requests: list[FeedbackRequest]) -> str:
    return max(requests, key=lambda r: (r.due_at, r.id or 0)).window


def _not_opened(ctx: Context, rnd: Round) -> str:
    windows = dated_windows(windows_of(ctx.settings.feedback.windows), rnd.starts_on, rnd.ends_on)
    if not windows:
        return ctx._("No feedback window is set up.")
    rule, day = windows[0]
    return ctx._(
        "No feedback window of {round} has opened yet; the first ({window}) opens on {date}.",
        round=rnd.name, window=ctx._(rule.name), date=ctx.language.date(day),
    )


def _mark(request: FeedbackRequest | None) -> str:
    if request is None:
        return "–"
    return "✓" if request.answered_at is not None else "✗"


async def feedback_status(ctx: Context, round: str | None) -> str:
    """Per pair of the round's latest window: has the mentor answered, has the mentee."""
    rnd = chosen_round(ctx, round)
    requests = ctx.repos.feedback.requests_of(rnd.pk)
    if not requests:
        return _not_opened(ctx, rnd)
    window = _latest_window(requests)
    chosen = [r for r in requests if r.window == window]
    sides: dict[int, dict[str, FeedbackRequest]] = defaultdict(dict)
    for request in chosen:
        sides[request.pair_id][request.side] = request
    answered = sum(r.answered_at is not None for r in chosen)
    lines = [ctx._(
        "Feedback ({when}): {answered} of {asked} answered.",
        when=window_label(ctx.language, window, rnd.name), answered=ctx.language.number(answered), asked=ctx.language.number(len(chosen)),
    )]
    for pair, mentee, mentor in ctx.repos.pairs.with_people(sides):
        got = sides[pair.pk]
        lines.append(ctx._(
            "{mentee} and {mentor}: mentor {mentor_mark}, mentee {mentee_mark}",
            mentee=mentee.handle, mentor=mentor.handle,
            mentor_mark=_mark(got.get(MENTOR_SIDE)), mentee_mark=_mark(got.get(MENTEE_SIDE)),
        ))
    return "\n".join(lines)


async def feedback_show(ctx: Context, person: Member, round: str | None) -> str:
    """Every answer about and from the pairs ``person`` is in, in the round (coordinators only)."""
    rnd = chosen_round(ctx, round)
    requests = ctx.repos.feedback.requests_of(rnd.pk)
    people = {p.id: (p, a, b) for p, a, b in ctx.repos.pairs.with_people({r.pair_id for r in requests})}
    mine = [r for r in requests if person.id in (people[r.pair_id][1].id, people[r.pair_id][2].id)]
    if not mine:
        raise ActionError(ctx._("There is no feedback about {name} in {round}.", name=person.handle, round=rnd.name))
    answers = ctx.repos.feedback.answers_for(r.id for r in mine if r.id is not None)
    lang, me = ctx.language, ctx.require_member()
    lines = [ctx._("Feedback about and from {name} ({round}); only coordinators see it:", name=person.handle, round=rnd.name)]
    for request in mine:
        pair, mentee, mentor = people[request.pair_id]
        who, other = (mentor, mentee) if request.side == MENTOR_SIDE else (mentee, mentor)
        found = answers.get(request.pk)
        if found is not None:
            said = answer_line(found.last_contact, found.contact_said, found.frequency, found.progress, found.risk, found.notes, lang)
        elif request.deadline_at > ctx.now:
            said = ctx._("not answered yet (open until {deadline})", deadline=when_zoned(request.deadline_at, me, lang))
        else:
            said = ctx._("no answer")
        lines.append(ctx._("{window}, {who} about {other}: {answer}", window=ctx._(request.window), who=who.handle, other=other.handle, answer=said))
    return "\n".join(lines)
