"""Inbound: routing the library's events to handlers, PRIVMSG to ``TextReceived``, and handing
events to the engine in order without dropping any."""

from __future__ import annotations

import asyncio
import logging

import irc.client
import irc.client_aio

from adapters.irc import text
from adapters.irc.link import Link, LinkOwner
from adapters.irc.settings import PLATFORM
from chatbot.events import (
    Identity,
    Inbound,
    TextReceived,
    Where,
)

log = logging.getLogger("adapters.irc")

#: Inbound events waiting for the engine past which the bot stops reading from the server
#: (it keeps the rest in its send queue) until half of them are handled: nothing is dropped.
INBOUND_QUEUE = 1000
#: Events handed to the engine at once (it commits those waiting in one transaction).
IN_FLIGHT = 32


class InboundEvents(LinkOwner):
    """Events in: messages become ``TextReceived``; errors and disconnects end the link."""

    EVENTS = {"message": "_on_message", "error": "_on_error", "disconnect": "_on_disconnect"}

    def _on_event(self, link: Link, event: irc.client.Event) -> None:
        if link is not self._link:
            return
        handler = self._handlers.get(event.type)
        if handler is None:
            return
        try:
            handler(link, event)
        except Exception:
            log.exception("IRC: error handling %s", event.type)

    def _emit(self, event: Inbound) -> None:
        """Queue an inbound event; past the high-water mark stop reading from the server (it
        holds the rest in its send queue) instead of dropping what people said."""
        self._inbound.put_nowait(event)
        if self._inbound.qsize() >= INBOUND_QUEUE and self._paused is None:
            transport = getattr(self._link.conn, "transport", None) if self._link else None
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

    def _on_message(self, link: Link, ev: irc.client.Event) -> None:
        source = ev.source
        if not source or "!" not in source or self._is_me(link, source.nick):
            return  # a server, or our own echo
        nick = source.nick
        tags = {t["key"]: t["value"] for t in ev.tags or []}
        if self._by_mask:
            account = self._mask_account(nick, source.userhost)
            self.roster.set_account(nick, account)
        elif "account-tag" in link.acked:
            account = tags.get("account") or None
            self.roster.set_account(nick, account)
        else:
            person = self.roster.get(nick)
            account = person.account if person is not None and person.known else None
        body = text.clean_inbound(ev.arguments[0]) if ev.arguments else ""
        target = ev.target or ""
        if self._is_me(link, target):
            where = Where(PLATFORM, None)
        else:
            channel = target.lstrip(link.isupport.get("STATUSMSG", "@+"))  # "@#chan": to its ops
            if channel[:1] not in link.isupport.get("CHANTYPES", "#&") or not channel[:1]:
                return  # a server broadcast ($*) or something else that is neither us nor a channel
            where = self._where(channel)
        self._announce(nick, account)
        if body:
            self._emit(TextReceived(Identity(PLATFORM, account, nick), where, body,
                                    event_id=tags.get("msgid"), prefix=self.settings.prefix,
                                    platform_roles=self._vouched_roles(str(source))))

    def _vouched_roles(self, mask: str) -> frozenset[str]:
        """The roles ``role_masks`` gives the person with ``mask`` (hostmask mode only)."""
        return frozenset(role for role, patterns in self.settings.role_masks.items()
                         if any(text.mask_matches(p, mask, self._casemapping) for p in patterns))

    def _on_error(self, link: Link, ev: irc.client.Event) -> None:
        log.log(logging.INFO if self._stopping else logging.WARNING, "IRC: server says ERROR %s", ev.target)

    def _on_disconnect(self, link: Link, ev: irc.client.Event) -> None:
        if not link.closed.done():
            log.log(logging.INFO if self._stopping else logging.WARNING, "IRC: disconnected from %s",
                    self.settings.host)
            link.closed.set_result("disconnected")
