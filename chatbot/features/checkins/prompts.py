"""The scheduled side of check-ins: the prompts that are due, reminders, misses, day-off
notices and mentors' daily digests, for any number of mentees in a few bulk queries per batch.

Exactly once: a prompt is a ``Checkin`` row, unique per (mentee, due instant), written in the
job's transaction with its outbox message (keyed the same way); a second tick at the same
instant, or a restart before or after the send, finds the row and the advanced plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Sequence

from chatbot.config import parse_span_setting
from chatbot.context import Context
from chatbot.events import Button, DirectMessage, Form, Identity
from chatbot.flows import Openings
from chatbot.i18n import ENGLISH, Language
from chatbot.features.checkins.answers import dated_line
from chatbot.features.checkins.schedule import (
    current_questions,
    days_off,
    fresh_plan,
    next_prompt,
    question_in,
    reminder_after,
    schedule_of,
    schedule_text,
    weekly,
    when,
    when_zoned,
)
from chatbot.people import away_now, named, zone_name, zone_of
from chatbot.domain.recurrence import (
    WeeklySchedule,
    next_occurrence,
    occurrences,
    previous_occurrence,
)
from storage.aside import AsideInterview
from storage.checkins import MISSED, PROMPTED, SKIPPED, Checkin, CheckinPlan
from storage.tables import Conversation, Member, PlatformIdentity

FLOW, EDIT_FLOW = "checkin", "checkin-edit"
#: after a long downtime, at most this many past occurrences per mentee are recorded as skipped
CATCH_UP = 14
#: how often plans are compared with their mentees' timezones, so that a mentee who moved gets the
#: next prompt at the new local time (one UPDATE, but a scan of every plan: not at every tick)
ZONE_CHECK_EVERY = timedelta(minutes=10)
#: how long the job rests when no mentee has a plan (a new pair comes with a command, which wakes it)
NO_PLAN_REST = timedelta(days=1)
_TICK = timedelta(microseconds=1)
#: check-ins a digest lists; the rest are counted
DIGEST_SHOWN = 30

# ---------------------------------------------------------------------------- telling people


def pick_identity(ctx: Context, member: Member, idents: Sequence[PlatformIdentity]) -> Identity | None:
    """The identity a prompt goes to, chosen from bulk-loaded rows by the engine's one rule."""
    return ctx.pick_identity(member, idents)


def open_interview(
    ctx: Context, member_id: int, flow: str, platform: str, data: dict[str, Any], batch: "_Batch | None" = None
) -> None:
    """The interview that takes the answers to a prompt the caller sends itself."""
    ctx.open_flow(member_id, flow, platform, data, batch.openings if batch is not None else None)


def prompt_text(
    ctx: Context, member: Member, questions: Sequence[Sequence[str]], due: datetime, until: datetime | None, lang: Language = ENGLISH
) -> str:
    """The prompt ``member`` reads, in ``lang`` (theirs: a scheduled job has no asker)."""
    at = when(due, member, lang)
    if len(questions) == 1:
        lines = [lang._("Time for your check-in ({when})! Reply here with your answer:", when=at)]
    else:
        lines = [
            lang.ngettext(
                "Time for your check-in ({when})! Reply here with all {n} answers at once "
                "(numbered, one per line, or separated by |), or answer 1 and I'll ask the rest:",
                "Time for your check-in ({when})! Reply here with all {n} answers at once "
                "(numbered, one per line, or separated by |), or answer 1 and I'll ask the rest:",
                len(questions), when=at,
            )
        ]
    lines += numbered_questions(ctx, questions, lang)
    if until is not None:
        lines.append(lang._("Answers are welcome until your next check-in, {when}.", when=when_zoned(until, member, lang)))
    return "\n".join(lines)


def numbered_questions(ctx: Context, questions: Sequence[Sequence[str]], lang: Language) -> list[str]:
    """"1. How did it go?": the questions in the reader's language, numbered for the answers."""
    return [f"{i}. {question_in(ctx, q, lang)}" for i, q in enumerate(questions, 1)]


def answer_button(ctx: Context, lang: Language = ENGLISH) -> tuple[Button, ...]:
    return (Button(lang._("Answer"), ctx.command("checkin")),)


def answer_form(ctx: Context, questions: Sequence[Sequence[str]], lang: Language) -> Form:
    """All the questions at once where the platform has forms; the answers come back numbered."""
    return Form(title=lang._("Check-in"), questions=tuple(question_in(ctx, q, lang) for q in questions),
                label=lang._("Answer in a form"))


# ---------------------------------------------------------------------------- the scheduled job


@dataclass
class _Batch:
    """What a tick loaded in bulk for the mentees it handles."""

    eligible: set[int]
    idents: dict[int, list[PlatformIdentity]]
    openings: Openings
    rows: dict[int, list[Checkin]]
    mentors: dict[int, list[Member]] | None = None
    #: rows to insert in bulk at the end (building ORM objects costs ~1 ms each)
    new_checkins: list[dict[str, Any]] = field(default_factory=list)

    @property
    def conversations(self) -> dict[int, Conversation]:
        return self.openings.loaded

    def write(self, ctx: Context) -> None:
        ctx.repos.checkins.insert_many(self.new_checkins)
        self.new_checkins.clear()
        self.openings.write(ctx)


def _load(ctx: Context, ids: list[int], since: datetime | None) -> _Batch:
    """Who takes part, how to reach them, their interviews and (from ``since``) their check-ins."""
    repo = ctx.repos.checkins
    rows = repo.rows_of(ids, since) if since is not None else {}
    return _Batch(repo.eligible(ids), repo.identities_of(ids), Openings(ctx.repos.conversations.of(ids)), rows)


async def run_checkins(ctx: Context) -> bool:
    """Plans for new pairs, then the prompts that are due, then the reminders, at most a batch
    of each; True when a batch was full, so the engine runs the job again."""
    cfg, repo = ctx.settings.checkins, ctx.repos.checkins
    marks = repo.marks()
    _follow_config(ctx, marks.get("default"))
    zones = ctx.due_every("checkins-timezones", ZONE_CHECK_EVERY)
    if zones:
        ctx.repos.checkins.follow_new_timezones(ctx.now)
    planned = _plan_new_pairs(ctx, int(marks.get("pair_mark", 0)))
    due = repo.due_plans(ctx.now, cfg.batch)
    if due:
        ids = [m.id for _, m in due if m.id is not None]
        # a day earlier: a mentee who moved east may have had a check-in before the cached time
        batch = _load(ctx, ids, min(p.next_due_at for p, _ in due) - timedelta(days=1))
        for plan, member in due:
            _advance(ctx, plan, member, batch)
            repo.save(plan)
        batch.write(ctx)
    # only once the timezones were followed (a move may bring a prompt forward) may the job rest
    plan_at, prompted_at = repo.next_duties() if zones else (None, None)
    reminded = _remind(ctx) if not zones or _reminder_due(ctx, prompted_at) else 0
    if zones:
        _rest_until_next_duty(ctx, plan_at, prompted_at)
    return cfg.batch in (planned, len(due), reminded)


def _reminder_due(ctx: Context, prompted_at: datetime | None) -> bool:
    """Is a reminder due, given when the oldest prompt not reminded yet went (``next_duties``)?"""
    after = reminder_after(ctx)
    return bool(after) and prompted_at is not None and prompted_at + after <= ctx.now


def _rest_until_next_duty(ctx: Context, plan_at: datetime | None, prompted_at: datetime | None) -> None:
    """Nothing is due before the next plan or the next reminder (new pairs come with a
    command, which wakes the job): the ticks until then skip the job (``Context.quiet_until``)."""
    after = reminder_after(ctx)
    if prompted_at is not None and after:
        ctx.quiet_until(prompted_at + after)
    ctx.quiet_until(plan_at or ctx.now + NO_PLAN_REST)


def _follow_config(ctx: Context, seen: str | None) -> None:
    """A new default schedule in the config reaches the plans that follow it (one UPDATE)."""
    default = ctx.settings.checkins.schedule
    if seen != default:
        if seen is not None:
            ctx.repos.checkins.follow_new_default(ctx.now)
        ctx.repos.kv.set("checkins", "default", default)


def _plan_new_pairs(ctx: Context, mark: int) -> int:
    """A plan for each newly paired mentee, its first prompt the first occurrence after pairing.
    Returns how many new pairs it looked at."""
    repo, kv = ctx.repos.checkins, ctx.repos.kv
    new = repo.new_pairs(mark, ctx.settings.checkins.batch)
    if not new:
        return 0
    planned = set(repo.plans_of({m.id for _, m in new if m.id is not None}))
    for pair, mentee in new:
        if pair.ended_at is None and mentee.id not in planned:
            repo.save(fresh_plan(ctx, mentee, since=pair.created_at))
            planned.add(mentee.pk)
    kv.set("checkins", "pair_mark", str(new[-1][0].id))
    return len(new)


def _advance(ctx: Context, plan: CheckinPlan, member: Member, batch: _Batch) -> None:
    """Deal with every occurrence of this mentee's schedule up to now, then cache the next one."""
    text, tz = schedule_text(ctx, plan), zone_name(member)
    schedule = weekly(text, tz)
    grace = parse_span_setting(ctx.settings.checkins.grace)
    off = days_off(ctx)
    rows = batch.rows.get(member.pk, [])
    existing = {r.due_at for r in rows}
    asked = [r.due_at for r in rows if r.status != SKIPPED and r.due_at <= ctx.now]
    start, last = plan.next_due_at, max(asked, default=None)
    if plan.tz != tz:  # moved east: today's check-in in the new zone may be past the cached time already
        start = max(start - timedelta(days=1), last + _TICK if last else start)
    past = occurrences(schedule, start, ctx.now + _TICK)[-CATCH_UP:]
    if plan.tz != tz and last is not None:  # moved west: never twice on one local day
        past = [d for d in past if not _same_day(member, d, last)]
    active = member.pk in batch.eligible and not away_now(member, ctx.now)
    for n, due in enumerate(past):
        current = n == len(past) - 1 and ctx.now - due <= grace
        local = due.astimezone(zone_of(member)).date()
        if local in off:
            if current and active:
                _day_off_notice(ctx, member, schedule, due, off[local], batch)
        elif not active or due in existing:
            continue  # no prompt for this mentee now, or answered early / recorded before
        elif not current:
            batch.new_checkins.append(
                dict(mentee_id=member.pk, due_at=due, status=SKIPPED, questions=current_questions(ctx), answers=[], closed_at=ctx.now)
            )
        else:
            _prompt(ctx, plan, member, schedule, due, batch)
            last = due
    upcoming = next_occurrence(schedule, ctx.now)
    if last is not None and _same_day(member, upcoming, last):  # a new zone: not twice on one local day
        upcoming = next_occurrence(schedule, upcoming)
    plan.next_due_at, plan.tz, plan.basis = upcoming, tz, text


def _same_day(member: Member, a: datetime, b: datetime) -> bool:
    zone = zone_of(member)
    return a.astimezone(zone).date() == b.astimezone(zone).date()


def _day_off_notice(ctx: Context, member: Member, schedule: WeeklySchedule, due: datetime, label: str, batch: _Batch) -> None:
    """Told at the first prompt of a break, with the date of the next one, rather than silence."""
    before = previous_occurrence(schedule, due - _TICK)
    if before.astimezone(zone_of(member)).date() in days_off(ctx):
        return  # told at the start of this break already
    ident = pick_identity(ctx, member, batch.idents.get(member.pk, []))
    if ident is None:
        return
    lang = ctx.language_of(member)
    today = lang._("No check-in today ({label}).", label=label) if label else lang._("No check-in today: it's a programme day off.")
    upcoming = lang._("Your next one is {when}.", when=when_zoned(next_prompt(ctx, schedule, due), member, lang))
    text = f"{today} {upcoming}"
    ctx.queue_dm(member.pk, DirectMessage(to=ident, text=text, key=f"checkin-off:{member.pk}:{due.isoformat()}"))


def _prompt(ctx: Context, plan: CheckinPlan, member: Member, schedule: WeeklySchedule, due: datetime, batch: _Batch) -> None:
    for row in batch.rows.get(member.pk, []):
        if row.status == PROMPTED and row.due_at < due:
            row.status, row.closed_at = MISSED, ctx.now
            ctx.repos.checkins.save(row)
            plan.misses_in_row += 1
            if plan.misses_in_row == 2:
                _two_misses(ctx, member, row, batch)
    questions = current_questions(ctx)
    batch.new_checkins.append(
        dict(mentee_id=member.pk, due_at=due, status=PROMPTED, questions=questions, answers=[], prompted_at=ctx.now)
    )
    ident = pick_identity(ctx, member, batch.idents.get(member.pk, []))
    if ident is None:
        return  # no running platform reaches them; !checkin still answers it
    data = {"due": due.isoformat(), "questions": questions}
    conv = batch.conversations.get(member.pk)
    busy = conv is not None and conv.flow != FLOW
    if conv is None or (conv.flow == FLOW and conv.data.get("due") != data["due"]):
        open_interview(ctx, member.pk, FLOW, ident.platform, data, batch)
    lang = ctx.language_of(member)
    text = prompt_text(ctx, member, questions, due, next_prompt(ctx, schedule, due), lang)
    if busy:
        busy_line = lang._("(You're answering other questions of mine first: send {command} when you're done.)", command=ctx.command("checkin"))
        text = f"{text}\n{busy_line}"
    ctx.queue_dm(
        member.pk,
        DirectMessage(
            to=ident, text=text, key=f"checkin:{member.pk}:{due.isoformat()}",
            buttons=answer_button(ctx, lang), form=answer_form(ctx, questions, lang),
        )
    )


def _two_misses(ctx: Context, member: Member, row: Checkin, batch: _Batch) -> None:
    """Once per run of misses: the mentors (lead and co-mentors) are told in private."""
    if batch.mentors is None:
        batch.mentors = ctx.repos.checkins.mentors_of(batch.eligible)
    for mentor in batch.mentors.get(member.id, []) if member.id is not None else []:
        lang = ctx.language_of(mentor)
        ctx.dm(
            mentor,
            lang._(
                "{name} has missed two check-ins in a row (the last one was for {when}). A friendly private word may help.",
                name=named(member), when=when_zoned(row.due_at, mentor, lang),
            ),
            key=f"checkin-missed:{member.id}:{row.due_at.isoformat()}:{mentor.id}",
        )


def _remind(ctx: Context) -> int:
    """Once per check-in, ``reminder_after`` the prompt, while it is open and the mentee takes part.
    Returns how many open check-ins it dealt with."""
    after = reminder_after(ctx)
    if not after:
        return 0
    repo = ctx.repos.checkins
    due = repo.reminders_due(ctx.now - after, ctx.settings.checkins.batch)
    if not due:
        return 0
    ids = [m.id for _, m in due if m.id is not None]
    batch = _load(ctx, ids, None)
    plans = repo.plans_of(ids)
    asides = ctx.repos.aside.of(ids, FLOW)
    for row, member in due:
        row.reminded_at = ctx.now
        repo.save(row)
        ident = pick_identity(ctx, member, batch.idents.get(member.pk, []))
        if member.pk not in batch.eligible or away_now(member, ctx.now) or ident is None:
            continue
        schedule = schedule_of(ctx, plans.get(member.pk), member)
        until = next_prompt(ctx, schedule, row.due_at)
        lang = ctx.language_of(member)
        lines = [
            lang._(
                "Reminder: your check-in for {when} is still open; answers count until {until}.",
                when=when(row.due_at, member, lang), until=when_zoned(until, member, lang),
            ),
            *_asking(ctx, member.id, row, batch.conversations.get(member.id), asides.get(member.id), ident.platform, batch, lang),
        ]
        ctx.queue_dm(
            member.pk,
            DirectMessage(
                to=ident, text="\n".join(lines), key=f"checkin-remind:{row.id}",
                buttons=answer_button(ctx, lang), form=answer_form(ctx, row.questions, lang),
            )
        )
    batch.write(ctx)
    return len(due)


def _asking(
    ctx: Context, member_id: int, row: Checkin, conv: Conversation | None, aside: AsideInterview | None, platform: str,
    batch: _Batch, lang: Language,
) -> list[str]:
    """How a reminder asks: every question, the one the interview waits at (a check-in put aside
    with !later comes back where it stopped), or the command to send after another interview."""
    due = row.due_at.isoformat()
    if conv is None and aside is not None and aside.data.get("due") == due:
        conv = ctx.reopen_aside(aside, platform)
    if conv is None or (conv.flow == FLOW and conv.data.get("due") != due):
        open_interview(ctx, member_id, FLOW, platform, {"due": due, "questions": row.questions}, batch)
        return [lang._("Reply here with your answers:"), *numbered_questions(ctx, row.questions, lang)]
    if conv.flow == FLOW:
        return [lang._("Reply here; I'm waiting for your answer to: {question}", question=question_in(ctx, row.questions[int(conv.step[1:])], lang))]
    return [lang._("Send {command} to answer it.", command=ctx.command("checkin"))]


# ---------------------------------------------------------------------------- digests


def next_digest(ctx: Context, mentor: Member, after: datetime) -> datetime:
    at = time.fromisoformat(ctx.settings.checkins.digest_time)
    return next_occurrence(WeeklySchedule(tuple(range(7)), at, zone_name(mentor)), after)


def digest_text(ctx: Context, mentor: Member, items: Sequence[tuple[Member, Checkin]]) -> str:
    """A mentor's digest, in their language (it is a DM to them, from a job or a command)."""
    lang = ctx.language_of(mentor)
    lines = [lang._("Check-in digest (times in {zone}):", zone=zone_name(mentor))]
    lines += [dated_line(ctx, row, mentor, lang, who=mentee.handle) for mentee, row in items[:DIGEST_SHOWN]]
    if len(items) > DIGEST_SHOWN:
        lines.append(
            lang.ngettext(
                "… and {n} more: {command} shows them.", "… and {n} more: {command} shows them.",
                len(items) - DIGEST_SHOWN, command=ctx.command("checkins", "MENTEE"),
            )
        )
    return "\n".join(lines)


def digest_items(ctx: Context, mentees: Sequence[Member], rows: Sequence[Checkin], since: datetime) -> list[tuple[Member, Checkin]]:
    by_id = {m.id: m for m in mentees}
    fresh = [
        r for r in rows
        if r.mentee_id in by_id
        and any(t is not None and t > since for t in (r.answered_at, r.edited_at, r.closed_at if r.status == MISSED else None))
    ]
    return [(by_id[r.mentee_id], r) for r in fresh]


async def run_digests(ctx: Context) -> None:
    """Each digest reader, at their local digest time, gets what their mentees did since the last one."""
    repo = ctx.repos.checkins
    due = repo.digests_due(ctx.now, ctx.settings.checkins.batch)
    if not due:  # new readers come with a command, which wakes the job
        ctx.quiet_until(repo.next_digest_at() or ctx.now + NO_PLAN_REST)
        return
    mentees = repo.mentees_of([m.id for _, m in due if m.id is not None])
    ids = {x.id for group in mentees.values() for x in group if x.id is not None}
    rows = repo.activity(ids, min(d.since for d, _ in due)) if ids else []
    for digest, mentor in due:
        items = digest_items(ctx, mentees.get(digest.member_id, []), rows, digest.since)
        if items:
            ctx.dm(mentor, digest_text(ctx, mentor, items), key=f"checkin-digest:{mentor.id}:{digest.next_at.isoformat()}")
        digest.since, digest.next_at = ctx.now, next_digest(ctx, mentor, ctx.now)
        repo.save(digest)
