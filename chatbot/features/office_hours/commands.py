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
  export (``report``). The hosts' commands are in ``hosting``, what they share with the
  visitors' commands (guards, opening, closing) in ``queue``; this module keeps the visitors'
  commands, the statistics and the declarations.

Anonymous visitors (an IRC nick without a services account) are refused every non-"anyone"
command by the engine, so the queue commands are declared for "anyone" with the config rule
``[office_hours] allow_anonymous`` declared beside them (``VISITORS``), which the engine applies.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import partial

from chatbot.access import Visitors
from chatbot.commands import ActionError, Arg, CommandSpec, Example
from chatbot.context import Context, Feature, Job
from chatbot.events import Identity
from chatbot.features.office_hours import leavers
from chatbot.i18n import N_
from chatbot.wording import sentences
from chatbot.features.office_hours.hosting import done, next_, oh_close, oh_duty, oh_hosts, oh_open, oh_say, skip
from chatbot.features.office_hours.line import Duty, Line, about, compact, expected_waits
from chatbot.features.office_hours.names import channel_name, name_on
from chatbot.features.office_hours.queue import (
    _clean_topic, _closed_text, _end, _here, _join_hint, _nearly_up, _open, _repo,
)
from chatbot.features.office_hours.report import compute_stats, export_help_log, percentile, stats_text
from chatbot.features.office_hours.schedule import next_hint, run_schedules
from chatbot.people import listed_name, zone_name
from storage.office_hours import AnyHour, Visit
from storage.tables import Member

#: what this module offers; the pure helpers are re-exported for callers that import them from here
__all__ = ["FEATURE", "about", "compact", "expected_waits", "export_help_log", "percentile"]

#: who may get in line without an account: the config says (``[office_hours] allow_anonymous``)
VISITORS = Visitors(
    lambda settings: settings.office_hours.allow_anonymous,
    N_("Joining the queue needs you to be logged in to your account here (on IRC: identify to services first)."),
)


# ---------------------------------------------------------------------------- everyone


def _visitor(ctx: Context) -> tuple[Member | None, Identity]:
    """The asker (a visitor without an account only where ``VISITORS`` let them in)."""
    assert ctx.who is not None
    return ctx.member, ctx.who


def _visit(ctx: Context, line: bool = False) -> Visit | None:
    """The open hour here and the asker's place in its line (with ``line``, the line's summary
    too), in one read (None: closed)."""
    member, who = _visitor(ctx)
    platform, channel = _here(ctx)
    return _repo(ctx).visit(platform, channel, member.pk if member else None, who.display, line)


async def q_join(ctx: Context, topic: str | None) -> str:
    found = _visit(ctx, line=True)
    if found is None:
        raise ActionError(_closed_text(ctx, *_here(ctx)))
    hour, line = found.hour, found.line
    assert line is not None  # asked for
    member, who = _visitor(ctx)
    repo = _repo(ctx)
    duty = Duty.of(ctx, hour)  # read once: the hosts' check and the estimate use it
    if member is not None and member.id in duty.hosts:
        raise ActionError(ctx._("You are on duty here: hosts take people with {prefix}next.", prefix=ctx.prefix))
    topic = _clean_topic(topic)
    entry = leavers.here(ctx, found.place)
    if entry is not None:
        if entry.status == "called":
            raise ActionError(ctx._("{host} is with you now.", host=name_on(ctx, entry.host_id, hour.platform)))
        n = line.place
        assert n is not None  # a waiting entry of this session has a place in its line
        wait = about(duty.waits_of(line.count)[n - 1], ctx.language)
        if topic and topic != entry.topic:
            repo.retopic(entry.id, topic)
            return ctx._("Topic updated; you're still #{position} in line, {wait}.", position=n, wait=wait)
        return ctx._("You're in line already: #{position}, {wait}.", position=n, wait=wait)
    was_empty, n = line.count == 0, line.count + 1  # a newcomer goes to the end of the line
    nick = listed_name(who.display, member)
    repo.join_line(hour.pk, member.id if member else None, (who.platform, who.account, nick), topic, line.last_seq + 1,
                   n <= 2, ctx.now)  # nearly told when first or second: the answer below tells them
    wait = duty.waits_of(n)[n - 1]
    _tell_hosts(ctx, hour, nick, topic, n, was_empty, duty)
    if wait < 1:
        return ctx._("You're #{position} in line: a host will call you any moment now.", position=n)
    return ctx.ngettext("You're #{position} in line, {wait} ({n} host on duty).",
                        "You're #{position} in line, {wait} ({n} hosts on duty).",
                        len(duty.hosts), position=n, wait=about(wait, ctx.language))


def _tell_hosts(ctx: Context, hour: AnyHour, nick: str, topic: str | None, position: int, was_empty: bool, duty: Duty) -> None:
    mode = ctx.settings.office_hours.notify_hosts
    if mode == "none" or (mode == "first" and not was_empty):
        return
    where = channel_name(ctx, hour.platform, hour.channel)
    for host_id in duty.hosts:
        host = duty.people[host_id]
        lang = ctx.language_of(host)
        fields = {"nick": nick, "where": where, "position": position, "topic": topic, "prefix": ctx.prefix}
        ctx.dm(host, lang._("{nick} joined the line in {where} (#{position}, topic: {topic}). "
                            "{prefix}next there takes the first.", **fields)
               if topic else lang._("{nick} joined the line in {where} (#{position}). "
                                    "{prefix}next there takes the first.", **fields))


async def q_leave(ctx: Context) -> str:
    found = _visit(ctx)
    if found is None or found.place is None:
        raise ActionError(ctx._("You are not in line here."))
    hour, entry = found.hour, leavers.here(ctx, found.place)
    assert entry is not None
    host = name_on(ctx, entry.host_id, hour.platform) if entry.status == "called" else None
    _end(ctx, entry, "left")
    _nearly_up(ctx, hour)
    if host is not None:
        return ctx._("You've left; {host} is free for the next person.", host=host)
    return ctx._("You've left the line. Come back any time.")


async def q_show(ctx: Context) -> str:
    found = _visit(ctx)
    if found is None:
        return _closed_text(ctx, *_here(ctx))
    hour = found.hour
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
    mine = leavers.here(ctx, found.place)
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
    if repo.open_hour_here(platform, channel) is not None:
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
    tz = zone_name(ctx.member)
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
            visitors=VISITORS,
            examples=(Example("alice #oh: !q join How do I rebase?", r"You're #1 in line", setup=OPEN),),
        ),
        CommandSpec(
            ("q", "leave"),
            N_("leave the line (visitors without an account: only if the config allows them in)"),
            roles=("anyone",),
            handler=q_leave,
            scope=CHANNEL,
            visitors=VISITORS,
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
