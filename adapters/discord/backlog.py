"""Reading from the gateway slows when the engine falls behind (issue 24), as IRC's does.

discord.py reads the gateway in ``Client.connect`` (``while True: await ws.poll_event()``) and
runs each event's handler as its own task, so a flood while the engine is behind would pile up
tasks in memory. Here the events handed to the engine and not yet answered are counted; at
``INBOUND_LIMIT`` the client stops polling the gateway until half of them are answered. Nothing
is dropped: unread frames wait in the socket (and in Discord's buffer), in order. A pause longer
than the heartbeat timeout makes discord.py close and RESUME, and the gateway replays the rest.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

log = logging.getLogger("adapters.discord")

#: events handed to the engine and not yet answered past which the bot stops reading the gateway
#: (the engine's inbox size) until half of them are answered
INBOUND_LIMIT = 1000


class Backlog:
    """How many events the engine holds, and the gate the gateway's reading waits at."""

    def __init__(self) -> None:
        self.count = 0
        self._reading = asyncio.Event()
        self._reading.set()

    @property
    def paused(self) -> bool:
        return not self._reading.is_set()

    def enter(self) -> None:
        """An event handed to the engine; at the limit reading stops."""
        self.count += 1
        if self.count >= INBOUND_LIMIT and not self.paused:
            log.warning("Discord: the engine is behind (%d events waiting); reading pauses", self.count)
            self._reading.clear()

    def leave(self) -> None:
        """An event answered; once half of the limit is left, reading goes on."""
        self.count -= 1
        if self.paused and self.count <= INBOUND_LIMIT // 2:
            self.release()

    def release(self) -> None:
        """Read again (also when the client closes, so that its reading loop sees it and ends)."""
        self._reading.set()

    def gate(self, poll: Callable[[], Awaitable[Any]], closed: Callable[[], bool]) -> Callable[[], Awaitable[Any]]:
        """``poll`` (a gateway websocket's ``poll_event``) waiting first until reading may go on,
        unless the client is ``closed`` (then it reads on, to see the close and end).
        The handlers of the frame just read are tasks: one turn of the loop lets them start, and
        count themselves, before the gate is looked at (else a burst in the socket's buffer would
        all be read past the limit)."""

        async def poll_event() -> Any:
            await asyncio.sleep(0)
            if not closed():
                await self._reading.wait()
            return await poll()

        return poll_event
