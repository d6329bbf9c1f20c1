"""Office hours: people who leave while in line (issue 16).

A visitor who leaves the channel (an IRC PART, QUIT or KICK, leaving a Matrix room or the
Discord server) keeps their place for ``[office_hours] leave_grace_minutes``: a dropped
connection or a client restart must not cost a place earned by waiting. Back in time, nothing
changed. While they are away a host's ``!next`` passes over them (calling somebody who is not
there helps nobody) and says so; once the grace is over they are out of the line (outcome
``left``, which the closing summary counts apart from the helped), and the next ``!next`` in
that channel says so in the same one line ("ana left the channel 12 minutes ago; calling ben.").
A nick change keeps the place: the entry follows the new name (and, where the account is
derived from the name, the new account).

Why here and not in ``office_hours``: the rule is whole in this module; the queue's commands
only call :func:`pass_over` (``!next``), :func:`at_close`, :func:`outcome_of` and :func:`here`
(a person in line who speaks to the queue is back), and hand in their own helpers for ending an
entry and telling whoever is nearly up (as the schedule job gets ``open_queue``), so the two
modules do not import each other.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Callable

from chatbot.context import Context
from chatbot.events import Identity, Left, Presence, Renamed, Returned
from chatbot.features.office_hours.names import channel_name
from chatbot.people import listed_name
from storage.office_hours import AnyHour, OhEntry, Place

#: ends an entry with an outcome (``office_hours._end``)
End = Callable[[Context, OhEntry | Place, str], timedelta]
#: tells whoever became first or second in line (``office_hours._nearly_up``)
NearlyUp = Callable[[Context, AnyHour], None]

#: kv namespace: per session, the leavers taken out of its line that no host was told of yet
UNTOLD = "oh-leavers"


def grace(ctx: Context) -> timedelta:
    return timedelta(minutes=ctx.settings.office_hours.leave_grace_minutes)


# ---------------------------------------------------------------------------- presence


def on_presence(ctx: Context, event: Presence) -> None:
    """``Feature.on_presence``: mark a leaver, welcome back a returner, follow a new nick."""
    if isinstance(event, Left):
        for entry in _entries_of(ctx, event.who, event.where.channel):
            if entry.left_at is None:
                entry.left_at, entry.left_how = ctx.now, event.how
                ctx.repos.office_hours.save(entry)
    elif isinstance(event, Returned):
        for entry in _entries_of(ctx, event.who, event.where.channel):
            entry.left_at, entry.left_how = None, None
            ctx.repos.office_hours.save(entry)
    elif isinstance(event, Renamed):
        _renamed(ctx, event)


def _entries_of(ctx: Context, who: Identity, channel: str | None) -> list[OhEntry]:
    """The person's places in open queues on their platform (in ``channel`` when given)."""
    member_id = None
    if who.account is not None:
        member = ctx.repos.members.by_identity(who.platform, who.account)
        if member is None:
            return []  # never used the bot: in no line
        member_id = member.id
    return ctx.repos.office_hours.active_entries_of(who.platform, member_id, who.display, channel)


def _renamed(ctx: Context, event: Renamed) -> None:
    """The place follows the new nick; where the account is the name (IRC hostmask mode), the
    entry moves to the member behind the new account, so their own commands find it."""
    old, new = event.old, event.new
    places = _entries_of(ctx, old, None)
    moved_to = None
    if places and new.account is not None and new.account != old.account:
        members = ctx.repos.members
        moved_to = members.by_identity(new.platform, new.account) or members.create(
            new.platform, new.account, new.display, ctx.now
        )
    for entry in places:
        member = moved_to or (ctx.repos.members.get(entry.member_id) if entry.member_id is not None else None)
        entry.nick, entry.account = listed_name(new.display, member), new.account
        if moved_to is not None:
            entry.member_id = moved_to.id
        ctx.repos.office_hours.save(entry)


# ---------------------------------------------------------------------------- the grace ends


def remove_expired(ctx: Context, end: End, session_id: int | None = None) -> list[OhEntry]:
    """Take out of their line the people away longer than the grace (in one session, or in
    all); each hears it by DM, and the session remembers them for its host's next call."""
    repo = ctx.repos.office_hours
    gone = repo.leavers_gone_by(ctx.now - grace(ctx), session_id)
    for entry in gone:
        end(ctx, entry, "left")
        untold = _untold(ctx, entry.session_id)
        assert entry.left_at is not None  # leavers_gone_by finds only people who left
        untold.append({"nick": entry.nick, "left_at": entry.left_at.isoformat()})
        ctx.repos.kv.set(UNTOLD, str(entry.session_id), json.dumps(untold))
        _tell_leaver(ctx, entry)
    return gone


def _tell_leaver(ctx: Context, entry: OhEntry) -> None:
    member = ctx.repos.members.get(entry.member_id) if entry.member_id is not None else None
    hour = ctx.repos.office_hours.get_hour(entry.session_id)
    if member is None or hour is None:
        return
    minutes = ctx.settings.office_hours.leave_grace_minutes
    text = ctx.language_of(member).ngettext(
        "You left {channel} more than {n} minute ago, so your place in line there has gone. "
        "{command} there gets you back in, at the end.",
        "You left {channel} more than {n} minutes ago, so your place in line there has gone. "
        "{command} there gets you back in, at the end.",
        minutes,
        channel=channel_name(ctx, hour.platform, hour.channel),
        command=ctx.command("q", "join"),
    )
    ctx.dm(member, text)


async def expire_leavers(ctx: Context, *, end: End, nearly_up: NearlyUp) -> None:
    """The scheduled job: lines lose their expired leavers on time (``!q`` shows, and wait
    estimates count, only people who may still be called), and whoever moved up is told."""
    gone = remove_expired(ctx, end)
    for session_id in dict.fromkeys(e.session_id for e in gone):
        hour = ctx.repos.office_hours.get_hour(session_id)
        if hour is not None:
            nearly_up(ctx, hour)
    if not gone:  # the next leaver's grace ends first; people leaving come as events, which wake the job
        left_at = ctx.repos.office_hours.first_left_at()
        ctx.quiet_until(left_at + grace(ctx) if left_at is not None else ctx.now + timedelta(days=1))


def _untold(ctx: Context, session_id: int) -> list[dict[str, str]]:
    raw = ctx.repos.kv.get(UNTOLD, str(session_id))
    return json.loads(raw) if raw else []


# ---------------------------------------------------------------------------- the queue's hooks


def pass_over(ctx: Context, hour: AnyHour, waiting: list[OhEntry], end: End) -> tuple[str, list[OhEntry]]:
    """For ``!next``: the people in ``waiting`` who can be called (in order), and one line
    about those passed over: out of the line since the last call, or away within the grace
    (who keep their place). The line ends with whom the host is calling."""
    remove_expired(ctx, end, hour.pk)
    clauses = [_gone_clause(ctx, item["nick"], ctx.now - datetime.fromisoformat(item["left_at"])) for item in _untold(ctx, hour.pk)]
    ctx.repos.kv.forget(UNTOLD, str(hour.pk))
    present = []
    for entry in waiting:
        if entry.status != "waiting":
            continue
        if entry.left_at is None:
            present.append(entry)
        else:
            n = _minutes(ctx.now - entry.left_at)
            clauses.append(ctx.ngettext(
                "{name} left the channel {n} minute ago and keeps their place for now",
                "{name} left the channel {n} minutes ago and keeps their place for now",
                n, name=entry.nick,
            ))
    if not clauses:
        return "", present
    passed = "; ".join(clauses)
    if present:
        return ctx._("{passed}; calling {name}.", passed=passed, name=present[0].nick), present
    return ctx._("{passed}.", passed=passed), present


def _gone_clause(ctx: Context, nick: str, ago: timedelta) -> str:
    n = _minutes(ago)
    return ctx.ngettext("{name} left the channel {n} minute ago", "{name} left the channel {n} minutes ago", n, name=nick)


def _minutes(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() // 60))


def at_close(ctx: Context, hour: AnyHour, end: End) -> None:
    """Before a queue closes: leavers past the grace count as left (not as closed before their
    turn), and nothing is kept for a next call that will not come."""
    remove_expired(ctx, end, hour.pk)
    ctx.repos.kv.forget(UNTOLD, str(hour.pk))


def here(ctx: Context, entry: Place | None) -> Place | None:
    """The asker's entry, as they ask in its channel: whoever speaks there is back (the bot may
    have missed their return, say while it was reconnecting)."""
    if entry is not None and entry.left_at is not None:
        ctx.repos.office_hours.back(entry.id)
        return replace(entry, left_at=None)
    return entry


def outcome_of(entry: OhEntry | Place, outcome: str) -> str:
    """A help that ends while the person is away (they left after being called and are not
    back) did not help them: it counts as ``left``, never as ``helped``."""
    return "left" if outcome == "helped" and entry.left_at is not None else outcome
