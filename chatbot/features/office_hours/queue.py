"""Office hours, the open queue: what the hosts' and the visitors' commands share.

The guards (open here? on duty? away?), opening and closing a channel's queue (announcements,
``!q notify`` DMs, the summary), ending a person's turn, and telling a person in line something
by DM where their platform has DMs, else in the channel.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Callable

from chatbot.commands import ActionError
from chatbot.context import Context
from chatbot.events import Identity, Where
from chatbot.features.office_hours import leavers
from chatbot.features.office_hours.line import Duty, about, took
from chatbot.features.office_hours.names import channel_language, channel_name, name_on
from chatbot.features.office_hours.report import summary
from chatbot.features.office_hours.schedule import current_occurrence, next_hint
from chatbot.i18n import Language
from chatbot.wording import clip, sentences
from chatbot.people import away_now
from storage.office_hours import AnyHour, OfficeHoursRepo, OhDuty, OhEntry, OfficeHour, OpenHour, Place, Waiting
from storage.addressees import Addressee
from storage.tables import Member

TOPIC_MAX = 120


# ---------------------------------------------------------------------------- small helpers


def _repo(ctx: Context) -> OfficeHoursRepo:
    return ctx.repos.office_hours


def _here(ctx: Context) -> tuple[str, str]:
    assert ctx.where is not None and ctx.where.channel is not None  # the specs are channel-scoped
    return ctx.where.platform, ctx.where.channel


def _clean_topic(topic: str | None) -> str | None:
    return clip(topic or "", TOPIC_MAX) or None


def _names(names: list[str], most: int = 5) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" +{len(names) - most}" if len(names) > most else "")


def _identity(entry: OhEntry | Waiting) -> Identity:
    return Identity(entry.platform, entry.account, entry.nick)


def _has_dms(ctx: Context, platform: str) -> bool:
    caps = ctx.capabilities(platform)
    return caps is None or caps.direct_messages


#: a text as a given language words it (a DM, worded for whoever reads it)
Text = Callable[[Language], str]


def _person(ctx: Context, entry: OhEntry | Waiting) -> Addressee | None:
    """The person in line as a DM to them needs them (None: a visitor without an account)."""
    return ctx.repos.members.addressee(entry.member_id) if entry.member_id is not None else None


def _tell(ctx: Context, entry: OhEntry | Waiting, hour: AnyHour, private: Text, public: str) -> None:
    """Tell a person in line: by DM where their platform has DMs, else in the channel."""
    member = _person(ctx, entry)
    if member is not None and _has_dms(ctx, entry.platform) and ctx.dm(member, private(ctx.language_of(member))):
        return
    ctx.announce(Where(hour.platform, hour.channel), public, mention=_identity(entry))


def _dm_entry(ctx: Context, entry: OhEntry, text: Text) -> None:
    """A DM to a person in line, in their language, if they have an account (anonymous visitors
    have no DM). The person is read once, for both."""
    member = _person(ctx, entry)
    if member is not None:
        ctx.dm(member, text(ctx.language_of(member)))


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


def _require_open(ctx: Context) -> OpenHour:
    platform, channel = _here(ctx)
    hour = _repo(ctx).open_hour_here(platform, channel)
    if hour is None:
        raise ActionError(_closed_text(ctx, platform, channel))
    return hour


def _require_duty(ctx: Context, hour: AnyHour) -> Member:
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


def _off_duty(ctx: Context, hour: AnyHour, duty: OhDuty, host: Member) -> tuple[str, list[OhDuty]]:
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


def _end(ctx: Context, entry: OhEntry | Place, outcome: str) -> timedelta:
    """End an entry with an outcome; returns how long the help took (zero if never called)."""
    _repo(ctx).end(entry.id, leavers.outcome_of(entry, outcome), ctx.now)
    return ctx.now - entry.called_at if entry.called_at else timedelta(0)


def _close(ctx: Context, hour: AnyHour, reason: str) -> None:
    """Close the queue: helps in progress end, people waiting are told, the channel gets a summary."""
    repo = _repo(ctx)
    leavers.at_close(ctx, hour, _end)
    for entry in repo.called(hour.pk):
        _end(ctx, entry, "helped")
    waiting = repo.waiting(hour.pk)
    for entry in waiting:
        _end(ctx, entry, "closed")
    repo.close_hour(hour.pk, reason, ctx.now)
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
            lambda reader: reader._(
                "Office hours in {where} closed before your turn, sorry. {prefix}q notify there gets you a DM when they open again.",
                where=channel_name(ctx, hour.platform, hour.channel), prefix=ctx.prefix,
            ),
        )


def _nearly_up(ctx: Context, hour: AnyHour) -> None:
    """Whoever has become first or second in line without being told so is told now.

    Reads the first two as plain rows, and the hosts only when someone is to be told (the
    first two's waits do not depend on who waits after them)."""
    repo = _repo(ctx)
    head = repo.head(hour.pk, 2)
    if all(entry.nearly_told for entry in head):
        return
    waits = Duty.of(ctx, hour).waits_of(len(head))
    for n, (entry, wait) in enumerate(zip(head, waits), 1):
        if not entry.nearly_told:
            repo.mark_nearly_told(entry.id)
            _tell_nearly_up(ctx, hour, entry, n, wait)


def _tell_nearly_up(ctx: Context, hour: AnyHour, entry: Waiting, n: int, wait: float) -> None:
    """Tell the person ``n``-th in line (1 or 2) that they are nearly up."""
    where = channel_name(ctx, hour.platform, hour.channel)
    public = channel_language(ctx, hour.platform, hour.channel)
    if n == 1:
        _tell(ctx, entry, hour,
              lambda reader: reader._("You're next in line in {where} ({wait}): please be ready when a host calls you.",
                                      where=where, wait=about(wait, reader)),
              public._("you're next in line ({wait}): please be ready when a host calls you.", wait=about(wait, public)))
    else:
        _tell(ctx, entry, hour,
              lambda reader: reader._("You're second in line in {where} ({wait}): please be ready when a host calls you.",
                                      where=where, wait=about(wait, reader)),
              public._("you're second in line ({wait}): please be ready when a host calls you.", wait=about(wait, public)))
