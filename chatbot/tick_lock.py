"""One process at a time runs the scheduler's tick, however many share the database.

Why: ticks are idempotent (what is due is read from the store), but two processes ticking at
once would both find the same prompts due and race to record them; the outbox keys keep the
second copy out, at the cost of work done twice and transactions that fail. So a tick starts
only in the process that holds the tick lock, and the others try again at their next tick:

- PostgreSQL: an advisory lock held by a connection of its own (``pg_try_advisory_lock``).
  The server frees it the moment the holder's connection ends, so when the holding process
  is killed, another process takes the tick over at its next tick.
- SQLite: a lease in the kv table (owner, until). The holder renews it at every tick; another
  process takes it once it ran out, or at once when the holder's process on this host is gone.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Protocol

from sqlalchemy.engine import Connection, Engine as DbEngine
from sqlmodel import Session

from chatbot.delivery.sender import claimant_gone
from storage.db import TICK_LOCK_KEY, release_session_lock, still_connected, try_session_lock
from storage.repos import KeyValueRepo

log = logging.getLogger(__name__)


class TickLock(Protocol):
    def hold(self) -> bool:
        """True when this process may tick now (taking the lock when it is free)."""

    def release(self) -> None:
        """Let another process tick (a clean shutdown)."""


class AdvisoryTickLock:
    """PostgreSQL's session-level advisory lock (see the module docstring)."""

    def __init__(self, database: DbEngine):
        self.database = database
        self._conn: Connection | None = None

    def hold(self) -> bool:
        if self._conn is not None and still_connected(self._conn):
            return True
        self._conn = try_session_lock(self.database, TICK_LOCK_KEY)
        if self._conn is not None:
            log.info("this process runs the schedule now")
        return self._conn is not None

    def release(self) -> None:
        if self._conn is not None:
            release_session_lock(self._conn, TICK_LOCK_KEY)
            self._conn = None


class LeaseTickLock:
    """A lease row in kv, for SQLite (see the module docstring)."""

    NAMESPACE, KEY = "scheduler", "tick"

    def __init__(self, database: DbEngine, owner: str, lease_seconds: float):
        self.database, self.owner, self.lease_seconds = database, owner, lease_seconds
        self._held = False

    def hold(self) -> bool:
        now = time.time()
        with Session(self.database) as s:  # SQLite: BEGIN IMMEDIATE, so the read and the write are one
            kv = KeyValueRepo(s)
            lease = json.loads(kv.get(self.NAMESPACE, self.KEY) or "{}")
            holder, until = lease.get("owner"), float(lease.get("until", 0))
            if holder and holder != self.owner and until > now and not claimant_gone(holder, self.owner):
                self._held = False
                return False
            kv.set(self.NAMESPACE, self.KEY, json.dumps({"owner": self.owner, "until": now + self.lease_seconds}))
            s.commit()
        if not self._held:
            log.info("this process runs the schedule now")
        self._held = True
        return True

    def release(self) -> None:
        if not self._held:
            return
        with Session(self.database) as s:
            kv = KeyValueRepo(s)
            if json.loads(kv.get(self.NAMESPACE, self.KEY) or "{}").get("owner") == self.owner:
                kv.forget(self.NAMESPACE, self.KEY)
                s.commit()
        self._held = False


def tick_lock(database: DbEngine, owner: str, tick_seconds: float) -> TickLock:
    """The tick lock for this database: advisory on PostgreSQL, a lease elsewhere (three ticks
    long, so one slow tick never loses it)."""
    if database.dialect.name == "postgresql":
        return AdvisoryTickLock(database)
    return LeaseTickLock(database, owner, 3 * tick_seconds)
