"""The order one platform's messages go out in.

Three rules, kept by :class:`FairQueue` without any I/O so they can be tested alone:

- **Each recipient in order.** A person's (or a channel's) messages leave in the order they were
  recorded, one at a time: the next is handed out only when the one before is done.
- **Recipients take turns.** After a recipient's message is done it goes to the back of the line,
  so one person's burst of ten answers cannot hold up a call in a channel or another person's
  answer: they wait for at most one turn of each other recipient. A turn is the messages one
  event gave that recipient (an answer and the call that follows it), so what nobody competes
  with goes out in the order it was recorded.
- **Answers before bulk work.** A recipient with an answer or a call waiting (priority 0) is
  served before recipients who only have scheduled bulk messages (priority 1), so a Monday
  fan-out of 10,000 check-in prompts never delays a host's ``!next``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime

from chatbot.events import Outbound

URGENT, BULK = 0, 1


@dataclass(frozen=True)
class Pending:
    """A recorded message not yet known to be delivered."""

    outbox_id: int
    platform: str
    member_id: int | None
    #: who sees it, for ordering: "@account" for a person, "#channel" for a channel
    recipient: str
    priority: int
    event: Outbound
    #: the unit of work that recorded it: one recipient's consecutive messages of one group go
    #: in one turn; None when unknown (read back from the outbox)
    group: str | None = None
    #: until when this process's engine recorded it as claimed by this process's sender (so the
    #: sender need not claim it again while the lease is fresh); None when read back
    claimed_until: datetime | None = None


class FairQueue:
    """Messages waiting for one platform's sender, and which one goes next."""

    def __init__(self) -> None:
        self._queues: dict[str, list[Pending]] = {}  # recipient -> waiting, by outbox id
        # recipients with something waiting and nothing in flight, by priority; a dict keeps the
        # order they joined in, which is the order they take turns in
        self._ready: tuple[dict[str, None], dict[str, None]] = ({}, {})
        self._busy: set[str] = set()
        self._ids: set[int] = set()
        self._waiting = 0

    def __len__(self) -> int:
        """Messages waiting (not counting those being sent)."""
        return self._waiting

    def __contains__(self, outbox_id: object) -> bool:
        """Waiting or being sent."""
        return outbox_id in self._ids

    @property
    def in_flight(self) -> int:
        """Recipients with a turn being sent."""
        return len(self._busy)

    def add(self, item: Pending) -> bool:
        """Queue ``item``; False if it is queued or being sent already."""
        if item.outbox_id in self._ids:
            return False
        self._ids.add(item.outbox_id)
        queue = self._queues.setdefault(item.recipient, [])
        bisect.insort(queue, item, key=lambda p: p.outbox_id)
        self._waiting += 1
        placed = next((p for p, ready in enumerate(self._ready) if item.recipient in ready), None)
        if item.recipient not in self._busy and (placed is None or item.priority < placed):
            # newly waiting, or a bulk recipient who now has an answer waiting: join the line
            # (a recipient in line already keeps its place)
            self._place(item.recipient)
        return True

    def take(self) -> list[Pending]:
        """The next turn: one recipient's next message, with the messages after it that the same
        event gave them; empty when every recipient with mail has a turn in flight."""
        for ready in self._ready:
            if ready:
                recipient = next(iter(ready))
                del ready[recipient]
                queue = self._queues[recipient]
                turn = [queue.pop(0)]
                while queue and turn[0].group is not None and queue[0].group == turn[0].group:
                    turn.append(queue.pop(0))
                if not queue:
                    del self._queues[recipient]
                self._busy.add(recipient)
                self._waiting -= len(turn)
                return turn
        return []

    def done(self, turn: list[Pending]) -> None:
        """The turn is over (sent, set aside, or taken by another sender): the recipient's next
        message may go, after every other recipient's turn."""
        for item in turn:
            self._ids.discard(item.outbox_id)
        recipient = turn[0].recipient
        self._busy.discard(recipient)
        if recipient in self._queues:
            self._place(recipient)

    def _place(self, recipient: str) -> None:
        for ready in self._ready:
            ready.pop(recipient, None)
        urgent = any(p.priority == URGENT for p in self._queues[recipient])
        self._ready[URGENT if urgent else BULK][recipient] = None
