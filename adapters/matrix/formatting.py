"""Pure helpers of the Matrix adapter: message content, transaction ids, reactions, roles.

Nothing here does I/O or imports matrix-nio, so each rule can be read and tested on its own,
and the other parts of ``adapters.matrix`` keep only the protocol work.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping
from urllib.parse import quote

from chatbot.events import Attachment

#: What a bot message is sent as. ``m.notice`` tells other bots not to answer it (the spec's
#: rule against bot loops) and is what this adapter ignores in return.
BOT_MSGTYPE = "m.notice"

#: What a message meant to make one person look is sent as: a DM they did not just ask for, a
#: call by name. Matrix's default push rules never notify for a notice (``.m.rule.suppress_notices``
#: is an override rule ahead of the mention rules), so as ``m.notice`` it would not ring at all.
ALERT_MSGTYPE = "m.text"

_TXN_SAFE = re.compile(r"[A-Za-z0-9._~-]{1,200}")

#: A keycap digit is the digit, an optional variation selector 16, and U+20E3.
_KEYCAP = re.compile(r"([1-5])\ufe0f?\u20e3")


def server_name(user_id: str) -> str:
    """``@alice:example.org`` -> ``example.org`` (the part invites are allowed by)."""
    return user_id.split(":", 1)[1] if ":" in user_id else ""


def html_body(text: str) -> str:
    """The ``formatted_body`` for ``text``: escaped, newlines as ``<br>``.

    Built only from the plain text, so nothing a user typed (a display name, ``<a href>``,
    ``@room``) is ever sent to clients as markup."""
    return html.escape(text, quote=True).replace("\r\n", "\n").replace("\n", "<br>")


@dataclass(frozen=True)
class Mention:
    """The one person a message may ping: their user id, and the name people see for them."""

    user_id: str
    display: str


@dataclass(frozen=True)
class Post:
    """One outbound message as this adapter sends it."""

    text: str
    mention: Mention | None = None
    in_reply_to: str | None = None
    #: the outbox key, which becomes the transaction id
    key: str | None = None
    #: meant to make someone look (sent as ALERT_MSGTYPE when the adapter is set to)
    alert: bool = False
    #: a file sent after the text (uploaded to the media repository, then m.image or m.file)
    attachment: Attachment | None = None


def file_content(attachment: Attachment, uri: str, keys: dict[str, Any] | None) -> dict[str, Any]:
    """The m.image (an image) or m.file event for an uploaded attachment. ``keys`` are the
    decryption keys of an encrypted upload: the URL then goes inside ``file``."""
    content: dict[str, Any] = {
        "msgtype": "m.image" if attachment.is_image else "m.file",
        "body": attachment.name,
        "filename": attachment.name,
        "info": {"mimetype": attachment.media_type, "size": len(attachment.data)},
    }
    if keys is not None:
        content["file"] = {**keys, "url": uri}
    else:
        content["url"] = uri
    return content


def pill(mention: Mention) -> str:
    """A link to a user, which clients render as their name ("pill"); escaped like the rest."""
    href = "https://matrix.to/#/" + quote(mention.user_id, safe="@:")
    return f'<a href="{html.escape(href, quote=True)}">{html.escape(mention.display, quote=True)}</a>'


def message_content(
    text: str,
    mention: Mention | None = None,
    in_reply_to: str | None = None,
    *,
    addressed: bool = False,
    msgtype: str = BOT_MSGTYPE,
) -> dict[str, Any]:
    """The content of one bot message.

    ``m.mentions`` is always present: an empty object tells clients and the homeserver's push
    rules that *nobody* is pinged, whatever the body says (``@room``, a name); ``mention`` is
    the one user who is. ``addressed`` (in a room) starts the message with that person's
    name, as a pill, so everyone reading sees whom it is for."""
    body, formatted = text, html_body(text)
    if mention is not None and addressed:
        body, formatted = f"{mention.display}: {body}", f"{pill(mention)}: {formatted}"
    content: dict[str, Any] = {
        "msgtype": msgtype,
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": formatted,
        "m.mentions": {"user_ids": [mention.user_id]} if mention else {},
    }
    if in_reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": in_reply_to}}
    return content


def txn_id(key: str | None, part: int = 0) -> str | None:
    """A transaction id for ``room_send`` from an outbox key, or None (nio picks a uuid).

    The homeserver de-duplicates sends with the same id from the same device, so a resend of
    the same key after a crash does not post twice. Keys that are not URL-safe are hashed."""
    if key is None:
        return None
    base = key if _TXN_SAFE.fullmatch(key) else "h-" + hashlib.sha256(key.encode()).hexdigest()
    return base if part == 0 else f"{base}.{part}"


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, at line ends when possible.

    The engine already pages long output; this is the transport's last guard."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest:
        pieces.append(rest)
    return pieces


def reaction_digit(key: str) -> str | None:
    """``1️⃣`` (or ``1⃣`` or plain ``1``) .. ``5`` -> the digit; anything else -> None."""
    key = key.strip()
    if len(key) == 1 and key in "12345":
        return key
    m = _KEYCAP.fullmatch(key)
    return m.group(1) if m else None


#: a Matrix user id written as a word: "@bob:example.org"
_USER_ID = re.compile(r"(?<![\w:])(@[a-z0-9._=\-/+]+:[a-z0-9.\-]+(?::\d+)?)(?![\w.:-])", re.IGNORECASE)


def command_mentions(text: str, prefix: str) -> str:
    """In a command ("!session log @bob:example.org 45m"), a user id becomes
    ``matrix:@bob:example.org``: how the core names a person by account (it parses no
    platform's syntax). Other messages are left as they were written."""
    if not text.startswith(prefix):
        return text
    return _USER_ID.sub(lambda m: "matrix:" + m.group(1), text)


def strip_reply_fallback(body: str) -> str:
    """Drop the ``> <@user> quoted text`` lines older clients put before a reply's own text."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i < len(lines) and lines[i] == "":
        i += 1
    return "\n".join(lines[i:])


#: The level of a room creator in room versions where creators outrank everybody (v12+).
CREATOR_LEVEL = 2**53


def creators_privileged(room_version: str) -> bool:
    """Room v12 (and its preview, hydra.11) gives creators unlimited power (MSC4289)."""
    return room_version == "org.matrix.hydra.11" or (room_version.isdigit() and int(room_version) >= 12)


def roles_for_level(level: int, thresholds: Mapping[str, int]) -> frozenset[str]:
    """Bot roles whose power-level threshold ``level`` meets (a platform fact, not a decision)."""
    return frozenset(role for role, minimum in thresholds.items() if level >= minimum)


class DirectRooms:
    """Which room is the DM with whom.

    Sources: the account's ``m.direct`` (what clients read too), rooms people invited the bot
    to as direct, and rooms this process created. A created room counts as usable before any
    sync shows the invitee in it (a sync can bring the room before the invite), until the
    person leaves; that is what keeps concurrent sends from opening a second room."""

    def __init__(self) -> None:
        self.by_user: dict[str, list[str]] = {}
        self.user_of: dict[str, str] = {}
        self.created: set[str] = set()

    def merge(self, m_direct: Mapping[str, Iterable[str]]) -> bool:
        """Add ``m.direct``-shaped entries; True if anything was new (m.direct needs a PUT)."""
        changed = False
        for user, rooms in m_direct.items():
            if not isinstance(rooms, (list, tuple)):
                continue
            for room in rooms:
                if isinstance(room, str) and room not in self.by_user.setdefault(user, []):
                    self.by_user[user].append(room)
                    changed = True
                if isinstance(room, str):
                    self.user_of[room] = user
        return changed

    def forget(self, room: str) -> None:
        """The person (or the bot) left: the room is no longer their DM."""
        self.created.discard(room)
        user = self.user_of.pop(room, None)
        if user and room in self.by_user.get(user, []):
            self.by_user[user].remove(room)

    def candidates(self, user: str) -> list[str]:
        """Known DM rooms with ``user``, the most recently added first."""
        return list(reversed(self.by_user.get(user, [])))
