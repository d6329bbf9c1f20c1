"""Which events of a group are handled for the first time: a platform may deliver an event
again (a reconnect, a retry after a crash), and a replay must change nothing.

Why like this: each event used to be recorded by its own ``INSERT ... SELECT`` in its savepoint,
one statement per event. A group now records all its events first, with one
``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (``EventRepo.record_new``): the rows that come
back are the events seen for the first time. A group is cut by a time bound: what the cut
leaves for the next group is unrecorded again before the commit (else the next group would take
it for a replay, and a crash before it would lose it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from chatbot.events import CommandInvoked, Inbound, TextReceived
from storage.repos import EventRepo

Key = tuple[str, str]


def event_key(event: Inbound) -> Key | None:
    """(platform, event id) of a message or command the platform may deliver again, else None."""
    if isinstance(event, (TextReceived, CommandInvoked)) and event.event_id is not None:
        return event.who.platform, event.event_id
    return None


class FirstTimes:
    """The replay check of one group of events, taken in order (see the module docstring)."""

    def __init__(self, repo: EventRepo, events: Sequence[Inbound], now: datetime):
        self.repo = repo
        self.keys = [event_key(e) for e in events]
        self.fresh = repo.record_new(self.keys, now)  # recorded now and not handled yet

    def first_time(self, n: int) -> bool:
        """Whether the ``n``-th event is new (the same event twice in a group: the second is a
        replay); it counts as handled from now."""
        key = self.keys[n]
        if key is None:
            return True
        if key not in self.fresh:
            return False
        self.fresh.discard(key)
        return True

    def leave(self, n: int) -> None:
        """The events from the ``n``-th on are left for the next group: unrecord those this
        group recorded (not a repeat of one handled here or before)."""
        self.repo.forget(list(dict.fromkeys(k for k in self.keys[n:] if k in self.fresh)))
