"""People as every part of the bot names them: finding the person a command names, and (for
the features) who runs the programme, how a person is written, where they live in time and
whether they are away.

One module, so a feature asking "what time is it for her?" or "is he away?" imports it rather
than another feature."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from chatbot.commands import CommandSpec, UsageError
from chatbot.i18n import ENGLISH, N_, Language
from storage.repos import readable_display
from storage.tables import Member

if TYPE_CHECKING:
    from chatbot.context import Context


# ---------------------------------------------------------------------------- who is meant


def find_member(ctx: Context, ref: str, what: str = "person", spec: CommandSpec | None = None) -> Member:
    """A person named by handle (an ``@`` before it is fine), ``platform:account`` (what the
    adapters make of a Discord or Matrix mention), or a display name seen on the asker's
    platform. Ambiguity is an error, never a guess."""
    assert ctx.who is not None
    repos, text = ctx.repos, ref.strip()
    candidates: list[Member] = []
    platform, _, account = text.partition(":")
    if account and platform in {"irc", "matrix", "discord", "console", *ctx.platforms}:
        found = repos.members.by_identity(platform, account)
        candidates = [found] if found else []
    else:
        found = repos.members.by_handle(text.lstrip("@"))
        candidates = [found] if found else repos.members.by_display(ctx.who.platform, text.lstrip("@"))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise UsageError(N_("I don't know anyone called '{name}'"), spec, name=ref[:40])
    raise UsageError(
        N_("'{name}' could be several people: use their handle ({handles})"), spec,
        name=ref[:40], handles=", ".join(m.handle for m in candidates[:5]),
    )


def coordinators(ctx: Context, exclude: Member | None = None) -> list[Member]:
    """Who runs the programme: holders of the coordinator role, else the configured admins."""
    people = ctx.repos.roles.holders("coordinator")
    if not people:
        for entry in ctx.settings.admins:
            platform, _, account = entry.partition(":")
            admin = ctx.repos.members.by_identity(platform, account)
            if admin is not None:
                people.append(admin)
    unique = {p.id: p for p in people if p.id is not None and (exclude is None or p.id != exclude.id)}
    return list(unique.values())


# ---------------------------------------------------------------------------- how a person is written


def is_asker(ctx: Context, member: Member) -> bool:
    """Whether ``member`` is the person the answer goes to (then it says "you", not their handle)."""
    return ctx.member is not None and ctx.member.id == member.id


def listed_name(display: str, member: Member | None) -> str:
    """How a person is written in a public list (an office-hours line, a host's notice): their
    display name as people read it, or their handle where that name looks like somebody's id
    (a Matrix name "@coord:localhost" is not listed as if it were the coordinator)."""
    return readable_display(display) or (member.handle if member is not None else display)


def named(member: Member) -> str:
    """"Alice Liddell (alice)", or just "alice" when the display name is the handle."""
    if member.display_name.casefold() == member.handle.casefold():
        return member.handle
    return f"{member.display_name} ({member.handle})"


def told_text(lang: Language, people: list[Member]) -> str | None:
    """"Told: bob, carol." after an answer whose news went to others; None when nobody was."""
    return lang._("Told: {people}.", people=", ".join(p.handle for p in people)) if people else None


# ---------------------------------------------------------------------------- local time


def zone_of(member: Member) -> ZoneInfo | timezone:
    """The member's own timezone (UTC until they have told us one)."""
    try:
        return ZoneInfo(member.timezone) if member.timezone else timezone.utc
    except (ValueError, OSError):  # a name the tz database no longer knows
        return timezone.utc


def zone_name(member: Member | None, fallback: str = "UTC") -> str:
    """The name of the zone ``zone_of`` uses for the member: ``fallback`` until they have given
    one the tz database knows (or for nobody: a visitor without an account)."""
    return getattr(zone_of(member), "key", fallback) if member is not None else fallback


def clock_time(instant: datetime, zone: ZoneInfo | timezone, lang: Language = ENGLISH) -> str:
    """``Mon 4 Jan 10:00`` in ``zone`` and the reader's language: how every feature writes a
    time for a person."""
    local = instant.astimezone(zone)
    return f"{lang.short_date(local.date())} {lang.time(local)}"


def local_date(member: Member, instant: datetime) -> date:
    """The calendar date ``instant`` falls on where the member lives."""
    return instant.astimezone(zone_of(member)).date()


# ---------------------------------------------------------------------------- away


def is_away(member: Member, today: date) -> bool:
    return away_on(member.away_until, today)


def away_on(until: date | None, today: date) -> bool:
    return until is not None and until >= today


def away_now(member: Member, now: datetime) -> bool:
    """Is the member away at this instant? What other features ask before prompting or matching."""
    return is_away(member, local_date(member, now))
