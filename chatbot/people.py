"""People as every part of the bot names them: finding the person a command names, and (for
the features) who runs the programme, how a person is written, where they live in time and
whether they are away.

One module, so a feature asking "what time is it for her?" or "is he away?" imports it rather
than another feature."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatbot.commands import CommandSpec, UsageError
from chatbot.i18n import N_
from storage.tables import Member

if TYPE_CHECKING:
    from chatbot.context import Context


def find_member(ctx: Context, ref: str, what: str = "person", spec: CommandSpec | None = None) -> Member:
    """A person named by handle, ``platform:account``, a Discord/Matrix mention, or a display name
    seen on the asker's platform. Ambiguity is an error, never a guess."""
    assert ctx.who is not None
    repos, text = ctx.repos, ref.strip()
    candidates: list[Member] = []
    platform, _, account = text.partition(":")
    if account and platform in {"irc", "matrix", "discord", "console", *ctx.engine.adapters}:
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
