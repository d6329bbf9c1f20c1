"""Sending: outbound events to PRIVMSG lines, paced by the token bucket and split to fit 512 bytes."""

from __future__ import annotations

import asyncio
import logging
from typing import Coroutine

import irc.client
import irc.client_aio

from adapters.irc import text
from adapters.irc.link import Link, LinkOwner
from adapters.irc.settings import PLATFORM
from chatbot.events import (
    SENT,
    Announce,
    Delivery,
    DirectMessage,
    Outbound,
    Reply,
)

log = logging.getLogger("adapters.irc")

#: Fewest text bytes per line worth sending (a target name could eat the whole 512).
MIN_BUDGET = 64


class Sending(LinkOwner):
    """Every line the bot writes goes through ``_raw`` (now) or ``_paced`` (when a token allows)."""

    async def send(self, event: Outbound) -> Delivery:
        """Reply/Announce to a channel: PRIVMSG there, ``nick: `` first for the person it is
        for (the ``mention``, else a Reply's asker, as people answer each other on IRC).
        A direct Reply or a DirectMessage: PRIVMSG to the nick logged in to the recipient's
        account (``offline`` if there is none; an anonymous recipient gets their nick).
        ``failed`` at once while disconnected: the engine's outbox retries."""
        link = self._link
        if link is None or not link.ready:
            return Delivery("failed", "not connected to IRC")
        if isinstance(event, (Reply, Announce)) and not event.where.is_direct and not getattr(event, "private", False):
            channel = event.where.channel or ""
            if not text.valid_target(channel):
                return Delivery("undeliverable", f"not a channel name: {channel!r}")
            body = event.text
            nick = self._addressee(event)
            if nick:
                body = f"{nick}: {body}"
            return await self._privmsg(link, channel, body)
        who = event.to if isinstance(event, DirectMessage) else (event.to or event.mention)
        if who is None or who.platform != PLATFORM:
            return Delivery("undeliverable", "a direct message needs an IRC recipient")
        body = event.text
        if isinstance(event, DirectMessage) and event.buttons:
            body += "\n(reply: " + ", ".join(b.command for b in event.buttons) + ")"
        target = await self._recipient(link, who)
        if target is None:
            if not link.ready:
                return Delivery("failed", "connection lost")
            return Delivery("offline", f"nobody is logged in to {who.account} on IRC")
        return await self._privmsg(link, target, body)

    def _raw(self, link: Link, line: str) -> None:
        """Write one line now (registration, PING, QUIT), if still connected."""
        if link.closed.done():
            return
        try:
            link.conn.send_raw(text.clean_param(line))
        except irc.client.ServerNotConnectedError:
            pass

    def _paced(self, link: Link, line: str) -> None:
        """Write one line when the token bucket allows (JOIN, WHO, MONITOR, NICK, WHOIS)."""

        async def later() -> None:
            await self._bucket.acquire()
            self._raw(link, line)

        self._spawn(later())

    def _paced_list(self, link: Link, command: str, items: list[str]) -> None:
        """``command`` with comma-joined ``items``, in as few lines (of <= 400 bytes) as fit."""
        line = ""
        for item in items:
            if line and len(line) + len(item) + 1 > 400:
                self._paced(link, command + line)
                line = ""
            line = f"{line},{item}" if line else item
        if line:
            self._paced(link, command + line)

    def _spawn(self, coro: Coroutine) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("IRC: background task failed", exc_info=task.exception())

    def _mask_len(self, link: Link) -> int:
        def number(key: str, default: int) -> int:
            value = link.isupport.get(key, "")
            return int(value) if value.isdigit() else default

        return text.mask_length(link.nick, link.user, link.host,
                                userlen=number("USERLEN", text.DEFAULT_USERLEN),
                                hostlen=number("HOSTLEN", text.DEFAULT_HOSTLEN))

    async def _privmsg(self, link: Link, target: str, body: str) -> Delivery:
        budget = text.text_budget(self._mask_len(link), target)
        if budget < MIN_BUDGET:
            return Delivery("undeliverable", f"target name too long: {target[:40]!r}...")
        # Each line takes a token in turn (first come, first served), so a reply to a channel sent
        # beside a long private answer interleaves with it line by line instead of waiting for
        # all of it; the sender keeps one message per recipient in flight, so lines to one
        # target stay in order.
        lines = text.render_lines(body, budget)
        for i, line in enumerate(lines):
            await self._bucket.acquire(first=i == 0)
            if not link.ready:
                return Delivery("failed", f"connection lost after {i} of {len(lines)} lines")
            self._raw(link, f"PRIVMSG {target} :{line}")
        return SENT if lines else Delivery("sent", "nothing to send")
