"""Recording a unit of work's outbound messages in the outbox, in the same transaction as the
change that caused them (an event's handling, a job's batch).

Why here and not in the engine: recording is the outbox's business (keys, claims, the rows the
sender is handed), and the engine only calls it once per unit of work.
"""

from __future__ import annotations

import dataclasses
import itertools
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from chatbot.delivery.fairness import Pending
from chatbot.delivery.records import pending_of, platform_of, row_for
from chatbot.delivery.sender import Senders
from chatbot.events import DirectMessage, Identity, Outbound

if TYPE_CHECKING:
    from chatbot.context import Context
    from storage.repos import Repos


class Recorder:
    """Writes a context's outbound messages to the outbox and says what its senders now hold.

    A message whose key is recorded already (the same due message queued by an earlier tick) is
    left out by the insert itself, so a job may queue what is due without remembering what it
    sent. What this process sends (``sends_here`` says which platforms) is recorded as claimed
    by its sender; another platform's waits for the process that serves it."""

    def __init__(self, senders: Senders, sends_here: Callable[[str], bool]):
        self.senders, self.sends_here = senders, sends_here
        self._groups = itertools.count()  # names the messages of one unit of work, for turns

    def __call__(self, ctx: "Context") -> list[Pending]:
        if not ctx.outbound:
            return []
        taken: set[str] = set()  # keys of this batch (a key recorded earlier: the insert leaves it out)
        base = f"{ctx.who.platform}:{ctx.event_id}" if ctx.who is not None and ctx.event_id else None
        rows: list[dict[str, Any]] = []
        events: list[Outbound] = []
        for n, out in enumerate(ctx.outbound):
            if out.key is not None and out.key in taken:
                continue
            key = out.key or (f"{base}:{n}" if base else f"auto:{secrets.token_hex(8)}")
            taken.add(key)
            member_id = ctx.recipients.get(id(out))
            if member_id is None and isinstance(out, DirectMessage) and out.to.account is not None:
                m = ctx.repos.members.by_identity(out.to.platform, out.to.account)
                member_id = m.id if m else None
            mine = self.sends_here(platform_of(out))
            claim = (self.senders.owner, ctx.now + self.senders.settings.lease) if mine else None
            event = out if out.key == key else dataclasses.replace(out, key=key)
            rows.append(row_for(event, key, member_id, ctx.now, ctx.bulk, claim))
            events.append(event)
        ids = ctx.repos.outbox.insert_many(rows)
        group = base or f"local:{next(self._groups)}"
        return [pending_of(ids[row["key"]], row, group, event) for row, event in zip(rows, events) if row["key"] in ids]


def due_when_seen(repos: "Repos", who: Identity, now: datetime) -> bool:
    """Someone reappeared on a platform (``Seen``): what waited for them there (``offline``:
    the platform said they could not be reached) is due again now. True when something is, so
    the senders should read the outbox."""
    if who.account is None:
        return False
    member = repos.members.by_identity(who.platform, who.account)
    return member is not None and repos.outbox.due_again(member.pk, who.platform, now) > 0
