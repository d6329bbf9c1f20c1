"""How office-hour texts name people and channels: as the people on that platform know them.

A member is shown by their nick on the queue's platform (else their handle); a channel by its
platform's label (``#office-hours`` on Discord, a Matrix room's name; the raw id where the
adapter knows none). Both are user-chosen text: adapters escape it on the way out. And a
channel's texts are in the language people read there (``channel_language``).
"""

from __future__ import annotations

from chatbot.context import Context
from chatbot.events import Where
from chatbot.i18n import Language
from chatbot.people import listed_name
from storage.repos import readable_display


def name_on(ctx: Context, member_id: int | None, platform: str) -> str:
    """How people on ``platform`` know a member: their nick there, else (or where the nick
    imitates an id) their handle."""
    if member_id is None:
        return "?"
    for ident in ctx.repos.members.identities(member_id):
        if ident.platform == platform:
            shown = readable_display(ident.display)
            if shown:
                return shown
            break  # a nick that imitates an id: their handle instead
    member = ctx.repos.members.get(member_id)
    return member.handle if member else "?"


def asker_name(ctx: Context) -> str:
    """The person giving a command (a host), as the people in line are told their name."""
    assert ctx.who is not None
    return listed_name(ctx.who.display, ctx.member)


def channel_name(ctx: Context, platform: str, channel: str) -> str:
    """A channel as people read its name in a text (``#office-hours``, not a Discord id)."""
    return ctx.channel_label(Where(platform, channel))


def channel_language(ctx: Context, platform: str, channel: str) -> Language:
    """The language of a text posted in a channel (see :meth:`Context.channel_language`)."""
    return ctx.channel_language(Where(platform, channel))
