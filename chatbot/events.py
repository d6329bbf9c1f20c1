"""The typed events that cross the line between adapters and the engine.

Adapters only ever build inbound events and consume outbound ones; the engine never sees a
platform object. Everything here is frozen so an event can be logged, queued or replayed
without anybody mutating it on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Union


@dataclass(frozen=True)
class Identity:
    """One person on one platform.

    ``account`` is the platform's *stable* id (IRC services account, Matrix user id, Discord
    user id, console user name). ``None`` means the platform could not vouch for the person
    (an IRC nick not logged in to services): such a visitor gets only anonymous rights.
    ``display`` is for addressing people in replies and is never used for permissions.
    """

    platform: str
    account: str | None
    display: str

    @property
    def key(self) -> str | None:
        """``platform:account``, the form admins are listed by in the config."""
        return f"{self.platform}:{self.account}" if self.account is not None else None

    @property
    def anonymous(self) -> bool:
        return self.account is None


@dataclass(frozen=True)
class Where:
    """Where a message was said: a channel/room on a platform, or a direct conversation."""

    platform: str
    channel: str | None = None  # None: a direct message with the bot

    @property
    def is_direct(self) -> bool:
        return self.channel is None


# --------------------------------------------------------------------------- inbound


@dataclass(frozen=True)
class TextReceived:
    """A plain message. The engine decides whether it is a command (starts with ``prefix``),
    an answer to a pending question (in a DM), or nothing for the bot."""

    who: Identity
    where: Where
    text: str
    event_id: str | None = None
    prefix: str = "!"
    #: bot roles the platform itself vouches for (a mapped Discord role, a Matrix power level)
    platform_roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CommandInvoked:
    """A structured command, e.g. a Discord slash command, with arguments already split.

    ``path`` is the command's name words (``("session", "log")``); ``args`` maps argument
    names to the raw text the user gave, which the engine converts exactly as it would
    for a typed ``!session log ...`` line.
    """

    who: Identity
    where: Where
    path: tuple[str, ...]
    args: Mapping[str, str] = field(default_factory=dict)
    event_id: str | None = None
    platform_roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Seen:
    """The platform noticed a person (joined, came back online, spoke).

    Lets the engine deliver what waited for someone on a platform without offline delivery."""

    who: Identity


@dataclass(frozen=True)
class CompletionRequested:
    """A person is typing an argument (Discord autocomplete). ``Engine.handle`` returns the
    choices: up to 25 values to offer, as the person would type them (handles, not ids)."""

    who: Identity
    where: Where
    path: tuple[str, ...]
    arg: str
    partial: str = ""
    platform_roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Left:
    """A person left a place the bot shares with them.

    ``how``: ``part`` (left the channel), ``quit`` (left the IRC network), ``kick`` (was put
    out), ``leave`` (left a Matrix room), ``guild`` (left the Discord server). A ``where``
    without a channel means every channel of that platform (a QUIT, leaving a server).
    Features may hold a person's place for a while (office hours keep it for a grace period),
    so this is an event, not a lookup."""

    who: Identity
    where: Where
    how: str


@dataclass(frozen=True)
class Returned:
    """A person (re)joined a place the bot shares with them: the counterpart of :class:`Left`
    (a JOIN on IRC, a Matrix room join, joining the Discord server)."""

    who: Identity
    where: Where


@dataclass(frozen=True)
class Renamed:
    """A person took another name on the platform (an IRC NICK). ``new`` may have another
    account than ``old`` where the account is derived from the name (IRC hostmask mode), so
    whoever holds something for ``old`` can move it to ``new``."""

    old: Identity
    new: Identity


#: what features hear of people coming, going and renaming (``Feature.on_presence``)
Presence = Union[Left, Returned, Renamed]

Inbound = Union[TextReceived, CommandInvoked, Seen, CompletionRequested, Left, Returned, Renamed]


# --------------------------------------------------------------------------- outbound


@dataclass(frozen=True)
class Attachment:
    """A file that goes with an outbound message (a chart as PNG; later data exports and
    certificates). The core attaches one only where the platform's ``Capabilities.attachments``
    says it takes files; elsewhere it says the same in words. The bytes are kept in the outbox
    beside the message until it is sent, never in its JSON payload."""

    name: str
    media_type: str
    data: bytes = field(repr=False)

    @property
    def is_image(self) -> bool:
        return self.media_type.startswith("image/")


@dataclass(frozen=True)
class Reply:
    """An answer to an inbound event, in the place it came from.

    ``private`` replies are for the asker only: an adapter with ephemeral replies uses them,
    otherwise the engine turns the reply into a ``DirectMessage`` before it reaches the adapter.
    ``mention`` is the one person the reply may ping (never anybody else).
    """

    where: Where
    text: str
    in_reply_to: str | None = None
    private: bool = False
    to: Identity | None = None
    mention: Identity | None = None
    #: outbox key; adapters with idempotent sends (Matrix txn ids) use it to avoid duplicates
    key: str | None = None
    attachment: Attachment | None = None


@dataclass(frozen=True)
class Button:
    """An optional quick action shown with a DM where the platform has buttons.

    ``command`` is what the button does, as the text command it stands for (``"!checkin"``),
    so platforms without buttons lose nothing."""

    label: str
    command: str


@dataclass(frozen=True)
class Form:
    """Questions a platform with forms (Discord modals) may show at once, behind a button.

    The answers come back as one plain DM, numbered in the order of ``questions``
    (``"1. ...\n2. ..."``), exactly what a person on a text platform would type, so the feature
    reading them needs no platform knowledge."""

    title: str
    questions: tuple[str, ...]
    #: the button's label
    label: str = "Answer"
    #: the number of the first question, where the answers are numbered from (skills 6-10 of an
    #: assessment come back as "6. ...\n7. ...")
    first: int = 1


@dataclass(frozen=True)
class DirectMessage:
    """A message to one person in private. ``key`` is its outbox key (see ``Reply.key``)."""

    to: Identity
    text: str
    key: str | None = None
    buttons: tuple[Button, ...] = ()
    form: Form | None = None
    attachment: Attachment | None = None


@dataclass(frozen=True)
class Announce:
    """A message to a channel that answers nobody in particular (queue opened, next person)."""

    where: Where
    text: str
    mention: Identity | None = None
    key: str | None = None
    attachment: Attachment | None = None


Outbound = Union[Reply, DirectMessage, Announce]


# --------------------------------------------------------------------------- delivery


@dataclass(frozen=True)
class Delivery:
    """What became of one outbound event.

    ``status``: ``sent``; ``offline`` (the person cannot be reached right now but may be later,
    e.g. not on IRC: try again when seen); ``undeliverable`` (the platform refuses for good,
    e.g. Discord 50007: do not retry); ``failed`` (a transient error, may be retried).
    """

    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "sent"


SENT = Delivery("sent")


@dataclass(frozen=True)
class Handled:
    """What the engine's sink returns once an inbound event is committed.

    ``answers``: how many of the messages it recorded answer the event in place (a ``Reply``
    whose ``in_reply_to`` is the event's id). They are sent in the background, after the sink
    returned; an adapter that must answer in place (a Discord interaction) waits for that many
    before it closes the interaction without one."""

    answers: int = 0
