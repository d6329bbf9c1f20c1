"""IRC adapter: jaraco's ``irc.client_aio`` with IRCv3 accounts, pacing and reconnects.

What it does, and why:

* **Identity is the services account.** IRC nicks are not owned: anybody may take a nick
  once its owner leaves. The adapter requests ``account-tag`` (the account rides on every
  message), ``extended-join`` (on every JOIN), ``account-notify`` (ACCOUNT on log in/out) and
  runs ``WHO #chan %tna,42`` (WHOX) when it joins, so it knows who is logged in to which
  account. Inbound events carry ``Identity("irc", account or None, nick)``; without an
  account a person is anonymous, whatever their nick.
* **Seen.** IRC has no offline delivery, so the adapter emits :class:`Seen` when a logged-in
  person becomes reachable (joins, logs in, is listed by WHOX, or speaks under a new nick),
  and the engine retries what waited for them. A DM to an account nobody is logged in to
  returns ``Delivery("offline")``; the adapter then MONITORs the likely nicks so it can emit
  ``Seen`` even for people who share no channel with the bot.
* **Safe output.** Every line goes through :mod:`adapters.irc_text` (no CR/LF/NUL/CTCP, no
  formatting, split to fit 512 bytes as the server relays it, guarded against triggering
  bots) and through a :class:`~adapters.pacing.TokenBucket` (never the library's
  ``set_rate_limit``, which sleeps the event loop).
* **Staying connected.** A reconnect loop with exponential backoff and jitter, a PING
  keepalive that notices a dead link, rejoining channels, and nick-collision handling (an
  alternative nick at once, the real one back via MONITOR or periodic NICK attempts).

Buttons: IRC has none. A DirectMessage's buttons become one last line ``(reply: !a, !b)``
listing the commands they stand for, so nothing is lost. Channel keys are not supported.

Library pitfalls handled here (see ../shared/servers/README.md): ``CAP LS 302`` is
written from the connect factory before NICK/USER; SASL PLAIN is done by hand (the aio
``connect`` has none) and its payload is written straight to the transport so the library's
debug log never sees the password; events go to this adapter only (per connection, not the
reactor's global handlers); ISUPPORT comes from the raw 005 arguments (``WHOX`` has no value);
PRIVMSG text is taken raw (no CTCP low-level dequoting, which would turn ``\\x10n`` into a
newline); undecodable bytes fall back to latin-1 instead of raising.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import random
import ssl
from dataclasses import dataclass, field
from typing import Any, Callable, Coroutine, Sequence

import irc.client
import irc.client_aio
from jaraco.stream.buffer import LenientDecodingLineBuffer
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters import irc_text as text
from adapters.base import AdapterContext, AdapterState, Capabilities, Reporter, Sink, ignore_state
from adapters.pacing import TokenBucket, backoff_delay
from chatbot.commands import CommandSpec
from chatbot.events import (
    SENT,
    Announce,
    Delivery,
    DirectMessage,
    Identity,
    Inbound,
    Outbound,
    Reply,
    Seen,
    TextReceived,
    Where,
)

log = logging.getLogger(__name__)

PLATFORM = "irc"
#: IRCv3 capabilities requested when offered (``sasl`` is added when an account is set).
WANTED_CAPS = (
    "account-tag", "extended-join", "account-notify", "message-tags", "server-time",
    "away-notify", "multi-prefix", "userhost-in-names", "cap-notify", "chghost",
    "extended-monitor",
)
#: WHOX token for the join-time channel scan (replies with another token are not ours).
WHOX_TOKEN = "42"
#: A session that stayed up this long resets the reconnect backoff.
STABLE_AFTER = 60.0
#: How long a WHOIS (checking which account a nick is logged in to) may take.
WHOIS_TIMEOUT = 5.0
#: Inbound events waiting for the engine past which the bot stops reading from the server
#: (it keeps the rest in its send queue) until half of them are handled: nothing is dropped.
INBOUND_QUEUE = 1000
#: Events handed to the engine at once (it commits those waiting in one transaction).
IN_FLIGHT = 32
#: Fewest text bytes per line worth sending (a target name could eat the whole 512).
MIN_BUDGET = 64
_SASL_FAILURES = {"saslfail", "sasltoolong", "saslaborted", "nicklocked"}


class IrcLoginError(ValueError):
    """The server refused the bot's SASL login: retrying with the same settings will not help.

    A ValueError, which the composition root treats as a configuration error (no retry)."""


# --------------------------------------------------------------------------- settings


class IrcSettings(BaseModel):
    """The ``[adapters.irc]`` settings. The SASL password is read from ``password_env``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int | None = Field(None, ge=1, le=65535, description="default 6697 with TLS, else 6667")
    tls: bool = False
    tls_verify: bool = True
    tls_ca_file: str | None = None
    nick: str
    username: str | None = None
    realname: str = "mentorbot"
    sasl_account: str | None = None
    password_env: str = "MENTORBOT_IRC_PASSWORD"
    channels: list[str] = Field(default_factory=list)
    prefix: str = "!"
    #: lines sent at once, then ``rate`` lines per second: 5 and 1/s stay under stock ircd
    #: flood limits (hybrid: 5 then 1/s; InspIRCd: 10 then 1/s; solanum: similar), with room
    #: for PONGs and the bot's own JOIN/WHO/WHOIS lines.
    burst: int = Field(5, ge=1, le=1000)
    rate: float = Field(1.0, gt=0, le=10000)
    reconnect_min_delay: float = Field(2.0, gt=0)
    reconnect_max_delay: float = Field(300.0, gt=0)
    #: seconds of silence from the server before the bot sends a PING ...
    ping_interval: float = Field(90.0, gt=0)
    #: ... and seconds it waits for any reply before it calls the link dead and reconnects
    ping_timeout: float = Field(60.0, gt=0)
    #: seconds for TCP/TLS connect and for registration (001) each
    connect_timeout: float = Field(30.0, gt=0)
    #: seconds between NICK attempts to regain the configured nick (MONITOR is faster)
    regain_interval: float = Field(60.0, gt=0)
    quit_message: str = "mentorbot"

    @field_validator("nick", "username", "sasl_account")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and (not text.valid_target(value) or value[0] in "#&-0123456789"):
            raise ValueError(f"{value!r} is not a valid IRC name")
        return value

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        for channel in value:
            if not text.valid_target(channel) or channel[0] not in "#&":
                raise ValueError(f"{channel!r} is not a channel name (like #mentors)")
        return value

    @field_validator("realname", "quit_message")
    @classmethod
    def _free_text(cls, value: str) -> str:
        if text.strip_controls(value) != value:
            raise ValueError("must not contain control characters")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value or any(c.isspace() for c in value):
            raise ValueError("prefix must be non-empty and without spaces")
        return value

    @model_validator(mode="after")
    def _delays(self) -> "IrcSettings":
        if self.reconnect_max_delay < self.reconnect_min_delay:
            raise ValueError("reconnect_max_delay must be >= reconnect_min_delay")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (6697 if self.tls else 6667)


# --------------------------------------------------------------------------- who is who


@dataclass
class _Person:
    nick: str
    account: str | None = None
    #: whether ``account`` was learnt (NAMES alone says nothing about accounts)
    known: bool = False
    channels: set[str] = field(default_factory=set)


class Roster:
    """People on the channels the bot is in, and the services account each is logged in to.

    Kept exact by JOIN/PART/KICK/QUIT/NICK/ACCOUNT, which the server sends only for people
    sharing a channel with the bot; so it answers "who is logged in to account X" with
    confidence for them and for nobody else. Names are folded with the server's casemapping.
    """

    def __init__(self, fold: Callable[[str], str]):
        self._fold = fold
        self._people: dict[str, _Person] = {}

    def get(self, nick: str) -> _Person | None:
        return self._people.get(self._fold(nick))

    def __contains__(self, nick: str) -> bool:
        return self._fold(nick) in self._people

    def __len__(self) -> int:
        return len(self._people)

    def join(self, nick: str, channel: str, account: str | None = None, *, known: bool = False) -> None:
        person = self._people.setdefault(self._fold(nick), _Person(nick))
        person.nick = nick
        person.channels.add(self._fold(channel))
        if known:
            person.account, person.known = account, True

    def set_account(self, nick: str, account: str | None) -> bool:
        """Record what we learnt; False if the nick shares no channel with us."""
        person = self.get(nick)
        if person is None:
            return False
        person.account, person.known = account, True
        return True

    def part(self, nick: str, channel: str) -> bool:
        """Returns True if the person now shares no channel with the bot (and is forgotten)."""
        key = self._fold(nick)
        person = self._people.get(key)
        if person is None:
            return False
        person.channels.discard(self._fold(channel))
        if not person.channels:
            del self._people[key]
            return True
        return False

    def quit(self, nick: str) -> None:
        self._people.pop(self._fold(nick), None)

    def rename(self, old: str, new: str) -> None:
        person = self._people.pop(self._fold(old), None)
        if person is not None:
            person.nick = new
            self._people[self._fold(new)] = person

    def drop_channel(self, channel: str) -> list[str]:
        """The bot left ``channel``: forget it; returns the nicks no longer seen anywhere."""
        key, gone = self._fold(channel), []
        for nick_key, person in list(self._people.items()):
            person.channels.discard(key)
            if not person.channels:
                del self._people[nick_key]
                gone.append(person.nick)
        return gone

    def nick_of(self, account: str) -> str | None:
        folded = self._fold(account)
        for person in self._people.values():
            if person.known and person.account is not None and self._fold(person.account) == folded:
                return person.nick
        return None

    def clear(self) -> None:
        self._people.clear()


# --------------------------------------------------------------------------- the connection


class _Connection(irc.client_aio.AioConnection):
    """An AioConnection that hands every event to one callback and survives bad lines."""

    buffer_class = LenientDecodingLineBuffer  # latin-1 fallback instead of UnicodeDecodeError

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
class _Session:
    """State of one connection; a reconnect starts a new one."""

    conn: _Connection
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

    @property
    def ready(self) -> bool:
        return self.registered.done() and not self.closed.done()


# --------------------------------------------------------------------------- the adapter


class IrcAdapter:
    """One bot identity on one IRC network. See the module docstring."""

    platform = PLATFORM

    def __init__(self, settings: IrcSettings, password: str | None):
        self.settings = settings
        self._password = password
        self.capabilities = Capabilities(
            direct_messages=True, ephemeral_replies=False, buttons=False, threads=False,
            formatting=False, max_message_length=400, offline_delivery=False, channel_lines=4,
            parallel_sends=2,  # lines interleave by token: a call waits for one line, not a message
        )
        self._bucket = TokenBucket(settings.rate, settings.burst)
        self._casemapping = "rfc1459"
        self.roster = Roster(self._fold)
        #: account -> the nick it was last announced (Seen) under; also a hint for DMs
        self._last_nick: dict[str, str] = {}
        #: folded nick -> account: MONITORed because a DM to that account found nobody
        self._watch: dict[str, str] = {}
        self._session: _Session | None = None
        self._sink: Sink | None = None
        self._inbound: asyncio.Queue[Inbound] = asyncio.Queue()  # bounded by pausing the reads
        self._paused: asyncio.BaseTransport | None = None  # the transport whose reading is paused
        self._tasks: set[asyncio.Task] = set()
        self._runner: asyncio.Task | None = None
        self._dispatcher: asyncio.Task | None = None
        self._first: asyncio.Future | None = None
        self._stopping = False
        self._reactor: irc.client_aio.AioReactor | None = None
        #: times the bot completed registration (1 after start, +1 per reconnect)
        self.registrations = 0
        self._report: Reporter = ignore_state
        self._handlers: dict[str, Callable[[_Session, irc.client.Event], None]] = {
            "cap": self._on_cap, "authenticate": self._on_authenticate,
            "saslsuccess": self._on_sasl_ok, "saslalready": self._on_sasl_ok,
            **{name: self._on_sasl_failed for name in _SASL_FAILURES},
            "loggedin": self._on_loggedin, "welcome": self._on_welcome,
            "featurelist": self._on_isupport, "nicknameinuse": self._on_nick_refused,
            "erroneusnickname": self._on_nick_refused, "unavailresource": self._on_nick_refused,
            "nickcollision": self._on_nick_refused, "join": self._on_join, "part": self._on_part,
            "kick": self._on_kick, "quit": self._on_quit, "nick": self._on_nick,
            "account": self._on_account, "namreply": self._on_names, "whospcrpl": self._on_whox,
            "chghost": self._on_chghost, "396": self._on_visiblehost, "730": self._on_mononline,
            "731": self._on_monoffline, "whoisaccount": self._on_whoisaccount,
            "nosuchnick": self._on_nosuchnick, "endofwhois": self._on_endofwhois,
            "message": self._on_message, "error": self._on_error, "disconnect": self._on_disconnect,
        }

    # ----------------------------------------------------------------- public surface

    @property
    def nick(self) -> str | None:
        """The bot's current nick, or None while disconnected."""
        return self._session.nick if self._session and self._session.ready else None

    @property
    def connected(self) -> bool:
        return self._session is not None and self._session.ready

    @property
    def joined_channels(self) -> list[str]:
        return list(self._session.joined.values()) if self.connected else []

    def bind_reporter(self, report: Reporter) -> None:
        """Connection changes go to ``report`` (registered, reconnecting, the loop ended, stopped)."""
        self._report = report

    async def start(self, sink: Sink, specs: Sequence[CommandSpec]) -> None:
        """Connect in the background; return after the first attempt's outcome.

        Raises :class:`IrcLoginError` if the first attempt ends in a refused SASL login; any
        other failure (server unreachable) is retried in the background with backoff.
        """
        loop = asyncio.get_running_loop()
        self._sink = sink
        self._stopping = False
        self._reactor = irc.client_aio.AioReactor(loop=loop)
        self._first = loop.create_future()
        self._dispatcher = asyncio.create_task(self._dispatch(), name="irc-dispatch")
        self._runner = asyncio.create_task(self._run(), name="irc-connection")
        for task in (self._dispatcher, self._runner):
            task.add_done_callback(self._loop_ended)
        await asyncio.wait({self._first}, timeout=2 * self.settings.connect_timeout)
        if self._first.done() and isinstance(self._first.result(), IrcLoginError):
            error = self._first.result()
            await self.stop()
            raise error

    async def send(self, event: Outbound) -> Delivery:
        """Reply/Announce to a channel: PRIVMSG there, ``nick: `` first for the person it is
        for (the ``mention``, else a Reply's asker, as people answer each other on IRC).
        A direct Reply or a DirectMessage: PRIVMSG to the nick logged in to the recipient's
        account (``offline`` if there is none; an anonymous recipient gets their nick).
        ``failed`` at once while disconnected: the engine's outbox retries."""
        sess = self._session
        if sess is None or not sess.ready:
            return Delivery("failed", "not connected to IRC")
        if isinstance(event, (Reply, Announce)) and not event.where.is_direct and not getattr(event, "private", False):
            channel = event.where.channel or ""
            if not text.valid_target(channel):
                return Delivery("undeliverable", f"not a channel name: {channel!r}")
            body = event.text
            nick = self._addressee(event)
            if nick:
                body = f"{nick}: {body}"
            return await self._privmsg(sess, channel, body)
        who = event.to if isinstance(event, DirectMessage) else (event.to or event.mention)
        if who is None or who.platform != PLATFORM:
            return Delivery("undeliverable", "a direct message needs an IRC recipient")
        body = event.text
        if isinstance(event, DirectMessage) and event.buttons:
            body += "\n(reply: " + ", ".join(b.command for b in event.buttons) + ")"
        target = await self._recipient(sess, who)
        if target is None:
            if not sess.ready:
                return Delivery("failed", "connection lost")
            return Delivery("offline", f"nobody is logged in to {who.account} on IRC")
        return await self._privmsg(sess, target, body)

    async def stop(self) -> None:
        """QUIT (waiting briefly for the server to close), then cancel every task started."""
        if self._stopping:
            self._report(AdapterState("stopped"))  # whoever asks again means it too
            return
        self._stopping = True
        sess = self._session
        if sess is not None and not sess.closed.done():
            self._raw(sess, "QUIT :" + text.strip_controls(self.settings.quit_message))
            try:
                await asyncio.wait_for(asyncio.shield(sess.closed), 2.0)
            except asyncio.TimeoutError:
                pass
            self._drop(sess, "stopping")
        tasks = [t for t in (self._runner, self._dispatcher, *self._tasks) if t is not None]
        if sess is not None:
            tasks += sess.tasks
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._report(AdapterState("stopped"))

    def _loop_ended(self, task: asyncio.Task) -> None:
        """The connection loop or the dispatcher ended though nobody stopped the adapter (a
        bug): report it, so the supervisor restarts the adapter rather than leave it deaf."""
        if self._stopping or task not in (self._runner, self._dispatcher):
            return
        error = None if task.cancelled() else task.exception()
        self._report(AdapterState("failed", f"IRC: {task.get_name()} ended: {error!r}"))

    # ----------------------------------------------------------------- connection loop

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        s, attempt = self.settings, 0
        while not self._stopping:
            began = loop.time()
            registered, lost = False, "connection lost"
            try:
                registered = await self._connect_once()
                sess = self._session
                if sess is not None and sess.closed.done():
                    lost = f"{'connection lost' if registered else 'not registered'}: {sess.closed.result()}"
            except (OSError, asyncio.TimeoutError, irc.client.ServerConnectionError) as exc:
                log.warning("IRC: cannot connect to %s:%s: %s", s.host, s.effective_port, exc or type(exc).__name__)
                self._resolve_first(exc)
                lost = f"cannot connect: {exc or type(exc).__name__}"
            except Exception as exc:  # a bug must not end the reconnect loop
                log.exception("IRC: connection failed")
                self._resolve_first(exc)
                lost = f"connection failed: {exc!r}"
            if self._stopping:
                break
            self._report(AdapterState("reconnecting", lost))
            if registered and loop.time() - began >= STABLE_AFTER:
                attempt = 0
            delay = backoff_delay(attempt, s.reconnect_min_delay, s.reconnect_max_delay)
            attempt += 1
            log.info("IRC: reconnecting in %.1f s (attempt %d)", delay, attempt)
            await asyncio.sleep(delay)

    def _resolve_first(self, outcome: Any) -> None:
        if self._first is not None and not self._first.done():
            self._first.set_result(outcome)

    async def _connect_once(self) -> bool:
        """One connection from TCP connect to its end; True if it got registered."""
        loop = asyncio.get_running_loop()
        s = self.settings
        assert self._reactor is not None
        sess: _Session
        conn = _Connection(self._reactor, lambda ev: self._on_event(sess, ev))
        sess = _Session(conn, loop.create_future(), loop.create_future(), nick=s.nick)
        sess.sasl = "wanted" if s.sasl_account else "none"
        self._casemapping = "rfc1459"
        self._session = sess
        try:
            await asyncio.wait_for(
                conn.connect(s.host, s.effective_port, s.nick, username=s.username or s.nick,
                             ircname=s.realname, connect_factory=self._open),
                s.connect_timeout,
            )
            await asyncio.wait({sess.registered, sess.closed}, timeout=s.connect_timeout,
                               return_when=asyncio.FIRST_COMPLETED)
            if not sess.registered.done():
                reason = sess.fatal or ("closed by the server" if sess.closed.done() else "registration timed out")
                log.warning("IRC: not registered: %s", reason)
                self._resolve_first(IrcLoginError(sess.fatal) if sess.fatal else ConnectionError(reason))
                return False
            self.registrations += 1
            log.info("IRC: registered as %s on %s", sess.nick, s.host)
            self._report(AdapterState("connected"))
            self._resolve_first(None)
            self._after_welcome(sess)
            await asyncio.shield(sess.closed)
            return True
        finally:
            self._end_session(sess)

    def _open(self, protocol: irc.client_aio.IrcProtocol, address: tuple[str, int]) -> Coroutine:
        """The connect factory: TCP (or TLS), then ``CAP LS 302`` before NICK/USER go out."""

        async def open_() -> tuple[asyncio.Transport, Any]:
            context = self._tls_context() if self.settings.tls else None
            transport, proto = await protocol.loop.create_connection(
                lambda: protocol, *address, ssl=context, server_hostname=address[0] if context else None
            )
            transport.write(b"CAP LS 302\r\n")
            return transport, proto

        return open_()

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.settings.tls_ca_file)
        if not self.settings.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _after_welcome(self, sess: _Session) -> None:
        s = self.settings
        sess.tasks.append(asyncio.create_task(self._keepalive(sess), name="irc-keepalive"))
        sess.tasks.append(asyncio.create_task(self._regain_loop(sess), name="irc-regain"))
        self._paced_list(sess, "JOIN ", s.channels)
        monitor = [s.nick] if self._fold(sess.nick) != self._fold(s.nick) else []
        if "MONITOR" in sess.isupport:
            self._paced_list(sess, "MONITOR + ", monitor + list(self._watch))

    def _end_session(self, sess: _Session) -> None:
        for task in sess.tasks:
            task.cancel()
        self._drop(sess, "session ended")
        for fut in sess.whois.values():
            if not fut.done():
                fut.set_result((False, None))
        if self._session is sess:
            self.roster.clear()
            self._last_nick.clear()  # who is reachable is learnt again (and re-announced) on rejoin

    def _drop(self, sess: _Session, reason: str) -> None:
        """Close the link now (no waiting for buffered data, the peer may be gone)."""
        transport = getattr(sess.conn, "transport", None)
        if transport is not None and not transport.is_closing():
            transport.abort()
        if not sess.closed.done():
            sess.closed.set_result(reason)

    async def _keepalive(self, sess: _Session) -> None:
        """PING after ``ping_interval`` of silence; no data within ``ping_timeout``: dead link."""
        loop = asyncio.get_running_loop()
        s = self.settings
        while True:
            wait = sess.conn.last_rx + s.ping_interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            sent = loop.time()
            self._raw(sess, "PING :keepalive")
            await asyncio.sleep(s.ping_timeout)
            if sess.conn.last_rx < sent:
                log.warning("IRC: no answer to PING for %.1f s, the link is dead; reconnecting", s.ping_timeout)
                self._drop(sess, "ping timeout")
                return

    async def _regain_loop(self, sess: _Session) -> None:
        """Ask for the configured nick now and then while we go by another one."""
        while True:
            await asyncio.sleep(self.settings.regain_interval)
            if self._fold(sess.nick) != self._fold(self.settings.nick):
                self._paced(sess, "NICK " + self.settings.nick)

    # ----------------------------------------------------------------- writing

    def _raw(self, sess: _Session, line: str) -> None:
        """Write one line now (registration, PING, QUIT), if still connected."""
        if sess.closed.done():
            return
        try:
            sess.conn.send_raw(text.clean_param(line))
        except irc.client.ServerNotConnectedError:
            pass

    def _paced(self, sess: _Session, line: str) -> None:
        """Write one line when the token bucket allows (JOIN, WHO, MONITOR, NICK, WHOIS)."""

        async def later() -> None:
            await self._bucket.acquire()
            self._raw(sess, line)

        self._spawn(later())

    def _paced_list(self, sess: _Session, command: str, items: list[str]) -> None:
        """``command`` with comma-joined ``items``, in as few lines (of <= 400 bytes) as fit."""
        line = ""
        for item in items:
            if line and len(line) + len(item) + 1 > 400:
                self._paced(sess, command + line)
                line = ""
            line = f"{line},{item}" if line else item
        if line:
            self._paced(sess, command + line)

    def _spawn(self, coro: Coroutine) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("IRC: background task failed", exc_info=task.exception())

    def _mask_len(self, sess: _Session) -> int:
        def number(key: str, default: int) -> int:
            value = sess.isupport.get(key, "")
            return int(value) if value.isdigit() else default

        return text.mask_length(sess.nick, sess.user, sess.host,
                                userlen=number("USERLEN", text.DEFAULT_USERLEN),
                                hostlen=number("HOSTLEN", text.DEFAULT_HOSTLEN))

    async def _privmsg(self, sess: _Session, target: str, body: str) -> Delivery:
        budget = text.text_budget(self._mask_len(sess), target)
        if budget < MIN_BUDGET:
            return Delivery("undeliverable", f"target name too long: {target[:40]!r}...")
        # Each line takes a token in turn (first come, first served), so a reply to a channel sent
        # beside a long private answer interleaves with it line by line instead of waiting for
        # all of it; the sender keeps one message per recipient in flight, so lines to one
        # target stay in order.
        lines = text.render_lines(body, budget)
        for i, line in enumerate(lines):
            await self._bucket.acquire(first=i == 0)
            if not sess.ready:
                return Delivery("failed", f"connection lost after {i} of {len(lines)} lines")
            self._raw(sess, f"PRIVMSG {target} :{line}")
        return SENT if lines else Delivery("sent", "nothing to send")

    # ----------------------------------------------------------------- who is the recipient

    def _fold(self, name: str) -> str:
        return text.irc_lower(name, self._casemapping)

    def _mention_nick(self, who: Identity) -> str | None:
        """The nick that pings ``who`` in a channel: the one logged in to their account now
        (never a nick somebody else may have taken since), or an anonymous person's own nick."""
        if who.platform != PLATFORM:
            return None
        if who.account is None:
            return who.display if text.valid_target(who.display) else None
        return self.roster.nick_of(who.account)

    def _addressee(self, event: Reply | Announce) -> str | None:
        """Who a channel line is addressed to: the person it mentions; for a Reply without one,
        the asker, under the nick they wrote from unless the roster shows that nick is now
        someone else's (they left and another account took it)."""
        if event.mention is not None:
            return self._mention_nick(event.mention)
        asker = event.to if isinstance(event, Reply) else None
        if asker is None or asker.platform != PLATFORM:
            return None
        nick = self._mention_nick(asker)
        if nick is not None or not text.valid_target(asker.display):
            return nick
        holder = self.roster.get(asker.display)
        assert asker.account is not None  # anonymous askers were answered by _mention_nick
        if holder is not None and holder.known and (
            holder.account is None or self._fold(holder.account) != self._fold(asker.account)
        ):
            return None
        return asker.display

    async def _recipient(self, sess: _Session, who: Identity) -> str | None:
        """The nick to PRIVMSG for ``who``, or None if their account is not online.

        People sharing a channel are looked up in the roster; others are checked with WHOIS
        under their last known nick, the nick on the identity and the account name (which
        services usually reserve for its owner).
        """
        if who.account is None:  # anonymous: only the nick they wrote from
            return who.display if text.valid_target(who.display) else None
        nick = self.roster.nick_of(who.account)
        if nick is not None:
            return nick
        candidates: dict[str, str] = {}
        for cand in (self._last_nick.get(who.account), who.display, who.account):
            if cand and text.valid_target(cand):
                candidates.setdefault(self._fold(cand), cand)
        for cand in candidates.values():
            exists, account = await self._whois(sess, cand)
            if account is not None and self._fold(account) == self._fold(who.account):
                self._last_nick[who.account] = cand
                return cand
        self._last_nick.pop(who.account, None)
        self._watch_for(sess, who.account, list(candidates.values()))
        return None

    async def _whois(self, sess: _Session, nick: str) -> tuple[bool, str | None]:
        key = self._fold(nick)
        fut = sess.whois.get(key)
        if fut is None:
            fut = sess.whois[key] = asyncio.get_running_loop().create_future()
            sess.whois_seen[key] = [True, None]
            self._paced(sess, "WHOIS " + nick)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), WHOIS_TIMEOUT)
        except asyncio.TimeoutError:
            log.warning("IRC: no answer to WHOIS %s", nick)
            return False, None
        finally:
            if sess.whois.get(key) is fut:
                del sess.whois[key]
                sess.whois_seen.pop(key, None)

    def _watch_for(self, sess: _Session, account: str, nicks: list[str]) -> None:
        """MONITOR ``nicks`` so the bot notices when ``account`` comes online (then: Seen)."""
        limit = sess.isupport.get("MONITOR")
        if limit is None:
            return
        cap = min(int(limit) - 1, 50) if limit.isdigit() else 50
        new = [n for n in nicks if self._fold(n) not in self._watch]
        for nick in nicks:
            self._watch[self._fold(nick)] = account
        evicted = list(self._watch)[: max(0, len(self._watch) - cap)]
        for key in evicted:
            del self._watch[key]
        self._paced_list(sess, "MONITOR - ", evicted)
        self._paced_list(sess, "MONITOR + ", [n for n in new if self._fold(n) in self._watch])

    # ----------------------------------------------------------------- inbound plumbing

    def _on_event(self, sess: _Session, event: irc.client.Event) -> None:
        if sess is not self._session:
            return
        handler = self._handlers.get(event.type)
        if handler is None:
            return
        try:
            handler(sess, event)
        except Exception:
            log.exception("IRC: error handling %s", event.type)

    def _emit(self, event: Inbound) -> None:
        """Queue an inbound event; past the high-water mark stop reading from the server (it
        holds the rest in its send queue) instead of dropping what people said."""
        self._inbound.put_nowait(event)
        if self._inbound.qsize() >= INBOUND_QUEUE and self._paused is None:
            transport = getattr(self._session.conn, "transport", None) if self._session else None
            if transport is not None and not transport.is_closing():
                log.warning("IRC: the engine is behind (%d events waiting); reading pauses", self._inbound.qsize())
                transport.pause_reading()
                self._paused = transport

    async def _dispatch(self) -> None:
        """Hand inbound events to the sink in the order they came, several at a time: the engine
        commits the ones waiting together (each sink call returns once its event is committed)."""
        slots = asyncio.Semaphore(IN_FLIGHT)

        async def hand_over(event: Inbound) -> None:
            try:
                assert self._sink is not None
                await self._sink(event)
            except Exception:
                log.exception("IRC: the sink failed on %s", type(event).__name__)
            finally:
                slots.release()

        while True:
            event = await self._inbound.get()
            if self._paused is not None and self._inbound.qsize() <= INBOUND_QUEUE // 2:
                if not self._paused.is_closing():
                    self._paused.resume_reading()
                self._paused = None
            await slots.acquire()
            self._spawn(hand_over(event))  # started in order, so they reach the engine in order

    def _announce(self, nick: str, account: str | None) -> None:
        """Note that ``account`` is reachable as ``nick``; emit Seen when that is news."""
        if account is None:
            return
        if self._last_nick.get(account) is not None and self._fold(self._last_nick[account]) == self._fold(nick):
            return
        self._last_nick[account] = nick
        self._emit(Seen(Identity(PLATFORM, account, nick)))

    def _forget(self, nick: str) -> None:
        """``nick`` quit or logged out: whoever it was is no longer reachable under it."""
        key = self._fold(nick)
        for account, last in list(self._last_nick.items()):
            if self._fold(last) == key:
                del self._last_nick[account]

    def _is_me(self, sess: _Session, nick: str) -> bool:
        return self._fold(nick) == self._fold(sess.nick)

    def _learn_mask(self, sess: _Session, mask: str) -> None:
        if "!" in mask and "@" in mask:
            source = irc.client.NickMask(mask)
            sess.user, sess.host = source.user, source.host

    # ----------------------------------------------------------------- registration

    def _on_cap(self, sess: _Session, ev: irc.client.Event) -> None:
        args = ev.arguments
        sub = args[0].upper() if args else ""
        listed = args[-1].split() if len(args) > 1 else []
        if sub in ("LS", "NEW"):
            for cap in listed:
                name, _, value = cap.partition("=")
                sess.offered[name] = value
            if sub == "LS" and len(args) > 2 and args[1] == "*":
                return  # more LS lines follow
            self._request_caps(sess)
        elif sub == "DEL":
            for cap in listed:
                sess.offered.pop(cap, None)
                sess.acked.discard(cap)
        elif sub == "ACK":
            for cap in listed:
                if cap.startswith("-"):
                    sess.acked.discard(cap[1:])
                else:
                    sess.acked.add(cap)
            if "sasl" in listed and sess.sasl == "wanted":
                sess.sasl = "pending"
                self._raw(sess, "AUTHENTICATE PLAIN")
            elif sess.sasl != "pending":
                self._cap_end(sess)
        elif sub == "NAK":
            log.warning("IRC: server refused capabilities %s", " ".join(listed))
            if sess.sasl == "wanted":
                self._fail(sess, "the server refused the sasl capability")
            self._cap_end(sess)

    def _request_caps(self, sess: _Session) -> None:
        wanted = [c for c in WANTED_CAPS if c in sess.offered and c not in sess.acked]
        if sess.negotiating and sess.sasl == "wanted":
            mechanisms = sess.offered.get("sasl")
            if mechanisms is None or (mechanisms and "PLAIN" not in mechanisms.split(",")):
                self._fail(sess, "the server offers no SASL PLAIN login")
                return
            wanted.append("sasl")
        if wanted:
            line = "CAP REQ :" + " ".join(wanted)
            self._raw(sess, line) if sess.negotiating else self._paced(sess, line)
        else:
            self._cap_end(sess)

    def _cap_end(self, sess: _Session) -> None:
        if sess.negotiating:
            sess.negotiating = False
            self._raw(sess, "CAP END")

    def _on_authenticate(self, sess: _Session, ev: irc.client.Event) -> None:
        if ev.target != "+" or sess.sasl != "pending":
            return
        account = self.settings.sasl_account or ""
        blob = base64.b64encode(f"{account}\0{account}\0{self._password or ''}".encode()).decode()
        chunks = [blob[i : i + 400] for i in range(0, len(blob), 400)]
        if len(blob) % 400 == 0:
            chunks.append("+")
        for chunk in chunks:  # straight to the transport: send_raw would log the secret
            sess.conn.transport.write(f"AUTHENTICATE {chunk}\r\n".encode())

    def _on_sasl_ok(self, sess: _Session, ev: irc.client.Event) -> None:
        sess.sasl = "ok"
        self._cap_end(sess)

    def _on_sasl_failed(self, sess: _Session, ev: irc.client.Event) -> None:
        detail = ev.arguments[-1] if ev.arguments else ev.type
        self._fail(sess, f"SASL login as {self.settings.sasl_account} failed: {detail}")

    def _fail(self, sess: _Session, reason: str) -> None:
        """A login problem the same settings will not fix: give up on this connection."""
        log.error("IRC: %s", reason)
        sess.fatal = reason
        self._raw(sess, "QUIT :login failed")
        self._drop(sess, reason)

    def _on_loggedin(self, sess: _Session, ev: irc.client.Event) -> None:
        if ev.arguments:
            self._learn_mask(sess, ev.arguments[0])

    def _on_welcome(self, sess: _Session, ev: irc.client.Event) -> None:
        if sess.sasl not in ("none", "ok"):
            self._fail(sess, "registered without completing the SASL login")
            return
        sess.negotiating = False
        sess.nick = ev.target or sess.nick
        words = (ev.arguments[-1] if ev.arguments else "").split()
        if words and words[-1].startswith(sess.nick + "!"):
            self._learn_mask(sess, words[-1])
        if not sess.registered.done():
            sess.registered.set_result(True)

    def _on_isupport(self, sess: _Session, ev: irc.client.Event) -> None:
        sess.isupport = text.parse_isupport(list(ev.arguments), sess.isupport)
        self._casemapping = sess.isupport.get("CASEMAPPING", "rfc1459")

    def _on_nick_refused(self, sess: _Session, ev: irc.client.Event) -> None:
        if sess.registered.done():
            log.info("IRC: nick %s still taken", ev.arguments[0] if ev.arguments else "?")
            return
        sess.nick_attempts += 1
        sess.nick = alternative_nick(self.settings.nick, sess.nick_attempts)
        log.warning("IRC: nick refused (%s); trying %s", ev.type, sess.nick)
        self._raw(sess, "NICK " + sess.nick)

    # ----------------------------------------------------------------- membership and accounts

    def _extended_account(self, sess: _Session, ev: irc.client.Event) -> tuple[str | None, bool]:
        """(account, whether we know) for a JOIN: extended-join, else the account tag."""
        if "extended-join" in sess.acked and ev.arguments:
            return (None if ev.arguments[0] == "*" else ev.arguments[0]), True
        if "account-tag" in sess.acked:
            return next((t["value"] for t in ev.tags or [] if t["key"] == "account"), None), True
        return None, False

    def _on_join(self, sess: _Session, ev: irc.client.Event) -> None:
        nick, channel = ev.source.nick, ev.target
        if self._is_me(sess, nick):
            sess.joined[self._fold(channel)] = channel
            self._learn_mask(sess, ev.source)
            log.info("IRC: joined %s", channel)
            if "WHOX" in sess.isupport:
                self._paced(sess, f"WHO {channel} %tna,{WHOX_TOKEN}")
            return
        account, known = self._extended_account(sess, ev)
        self.roster.join(nick, channel, account, known=known)
        self._announce(nick, account)

    def _left(self, sess: _Session, nick: str, channel: str) -> None:
        if self._is_me(sess, nick):
            sess.joined.pop(self._fold(channel), None)
            self.roster.drop_channel(channel)
        else:
            self.roster.part(nick, channel)

    def _on_part(self, sess: _Session, ev: irc.client.Event) -> None:
        self._left(sess, ev.source.nick, ev.target)

    def _on_kick(self, sess: _Session, ev: irc.client.Event) -> None:
        if ev.arguments:
            self._left(sess, ev.arguments[0], ev.target)

    def _on_quit(self, sess: _Session, ev: irc.client.Event) -> None:
        self.roster.quit(ev.source.nick)
        self._forget(ev.source.nick)

    def _on_nick(self, sess: _Session, ev: irc.client.Event) -> None:
        old, new = ev.source.nick, ev.target
        if self._is_me(sess, old):
            sess.nick = new
            if self._fold(new) == self._fold(self.settings.nick):
                log.info("IRC: regained nick %s", new)
                if "MONITOR" in sess.isupport:
                    self._paced(sess, "MONITOR - " + new)
            return
        self.roster.rename(old, new)
        for account, last in list(self._last_nick.items()):
            if self._fold(last) == self._fold(old):
                self._last_nick[account] = new

    def _on_account(self, sess: _Session, ev: irc.client.Event) -> None:
        nick = ev.source.nick
        if self._is_me(sess, nick):
            return
        account = None if ev.target in (None, "*") else ev.target
        self.roster.set_account(nick, account)
        if account is None:
            self._forget(nick)
            return
        watched = self._watch.get(self._fold(nick))
        if nick in self.roster or watched is not None:  # extended-monitor tells us of watched nicks
            self._unwatch(sess, nick)
            self._announce(nick, account)

    def _on_names(self, sess: _Session, ev: irc.client.Event) -> None:
        if len(ev.arguments) < 3:
            return
        channel = ev.arguments[1]
        prefix = sess.isupport.get("PREFIX", "(qaohv)~&@%+").partition(")")[2] or "~&@%+"
        for name in ev.arguments[2].split():
            nick = text.strip_prefixes(name, prefix)
            if nick and not self._is_me(sess, nick):
                self.roster.join(nick, channel)  # account unknown until WHOX or a message says

    def _on_whox(self, sess: _Session, ev: irc.client.Event) -> None:
        if len(ev.arguments) < 3 or ev.arguments[0] != WHOX_TOKEN:
            return
        nick, account = ev.arguments[1], ev.arguments[2]
        account = None if account == "0" else account
        if self.roster.set_account(nick, account):
            self._announce(nick, account)

    def _on_chghost(self, sess: _Session, ev: irc.client.Event) -> None:
        if self._is_me(sess, ev.source.nick) and ev.arguments:
            sess.user, sess.host = ev.target, ev.arguments[0]

    def _on_visiblehost(self, sess: _Session, ev: irc.client.Event) -> None:
        if ev.arguments:
            user, _, host = ev.arguments[0].rpartition("@")
            sess.host = host
            sess.user = user or sess.user

    # ----------------------------------------------------------------- MONITOR and WHOIS

    def _monitored(self, ev: irc.client.Event) -> list[str]:
        return [irc.client.NickMask(m).nick for m in (ev.arguments[-1] if ev.arguments else "").split(",") if m]

    def _on_mononline(self, sess: _Session, ev: irc.client.Event) -> None:
        for nick in self._monitored(ev):
            account = self._watch.get(self._fold(nick))
            if account is not None:
                self._spawn(self._check_watched(sess, nick, account))

    async def _check_watched(self, sess: _Session, nick: str, account: str) -> None:
        """A watched nick came online: if logged in to the account we wait for, emit Seen."""
        exists, logged_in = await self._whois(sess, nick)
        if logged_in is not None and self._fold(logged_in) == self._fold(account):
            self._unwatch(sess, nick)
            self._announce(nick, logged_in)

    def _unwatch(self, sess: _Session, nick: str) -> None:
        account = self._watch.get(self._fold(nick))
        if account is None:
            return
        for key in [k for k, a in self._watch.items() if a == account]:
            del self._watch[key]
            if self._fold(key) != self._fold(self.settings.nick):
                self._paced(sess, "MONITOR - " + key)

    def _on_monoffline(self, sess: _Session, ev: irc.client.Event) -> None:
        wanted = self.settings.nick
        if self._fold(sess.nick) == self._fold(wanted):
            return
        if any(self._fold(nick) == self._fold(wanted) for nick in self._monitored(ev)):
            self._paced(sess, "NICK " + wanted)

    def _on_whoisaccount(self, sess: _Session, ev: irc.client.Event) -> None:
        if len(ev.arguments) >= 2 and self._fold(ev.arguments[0]) in sess.whois_seen:
            sess.whois_seen[self._fold(ev.arguments[0])][1] = ev.arguments[1]

    def _on_nosuchnick(self, sess: _Session, ev: irc.client.Event) -> None:
        if ev.arguments and self._fold(ev.arguments[0]) in sess.whois_seen:
            sess.whois_seen[self._fold(ev.arguments[0])][0] = False

    def _on_endofwhois(self, sess: _Session, ev: irc.client.Event) -> None:
        key = self._fold(ev.arguments[0]) if ev.arguments else ""
        fut = sess.whois.get(key)
        seen = sess.whois_seen.pop(key, [False, None])
        if fut is not None and not fut.done():
            fut.set_result((seen[0], seen[1]))

    # ----------------------------------------------------------------- messages

    def _on_message(self, sess: _Session, ev: irc.client.Event) -> None:
        source = ev.source
        if not source or "!" not in source or self._is_me(sess, source.nick):
            return  # a server, or our own echo
        nick = source.nick
        tags = {t["key"]: t["value"] for t in ev.tags or []}
        if "account-tag" in sess.acked:
            account = tags.get("account") or None
            self.roster.set_account(nick, account)
        else:
            person = self.roster.get(nick)
            account = person.account if person is not None and person.known else None
        body = text.clean_inbound(ev.arguments[0]) if ev.arguments else ""
        target = ev.target or ""
        if self._is_me(sess, target):
            where = Where(PLATFORM, None)
        else:
            channel = target.lstrip(sess.isupport.get("STATUSMSG", "@+"))  # "@#chan": to its ops
            if channel[:1] not in sess.isupport.get("CHANTYPES", "#&") or not channel[:1]:
                return  # a server broadcast ($*) or something else that is neither us nor a channel
            configured = {self._fold(c): c for c in self.settings.channels}
            where = Where(PLATFORM, configured.get(self._fold(channel), channel))
        self._announce(nick, account)
        if body:
            self._emit(TextReceived(Identity(PLATFORM, account, nick), where, body,
                                    event_id=tags.get("msgid"), prefix=self.settings.prefix))

    def _on_error(self, sess: _Session, ev: irc.client.Event) -> None:
        log.log(logging.INFO if self._stopping else logging.WARNING, "IRC: server says ERROR %s", ev.target)

    def _on_disconnect(self, sess: _Session, ev: irc.client.Event) -> None:
        if not sess.closed.done():
            log.log(logging.INFO if self._stopping else logging.WARNING, "IRC: disconnected from %s",
                    self.settings.host)
            sess.closed.set_result("disconnected")


def alternative_nick(nick: str, attempt: int) -> str:
    """The nick to try after ``attempt`` refusals: ``nick_``, ``nick__``, then ``nick``+digits
    (cut to 9 characters, the least NICKLEN a server may have)."""
    if attempt == 1:
        return nick + "_"
    if attempt == 2:
        return nick + "__"
    return nick[:6] + str(random.randint(100, 999))


def create(settings: dict, context: AdapterContext) -> IrcAdapter:
    """Entry point ``mentorbot.adapters:irc``: validate settings, read the SASL password."""
    parsed = IrcSettings.model_validate(settings)
    password = None
    if parsed.sasl_account:
        password = os.environ.get(parsed.password_env)
        if not password:
            raise ValueError(
                f"IRC sasl_account is set but the environment variable {parsed.password_env} is empty"
            )
    return IrcAdapter(parsed, password)


#: lets `mentorbot check-config` validate this adapter's settings without starting it
create.settings_model = IrcSettings  # type: ignore[attr-defined]
