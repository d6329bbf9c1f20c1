"""Office hours, the hosts' commands: open and close the queue, go on and off duty, tell the
line something, and take people one at a time (``!next``, ``!done``, ``!skip``).

What they share with the visitors' commands (guards, opening, closing, telling people in line)
is in ``queue``; the commands are declared in ``commands``.
"""

from __future__ import annotations

from chatbot.commands import ActionError
from chatbot.context import Context
from chatbot.events import Where
from chatbot.features.office_hours import leavers
from chatbot.features.office_hours.line import Line, took
from chatbot.features.office_hours.names import asker_name, channel_language, channel_name, name_on
from chatbot.features.office_hours.queue import (
    _check_not_away, _clean_topic, _closed_text, _dm_entry, _end, _has_dms, _here, _identity, _names,
    _nearly_up, _off_duty, _open, _repo, _require_duty, _require_open, _close,
)
from chatbot.wording import sentences
from storage.office_hours import AnyHour, OhEntry
from storage.tables import Member


# ---------------------------------------------------------------------------- host commands


async def oh_open(ctx: Context, topic: str | None) -> None:
    host = ctx.require_member()
    platform, channel = _here(ctx)
    existing = _repo(ctx).open_hour_here(platform, channel)
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
    hour = _repo(ctx).open_hour_here(platform, channel)
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
        channel_language(ctx, hour.platform, hour.channel)._("{host} is ready for you now.", host=asker_name(ctx)),
        mention=_identity(entry),
    )
    _dm_entry(ctx, entry, lambda reader: reader._("{host} is ready for you in {where} now.", host=asker_name(ctx),
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
    _require_duty(ctx, hour)  # only a host on duty speaks to the line
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
            member, ctx.language_of(member)._("From {host}, host in {where}: {message}", host=asker_name(ctx),
                                              where=where, message=message)
        ):
            by_dm += 1
        else:
            here.append(entry.nick)
    if here:
        ctx.announce(Where(hour.platform, hour.channel), channel_language(ctx, hour.platform, hour.channel)._(
            "{names}: from {host}: {message}", names=_names(here, most=20), host=asker_name(ctx), message=message))
    counts = {"by_dm": ctx.language.number(by_dm), "here": ctx.language.number(len(here))}
    if by_dm and here:
        return ctx.ngettext("Told {n} person in line ({by_dm} by DM and {here} here in the channel).",
                            "Told {n} people in line ({by_dm} by DM and {here} here in the channel).", len(people), **counts)
    if by_dm:
        return ctx.ngettext("Told {n} person in line ({by_dm} by DM).", "Told {n} people in line ({by_dm} by DM).",
                            len(people), **counts)
    return ctx.ngettext("Told {n} person in line ({here} here in the channel).",
                        "Told {n} people in line ({here} here in the channel).", len(people), **counts)


def _current(ctx: Context, hour: AnyHour, host: Member) -> OhEntry:
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
            lambda reader: reader._(
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
        lambda reader: reader._(
            "You missed your turn in {where}: you're back in line at #{position}. "
            "If you miss the next call too, you lose your place.",
            where=channel_name(ctx, hour.platform, hour.channel), position=position,
        ),
    )
    _nearly_up(ctx, hour)
    return ctx._("{nick} did not answer: back in line at #{position} (last chance). {prefix}next calls the next person.",
                 nick=entry.nick, position=position, prefix=ctx.prefix)


