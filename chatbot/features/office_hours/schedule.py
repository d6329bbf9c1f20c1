"""Scheduled office hours: which occurrence a channel is in, and the job that serves them.

The job asks "what is due now?" for each configured schedule and records what it did per
occurrence (``OhScheduleRun``), so ticks are idempotent and a restart resends nothing: the
announcement, the hosts' reminder, the automatic opening and the reminder to close, each once.

Opening a queue is the commands' business (it announces and tells whoever asked for a DM), so
the job is handed the function that opens one (``Opener``) instead of importing the commands.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from chatbot.config import OfficeHourSchedule
from chatbot.context import Context
from chatbot.events import Where
from chatbot.features.office_hours.line import took
from chatbot.features.office_hours.names import channel_language, channel_name, name_on
from chatbot.i18n import ENGLISH, Language
from chatbot.domain.recurrence import occurrences
from chatbot.people import away_now, clock_time, zone_name
from storage.office_hours import OfficeHour
from storage.tables import Member

#: how far back the scheduler looks for an occurrence whose close reminder may still be due
LOOKBACK = timedelta(hours=6)

#: opens a channel's queue: (ctx, platform, channel, hosts, topic, opened by member id)
Opener = Callable[[Context, str, str, list[Member], str | None, int | None], OfficeHour]


def local(instant: datetime, tz: str, lang: Language = ENGLISH) -> str:
    """``Tue 5 Jan 16:00 (Europe/Berlin)``: a time for a person, with the zone named."""
    return lang._("{time} ({zone})", time=clock_time(instant, ZoneInfo(tz), lang), zone=tz)


def schedules_of(ctx: Context, platform: str, channel: str) -> list[OfficeHourSchedule]:
    return [s for s in ctx.settings.office_hours.schedule if s.where == (platform, channel)]


def lead(ctx: Context) -> timedelta:
    cfg = ctx.settings.office_hours
    return timedelta(minutes=max(cfg.announce_lead_minutes, cfg.host_reminder_minutes))


def current_occurrence(ctx: Context, platform: str, channel: str) -> tuple[OfficeHourSchedule, datetime] | None:
    """The scheduled office hour this channel is in (or about to be in), if any."""
    for sched in schedules_of(ctx, platform, channel):
        span = timedelta(minutes=sched.duration_minutes)
        for start in occurrences(sched.weekly(), ctx.now - span, ctx.now + lead(ctx) + timedelta(seconds=1)):
            if start - lead(ctx) <= ctx.now < start + span:
                return sched, start
    return None


def next_hint(ctx: Context, platform: str, channel: str) -> str:
    """``Next: Tue 5 Jan 16:00 (Europe/Berlin).`` for the asker, or "" unscheduled."""
    starts = []
    for sched in schedules_of(ctx, platform, channel):
        found = occurrences(sched.weekly(), ctx.now, ctx.now + timedelta(days=15))
        if found:
            starts.append((found[0], sched.timezone))
    if not starts:
        return ""
    start, tz = min(starts)
    return ctx._("Next: {when}.", when=local(start, zone_name(ctx.member, tz), ctx.language))


# ---------------------------------------------------------------------------- the job


def _members(ctx: Context, handles: list[str]) -> list[Member]:
    found = [ctx.repos.members.by_handle(h) for h in handles]
    return [m for m in found if m is not None]


async def run_schedules(ctx: Context, open_queue: Opener) -> None:
    """Announce, remind, open and remind to close, each once per occurrence."""
    for sched in ctx.settings.office_hours.schedule:
        for start in occurrences(
            sched.weekly(),
            ctx.now - timedelta(minutes=sched.duration_minutes + ctx.settings.office_hours.close_reminder_minutes) - LOOKBACK,
            ctx.now + lead(ctx) + timedelta(seconds=1),
        ):
            _tick(ctx, sched, start, open_queue)


def _tick(ctx: Context, sched: OfficeHourSchedule, start: datetime, open_queue: Opener) -> None:
    cfg = ctx.settings.office_hours
    repo = ctx.repos.office_hours
    end = start + timedelta(minutes=sched.duration_minutes)
    platform, channel = sched.where
    where = channel_name(ctx, platform, channel)
    run = repo.run_for(sched.key, start)
    hour = repo.open_hour(platform, channel)
    now = ctx.now
    key = f"oh:{sched.key}:{start.isoformat()}"
    if run.announced_at is None and start - timedelta(minutes=cfg.announce_lead_minutes) <= now < end:
        if hour is None:
            _announce_upcoming(ctx, sched, start)
        run.announced_at = now
    if run.hosts_reminded_at is None and start - timedelta(minutes=cfg.host_reminder_minutes) <= now < end:
        if hour is None:
            for host in _members(ctx, sched.hosts):
                if not away_now(host, now):
                    lang = ctx.language_of(host)
                    fields = {"where": where, "when": local(start, zone_name(host, sched.timezone), lang), "prefix": ctx.prefix}
                    text = (
                        lang._("Reminder: you host office hours in {where} at {when}; they open by themselves then "
                               "with you on duty ({prefix}oh duty off there if you can't make it).", **fields)
                        if sched.auto_open
                        else lang._("Reminder: you host office hours in {where} at {when}; "
                                    "say {prefix}oh open there when you're ready.", **fields)
                    )
                    ctx.dm(host, text, key=f"{key}:remind:{host.id}")
        run.hosts_reminded_at = now
    if sched.auto_open and run.opened_at is None and start <= now < end:
        if hour is None:
            hour = _auto_open(ctx, sched, key, open_queue)
        run.opened_at, run.session_id = now, hour.id if hour else None
    if run.close_reminded_at is None and now >= end + timedelta(minutes=cfg.close_reminder_minutes):
        if hour is not None and hour.opened_at < end:
            waiting = len(repo.waiting(hour.pk))
            for duty in repo.on_duty(hour.pk):
                host = ctx.repos.members.get(duty.member_id)
                if host is not None:
                    lang = ctx.language_of(host)
                    ctx.dm(host, lang.ngettext(
                        "Office hours in {where} were to end at {when}; {n} still waiting. "
                        "Say {prefix}oh close there when you're done.",
                        "Office hours in {where} were to end at {when}; {n} still waiting. "
                        "Say {prefix}oh close there when you're done.",
                        waiting, where=where, when=local(end, zone_name(host, sched.timezone), lang), prefix=ctx.prefix,
                    ), key=f"{key}:close:{host.id}")
        run.close_reminded_at = now
    repo.save_run(run)


def _announce_upcoming(ctx: Context, sched: OfficeHourSchedule, start: datetime) -> None:
    platform, channel = sched.where
    lang = channel_language(ctx, platform, channel)
    names = [name_on(ctx, m.id, platform) for m in _members(ctx, sched.hosts)]
    fields = {
        "hosts": lang.join(names) if names else lang._("our hosts"),
        "topic": sched.topic_in(lang),
        "time": lang.time(start.astimezone(ZoneInfo(sched.timezone))),
        "zone": sched.timezone,
        "wait": took(start - ctx.now, lang),
    }
    if ctx.now < start:
        text = (
            lang._("Office hours here start at {time} ({zone}), in {wait}, with {hosts} (topic: {topic}).", **fields)
            if sched.topic else lang._("Office hours here start at {time} ({zone}), in {wait}, with {hosts}.", **fields)
        )
    else:
        text = (
            lang._("Office hours here start now, with {hosts} (topic: {topic}).", **fields)
            if sched.topic else lang._("Office hours here start now, with {hosts}.", **fields)
        )
    notify = lang._("{prefix}q notify gets you a DM when they open.", prefix=ctx.prefix)
    ctx.announce(Where(platform, channel), " ".join((text, notify)))


def _auto_open(ctx: Context, sched: OfficeHourSchedule, key: str, open_queue: Opener) -> OfficeHour | None:
    platform, channel = sched.where
    hosts = [
        m for m in _members(ctx, sched.hosts)
        if not away_now(m, ctx.now) and ctx.roles_of(m) & {"host", "admin"}
    ]
    if not hosts:
        lang = channel_language(ctx, platform, channel)
        ctx.announce(Where(platform, channel), lang._("Office hours were due to open now, but no host is available, sorry."))
        return None
    hour = open_queue(ctx, platform, channel, hosts, sched.topic, None)
    for host in hosts:
        ctx.dm(host, ctx.language_of(host)._(
            "Office hours in {where} are open, with you on duty: {prefix}next there takes the first person.",
            where=channel_name(ctx, platform, channel), prefix=ctx.prefix,
        ), key=f"{key}:opened:{host.id}")
    return hour
