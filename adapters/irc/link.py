"""One connection to the server: the library's connection object and what the bot learnt on it.

:class:`Link` is the state of one connection (capabilities, ISUPPORT, the bot's own mask,
channels joined); a reconnect starts a new one. :class:`LinkOwner` names the attributes the
adapter's parts (registration, accounts, inbound, sending, connection) share.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Callable

import irc.client
import irc.client_aio
from jaraco.stream.buffer import LineBuffer

from adapters.base import Reporter, Sink
from adapters.irc import text
from adapters.irc.roster import Roster
from adapters.irc.settings import IrcSettings
from adapters.pacing import TokenBucket
from chatbot.events import Inbound

log = logging.getLogger("adapters.irc")


class Utf8LineBuffer(LineBuffer):
    """Lines as text by :func:`adapters.irc.text.decode_line` (never a Latin-1 fallback)."""

    def lines(self):  # type: ignore[override]
        for line in super().lines():
            yield text.decode_line(line)


class Connection(irc.client_aio.AioConnection):
    """An AioConnection that hands every event to one callback and survives bad lines."""

    buffer_class = Utf8LineBuffer

    def __init__(self, reactor: irc.client_aio.AioReactor, on_event: Callable[[irc.client.Event], None]):
        super().__init__(reactor)
        self.on_event = on_event
        self.last_rx = reactor.loop.time()

    def process_data(self, new_data: bytes) -> None:
        self.last_rx = self.reactor.loop.time()
        self.buffer.feed(new_data)
        for line in self.buffer:
            if not line:
                continue
            try:
                self._process_line(line)
            except Exception:  # one odd line must not kill the connection
                log.exception("could not handle IRC line %r", line[:200])

    def _handle_event(self, event: irc.client.Event) -> None:
        self.reactor._handle_event(self, event)  # the reactor's PING -> PONG handler
        self.on_event(event)

    def _handle_message(self, arguments, command, source, tags) -> None:
        """PRIVMSG/NOTICE with the text as sent (the library would CTCP-dequote it)."""
        if len(arguments) < 2:
            return
        target, body = arguments[0], arguments[1]
        if body.startswith("\x01"):
            kind = "ctcp" if command == "privmsg" else "ctcpreply"
        else:
            kind = "message" if command == "privmsg" else "notice"
        self._handle_event(irc.client.Event(kind, source, target, [body], tags))


@dataclass
class Link:
    """State of one connection; a reconnect starts a new one."""

    conn: Connection
    registered: asyncio.Future
    closed: asyncio.Future
    nick: str
    offered: dict[str, str] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    isupport: dict[str, str] = field(default_factory=dict)
    negotiating: bool = True  # before CAP END
    sasl: str = "none"  # none | wanted | pending | ok
    fatal: str | None = None
    nick_attempts: int = 0
    user: str | None = None
    host: str | None = None
    joined: dict[str, str] = field(default_factory=dict)  # folded -> as the server spells it
    whois: dict[str, asyncio.Future] = field(default_factory=dict)
    whois_seen: dict[str, list] = field(default_factory=dict)  # folded nick -> [exists, account]
    tasks: list[asyncio.Task] = field(default_factory=list)
    #: set once every configured channel is joined
    all_joined: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def ready(self) -> bool:
        return self.registered.done() and not self.closed.done()


class LinkOwner:
    """The state the adapter's parts share (set up in ``IrcAdapter.__init__``).

    Each part is a mixin of :class:`adapters.irc.adapter.IrcAdapter`; ``EVENTS`` in a part maps
    the library's event types to the names of that part's handlers."""

    EVENTS: dict[str, str] = {}

    settings: IrcSettings
    roster: Roster
    _password: str | None
    _bucket: TokenBucket
    _casemapping: str
    _last_nick: dict[str, str]
    _watch: dict[str, str]
    _link: Link | None
    _sink: Sink | None
    _inbound: asyncio.Queue[Inbound]
    _paused: asyncio.BaseTransport | None
    _tasks: set[asyncio.Task]
    _first: asyncio.Future | None
    _stopping: bool
    _reactor: irc.client_aio.AioReactor | None
    _report: Reporter
    _handlers: dict[str, Callable[[Link, irc.client.Event], None]]
