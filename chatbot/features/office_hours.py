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
  channel as its platform's people do (``office_hours_names``), never by a raw id.
- **Small modules for the pure parts**: the line and its estimates (``office_hours_line``),
  scheduled sessions and their job (``office_hours_schedule``), summaries, figures and the CSV
  export (``office_hours_report``). This module keeps the commands and what they share.

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
from chatbot.features.away import away_now
from chatbot.features.office_hours_line import Line, about, compact, expected_waits, took
from chatbot.features.office_hours_names import channel_name, name_on
from chatbot.features.office_hours_report import compute_stats, export_help_log, percentile, stats_text, summary
from chatbot.wording import plural
from chatbot.features.office_hours_schedule import current_occurrence, next_hint, run_schedules, tz_of
from storage.office_hours import OfficeHoursRepo, OhDuty, OhEntry, OhSession
from storage.tables import Member

#: what this module offers; the pure helpers are re-exported for callers that import them from here
__all__ = ["FEATURE", "about", "compact", "expected_waits", "export_help_log", "percentile"]

TOPIC_MAX = 120

ANONYMOUS_REFUSAL = (
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


def _tell(ctx: Context, entry: OhEntry, sess: OhSession, private: str, public: str) -> None:
    """Tell a person in line: by DM where their platform has DMs, else in the channel."""
    member = ctx.repos.members.get(entry.member_id) if entry.member_id is not None else None
    if member is not None and _has_dms(ctx, entry.platform) and ctx.dm(member, private):
        return
    ctx.announce(Where(sess.platform, sess.channel), public, mention=_identity(entry))


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
    hint = f" {ctx.prefix}q notify gets you a DM when they open." if notify and ctx.may_use(notify) else ""
    return f"Office hours are closed here.{next_hint(ctx, platform, channel)}{hint}"


def _require_open(ctx: Context) -> OhSession:
    platform, channel = _here(ctx)
    sess = _repo(ctx).open_session(platform, channel)
    if sess is None:
        raise ActionError(_closed_text(ctx, platform, channel))
    return sess


def _require_duty(ctx: Context, sess: OhSession) -> Member:
    host = ctx.require_member()
    if _repo(ctx).duty_of(sess.id, host.id) is None:  # type: ignore[arg-type]
        raise ActionError(f"You are not on duty here: {ctx.prefix}oh duty on first.")
    if away_now(host, ctx.now):  # a duty left over from before the away time: away means no duty
        raise ActionError(f"You are away until {host.away_until}: {ctx.prefix}back first, or {ctx.prefix}oh duty off.")
    return host


def _check_not_away(member: Member, ctx: Context) -> None:
    if away_now(member, ctx.now):
        raise ActionError(f"You are away until {member.away_until}, so you cannot go on duty.")


def _off_duty(ctx: Context, sess: OhSession, duty: OhDuty, host: Member) -> tuple[str, list[OhDuty]]:
    """End a host's duty (and their current help); the last host off closes the queue.
    Returns a note on the help that ended ("" if none) and the hosts still on duty."""
    repo = _repo(ctx)
    note = ""
    current = repo.current_of(sess.id, host.id)  # type: ignore[arg-type]
    if current is not None:
        note = f" Your help with {current.nick} ended ({took(_end(ctx, current, 'helped'))})."
    repo.end_duty(duty, ctx.now)
    remaining = repo.on_duty(sess.id)  # type: ignore[arg-type]
    if not remaining:
        _close(ctx, sess, "no host")
    return note, remaining


def leave_every_duty(ctx: Context, host: Member) -> list[str]:
    """Take a host off duty everywhere (they are going away); returns the channels' names.
    Called by ``!away until``: away promises no office-hour duty."""
    assert host.id is not None
    left = []
    for duty, sess in _repo(ctx).duties_of_member(host.id):
        _off_duty(ctx, sess, duty, host)
        left.append(channel_name(ctx, sess.platform, sess.channel))
    return left


# ---------------------------------------------------------------------------- opening and closing


def _open(ctx: Context, platform: str, channel: str, hosts: list[Member], topic: str | None, by: int | None) -> OhSession:
    """Open a channel's queue with ``hosts`` on duty; announce it and send the ``!q notify`` DMs."""
    repo = _repo(ctx)
    occurrence = current_occurrence(ctx, platform, channel)
    if topic is None and occurrence is not None:
        topic = occurrence[0].topic
    sess = repo.start_session(platform, channel, topic, by, ctx.now)
    for host in hosts:
        repo.start_duty(sess.id, host.id, ctx.now)  # type: ignore[arg-type]
    if occurrence is not None:
        run = repo.run_for(occurrence[0].key, occurrence[1])
        run.opened_at, run.session_id = run.opened_at or ctx.now, sess.id
        repo.save_run(run)
    names = " and ".join(name_on(ctx, h.id, platform) for h in hosts)
    about_topic = f" (topic: {topic})" if topic else ""
    ctx.announce(
        Where(platform, channel),
        f"Office hours are open with {names}{about_topic}. {ctx.prefix}q join [TOPIC] gets you in line.",
    )
    for notice in repo.notices_for(platform, channel):
        member = ctx.repos.members.get(notice.member_id)
        if member is not None:
            ctx.dm(member, f"Office hours are open in {channel_name(ctx, platform, channel)} now, with {names}: "
                           f"{ctx.prefix}q join there gets you in line.")
        repo.remove_notice(notice)
    return sess


def _end(ctx: Context, entry: OhEntry, outcome: str) -> timedelta:
    """End an entry with an outcome; returns how long the help took (zero if never called)."""
    entry.status, entry.outcome, entry.ended_at = "ended", outcome, ctx.now
    _repo(ctx).save(entry)
    return ctx.now - entry.called_at if entry.called_at else timedelta(0)


def _close(ctx: Context, sess: OhSession, reason: str) -> None:
    """Close the queue: helps in progress end, people waiting are told, the channel gets a summary."""
    repo = _repo(ctx)
    assert sess.id is not None
    for entry in repo.called(sess.id):
        _end(ctx, entry, "helped")
    waiting = repo.waiting(sess.id)
    for entry in waiting:
        _end(ctx, entry, "closed")
    repo.close_session(sess, reason, ctx.now)
    why = "Office hours are closed" + (": no host is on duty any more" if reason == "no host" else "")
    text = f"{why}. {summary(repo.entries(sess.id))}."
    if waiting:
        text += (
            f" Still waiting: {_names([e.nick for e in waiting])}; sorry! "
            f"{ctx.prefix}q notify gets you a DM when they open again."
        )
    else:
        text += " Thanks, everyone!"
    ctx.announce(Where(sess.platform, sess.channel), text)
    for entry in waiting:
        _dm_entry(
            ctx, entry,
            f"Office hours in {channel_name(ctx, sess.platform, sess.channel)} closed before your turn, sorry. "
            f"{ctx.prefix}q notify there gets you a DM when they open again.",
        )


def _nearly_up(ctx: Context, sess: OhSession) -> None:
    """Whoever has become first or second in line without being told so is told now."""
    line = Line.of(ctx, sess)
    waits = line.waits()
    for n, (entry, wait) in enumerate(zip(line.waiting[:2], waits), 1):
        if entry.nearly_told:
            continue
        entry.nearly_told = True
        _repo(ctx).save(entry)
        place = "next" if n == 1 else "second"
        _tell(
            ctx, entry, sess,
            f"You're {place} in line in {channel_name(ctx, sess.platform, sess.channel)} ({about(wait)}): "
            "please be ready when a host calls you.",
            f"you're {place} in line ({about(wait)}): please be ready when a host calls you.",
        )


# ---------------------------------------------------------------------------- host commands


async def oh_open(ctx: Context, topic: str | None) -> None:
    host = ctx.require_member()
    platform, channel = _here(ctx)
    existing = _repo(ctx).open_session(platform, channel)
    if existing is not None:
        if _repo(ctx).duty_of(existing.id, host.id) is not None:  # type: ignore[arg-type]
            raise ActionError("Office hours are open here already, and you are on duty.")
        raise ActionError(f"Office hours are open here already: {ctx.prefix}oh duty on joins the hosts.")
    _check_not_away(host, ctx)
    _open(ctx, platform, channel, [host], _clean_topic(topic), host.id)
    return None


async def oh_close(ctx: Context) -> None:
    _close(ctx, _require_open(ctx), "closed")
    return None


async def oh_duty(ctx: Context, state: str) -> str | None:
    host = ctx.require_member()
    sess = _require_open(ctx)
    repo = _repo(ctx)
    assert sess.id is not None and host.id is not None
    duty = repo.duty_of(sess.id, host.id)
    if state == "on":
        _check_not_away(host, ctx)
        if duty is not None:
            return "You are on duty already."
        repo.start_duty(sess.id, host.id, ctx.now)
        others = [name_on(ctx, d.member_id, sess.platform) for d in repo.on_duty(sess.id) if d.member_id != host.id]
        waiting = len(repo.waiting(sess.id))
        return (
            f"You're on duty with {', '.join(others)} ({len(others) + 1} hosts). "
            f"{waiting} waiting: {ctx.prefix}next takes the first."
        )
    if duty is None:
        raise ActionError("You are not on duty here.")
    note, remaining = _off_duty(ctx, sess, duty, host)
    if not remaining:
        return note.strip() or None
    names = ", ".join(name_on(ctx, d.member_id, sess.platform) for d in remaining)
    waiting = len(repo.waiting(sess.id))
    left = f"{waiting} waiting" if waiting else "nobody waiting"
    return f"You're off duty; {names} carr{'ies' if len(remaining) == 1 else 'y'} on ({left}).{note}"


async def oh_hosts(ctx: Context) -> str:
    platform, channel = _here(ctx)
    sess = _repo(ctx).open_session(platform, channel)
    if sess is None:
        return _closed_text(ctx, platform, channel)
    line = Line.of(ctx, sess)
    with_whom = {e.host_id: e.nick for e in line.called}
    parts = [
        f"{name_on(ctx, h, platform)} ({'with ' + with_whom[h] if h in with_whom else 'free'})" for h in line.hosts
    ]
    return f"On duty: {', '.join(parts)}; {len(line.waiting)} waiting."


async def next_(ctx: Context) -> str:
    sess = _require_open(ctx)
    host = _require_duty(ctx, sess)
    repo = _repo(ctx)
    note = ""
    current = repo.current_of(sess.id, host.id)  # type: ignore[arg-type]
    if current is not None:
        note = f"Done with {current.nick} ({took(_end(ctx, current, 'helped'))}). "
    waiting = repo.waiting(sess.id)  # type: ignore[arg-type]
    if not waiting:
        later = " I'll DM you when someone joins." if ctx.settings.office_hours.notify_hosts != "none" else ""
        return f"{note}Nobody is waiting.{later}"
    entry = waiting[0]
    entry.status, entry.called_at, entry.host_id = "called", ctx.now, host.id
    repo.save(entry)
    assert ctx.who is not None
    ctx.announce(Where(sess.platform, sess.channel), f"{ctx.who.display} is ready for you now.", mention=_identity(entry))
    _dm_entry(ctx, entry, f"{ctx.who.display} is ready for you in {channel_name(ctx, sess.platform, sess.channel)} now.")
    _nearly_up(ctx, sess)
    topic = f"topic: {entry.topic}" if entry.topic else "no topic given"
    rest = f"{len(waiting) - 1} still waiting." if len(waiting) > 1 else "Nobody else is waiting."
    return f"{note}You're with {entry.nick} (waited {took(ctx.now - entry.joined_at)}; {topic}). {rest}"


async def oh_say(ctx: Context, text: str) -> str:
    """A host tells everyone in line something ("running 10 minutes late"): by DM where their
    platform and account allow one, else in one channel line that names them."""
    sess = _require_open(ctx)
    host = _require_duty(ctx, sess)
    message = " ".join(text.split())
    if not message:
        raise ActionError(f"Say what to tell them: {ctx.prefix}oh say running 10 minutes late.")
    repo = _repo(ctx)
    assert sess.id is not None and ctx.who is not None
    people = [*repo.called(sess.id), *repo.waiting(sess.id)]
    if not people:
        return "Nobody is in line to tell."
    where = channel_name(ctx, sess.platform, sess.channel)
    by_dm, here = 0, []
    for entry in people:
        member = ctx.repos.members.get(entry.member_id) if entry.member_id is not None else None
        if member is not None and _has_dms(ctx, entry.platform) and ctx.dm(member, f"From {ctx.who.display}, host in {where}: {message}"):
            by_dm += 1
        else:
            here.append(entry.nick)
    if here:
        ctx.announce(Where(sess.platform, sess.channel), f"{_names(here, most=20)}: from {ctx.who.display}: {message}")
    parts = [f"{by_dm} by DM"] if by_dm else []
    parts += [f"{len(here)} here in the channel"] if here else []
    return f"Told {plural(len(people), 'person', 'people')} in line ({' and '.join(parts)})."


def _current(ctx: Context, sess: OhSession, host: Member) -> OhEntry:
    entry = _repo(ctx).current_of(sess.id, host.id)  # type: ignore[arg-type]
    if entry is None:
        raise ActionError(f"You are not with anyone now: {ctx.prefix}next calls the next person.")
    return entry


async def done(ctx: Context) -> str:
    sess = _require_open(ctx)
    entry = _current(ctx, sess, ctx.require_member())
    length = took(_end(ctx, entry, "helped"))
    waiting = len(_repo(ctx).waiting(sess.id))  # type: ignore[arg-type]
    after = f"{waiting} waiting: {ctx.prefix}next when you're ready." if waiting else "Nobody is waiting."
    return f"Done with {entry.nick} after {length}. {after}"


async def skip(ctx: Context) -> str:
    sess = _require_open(ctx)
    entry = _current(ctx, sess, ctx.require_member())
    repo = _repo(ctx)
    assert sess.id is not None
    if entry.skips >= 1:
        _end(ctx, entry, "no-show")
        _dm_entry(
            ctx, entry,
            f"You missed your turn in {channel_name(ctx, sess.platform, sess.channel)} again, so you are out of the line. "
            f"{ctx.prefix}q join there gets you back in, at the end.",
        )
        return f"{entry.nick} did not answer again and is out of the line; {len(repo.waiting(sess.id))} waiting."
    entry.skips += 1
    entry.status, entry.called_at, entry.host_id, entry.nearly_told = "waiting", None, None, True
    repo.save(entry)
    others = [e for e in repo.waiting(sess.id) if e.id != entry.id]
    repo.reorder(others[:1] + [entry] + others[1:])  # behind the next person: a moment to come back
    position = 2 if others else 1
    _dm_entry(
        ctx, entry,
        f"You missed your turn in {channel_name(ctx, sess.platform, sess.channel)}: you're back in line at #{position}. "
        "If you miss the next call too, you lose your place.",
    )
    _nearly_up(ctx, sess)
    return f"{entry.nick} did not answer: back in line at #{position} (last chance). {ctx.prefix}next calls the next person."


# ---------------------------------------------------------------------------- everyone


def _visitor(ctx: Context) -> tuple[Member | None, Identity]:
    """The asker; anonymous visitors only where the config allows them in."""
    assert ctx.who is not None
    if ctx.member is None and not ctx.settings.office_hours.allow_anonymous:
        raise ActionError(ANONYMOUS_REFUSAL)
    return ctx.member, ctx.who


def _entry_of_asker(ctx: Context, sess: OhSession) -> OhEntry | None:
    member, who = _visitor(ctx)
    return _repo(ctx).active_entry(sess.id, who.platform, member.id if member else None, who.display)  # type: ignore[arg-type]


async def q_join(ctx: Context, topic: str | None) -> str:
    sess = _require_open(ctx)
    member, who = _visitor(ctx)
    repo = _repo(ctx)
    assert sess.id is not None
    line = Line.of(ctx, sess)  # read once: the checks, the new place and the estimate all use it
    if member is not None and member.id in line.hosts:
        raise ActionError(f"You are on duty here: hosts take people with {ctx.prefix}next.")
    topic = _clean_topic(topic)
    entry = _entry_of_asker(ctx, sess)
    if entry is not None:
        if entry.status == "called":
            raise ActionError(f"{name_on(ctx, entry.host_id, sess.platform)} is with you now.")
        n = line.position(entry)
        wait = about(line.waits()[n - 1])
        if topic and topic != entry.topic:
            entry.topic = topic
            repo.save(entry)
            return f"Topic updated; you're still #{n} in line, {wait}."
        return f"You're in line already: #{n}, {wait}."
    was_empty, n = not line.waiting, len(line.waiting) + 1  # a newcomer goes to the end of the line
    entry = repo.add_entry(
        OhEntry(
            session_id=sess.id,
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
    _tell_hosts(ctx, sess, entry, n, was_empty, line.hosts)
    if wait < 1:
        return f"You're #{n} in line: a host will call you any moment now."
    return f"You're #{n} in line, {about(wait)} ({plural(len(line.hosts), 'host')} on duty)."


def _tell_hosts(ctx: Context, sess: OhSession, entry: OhEntry, position: int, was_empty: bool, hosts: list[int]) -> None:
    mode = ctx.settings.office_hours.notify_hosts
    if mode == "none" or (mode == "first" and not was_empty):
        return
    topic = f", topic: {entry.topic}" if entry.topic else ""
    where = channel_name(ctx, sess.platform, sess.channel)
    for host_id in hosts:
        host = ctx.repos.members.get(host_id)
        if host is not None:
            ctx.dm(host, f"{entry.nick} joined the line in {where} (#{position}{topic}). {ctx.prefix}next there takes the first.")


async def q_leave(ctx: Context) -> str:
    platform, channel = _here(ctx)
    sess = _repo(ctx).open_session(platform, channel)
    entry = _entry_of_asker(ctx, sess) if sess is not None else None
    if sess is None or entry is None:
        raise ActionError("You are not in line here.")
    host = name_on(ctx, entry.host_id, platform) if entry.status == "called" else None
    _end(ctx, entry, "left")
    _nearly_up(ctx, sess)
    if host is not None:
        return f"You've left; {host} is free for the next person."
    return "You've left the line. Come back any time."


async def q_show(ctx: Context) -> str:
    platform, channel = _here(ctx)
    sess = _repo(ctx).open_session(platform, channel)
    if sess is None:
        return _closed_text(ctx, platform, channel)
    line = Line.of(ctx, sess)
    hosts = plural(len(line.hosts), "host")
    if not line.waiting:
        free = len(line.hosts) - len({e.host_id for e in line.called})
        return f"Nobody is waiting ({hosts} on duty, {free} free). {ctx.prefix}q join [TOPIC] gets you in line."
    waits = line.waits()
    most = ctx.settings.office_hours.list_max
    shown = [f"{n} {e.nick} {compact(w)}" for n, (e, w) in enumerate(zip(line.waiting, waits), 1)][:most]
    text = f"{len(line.waiting)} waiting, {hosts}: {', '.join(shown)}"
    if len(line.waiting) > most:
        text += f", +{len(line.waiting) - most} more (last {compact(waits[-1])})"
    mine = _entry_of_asker(ctx, sess) if ctx.member is not None or ctx.settings.office_hours.allow_anonymous else None
    if mine is not None and mine.status == "waiting" and line.position(mine) > most:
        n = line.position(mine)
        text += f". You: #{n} {compact(waits[n - 1])}"
    return text + "."


async def q_notify(ctx: Context, off: str | None) -> str:
    member = ctx.require_member()
    platform, channel = _here(ctx)
    repo = _repo(ctx)
    existing = repo.notice_of(member.id, platform, channel)  # type: ignore[arg-type]
    if off is not None:
        if existing is None:
            return "You had not asked for a DM here."
        repo.remove_notice(existing)
        return "OK: no DM when office hours open here."
    if repo.open_session(platform, channel) is not None:
        return f"Office hours are open now: {ctx.prefix}q join gets you in line."
    if existing is not None:
        return "You're on the list already: one DM when office hours next open here."
    repo.add_notice(member.id, platform, channel, ctx.now)  # type: ignore[arg-type]
    return f"I'll DM you once, when office hours next open here.{next_hint(ctx, platform, channel)}"


# ---------------------------------------------------------------------------- statistics


_CHANNEL_REF = re.compile(r"^(?P<platform>[a-z][a-z0-9_]*):(?P<channel>.+)$")


async def oh_stats(ctx: Context, channel: str | None, days: int | None) -> str:
    assert ctx.where is not None
    if channel is not None and channel.isdigit() and days is None:  # "!oh stats 30"
        channel, days = None, int(channel)
    days = days or 30
    if not 1 <= days <= 3660:
        raise ActionError("days must be between 1 and 3660.")
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
    where = f"in {channel_name(ctx, platform or ctx.where.platform, channel)}" if channel else "in all channels"
    tz = tz_of(ctx.member)
    st = compute_stats(repo.sessions_since(since, platform, channel), repo.help_log(since, platform, channel), tz)
    return stats_text(st, where, days, tz)


# ---------------------------------------------------------------------------- retention


def purge(ctx: Context, cutoff: datetime) -> int:
    """Queue logs older than the retention setting go (sessions closed before ``cutoff``)."""
    return _repo(ctx).purge_before(cutoff)


# ---------------------------------------------------------------------------- declarations

HOST = ("bob: !whoami", "!role grant bob host")
OPEN = (*HOST, "bob #oh: !oh open")
CALLED = (*OPEN, "alice #oh: !q join rebasing my patch", "bob #oh: !next")
CHANNEL = "channel"
ANYONE_NOTE = " (visitors without an account: only if the config allows them in)"

FEATURE = Feature(
    name="office_hours",
    commands=(
        CommandSpec(
            ("oh", "open"),
            "open office hours in this channel, with you on duty",
            roles=("host",),
            handler=oh_open,
            args=(Arg("topic", kind="text", rest=True, required=False, help="what these office hours are about"),),
            scope=CHANNEL,
            examples=(Example("bob #oh: !oh open Gerrit and first patches", r"Office hours are open with bob \(topic: Gerrit", setup=HOST),),
        ),
        CommandSpec(
            ("oh", "close"),
            "close office hours here (a summary is posted; anyone still waiting is told)",
            roles=("host", "coordinator"),
            handler=oh_close,
            scope=CHANNEL,
            examples=(Example("bob #oh: !oh close", r"Office hours are closed\. 1 helped", setup=(*CALLED, "bob #oh: !done")),),
        ),
        CommandSpec(
            ("oh", "duty"),
            "join or leave the hosts on duty (the last one off closes the queue)",
            roles=("host",),
            handler=oh_duty,
            args=(Arg("state", choices=("on", "off"), help="on or off"),),
            scope=CHANNEL,
            examples=(
                Example("carol #oh: !oh duty on", r"on duty with bob \(2 hosts\)", setup=(*OPEN, "carol: !whoami", "!role grant carol host")),
                Example("bob #oh: !oh duty off", r"closed: no host is on duty", setup=OPEN),
            ),
        ),
        CommandSpec(
            ("oh", "say"),
            "tell everyone in line something, like running late (by DM where possible, else here)",
            roles=("host",),
            handler=oh_say,
            args=(Arg("text", kind="text", rest=True, help="what to tell them"),),
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
            "who is on duty here and whom they are with",
            roles=("anyone",),
            handler=oh_hosts,
            scope=CHANNEL,
            examples=(Example("dave #oh: !oh hosts", r"On duty: bob \(with alice\); 0 waiting", setup=CALLED),),
        ),
        CommandSpec(
            ("oh", "stats"),
            "office-hour figures: sessions, helps, waits, no-shows, busiest times (CHANNEL: #name, platform:#name or all)",
            roles=("host", "coordinator"),
            handler=oh_stats,
            args=(
                Arg("channel", required=False, help="#channel, platform:#channel or all (default: here)"),
                Arg("days", kind="int", required=False, minimum=1, maximum=3660, help="how many days back (default 30)"),
            ),
            examples=(Example("bob #oh: !oh stats", r"1 session, 1 help for 1 person", setup=(*CALLED, "bob #oh: !done")),),
        ),
        CommandSpec(
            ("next",),
            "take the first person in line (ends your current help)",
            roles=("host",),
            handler=next_,
            scope=CHANNEL,
            examples=(Example("bob #oh: !next", r"alice: bob is ready for you now", setup=(*OPEN, "alice #oh: !q join rebasing")),),
        ),
        CommandSpec(
            ("done",),
            "end your current help (its length is recorded)",
            roles=("host",),
            handler=done,
            scope=CHANNEL,
            examples=(Example("bob #oh: !done", r"Done with alice after under a minute", setup=CALLED),),
        ),
        CommandSpec(
            ("skip",),
            "the person you called did not answer: back in line behind the next person once, then out",
            roles=("host",),
            handler=skip,
            scope=CHANNEL,
            examples=(Example("bob #oh: !skip", r"alice did not answer: back in line at #1", setup=CALLED),),
        ),
        CommandSpec(
            ("q", "join"),
            "get in line for office hours here" + ANYONE_NOTE,
            roles=("anyone",),
            handler=q_join,
            args=(Arg("topic", kind="text", rest=True, required=False, help="what you need help with"),),
            scope=CHANNEL,
            examples=(Example("alice #oh: !q join How do I rebase?", r"You're #1 in line", setup=OPEN),),
        ),
        CommandSpec(
            ("q", "leave"),
            "leave the line" + ANYONE_NOTE,
            roles=("anyone",),
            handler=q_leave,
            scope=CHANNEL,
            examples=(Example("alice #oh: !q leave", r"left the line", setup=(*OPEN, "alice #oh: !q join")),),
        ),
        CommandSpec(
            ("q",),
            "the line here, with places and estimated waits",
            roles=("anyone",),
            handler=q_show,
            scope=CHANNEL,
            examples=(
                Example("carol #oh: !q", r"2 waiting, 1 host: 1 alice now, 2 dave ~10m", setup=(*OPEN, "alice #oh: !q join", "dave #oh: !q join")),
            ),
        ),
        CommandSpec(
            ("q", "notify"),
            "one DM when office hours next open here ('off' cancels it)",
            roles=("member",),
            handler=q_notify,
            args=(Arg("off", choices=("off",), required=False, help="off cancels"),),
            scope=CHANNEL,
            examples=(Example("alice #oh: !q notify", r"I'll DM you once"),),
        ),
    ),
    jobs=(Job("office-hours-schedule", partial(run_schedules, open_queue=_open)),),
    purge=purge,
)
