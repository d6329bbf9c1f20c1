"""APScheduler only ticks. What is due is decided by the features from the store at ``clock.now()``,
so a tick is idempotent, a restart resends nothing, and a downtime is caught up at the first tick.
Where several processes share a database, only the one holding the tick lock ticks
(chatbot/tick_lock.py); the others try again at their next tick, and so take over within a tick
when the holder dies.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:
    from chatbot.engine import Engine
    from chatbot.tick_lock import TickLock

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, engine: "Engine", tick_seconds: float = 30.0, lock: "TickLock | None" = None):
        self.engine = engine
        self.tick_seconds = tick_seconds
        self.lock = lock
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        # A late tick still runs (misfire_grace_time) and piled-up ticks run once (coalesce): the
        # work is "everything due up to now", so one run catches up on all of them.
        self._scheduler.add_job(
            self._tick,
            "interval",
            seconds=tick_seconds,
            id="tick",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(60, int(tick_seconds * 4)),
            next_run_time=None,
        )

    async def _tick(self) -> None:
        try:
            if self.lock is not None and not self.lock.hold():
                # another process ticks; this one tries again at its next tick, and its jobs'
                # rests are forgotten (the other process's jobs change what they read)
                self.engine.rests.wake_all()
                return
            # most of the interval: a long fan-out goes on at the next tick rather than
            # overlapping it (APScheduler would skip that tick with a warning)
            await self.engine.run_due(budget=0.8 * self.tick_seconds)
        except Exception:
            log.exception("scheduler tick failed; the next tick tries again")

    def start(self) -> None:
        self._scheduler.start()
        # Catch up on what fell due while the bot was down, straight away.
        self._scheduler.modify_job("tick", next_run_time=self._now())

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self.lock is not None:
            try:
                self.lock.release()
            except Exception:  # the database is gone: the lock went with the connection
                log.warning("could not release the tick lock", exc_info=True)

    @staticmethod
    def _now():  # noqa: ANN205
        from datetime import datetime, timezone

        return datetime.now(timezone.utc)
