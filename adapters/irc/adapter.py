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
* **Safe output.** Every line goes through :mod:`adapters.irc.text` (no CR/LF/NUL/CTCP, no
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
newline); lines are decoded as UTF-8 with a character cut off at the end dropped (never Latin-1;
see ``text.decode_line``).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Callable, Sequence

import irc.client
import irc.client_aio

from adapters.base import (
    AdapterContext,
    AdapterState,
    Capabilities,
    Reporter,
    Sink,
    ignore_state,
)
from adapters.irc import text
from adapters.irc.accounts import Accounts
from adapters.irc.connection import ConnectionLoop
from adapters.irc.inbound import InboundEvents
from adapters.irc.link import Link
from adapters.irc.registration import Registration
from adapters.irc.roster import Roster
from adapters.irc.sending import Sending
from adapters.irc.settings import PLATFORM, IrcLoginError, IrcSettings
from adapters.pacing import TokenBucket
from chatbot.commands import CommandSpec
from chatbot.events import Inbound

log = logging.getLogger("adapters.irc")

#: what each identity mode means, said once at start-up so the operator knows what is trusted
IDENTITY_MODES = {
    "services": "a person is their services account; anybody not logged in is anonymous",
    "hostmask": "a person is their nick!user@host (a cloak where the network gives one); "
                "anybody who can take that nick from that host counts as them",
}


class IrcAdapter(ConnectionLoop, Registration, Accounts, InboundEvents, Sending):
    """One bot identity on one IRC network. See the module docstring."""

    platform = PLATFORM

    def __init__(self, settings: IrcSettings, password: str | None):
        self.settings = settings
        self._password = password
        self.capabilities = Capabilities(
            direct_messages=True, ephemeral_replies=False, channel_lines=4,
            parallel_sends=2,  # lines interleave by token: a call waits for one line, not a message
        )
        self._bucket = TokenBucket(settings.rate, settings.burst)
        self._casemapping = "rfc1459"
        self.roster = Roster(self._fold)
        #: account -> the nick it was last announced (Seen) under; also a hint for DMs
        self._last_nick: dict[str, str] = {}
        #: folded nick -> account: MONITORed because a DM to that account found nobody
        self._watch: dict[str, str] = {}
        self._link: Link | None = None
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
        self._handlers: dict[str, Callable[[Link, irc.client.Event], None]] = {
            event: getattr(self, handler)
            for part in reversed(type(self).__mro__) for event, handler in vars(part).get("EVENTS", {}).items()
        }

    # ----------------------------------------------------------------- public surface

    @property
    def nick(self) -> str | None:
        """The bot's current nick, or None while disconnected."""
        return self._link.nick if self._link and self._link.ready else None

    @property
    def connected(self) -> bool:
        return self._link is not None and self._link.ready

    @property
    def joined_channels(self) -> list[str]:
        return list(self._link.joined.values()) if self.connected else []

    def channel_label(self, channel: str) -> str:
        return channel  # "#office-hours" is how people on IRC name it

    def bind_reporter(self, report: Reporter) -> None:
        """Connection changes go to ``report`` (registered, reconnecting, the loop ended, stopped)."""
        self._report = report

    async def start(self, sink: Sink, specs: Sequence[CommandSpec]) -> None:
        """Connect in the background; return after the first attempt's outcome.

        Raises :class:`IrcLoginError` if the first attempt ends in a refused SASL login; any
        other failure (server unreachable) is retried in the background with backoff.
        """
        loop = asyncio.get_running_loop()
        log.info("IRC: identity = %s: %s", self.settings.identity, IDENTITY_MODES[self.settings.identity])
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

    async def stop(self) -> None:
        """QUIT (waiting briefly for the server to close), then cancel every task started."""
        if self._stopping:
            self._report(AdapterState("stopped"))  # whoever asks again means it too
            return
        self._stopping = True
        link = self._link
        if link is not None and not link.closed.done():
            self._raw(link, "QUIT :" + text.strip_controls(self.settings.quit_message))
            try:
                await asyncio.wait_for(asyncio.shield(link.closed), 2.0)
            except asyncio.TimeoutError:
                pass
            self._drop(link, "stopping")
        tasks = [t for t in (self._runner, self._dispatcher, *self._tasks) if t is not None]
        if link is not None:
            tasks += link.tasks
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
        if task is self._runner and self._link is not None and self._link.fatal:
            return  # reported as failed with its reason already
        error = None if task.cancelled() else task.exception()
        self._report(AdapterState("failed", f"IRC: {task.get_name()} ended: {error!r}"))


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

