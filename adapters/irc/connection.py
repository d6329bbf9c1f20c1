"""The connection loop: connect, register, keep alive, reconnect with backoff."""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any, Coroutine

import irc.client
import irc.client_aio

from adapters.base import AdapterState
from adapters.irc.link import Connection, Link, LinkOwner
from adapters.irc.settings import IrcLoginError
from adapters.pacing import backoff_delay

log = logging.getLogger("adapters.irc")

#: A connection that stayed up this long resets the reconnect backoff.
STABLE_AFTER = 60.0


class ConnectionLoop(LinkOwner):
    """One :class:`Link` after another until the adapter stops."""

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        s, attempt = self.settings, 0
        while not self._stopping:
            began = loop.time()
            registered, lost = False, "connection lost"
            try:
                registered = await self._connect_once()
                link = self._link
                if link is not None and link.closed.done():
                    lost = f"{'connection lost' if registered else 'not registered'}: {link.closed.result()}"
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
            fatal = self._link.fatal if self._link is not None else None
            if fatal is not None:  # the same settings fail again: no retry here (start() raises it)
                self._report(AdapterState("failed", fatal))
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
        link: Link
        conn = Connection(self._reactor, lambda ev: self._on_event(link, ev))
        link = Link(conn, loop.create_future(), loop.create_future(), nick=s.nick)
        link.sasl = "wanted" if s.sasl_account else "none"
        self._casemapping = "rfc1459"
        self._link = link
        try:
            await asyncio.wait_for(
                conn.connect(s.host, s.effective_port, s.nick, username=s.username or s.nick,
                             ircname=s.realname, connect_factory=self._open),
                s.connect_timeout,
            )
            await asyncio.wait({link.registered, link.closed}, timeout=s.connect_timeout,
                               return_when=asyncio.FIRST_COMPLETED)
            if not link.registered.done():
                reason = link.fatal or ("closed by the server" if link.closed.done() else "registration timed out")
                if not link.fatal:
                    log.warning("IRC: not registered: %s", reason)
                self._resolve_first(IrcLoginError(link.fatal) if link.fatal else ConnectionError(reason))
                return False
            self.registrations += 1
            log.info("IRC: registered as %s on %s", link.nick, s.host)
            self._after_welcome(link)
            if not s.channels:
                link.all_joined.set()
            joined = asyncio.ensure_future(link.all_joined.wait())
            await asyncio.wait({joined, link.closed}, timeout=s.connect_timeout, return_when=asyncio.FIRST_COMPLETED)
            joined.cancel()
            if not link.closed.done():  # "connected" only once registered and in its channels
                missing = [c for c in s.channels if self._fold(c) not in link.joined]
                self._report(AdapterState("degraded", f"could not join {', '.join(missing)}") if missing
                             else AdapterState("connected"))
                self._resolve_first(None)
            await asyncio.shield(link.closed)
            return True
        finally:
            self._end_link(link)

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

    def _after_welcome(self, link: Link) -> None:
        s = self.settings
        link.tasks.append(asyncio.create_task(self._keepalive(link), name="irc-keepalive"))
        link.tasks.append(asyncio.create_task(self._regain_loop(link), name="irc-regain"))
        self._paced_list(link, "JOIN ", s.channels)
        monitor = [s.nick] if self._fold(link.nick) != self._fold(s.nick) else []
        if "MONITOR" in link.isupport:
            self._paced_list(link, "MONITOR + ", monitor + list(self._watch))

    def _end_link(self, link: Link) -> None:
        for task in link.tasks:
            task.cancel()
        self._drop(link, "connection ended")
        for fut in link.whois.values():
            if not fut.done():
                fut.set_result((False, None))
        if self._link is link:
            self.roster.clear()
            self._last_nick.clear()  # who is reachable is learnt again (and re-announced) on rejoin

    def _drop(self, link: Link, reason: str) -> None:
        """Close the link now (no waiting for buffered data, the peer may be gone)."""
        transport = getattr(link.conn, "transport", None)
        if transport is not None and not transport.is_closing():
            transport.abort()
        if not link.closed.done():
            link.closed.set_result(reason)

    async def _keepalive(self, link: Link) -> None:
        """PING after ``ping_interval`` of silence; no data within ``ping_timeout``: dead link."""
        loop = asyncio.get_running_loop()
        s = self.settings
        while True:
            wait = link.conn.last_rx + s.ping_interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            sent = loop.time()
            self._raw(link, "PING :keepalive")
            await asyncio.sleep(s.ping_timeout)
            if link.conn.last_rx < sent:
                log.warning("IRC: no answer to PING for %.1f s, the link is dead; reconnecting", s.ping_timeout)
                self._drop(link, "ping timeout")
                return

    async def _regain_loop(self, link: Link) -> None:
        """Ask for the configured nick now and then while we go by another one."""
        while True:
            await asyncio.sleep(self.settings.regain_interval)
            if self._fold(link.nick) != self._fold(self.settings.nick):
                self._paced(link, "NICK " + self.settings.nick)
