"""Office hours: a queue that hosts run in a channel (the commands, and the Feature).

Hosts open it (``!oh open``), take people one at a time (``!next``, ``!done``, ``!skip``) and
close it; anyone in the channel gets in line with ``!q join``. Each host has their own current
person, so two hosts can help two people at once. A queue is open only while a host is on duty:
the last host going off duty closes it and tells whoever was still waiting.

Why it is shaped like this:
- **The queue is the database.** Every change is a row change in ``storage.office_hours`` in the
  same transaction as its messages, so a restart finds the line exactly as it was.
- **Short, one-line replies** that read well on IRC; long lines are summarised, never flooded.
  Calls ping exactly the person called (``mention``) and reach them by DM too. A DM names the
  channel as its platform's people do (``names``), never by a raw id.
- **Small modules for the pure parts**: the line and its estimates (``line``),
  scheduled sessions and their job (``schedule``), summaries, figures and the CSV
  export (``report``). This module keeps the commands and what they share.

Anonymous visitors (an IRC nick without a services account) are refused every non-"anyone"
command by the engine, so the queue commands are declared for "anyone" and the config rule
``[office_hours] allow_anonymous`` is applied here, as a data rule.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from chatbot.commands import ActionError, Arg, CommandSpec, Example
from chatbot.context import Context, Feature, Job
from chatbot.events import Identity, Where
from chatbot.features.office_hours import leavers
from chatbot.i18n import Language, N_
from chatbot.wording import sentences
from chatbot.features.away import away_now
from chatbot.features.office_hours.line import Line, about, compact, expected_waits, took
from chatbot.features.office_hours.names import channel_language, channel_name, name_on
from chatbot.features.office_hours.report import compute_stats, export_help_log, percentile, stats_text, summary
from chatbot.features.office_hours.schedule import current_occurrence, next_hint, run_schedules, tz_of
from storage.office_hours import OfficeHoursRepo, OhDuty, OhEntry, OfficeHour
from storage.tables import Member

#: what this module offers; the pure helpers are re-exported for callers that import them from here
__all__ = ["FEATURE", "about", "compact", "expected_waits", "export_help_log", "percentile"]

TOPIC_MAX = 120

ANONYMOUS_REFUSAL = N_(
    "Joining the queue needs you to be logged in to your account here (on IRC: identify to services first)."
)


# ---------------------------------------------------------------------------- small helpers


def _repo(ctx: Context) -> OfficeHoursRepo:
    return ctx.repos.office_hours


def _here(ctx: Context) -> tuple[str, str]:
    assert ctx.where is not None and ctx.where.channel is not None  # the specs are channel-scoped
    return ctx.where.platform, ctx.where.channel


def _clean_topic(topic: str | None) -> str | None:
    text = " ".join((topic or "").split())
    if not text:
        return None
    return text if len(text) <= TOPIC_MAX else text[: TOPIC_MAX - 1] + "…"


def _names(names: list[str], most: int = 5) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" +{len(names) - most}" if len(names) > most else "")


def _identity(entry: OhEntry) -> Identity:
    return Identity(entry.platform, entry.account, entry.nick)


def _has_dms(ctx: Context, platform: str) -> bool:
    caps = ctx.capabilities(platform)
    return caps is None or caps.direct_messages


def _tell(ctx: Context, entry: OhEntry, hour: OfficeHour, private: str, public: str) -> None:
    """Tell a person in line: by DM where their platform has DMs, else in the channel."""
    member = ctx.repos.members.get(entry.member_id) if entry.member_id is not None else None
    if member is not None and _has_dms(ctx, entry.platform) and ctx.dm(member, private):
        return
    ctx.announce(Where(hour.platform, hour.channel), public, mention=_identity(entry))


def _reader(ctx: Context, entry: OhEntry) -> Language:
    """The language a person in line reads their DMs in (the answer's for a visitor without an
    account, who gets no DM)."""
    member = ctx.repos.members.get(entry.member_id) if entry.member_id is not None else None
    return ctx.language_of(member) if member is not None else ctx.language


def _dm_entry(ctx: Context, entry: OhEntry, text: str) -> None:
    """A DM to a person in line if they have an account (anonymous visitors have no DM)."""
    member = ctx.repos.members.get(entry.member_id) if entry.member_id is not None else None
    if member is not None:
        ctx.dm(member, text)


# ---------------------------------------------------------------------------- guards


def _closed_text(ctx: Context, platform: str, channel: str) -> str:
    """What the asker hears of closed office hours; ``!q notify`` only if they may use it (an
    anonymous visitor cannot: nobody could DM them)."""
    notify, _ = ctx.commands.find(["q", "notify"])
    return sentences(
        ctx._("Office hours are closed here."),
        next_hint(ctx, platform, channel),
        ctx._("{prefix}q notify gets you a DM when they open.", prefix=ctx.prefix) if notify and ctx.may_use(notify) else "",
    )


def _require_open(ctx: Context) -> OfficeHour:
    platform, channel = _here(ctx)
    hour = _repo(ctx).open_hour(platform, channel)
    if hour is None:
        raise ActionError(_closed_text(ctx, platform, channel))
    return hour


def _require_duty(ctx: Context, hour: OfficeHour) -> Member:
    host = ctx.require_member()
    if _repo(ctx).duty_of(hour.pk, host.pk) is None:
        raise ActionError(ctx._("You are not on duty here: {prefix}oh duty on first.", prefix=ctx.prefix))
    if away_now(host, ctx.now):  # a duty left over from before the away time: away means no duty
        raise ActionError(ctx._("You are away until {until}: {prefix}back first, or {prefix}oh duty off.",
                                until=host.away_until, prefix=ctx.prefix))
    return host


def _check_not_away(member: Member, ctx: Context) -> None:
    if away_now(member, ctx.now):
        raise ActionError(ctx._("You are away until {until}, so you cannot go on duty.", until=member.away_until))


def _off_duty(ctx: Context, hour: OfficeHour, duty: OhDuty, host: Member) -> tuple[str, list[OhDuty]]:
    """End a host's duty (and their current help); the last host off closes the queue.
    Returns a note on the help that ended ("" if none) and the hosts still on duty."""
    repo = _repo(ctx)
    note = ""
    current = repo.current_of(hour.pk, host.pk)
    if current is not None:
        note = ctx._("Your help with {nick} ended ({took}).", nick=current.nick, took=took(_end(ctx, current, "helped"), ctx.language))
    repo.end_duty(duty, ctx.now)
    remaining = repo.on_duty(hour.pk)
    if not remaining:
        _close(ctx, hour, "no host")
    return note, remaining


def leave_every_duty(ctx: Context, host: Member) -> list[str]:
    """Take a host off duty everywhere (they are going away); returns the channels' names.
    Called by ``!away until``: away promises no office-hour duty."""
    left = []
    for duty, hour in _repo(ctx).duties_of_member(host.pk):
        _off_duty(ctx, hour, duty, host)
        left.append(channel_name(ctx, hour.platform, hour.channel))
    return left


# ---------------------------------------------------------------------------- opening and closing


def _open(ctx: Context, platform: str, channel: str, hosts: list[Member], topic: str | None, by: int | None) -> OfficeHour:
    """Open a channel's queue with ``hosts`` on duty; announce it and send the ``!q notify`` DMs."""
    repo = _repo(ctx)
    occurrence = current_occurrence(ctx, platform, channel)
    if topic is None and occurrence is not None:  # the schedule's, as the channel's language words it
        topic = occurrence[0].topic_in(channel_language(ctx, platform, channel))
    hour = repo.start_hour(platform, channel, topic, by, ctx.now)
    for host in hosts:
        repo.start_duty(hour.pk, host.pk, ctx.now)
    if occurrence is not None:
        run = repo.run_for(occurrence[0].key, occurrence[1])
        run.opened_at, run.session_id = run.opened_at or ctx.now, hour.id
        repo.save_run(run)
    names = [name_on(ctx, h.id, platform) for h in hosts]
    lang = channel_language(ctx, platform, channel)
    ctx.announce(
        Where(platform, channel),
        sentences(
            lang._("Office hours are open with {hosts} (topic: {topic}).", hosts=lang.join(names), topic=topic)
            if topic else lang._("Office hours are open with {hosts}.", hosts=lang.join(names)),
            _join_hint(ctx, lang),
        ),
    )
    for notice in repo.notices_for(platform, channel):
        member = ctx.repos.members.get(notice.member_id)
        if member is not None:
            reader = ctx.language_of(member)
            ctx.dm(member, reader._("Office hours are open in {where} now, with {hosts}: {prefix}q join there gets you in line.",
                                    where=channel_name(ctx, platform, channel), hosts=reader.join(names), prefix=ctx.prefix))
        repo.remove_notice(notice)
    return hour


def _join_hint(ctx: Context, lang: Language) -> str:
    return lang._("{prefix}q join [TOPIC] gets you in line.", prefix=ctx.prefix)


def _end(ctx: Context, entry: OhEntry, outcome: str) -> timedelta:
    """End an entry with an outcome; returns how long the help took (zero if never called)."""
    entry.status, entry.outcome, entry.ended_at = "ended", leavers.outcome_of(entry, outcome), ctx.now
    _repo(ctx).save(entry)
    return ctx.now - entry.called_at if entry.called_at else timedelta(0)


def _close(ctx: Context, hour: OfficeHour, reason: str) -> None:
    """Close the queue: helps in progress end, people waiting are told, the channel gets a summary."""
    repo = _repo(ctx)
    leavers.at_close(ctx, hour, _end)
    for entry in repo.called(hour.pk):
        _end(ctx, entry, "helped")
    waiting = repo.waiting(hour.pk)
    for entry in waiting:
        _end(ctx, entry, "closed")
    repo.close_hour(hour, reason, ctx.now)
    lang = channel_language(ctx, hour.platform, hour.channel)
    done = summary(repo.entries(hour.pk), lang)
    text = sentences(
        lang._("Office hours are closed: no host is on duty any more. {summary}.", summary=done)
        if reason == "no host" else lang._("Office hours are closed. {summary}.", summary=done),
        lang._("Still waiting: {names}; sorry! {prefix}q notify gets you a DM when they open again.",
               names=_names([e.nick for e in waiting]), prefix=ctx.prefix)
        if waiting else lang._("Thanks, everyone!"),
    )
    ctx.announce(Where(hour.platform, hour.channel), text)
    for entry in waiting:
        _dm_entry(
            ctx, entry,
            _reader(ctx, entry)._(
                "Office hours in {where} closed before your turn, sorry. {prefix}q notify there gets you a DM when they open again.",
                where=channel_name(ctx, hour.platform, hour.channel), prefix=ctx.prefix,
            ),
        )


def _nearly_up(ctx: Context, hour: OfficeHour) -> None:
    """Whoever has become first or second in line without being told so is told now."""
    line = Line.of(ctx, hour)
    waits = line.waits()
    for n, (entry, wait) in enumerate(zip(line.waiting[:2], waits), 1):
        if entry.nearly_told:
            continue
        entry.nearly_told = True
        _repo(ctx).save(entry)
        where = channel_name(ctx, hour.platform, hour.channel)
        reader, public = _reader(ctx, entry), channel_language(ctx, hour.platform, hour.channel)
        if n == 1:
            private_text = reader._("You're next in line in {where} ({wait}): please be ready when a host calls you.",
                                    where=where, wait=about(wait, reader))
            public_text = public._("you're next in line ({wait}): please be ready when a host calls you.",
                                   wait=about(wait, public))
        else:
            private_text = reader._("You're second in line in {where} ({wait}): please be ready when a host calls you.",
                                    where=where, wait=about(wait, reader))
            public_text = public._("you're second in line ({wait}): please be ready when a host calls you.",
                                   wait=about(wait, public))
        _tell(ctx, entry, hour, private_text, public_text)


# ---------------------------------------------------------------------------- host commands


async def oh_open(ctx: Context, topic: str | None) -> None:
    host = ctx.require_member()
    platform, channel = _here(ctx)
    existing = _repo(ctx).open_hour(platform, channel)
    if existing is not None:
        if _repo(ctx).duty_of(existing.pk, host.pk) is not None:
            raise ActionError(ctx._("Office hours are open here already, and you are on duty."))
        raise ActionError(ctx._("Office hours are open here already: {prefix}oh duty on joins the hosts.", prefix=ctx.prefix))
    _check_not_away(host, ctx)
    _open(ctx, platform, channel, [host], _clean_topic(topic), host.id)
    return None


async def oh_close(ctx: Context) -> None:
    _close(ctx, _require_open(ctx), "closed")
    return None


async def oh_duty(ctx: Context, state: str) -> str | None:
    host = ctx.require_member()
    hour = _require_open(ctx)
    repo = _repo(ctx)
    duty = repo.duty_of(hour.pk, host.pk)
    if state == "on":
        _check_not_away(host, ctx)
        if duty is not None:
            return ctx._("You are on duty already.")
        repo.start_duty(hour.pk, host.pk, ctx.now)
        others = [name_on(ctx, d.member_id, hour.platform) for d in repo.on_duty(hour.pk) if d.member_id != host.pk]
        waiting = len(repo.waiting(hour.pk))
        return sentences(
            ctx.ngettext("You're on duty with {others} ({n} host).", "You're on duty with {others} ({n} hosts).",
                         len(others) + 1, others=", ".join(others)),
            ctx.ngettext("{n} waiting: {prefix}next takes the first.", "{n} waiting: {prefix}next takes the first.",
                         waiting, prefix=ctx.prefix),
        )
    if duty is None:
        raise ActionError(ctx._("You are not on duty here."))
    note, remaining = _off_duty(ctx, hour, duty, host)
    if not remaining:
        return note or None
    names = ", ".join(name_on(ctx, d.member_id, hour.platform) for d in remaining)
    waiting = len(repo.waiting(hour.pk))
    if waiting:
        off = ctx.ngettext("You're off duty; {names} carries on ({waiting} waiting).",
                           "You're off duty; {names} carry on ({waiting} waiting).",
                           len(remaining), names=names, waiting=ctx.language.number(waiting))
    else:
        off = ctx.ngettext("You're off duty; {names} carries on (nobody waiting).",
                           "You're off duty; {names} carry on (nobody waiting).", len(remaining), names=names)
    return sentences(off, note)


async def oh_hosts(ctx: Context) -> str:
    platform, channel = _here(ctx)
    hour = _repo(ctx).open_hour(platform, channel)
    if hour is None:
        return _closed_text(ctx, platform, channel)
    line = Line.of(ctx, hour)
    with_whom = {e.host_id: e.nick for e in line.called}
    parts = [
        ctx._("{host} (with {nick})", host=name_on(ctx, h, platform), nick=with_whom[h]) if h in with_whom
        else ctx._("{host} (free)", host=name_on(ctx, h, platform))
        for h in line.hosts
    ]
    return ctx.ngettext("On duty: {hosts}; {n} waiting.", "On duty: {hosts}; {n} waiting.", len(line.waiting),
                        hosts=", ".join(parts))


async def next_(ctx: Context) -> str:
    hour = _require_open(ctx)
    host = _require_duty(ctx, hour)
    repo = _repo(ctx)
    note = ""
    current = repo.current_of(hour.pk, host.pk)
    if current is not None:
        note = ctx._("Done with {nick} ({took}).", nick=current.nick, took=took(_end(ctx, current, "helped"), ctx.language))
    left, waiting = leavers.pass_over(ctx, hour, repo.waiting(hour.pk), _end)
    if not waiting:
        later = ctx._("I'll DM you when someone joins.") if ctx.settings.office_hours.notify_hosts != "none" else ""
        return sentences(note, left, ctx._("Nobody is waiting."), later)
    entry = waiting[0]
    entry.status, entry.called_at, entry.host_id = "called", ctx.now, host.id
    repo.save(entry)
    assert ctx.who is not None
    ctx.announce(
        Where(hour.platform, hour.channel),
        channel_language(ctx, hour.platform, hour.channel)._("{host} is ready for you now.", host=ctx.who.display),
        mention=_identity(entry),
    )
    _dm_entry(ctx, entry, _reader(ctx, entry)._("{host} is ready for you in {where} now.", host=ctx.who.display,
                                                where=channel_name(ctx, hour.platform, hour.channel)))
    _nearly_up(ctx, hour)
    waited = took(ctx.now - entry.joined_at, ctx.language)
    with_ = (
        ctx._("You're with {nick} (waited {waited}; topic: {topic}).", nick=entry.nick, waited=waited, topic=entry.topic)
        if entry.topic else ctx._("You're with {nick} (waited {waited}; no topic given).", nick=entry.nick, waited=waited)
    )
    rest = (
        ctx.ngettext("{n} still waiting.", "{n} still waiting.", len(waiting) - 1) if len(waiting) > 1
        else ctx._("Nobody else is waiting.")
    )
    return sentences(note, left, with_, rest)


async def oh_say(ctx: Context, text: str) -> str:
    """A host tells everyone in line something ("running 10 minutes late"): by DM where their
    platform and account allow one, else in one channel line that names them."""
    hour = _require_open(ctx)
    host = _require_duty(ctx, hour)
    message = " ".join(text.split())
    if not message:
        raise ActionError(ctx._("Say what to tell them: {prefix}oh say running 10 minutes late.", prefix=ctx.prefix))
    repo = _repo(ctx)
    assert ctx.who is not None
    people = [*repo.called(hour.pk), *repo.waiting(hour.pk)]
    if not people:
        return ctx._("Nobody is in line to tell.")
    where = channel_name(ctx, hour.platform, hour.channel)
    by_dm, here = 0, []
    for entry in people:
        member = ctx.repos.members.get(entry.member_id) if entry.member_id is not None else None
        if member is not None and _has_dms(ctx, entry.platform) and ctx.dm(
            member, ctx.language_of(member)._("From {host}, host in {where}: {message}", host=ctx.who.display,
                                              where=where, message=message)
        ):
            by_dm += 1
        else:
            here.append(entry.nick)
    if here:
        ctx.announce(Where(hour.platform, hour.channel), channel_language(ctx, hour.platform, hour.channel)._(
            "{names}: from {host}: {message}", names=_names(here, most=20), host=ctx.who.display, message=message))
    counts = {"by_dm": ctx.language.number(by_dm), "here": ctx.language.number(len(here))}
    if by_dm and here:
        return ctx.ngettext("Told {n} person in line ({by_dm} by DM and {here} here in the channel).",
                            "Told {n} people in line ({by_dm} by DM and {here} here in the channel).", len(people), **counts)
    if by_dm:
        return ctx.ngettext("Told {n} person in line ({by_dm} by DM).", "Told {n} people in line ({by_dm} by DM).",
                            len(people), **counts)
    return ctx.ngettext("Told {n} person in line ({here} here in the channel).",
                        "Told {n} people in line ({here} here in the channel).", len(people), **counts)


def _current(ctx: Context, hour: OfficeHour, host: Member) -> OhEntry:
    entry = _repo(ctx).current_of(hour.pk, host.pk)
    if entry is None:
        raise ActionError(ctx._("You are not with anyone now: {prefix}next calls the next person.", prefix=ctx.prefix))
    return entry


async def done(ctx: Context) -> str:
    hour = _require_open(ctx)
    entry = _current(ctx, hour, ctx.require_member())
    length = took(_end(ctx, entry, "helped"), ctx.language)
    waiting = len(_repo(ctx).waiting(hour.pk))
    after = (
        ctx.ngettext("{n} waiting: {prefix}next when you're ready.", "{n} waiting: {prefix}next when you're ready.",
                     waiting, prefix=ctx.prefix)
        if waiting else ctx._("Nobody is waiting.")
    )
    return sentences(ctx._("Done with {nick} after {took}.", nick=entry.nick, took=length), after)


async def skip(ctx: Context) -> str:
    hour = _require_open(ctx)
    entry = _current(ctx, hour, ctx.require_member())
    repo = _repo(ctx)
    if entry.skips >= 1:
        _end(ctx, entry, "no-show")
        _dm_entry(
            ctx, entry,
            _reader(ctx, entry)._(
                "You missed your turn in {where} again, so you are out of the line. "
                "{prefix}q join there gets you back in, at the end.",
                where=channel_name(ctx, hour.platform, hour.channel), prefix=ctx.prefix,
            ),
        )
        return ctx.ngettext("{nick} did not answer again and is out of the line; {n} waiting.",
                            "{nick} did not answer again and is out of the line; {n} waiting.",
                            len(repo.waiting(hour.pk)), nick=entry.nick)
    entry.skips += 1
    entry.status, entry.called_at, entry.host_id, entry.nearly_told = "waiting", None, None, True
    repo.save(entry)
    others = [e for e in repo.waiting(hour.pk) if e.id != entry.id]
    repo.reorder(others[:1] + [entry] + others[1:])  # behind the next person: a moment to come back
    position = 2 if others else 1
    _dm_entry(
        ctx, entry,
        _reader(ctx, entry)._(
            "You missed your turn in {where}: you're back in line at #{position}. "
            "If you miss the next call too, you lose your place.",
            where=channel_name(ctx, hour.platform, hour.channel), position=position,
        ),
    )
    _nearly_up(ctx, hour)
    return ctx._("{nick} did not answer: back in line at #{position} (last chance). {prefix}next calls the next person.",
                 nick=entry.nick, position=position, prefix=ctx.prefix)


# ---------------------------------------------------------------------------- everyone


def _visitor(ctx: Context) -> tuple[Member | None, Identity]:
    """The asker; anonymous visitors only where the config allows them in."""
    assert ctx.who is not None
    if ctx.member is None and not ctx.settings.office_hours.allow_anonymous:
        raise ActionError(ctx._(ANONYMOUS_REFUSAL))
    return ctx.member, ctx.who


def _entry_of_asker(ctx: Context, hour: OfficeHour) -> OhEntry | None:
    member, who = _visitor(ctx)
    entry = _repo(ctx).active_entry(hour.pk, who.platform, member.pk if member else None, who.display)
    return leavers.here(ctx, entry)


async def q_join(ctx: Context, topic: str | None) -> str:
    hour = _require_open(ctx)
    member, who = _visitor(ctx)
    repo = _repo(ctx)
    line = Line.of(ctx, hour)  # read once: the checks, the new place and the estimate all use it
    if member is not None and member.id in line.hosts:
        raise ActionError(ctx._("You are on duty here: hosts take people with {prefix}next.", prefix=ctx.prefix))
    topic = _clean_topic(topic)
    entry = _entry_of_asker(ctx, hour)
    if entry is not None:
        if entry.status == "called":
            raise ActionError(ctx._("{host} is with you now.", host=name_on(ctx, entry.host_id, hour.platform)))
        n = line.position(entry)
        wait = about(line.waits()[n - 1], ctx.language)
        if topic and topic != entry.topic:
            entry.topic = topic
            repo.save(entry)
            return ctx._("Topic updated; you're still #{position} in line, {wait}.", position=n, wait=wait)
        return ctx._("You're in line already: #{position}, {wait}.", position=n, wait=wait)
    was_empty, n = not line.waiting, len(line.waiting) + 1  # a newcomer goes to the end of the line
    entry = repo.add_entry(
        OhEntry(
            session_id=hour.pk,
            member_id=member.id if member else None,
            platform=who.platform,
            account=who.account,
            nick=who.display,
            topic=topic,
            joined_at=ctx.now,
            nearly_told=n <= 2,  # the answer below tells them
        ),
        line.waiting,
    )
    line = replace(line, waiting=[*line.waiting, entry])
    wait = line.waits()[n - 1]
    _tell_hosts(ctx, hour, entry, n, was_empty, line.hosts)
    if wait < 1:
        return ctx._("You're #{position} in line: a host will call you any moment now.", position=n)
    return ctx.ngettext("You're #{position} in line, {wait} ({n} host on duty).",
                        "You're #{position} in line, {wait} ({n} hosts on duty).",
                        len(line.hosts), position=n, wait=about(wait, ctx.language))


def _tell_hosts(ctx: Context, hour: OfficeHour, entry: OhEntry, position: int, was_empty: bool, hosts: list[int]) -> None:
    mode = ctx.settings.office_hours.notify_hosts
    if mode == "none" or (mode == "first" and not was_empty):
        return
    where = channel_name(ctx, hour.platform, hour.channel)
    for host_id in hosts:
        host = ctx.repos.members.get(host_id)
        if host is not None:
            lang = ctx.language_of(host)
            fields = {"nick": entry.nick, "where": where, "position": position, "topic": entry.topic, "prefix": ctx.prefix}
            ctx.dm(host, lang._("{nick} joined the line in {where} (#{position}, topic: {topic}). "
                                "{prefix}next there takes the first.", **fields)
                   if entry.topic else lang._("{nick} joined the line in {where} (#{position}). "
                                              "{prefix}next there takes the first.", **fields))


async def q_leave(ctx: Context) -> str:
    platform, channel = _here(ctx)
    hour = _repo(ctx).open_hour(platform, channel)
    entry = _entry_of_asker(ctx, hour) if hour is not None else None
    if hour is None or entry is None:
        raise ActionError(ctx._("You are not in line here."))
    host = name_on(ctx, entry.host_id, platform) if entry.status == "called" else None
    _end(ctx, entry, "left")
    _nearly_up(ctx, hour)
    if host is not None:
        return ctx._("You've left; {host} is free for the next person.", host=host)
    return ctx._("You've left the line. Come back any time.")


async def q_show(ctx: Context) -> str:
    platform, channel = _here(ctx)
    hour = _repo(ctx).open_hour(platform, channel)
    if hour is None:
        return _closed_text(ctx, platform, channel)
    line = Line.of(ctx, hour)
    lang = ctx.language
    if not line.waiting:
        free = len(line.hosts) - len({e.host_id for e in line.called})
        return sentences(
            ctx.ngettext("Nobody is waiting ({n} host on duty, {free} free).",
                         "Nobody is waiting ({n} hosts on duty, {free} free).", len(line.hosts), free=lang.number(free)),
            _join_hint(ctx, lang),
        )
    waits = line.waits()
    most = ctx.settings.office_hours.list_max
    shown = [
        ctx._("{position} {nick} {wait}", position=n, nick=e.nick, wait=compact(w, lang))
        for n, (e, w) in enumerate(zip(line.waiting, waits), 1)
    ][:most]
    if len(line.waiting) > most:
        shown.append(ctx._("+{more} more (last {wait})", more=len(line.waiting) - most, wait=compact(waits[-1], lang)))
    text = ctx.ngettext("{waiting} waiting, {n} host: {people}.", "{waiting} waiting, {n} hosts: {people}.",
                        len(line.hosts), waiting=lang.number(len(line.waiting)), people=", ".join(shown))
    mine = _entry_of_asker(ctx, hour) if ctx.member is not None or ctx.settings.office_hours.allow_anonymous else None
    if mine is not None and mine.status == "waiting" and line.position(mine) > most:
        n = line.position(mine)
        text = sentences(text, ctx._("You: #{position} {wait}.", position=n, wait=compact(waits[n - 1], lang)))
    return text


async def q_notify(ctx: Context, off: str | None) -> str:
    member = ctx.require_member()
    platform, channel = _here(ctx)
    repo = _repo(ctx)
    existing = repo.notice_of(member.pk, platform, channel)
    if off is not None:
        if existing is None:
            return ctx._("You had not asked for a DM here.")
        repo.remove_notice(existing)
        return ctx._("OK: no DM when office hours open here.")
    if repo.open_hour(platform, channel) is not None:
        return ctx._("Office hours are open now: {prefix}q join gets you in line.", prefix=ctx.prefix)
    if existing is not None:
        return ctx._("You're on the list already: one DM when office hours next open here.")
    repo.add_notice(member.pk, platform, channel, ctx.now)
    return sentences(ctx._("I'll DM you once, when office hours next open here."), next_hint(ctx, platform, channel))


# ---------------------------------------------------------------------------- statistics


_CHANNEL_REF = re.compile(r"^(?P<platform>[a-z][a-z0-9_]*):(?P<channel>.+)$")


async def oh_stats(ctx: Context, channel: str | None, days: int | None) -> str:
    assert ctx.where is not None
    if channel is not None and channel.isdigit() and days is None:  # "!oh stats 30"
        channel, days = None, int(channel)
    days = days or 30
    if not 1 <= days <= 3660:
        raise ActionError(ctx._("days must be between 1 and 3660."))
    platform: str | None
    if channel is None:
        platform, channel = (ctx.where.platform, ctx.where.channel) if ctx.where.channel else (None, None)
    elif channel.lower() == "all":
        platform, channel = None, None
    elif m := _CHANNEL_REF.match(channel):
        platform, channel = m["platform"], m["channel"]
    else:
        platform = ctx.where.platform
    since = ctx.now - timedelta(days=days)
    repo = _repo(ctx)
    where = channel_name(ctx, platform or ctx.where.platform, channel) if channel else None
    tz = tz_of(ctx.member)
    st = compute_stats(repo.hours_since(since, platform, channel), repo.help_log(since, platform, channel), tz)
    return stats_text(st, where, days, tz, ctx.language)


# ---------------------------------------------------------------------------- retention


def purge(ctx: Context, cutoff: datetime) -> int:
    """Queue logs older than the retention setting go (sessions closed before ``cutoff``)."""
    return _repo(ctx).purge_before(cutoff)


# ---------------------------------------------------------------------------- declarations

HOST = ("bob: !whoami", "!role grant bob host")
OPEN = (*HOST, "bob #oh: !oh open")
CALLED = (*OPEN, "alice #oh: !q join rebasing my patch", "bob #oh: !next")
CHANNEL = "channel"

FEATURE = Feature(
    name="office_hours",
    commands=(
        CommandSpec(
            ("oh", "open"),
            N_("open office hours in this channel, with you on duty"),
            roles=("host",),
            handler=oh_open,
            args=(Arg("topic", kind="text", rest=True, required=False, help=N_("what these office hours are about")),),
            scope=CHANNEL,
            examples=(Example("bob #oh: !oh open Gerrit and first patches", r"Office hours are open with bob \(topic: Gerrit", setup=HOST),),
        ),
        CommandSpec(
            ("oh", "close"),
            N_("close office hours here (a summary is posted; anyone still waiting is told)"),
            roles=("host", "coordinator"),
            handler=oh_close,
            scope=CHANNEL,
            examples=(Example("bob #oh: !oh close", r"Office hours are closed\. 1 helped", setup=(*CALLED, "bob #oh: !done")),),
        ),
        CommandSpec(
            ("oh", "duty"),
            N_("join or leave the hosts on duty (the last one off closes the queue)"),
            roles=("host",),
            handler=oh_duty,
            args=(Arg("state", choices=("on", "off"), help=N_("on or off")),),
            scope=CHANNEL,
            examples=(
                Example("carol #oh: !oh duty on", r"on duty with bob \(2 hosts\)", setup=(*OPEN, "carol: !whoami", "!role grant carol host")),
                Example("bob #oh: !oh duty off", r"closed: no host is on duty", setup=OPEN),
            ),
        ),
        CommandSpec(
            ("oh", "say"),
            N_("tell everyone in line something, like running late (by DM where possible, else here)"),
            roles=("host",),
            handler=oh_say,
            args=(Arg("text", kind="text", rest=True, help=N_("what to tell them")),),
            scope=CHANNEL,
            examples=(
                Example(
                    "bob #oh: !oh say running 10 minutes late, sorry",
                    r"Told 2 people in line \(2 by DM\)\.",
                    setup=(*OPEN, "alice #oh: !q join", "carol #oh: !q join"),
                ),
            ),
        ),
        CommandSpec(
            ("oh", "hosts"),
            N_("who is on duty here and whom they are with"),
            roles=("anyone",),
            handler=oh_hosts,
            scope=CHANNEL,
            examples=(Example("dave #oh: !oh hosts", r"On duty: bob \(with alice\); 0 waiting", setup=CALLED),),
        ),
        CommandSpec(
            ("oh", "stats"),
            N_("office-hour figures: sessions, helps, waits, no-shows, busiest times (CHANNEL: #name, platform:#name or all)"),
            roles=("host", "coordinator"),
            handler=oh_stats,
            args=(
                Arg("channel", required=False, help=N_("#channel, platform:#channel or all (default: here)")),
                Arg("days", kind="int", required=False, minimum=1, maximum=3660, help=N_("how many days back (default 30)")),
            ),
            examples=(Example("bob #oh: !oh stats", r"1 session, 1 help for 1 person", setup=(*CALLED, "bob #oh: !done")),),
        ),
        CommandSpec(
            ("next",),
            N_("take the first person in line (ends your current help)"),
            roles=("host",),
            handler=next_,
            scope=CHANNEL,
            examples=(Example("bob #oh: !next", r"alice: bob is ready for you now", setup=(*OPEN, "alice #oh: !q join rebasing")),),
        ),
        CommandSpec(
            ("done",),
            N_("end your current help (its length is recorded)"),
            roles=("host",),
            handler=done,
            scope=CHANNEL,
            examples=(Example("bob #oh: !done", r"Done with alice after under a minute", setup=CALLED),),
        ),
        CommandSpec(
            ("skip",),
            N_("the person you called did not answer: back in line behind the next person once, then out"),
            roles=("host",),
            handler=skip,
            scope=CHANNEL,
            examples=(Example("bob #oh: !skip", r"alice did not answer: back in line at #1", setup=CALLED),),
        ),
        CommandSpec(
            ("q", "join"),
            N_("get in line for office hours here (visitors without an account: only if the config allows them in)"),
            roles=("anyone",),
            handler=q_join,
            args=(Arg("topic", kind="text", rest=True, required=False, help=N_("what you need help with")),),
            scope=CHANNEL,
            examples=(Example("alice #oh: !q join How do I rebase?", r"You're #1 in line", setup=OPEN),),
        ),
        CommandSpec(
            ("q", "leave"),
            N_("leave the line (visitors without an account: only if the config allows them in)"),
            roles=("anyone",),
            handler=q_leave,
            scope=CHANNEL,
            examples=(Example("alice #oh: !q leave", r"left the line", setup=(*OPEN, "alice #oh: !q join")),),
        ),
        CommandSpec(
            ("q",),
            N_("the line here, with places and estimated waits"),
            roles=("anyone",),
            handler=q_show,
            scope=CHANNEL,
            examples=(
                Example("carol #oh: !q", r"2 waiting, 1 host: 1 alice now, 2 dave ~10m", setup=(*OPEN, "alice #oh: !q join", "dave #oh: !q join")),
            ),
        ),
        CommandSpec(
            ("q", "notify"),
            N_("one DM when office hours next open here ('off' cancels it)"),
            roles=("member",),
            handler=q_notify,
            args=(Arg("off", choices=("off",), required=False, help=N_("off cancels")),),
            scope=CHANNEL,
            examples=(Example("alice #oh: !q notify", r"I'll DM you once"),),
        ),
    ),
    jobs=(
        Job("office-hours-schedule", partial(run_schedules, open_queue=_open)),
        Job("office-hours-leavers", partial(leavers.expire_leavers, end=_end, nearly_up=_nearly_up)),
    ),
    purge=purge,
    on_presence=leavers.on_presence,
)
