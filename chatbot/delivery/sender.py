"""Background senders: one per running platform, draining the outbox beside the engine.

Why: handling and sending have different speeds. The engine commits an event's change with its
outbox rows and takes the next event at once; the platform's pacing (IRC flood control, Discord
and Matrix rate limits) slows only the sender. A sender

- **claims** a message just before handing it to the adapter (``sending``, with a lease), so a
  periodic flush or another process never sends a message that is in flight; what this
  process's engine recorded a moment ago is claimed already (the engine records it so), and goes
  out without a transaction of its own;
- **marks** it sent after the platform accepted it, or sets it aside with backoff when the send
  failed, so one message that keeps failing never blocks the others;
- sends in the order :class:`~chatbot.delivery.fairness.FairQueue` decides (each recipient in
  order, recipients taking turns, answers before bulk);
- writes its bookkeeping (marks and the next claims) in one short transaction per round, under
  the same lock as the engine's units of work, so SQLite never sees two writers of one process;
  while sends go on, outcomes wait up to ``MARK_EVERY`` to be written together (each of these
  transactions is a durable commit that holds the engine up).

After a crash, what was claimed and not marked is released (the claimant's process is gone, or
its lease ran out) and sent again: Matrix transaction ids and Discord nonces drop the repeat.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Awaitable, Callable, Iterable, Sequence

from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import Session

from chatbot.clock import Clock
from chatbot.delivery.fairness import FairQueue, Pending
from chatbot.delivery.records import apply_results, pending_from
from chatbot.events import Delivery
from storage.outbox import OutboxRepo, OutboxRow

if TYPE_CHECKING:
    from adapters.base import Adapter

log = logging.getLogger(__name__)

#: messages claimed in one transaction while sends are quick (see ``Sender._window``)
CLAIM_AHEAD = 64
QUICK_SEND = 0.005
#: outcomes wait at most this long (seconds) to be written with others while sends go on: each
#: bookkeeping transaction is a durable commit under the engine's lock (issue 24)
MARK_EVERY = 0.05

#: (member id, platform) pairs a platform refused for good
Refused = Callable[[Sequence[tuple[int, str]]], Awaitable[None]]


@dataclass(frozen=True)
class SenderSettings:
    #: how long a claim holds; a send that takes longer is given up as failed (and retried)
    lease: timedelta = timedelta(seconds=60)
    #: how often the outbox is read for retries that fell due and rows other processes wrote
    poll_seconds: float = 2.0
    #: messages kept in memory per platform; more wait in the outbox and are read as room frees
    capacity: int = 5000


def process_owner() -> str:
    """This process's name on its claims: host, pid and a token for this run."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def claimant_gone(owner: str, me: str) -> bool:
    """True when the sender that holds a claim cannot send any more: an earlier run in this
    process, or a process on this host that has exited. A claimant on another host is waited
    for until its lease runs out."""
    host, _, rest = owner.partition(":")
    pid_text, _, _token = rest.partition(":")
    if host != me.partition(":")[0] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return owner != me
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Sender:
    """Sends one platform's messages in the background. See the module docstring."""

    def __init__(self, adapter: "Adapter", database: DbEngine, clock: Clock, lock: asyncio.Lock, owner: str,
                 on_refused: Refused, settings: SenderSettings = SenderSettings()):
        self.adapter, self.platform = adapter, adapter.platform
        self.database, self.clock, self.lock, self.owner = database, clock, lock, owner
        self.on_refused, self.settings = on_refused, settings
        caps = getattr(adapter, "capabilities", None)
        self.concurrency = max(1, int(getattr(caps, "parallel_sends", 1)))
        self._slots = asyncio.Semaphore(self.concurrency)
        self._send_seconds = 1.0  # a running average of one send: claim ahead only when quick
        self.queue = FairQueue()
        self._results: list[tuple[Pending, Delivery]] = []
        self._results_since = 0.0  # when the oldest outcome not yet written came in (monotonic)
        self._sends: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._refill = True  # read the outbox before the first send: what an earlier run left
        #: some of this sender's own claims are in the outbox only (past capacity, or a failed
        #: round): the next read includes them. Otherwise it leaves them out: they are in memory,
        #: and a busy sender would read back thousands of them at every tick (issue 24)
        self._own_unread = True
        self._released = False
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    # -- what the engine calls -------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=f"sender-{self.platform}")

    def push(self, items: Iterable[Pending]) -> None:
        """Messages just committed. Past ``capacity`` they stay in the outbox for a later read."""
        for item in items:
            if len(self.queue) >= self.settings.capacity:
                self._refill = self._own_unread = True
                break
            self.queue.add(item)
        self._kick()

    def poke(self) -> None:
        """Read the outbox again soon (a tick's flush; someone reappeared)."""
        self._refill = True
        self._kick()

    async def settle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is waiting or being sent (what became due so far is out). For
        scripts, tests and shutdown; True when settled within ``timeout`` seconds."""
        self.start()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def stop(self, timeout: float = 5.0) -> None:
        """Send what is waiting for up to ``timeout`` seconds, then stop; whatever is left stays
        in the outbox for the next start."""
        if self._task is None:
            return
        await self.settle(timeout)
        self._stopping = True
        self._kick()
        if self._sends:
            await asyncio.wait(self._sends, timeout=max(0.1, timeout / 5))
        for task in self._sends:
            task.cancel()
        self._task.cancel()
        await asyncio.gather(self._task, *self._sends, return_exceptions=True)
        self._task = None
        await self._bookkeep([], release=True)

    # -- the loop --------------------------------------------------------------------------------

    def _kick(self) -> None:
        self._idle.clear()
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup must not end delivery for good
                log.exception("%s sender failed a round; trying again", self.platform)
                await asyncio.sleep(1.0)

    async def _round(self) -> None:
        if self._refill:
            self._refill = False
            await self._read_outbox()
        take: list[list[Pending]] = []
        while self.queue.in_flight < self._window():
            turn = self.queue.take()
            if not turn:
                break
            take.append(turn)
        if self._must_write(take):
            await self._bookkeep(take)
            return
        if take:  # recorded as claimed by this process a moment ago: nothing to write first
            self._start(take, {item.outbox_id for turn in take for item in turn})
            return
        if not self.queue.in_flight and not len(self.queue) and not self._refill:
            self._idle.set()
        self._wake.clear()
        wait = self.settings.poll_seconds
        if self._results:
            wait = min(wait, max(0.0, self._results_since + MARK_EVERY - time.monotonic()))
        try:
            await asyncio.wait_for(self._wake.wait(), wait)
        except asyncio.TimeoutError:
            self._refill = not self._results

    def _must_write(self, take: list[list[Pending]]) -> bool:
        """Whether this round needs its transaction: a message to send that this process's
        engine did not claim for it a moment ago, or outcomes that waited ``MARK_EVERY`` (or
        with nothing else going on). Fresh claims go out at once and their outcomes are written
        together, so a burst of answers costs a few commits, not two per answer."""
        fresh_until = self.clock.now() + self.settings.lease / 2
        if any(item.claimed_until is None or item.claimed_until < fresh_until for turn in take for item in turn):
            return True
        if not self._results:
            return False
        quiet = not take and not self.queue.in_flight
        return quiet or time.monotonic() - self._results_since >= MARK_EVERY

    async def _bookkeep(self, take: list[list[Pending]], *, release: bool = False) -> None:
        """One transaction: record the outcomes so far and claim the turns in ``take``; then
        start sending them."""
        results, self._results = self._results, []
        try:
            now = self.clock.now()
            async with self.lock:
                with Session(self.database, expire_on_commit=False) as db:
                    outbox = OutboxRepo(db)
                    refused = apply_results(outbox, results, now) if results else []
                    ids = [item.outbox_id for turn in take for item in turn]
                    claimed = outbox.claim(self.platform, ids, self.owner, now + self.settings.lease, now)
                    if release:
                        outbox.release([self.owner], now)
                    db.commit()
        except BaseException:
            # Nothing was written: the outcomes wait for the next round (forgotten, a message
            # sent would still be ours to send, and go out again), the turns go back to be read
            self._results = results + self._results
            for turn in take:
                self.queue.done(turn)
            self._refill = self._own_unread = True
            raise
        self._start(take, claimed)
        if refused:
            await self.on_refused(refused)

    def _start(self, take: list[list[Pending]], claimed: set[int]) -> None:
        """Send the turns in ``take``: the messages of each that this sender holds."""
        for turn in take:
            mine = [item for item in turn if item.outbox_id in claimed]  # the others went meanwhile
            if not mine:
                self.queue.done(turn)
                continue
            task = asyncio.create_task(self._send(turn, mine), name=f"send-{self.platform}-{turn[0].outbox_id}")
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)

    def _window(self) -> int:
        """Messages claimed at once. Where a send takes milliseconds (a local platform, a fast
        server) claiming a few dozen in one transaction saves a commit per message; where the
        platform paces (IRC), no more than it sends at once, so a new answer never waits behind
        messages promised already."""
        return max(self.concurrency, CLAIM_AHEAD) if self._send_seconds < QUICK_SEND else self.concurrency

    async def _send(self, turn: list[Pending], mine: list[Pending]) -> None:
        """One recipient's turn, a message after the other, then the next recipient's may go."""
        timeout = self.settings.lease.total_seconds() * 0.75
        async with self._slots:
            for item in mine:
                began = time.monotonic()
                try:
                    delivery = await asyncio.wait_for(self.adapter.send(item.event), timeout)
                except asyncio.TimeoutError:
                    delivery = Delivery("failed", f"no answer from {self.platform} within {timeout:.0f} s")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # an adapter bug must not stop the other messages
                    log.exception("adapter %s failed to send outbox %s", self.platform, item.outbox_id)
                    delivery = Delivery("failed", f"{type(exc).__name__}: {exc}"[:200])
                self._send_seconds = 0.8 * self._send_seconds + 0.2 * (time.monotonic() - began)
                if not self._results:
                    self._results_since = time.monotonic()
                self._results.append((item, delivery))
        self.queue.done(turn)
        self._kick()

    async def _read_outbox(self) -> None:
        """Load what is due and not in memory: answers (with their recipients' earlier messages,
        to keep each recipient in order) first, then the oldest. A row sent but not yet marked
        may be read back here; its claim then fails, because the round that claims it records
        the outcome first, in the same transaction."""
        now = self.clock.now()
        room = self.settings.capacity - len(self.queue)
        mine, self._own_unread = (self.owner if self._own_unread else None), False  # (a push may set it again meanwhile)
        try:
            rows = await self._due(now, room, mine)
        except BaseException:
            self._own_unread = self._own_unread or mine is not None
            raise
        if len(rows) >= room:  # perhaps more than there was room for: read again when there is
            self._refill = True
            self._own_unread = self._own_unread or mine is not None
        for row in rows:
            if row.id not in self.queue and len(self.queue) < self.settings.capacity:
                self.queue.add(pending_from(row))

    async def _due(self, now: datetime, room: int, mine: str | None) -> list[OutboxRow]:
        """What is due (see ``_read_outbox``), after giving back what a stopped run held."""
        async with self.lock:
            with Session(self.database) as db:
                outbox = OutboxRepo(db)
                if not self._released:
                    self._released = True
                    gone = [o for o in outbox.claimants(self.platform) if claimant_gone(o, self.owner)]
                    if outbox.release(gone, now):
                        log.info("%s: sending again what a stopped run had claimed", self.platform)
                    db.commit()
                if room <= 0:
                    return []
                urgent = outbox.due(self.platform, now, room, mine, urgent=True)
                rows = urgent
                if urgent:
                    rows = outbox.due(self.platform, now, room, mine, recipients=sorted({r.recipient for r in urgent}))
                return rows + outbox.due(self.platform, now, room, mine)


class Senders:
    """The senders of every running platform."""

    def __init__(self, database: DbEngine, clock: Clock, lock: asyncio.Lock, on_refused: Refused,
                 settings: SenderSettings = SenderSettings()):
        self.database, self.clock, self.lock, self.on_refused, self.settings = database, clock, lock, on_refused, settings
        self.owner = process_owner()
        self._by_platform: dict[str, Sender] = {}

    def add(self, adapter: "Adapter") -> Sender:
        """The platform's sender; an adapter that replaces another (a restart with fresh client
        state) takes over its sender, queue and claims included."""
        old = self._by_platform.get(adapter.platform)
        if old is not None:
            old.adapter = adapter
            return old
        sender = Sender(adapter, self.database, self.clock, self.lock, self.owner, self.on_refused, self.settings)
        self._by_platform[adapter.platform] = sender
        return sender

    def push(self, items: Sequence[Pending]) -> None:
        by: dict[str, list[Pending]] = {}
        for item in items:
            by.setdefault(item.platform, []).append(item)
        for platform, group in by.items():
            sender = self._by_platform.get(platform)
            if sender is not None:
                sender.start()
                sender.push(group)

    def poke(self) -> None:
        for sender in self._by_platform.values():
            sender.start()
            sender.poke()

    async def settle(self, timeout: float = 10.0) -> bool:
        """Until every sender is idle (a message that falls due meanwhile is waited for too)."""
        results = await asyncio.gather(*(s.settle(timeout) for s in self._by_platform.values()))
        return all(results)

    async def stop(self, timeout: float = 5.0) -> None:
        await asyncio.gather(*(s.stop(timeout) for s in self._by_platform.values()))
