"""When check-ins are due and how their times read: schedules in the mentee's own timezone
(:mod:`chatbot.domain.recurrence`), programme days off, and dates as each reader sees them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Sequence
from functools import lru_cache

from chatbot.config import parse_day_off, parse_span_setting
from chatbot.context import Context
from chatbot.i18n import ENGLISH, Language
from chatbot.domain.recurrence import WeeklySchedule, next_occurrence, parse_schedule
from chatbot.people import clock_time, zone_name, zone_of
from storage.checkins import PROMPTED, CheckinPlan
from storage.tables import Member


def when(instant: datetime, viewer: Member, lang: Language = ENGLISH) -> str:
    """``Mon 4 Jan 10:00`` in the viewer's own timezone and ``lang``."""
    return clock_time(instant, zone_of(viewer), lang)


def when_zoned(instant: datetime, viewer: Member, lang: Language = ENGLISH) -> str:
    return f"{when(instant, viewer, lang)} ({zone_name(viewer)})"


@lru_cache(maxsize=8)
def _days_off(items: tuple[str, ...]) -> dict[date, str]:
    out: dict[date, str] = {}
    for item in items:
        first, last, label = parse_day_off(item)
        for n in range((last - first).days + 1):
            out[first + timedelta(days=n)] = label
    return out


def days_off(ctx: Context) -> dict[date, str]:
    """Programme days off (local dates) with their labels."""
    return _days_off(tuple(ctx.settings.checkins.days_off))


def schedule_text(ctx: Context, plan: CheckinPlan | None) -> str:
    return (plan.schedule if plan else None) or ctx.settings.checkins.schedule


@lru_cache(maxsize=4096)
def weekly(text: str, tz: str) -> WeeklySchedule:
    """A stored schedule (checked when it was set), parsed once per process."""
    return parse_schedule(text, tz)


def schedule_of(ctx: Context, plan: CheckinPlan | None, member: Member) -> WeeklySchedule:
    return own_schedule(ctx, plan.schedule if plan else None, member)


def own_schedule(ctx: Context, own: str | None, member: Member) -> WeeklySchedule:
    """The member's schedule: their own (a plan's ``schedule``), else the programme's."""
    return weekly(own or ctx.settings.checkins.schedule, zone_name(member))


def next_prompt(ctx: Context, schedule: WeeklySchedule, after: datetime) -> datetime:
    """The next occurrence that is not a day off: when a prompt will really be sent."""
    return next_occurrence(schedule, after, days_off(ctx).keys())


def next_asked(ctx: Context, member: Member, schedule: WeeklySchedule, after: datetime) -> datetime:
    """The next prompt that will really be sent: like :func:`next_prompt`, but an occurrence the
    mentee has answered early is passed over (the job sends no prompt for it), so every place
    that names "the next check-in" names the same one."""
    due = next_prompt(ctx, schedule, after)
    for _ in range(8):  # at most a few answered ahead; never loop for ever
        status = ctx.repos.checkins.status_at(member.pk, due)
        if status is None or status == PROMPTED:
            return due
        due = next_prompt(ctx, schedule, due)
    return due


def fresh_plan(ctx: Context, member: Member, schedule: str | None = None, since: datetime | None = None) -> CheckinPlan:
    """A plan whose first prompt is the first occurrence after ``since`` (the pairing)."""
    text = schedule or ctx.settings.checkins.schedule
    tz = zone_name(member)
    return CheckinPlan(
        member_id=member.pk, schedule=schedule, basis=text, tz=tz,
        next_due_at=next_occurrence(weekly(text, tz), min(since or ctx.now, ctx.now)), created_at=ctx.now,
    )


def plan_of(ctx: Context, member: Member) -> CheckinPlan:
    plan = ctx.repos.checkins.plan(member.pk)
    if plan is None:
        plan = fresh_plan(ctx, member)
        ctx.repos.checkins.save(plan)
    return plan


def question_in(ctx: Context, question: Sequence[str], lang: Language) -> str:
    """A question as asked (``[id, kind, text]``, kept with the check-in) in the reader's
    language: the config's own translation while the config still asks it so, else the
    catalogs' (the default questions are there), else as written."""
    qid, text = question[0], question[2]
    for q in ctx.settings.checkins.questions:
        if q.id == qid and q.text == text:
            return q.text_in(lang)
    return lang._(text)


def current_questions(ctx: Context) -> list[list[str]]:
    return [[q.id, q.kind, q.text] for q in ctx.settings.checkins.questions]


def reminder_after(ctx: Context) -> timedelta:
    return parse_span_setting(ctx.settings.checkins.reminder_after)
