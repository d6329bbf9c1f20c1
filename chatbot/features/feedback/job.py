"""The scheduled side of feedback rounds: requests for each window of the running round, the
questions at the window's hour where each person lives, one reminder, and the coordinators'
alerts (one message per tick, whatever the number of pairs).

Exactly once: a request is a row unique per (round, window, respondent, pair); asking,
reminding and alerting each stamp a column in the transaction that records the message (keyed
by the row), so a second tick or a restart repeats nothing. Someone away is skipped without a
stamp, so they are asked at the first tick after they are back, while the window is open."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import timedelta
from typing import Sequence

from chatbot.commands import parse_time
from chatbot.config import parse_span_setting
from chatbot.context import Context
from chatbot.events import Button, Form
from chatbot.features.checkins.schedule import when_zoned
from chatbot.features.feedback.alerts import alert_coordinators
from chatbot.features.feedback.dates import dated_windows, local_instant, windows_of
from chatbot.features.rounds import tomorrow_starts
from chatbot.features.feedback.interview import (
    FLOW,
    about,
    first_ready,
    form_of,
    interview_data,
    intro,
    question,
    ready,
    window_label,
)
from chatbot.i18n import Language
from chatbot.wording import sentences
from chatbot.people import away_now, zone_of
from storage.feedback import MENTEE_SIDE, MENTOR_SIDE, FeedbackRequest
from storage.mentorship import Pair
from storage.tables import Member

#: how often the running round's pairs are compared with the requests of its near windows
PLAN_EVERY = timedelta(minutes=10)
#: a window's requests are made this long before its date (the earliest timezone is a day ahead)
#: and until this long after its deadline could have passed anywhere
AHEAD, BEHIND = timedelta(days=1), timedelta(days=2)

Due = tuple[FeedbackRequest, Member, Pair]


async def run_feedback(ctx: Context) -> bool:
    """Plan, ask, remind, alert; True when a batch was full, so the engine runs it again."""
    cfg = ctx.settings.feedback
    if not cfg.enabled:
        return False
    planned = ctx.due_every("feedback-plan", PLAN_EVERY)
    if planned:
        plan_requests(ctx)
    asked = _ask(ctx)
    reminded = _remind(ctx)
    alert_coordinators(ctx)
    if planned:  # only when the requests are planned for now may the job rest
        _rest_until_next_duty(ctx)
    return cfg.batch in (asked, reminded)


def _rest_until_next_duty(ctx: Context) -> None:
    """Nothing is due before the next hour to ask, reminder, deadline, or date (windows and
    absences follow it); answers and new pairs come with a command, which wakes the job."""
    ask_at, asked_at, deadline_at = ctx.repos.feedback.next_duties()
    after = parse_span_setting(ctx.settings.feedback.reminder_after)
    ctx.quiet_until(tomorrow_starts(ctx))
    for at in (ask_at, deadline_at, asked_at + after if asked_at is not None and after else None):
        if at is not None:
            ctx.quiet_until(at)


def plan_requests(ctx: Context) -> int:
    """A request per side of each active pair of the running round, for the windows near now
    (a pair made after a window's hour is not asked in that window). Returns how many it made."""
    rnd = ctx.repos.rounds.running(ctx.now.date())
    if rnd is None or rnd.id is None:
        return 0
    cfg, repo = ctx.settings.feedback, ctx.repos.feedback
    at, within = parse_time(cfg.time), parse_span_setting(cfg.answer_within)
    pairs: list[tuple[Pair, Member, Member]] | None = None
    made = 0
    for rule, day in dated_windows(windows_of(cfg.windows), rnd.starts_on, rnd.ends_on):
        if not day - AHEAD <= ctx.now.date() <= day + within + BEHIND:
            continue
        if pairs is None:
            pairs = ctx.repos.pairs.with_people(p.id for p in ctx.repos.pairs.active(rnd.id) if p.id is not None)
        have = repo.keys(rnd.id, rule.name)
        for pair, mentee, mentor in pairs:
            for respondent, side in ((mentor, MENTOR_SIDE), (mentee, MENTEE_SIDE)):
                due = local_instant(day, at, zone_of(respondent))
                if (respondent.id, pair.id) in have or pair.created_at > due or respondent.id is None or pair.id is None:
                    continue
                repo.save(FeedbackRequest(
                    round_id=rnd.id, window=rule.name, respondent_id=respondent.id, pair_id=pair.id, side=side,
                    due_at=due, deadline_at=due + within,
                ))
                made += 1
    return made


def _by_person(rows: Sequence[Due]) -> dict[int, list[Due]]:
    out: dict[int, list[Due]] = defaultdict(list)
    for row in rows:
        out[row[1].pk].append(row)
    return out


def _stamp(ctx: Context, items: Sequence[Due], column: str) -> int:
    """Mark the requests asked (or reminded) now, in this transaction; how many."""
    for request, _, _ in items:
        setattr(request, column, ctx.now)
        ctx.repos.feedback.save(request)
    ctx.repos.feedback.flush()
    return len(items)


def _platform(ctx: Context, member: Member) -> str | None:
    ident = ctx.pick_identity(member, ctx.repos.members.identities(member.pk))
    return ident.platform if ident else None


def _stale(ctx: Context, member: Member) -> bool:
    """Is the member in a feedback interview whose request is no longer open? (It ends here.)"""
    conv = ctx.repos.conversations.get(member.pk)
    if conv is None or conv.flow != FLOW or conv.data.get("request") in {r.id for r, _ in ready(ctx, member)}:
        return False
    ctx.end_flow(member.pk)
    ctx.repos.db.flush()
    return True


def _questions(ctx: Context, member: Member, lang: Language) -> tuple[list[str], Form | None]:
    """The first question (and the form) of the member's first open request. Another interview
    they are in is paused and carries on afterwards, as when they start one themselves; a
    feedback interview under way is left to go on (it leads to the next one)."""
    platform, data = _platform(ctx, member), first_ready(ctx, member)
    conv = None if _stale(ctx, member) else ctx.repos.conversations.get(member.pk)
    if platform is None or data is None or (conv is not None and conv.flow == FLOW):
        note = lang._("(You're answering other questions of mine first: send {command} when you're done.)", command=ctx.command("feedback"))
        return [note], None
    theirs = replace(ctx, member=member, who=None, where=None, spec=None)  # speaks the member's language
    return [theirs.begin_flow(member, FLOW, platform, data)], form_of(lang, data)


def _button(ctx: Context, lang: Language) -> tuple[Button, ...]:
    return (Button(lang._("Answer"), ctx.command("feedback")),)


def _ask(ctx: Context) -> int:
    """The questions for every request whose hour has come, one message per person."""
    rows = ctx.repos.feedback.pending(ctx.now, ctx.settings.feedback.batch)
    stamped = 0
    for items in _by_person(rows).values():
        member = items[0][1]
        if away_now(member, ctx.now):
            continue  # asked when they are back, if the window is still open
        stamped += _stamp(ctx, items, "asked_at")
        lang = ctx.language_of(member)
        names = ctx.repos.feedback.round_names([items[0][0].round_id])
        others = [o for r, _, p in items if (o := about(ctx, r, p)) is not None]
        if not others:
            continue
        first = interview_data(items[0][0], others[0], names.get(items[0][0].round_id, ""))
        if len(others) > 1:
            head = lang._(
                "Feedback time ({when}): a few questions about each of {names}, one at a time.",
                when=window_label(lang, first["window"], first["round"]), names=lang.join(o.handle for o in others),
            )
            head = sentences(head, lang._("Only the coordinators read your answers."))
        else:
            head = intro(lang, first)
        lines, form = _questions(ctx, member, lang)
        ctx.dm(member, "\n".join([head, *lines]), key=f"feedback:{items[0][0].id}", buttons=_button(ctx, lang), form=form)
    return stamped


def _remind(ctx: Context) -> int:
    """Once per request, ``reminder_after`` the questions, while it is open and the person is here."""
    cfg = ctx.settings.feedback
    after = parse_span_setting(cfg.reminder_after)
    if not after:
        return 0
    rows = ctx.repos.feedback.reminders_due(ctx.now - after, ctx.now, cfg.batch)
    stamped = 0
    for items in _by_person(rows).values():
        member = items[0][1]
        if away_now(member, ctx.now):
            continue
        stamped += _stamp(ctx, items, "reminded_at")
        lang = ctx.language_of(member)
        others = [o.handle for r, _, p in items if (o := about(ctx, r, p)) is not None]
        head = lang._(
            "Reminder: your feedback about {names} is still open until {deadline}.",
            names=lang.join(others), deadline=when_zoned(min(r.deadline_at for r, _, _ in items), member, lang),
        )
        conv = None if _stale(ctx, member) else ctx.repos.conversations.get(member.pk)
        if conv is not None and conv.flow == FLOW:
            lines = [lang._("Reply here; I'm waiting for your answer to: {question}", question=question(lang, conv.step, conv.data))]
            form = None
        else:
            lines, form = _questions(ctx, member, lang)
        ctx.dm(member, "\n".join([head, *lines]), key=f"feedback-remind:{items[0][0].id}", buttons=_button(ctx, lang), form=form)
    return stamped
