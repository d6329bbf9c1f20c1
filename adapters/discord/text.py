"""What goes out as a Discord message: mentions defused, split to fit, nonces, files.

Pure helpers (no client, no I/O), shared by answers to interactions and ordinary sends, so the
rules that keep a message from pinging anybody by accident live in one place.
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

import discord

from adapters.discord.settings import PLATFORM
from chatbot.events import Attachment, Identity

MAX_MESSAGE = 2000


def file_option(attachment: Attachment | None) -> dict[str, Any]:
    """discord.py's ``file=`` keyword for an attachment (a fresh ``discord.File`` each time: it
    is read once by the upload)."""
    if attachment is None:
        return {}
    return {"file": discord.File(io.BytesIO(attachment.data), filename=attachment.name)}


def nonce_of(key: str, part: int) -> str:
    """A message's nonce: the same for the same outbox message and part, at most the 25
    characters Discord allows."""
    return hashlib.sha256(f"{key}\0{part}".encode()).hexdigest()[:25]


def discord_user_id(who: Identity) -> int:
    if who.platform != PLATFORM or not who.account or not who.account.isdigit():
        raise ValueError(f"not a Discord user: {who.key or who.display!r}")
    return int(who.account)


def mentions_allowed(mention: Identity | None) -> discord.AllowedMentions:
    """Nobody may be pinged, except the one person a message explicitly mentions."""
    if mention is None or mention.platform != PLATFORM or not (mention.account or "").isdigit():
        return discord.AllowedMentions.none()
    return discord.AllowedMentions(everyone=False, roles=False, replied_user=False,
                                   users=[discord.Object(int(mention.account))])  # type: ignore[arg-type]


#: a user mention as Discord writes it in a message's content
USER_MENTION = re.compile(r"<@!?(\d+)>")
#: an ``@`` that Discord may turn into a ping: ``@everyone``, ``@here``, ``<@id>``, ``<@!id>``, ``<@&id>``
PING = re.compile(r"@(?=everyone|here|[!&]?\d)", re.IGNORECASE)
ZWSP = "\u200b"


def defuse_mentions(text: str) -> str:
    """``text`` with every would-be ping made inert by a zero-width space after its ``@``
    (what Discord's clients show as the same text). The second line of defence, after
    ``allowed_mentions``, for a server or client that ignores that."""
    return PING.sub("@" + ZWSP, text)


def outgoing_text(text: str, mention: Identity | None) -> str:
    """What goes out for ``text``: defused, with the one ``<@id>`` of ``mention`` in front
    (the engine cannot write Discord's mention syntax; the adapter builds it)."""
    text = defuse_mentions(text)
    if mention is None or mention.platform != PLATFORM or not (mention.account or "").isdigit():
        return text
    return f"<@{mention.account}> {text}"


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Discord's 2,000 characters: split at a line break where possible (the engine pages first)."""
    chunks: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return chunks
