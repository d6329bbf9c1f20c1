"""An asyncio token bucket: pace outgoing lines without ever blocking the event loop.

Chat servers disconnect clients that send too fast (IRC "Excess Flood", RecvQ exceeded) or
answer with 429s. A token bucket allows a short burst, then a steady rate: ``burst`` tokens
are available at once and one more arrives every ``1 / rate`` seconds. Waiters are served
in the order they asked (``asyncio.Lock`` is FIFO), so a long reply cannot be overtaken by a
later one. Unlike irc.client's ``set_rate_limit`` (``time.sleep``), waiting here is
``await asyncio.sleep``, so everything else keeps running.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Awaitable, Callable


_EPSILON = 1e-9


class TokenBucket:
    """``burst`` tokens at most, refilled at ``rate`` tokens per second.

    ``clock`` and ``sleep`` are injectable so the arithmetic can be tested without waiting.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = asyncio.Lock()
        self._firsts = 0  # first lines waiting

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    @property
    def tokens(self) -> float:
        """Tokens available now (fractional while refilling)."""
        self._refill()
        return self._tokens

    def try_acquire(self) -> bool:
        """Take a token if one is there right now (never waits, never jumps the queue)."""
        if self._lock.locked():
            return False
        self._refill()
        if self._tokens >= 1 - _EPSILON:
            self._tokens = max(0.0, self._tokens - 1)
            return True
        return False

    async def acquire(self, *, first: bool = False) -> None:
        """Wait for a token and take it; callers are served first come, first served, except
        that a ``first`` line (the start of a message) goes before the waiting continuation
        lines of longer messages: a one-line call in a channel waits for one token, not for the
        rest of somebody's long answer."""
        if first:
            self._firsts += 1
        try:
            while True:
                async with self._lock:
                    if first or not self._firsts:
                        while True:
                            self._refill()
                            if self._tokens >= 1 - _EPSILON:  # float dust must not leave us waiting for 1e-17 s
                                self._tokens = max(0.0, self._tokens - 1)
                                return
                            await self._sleep((1 - self._tokens) / self.rate)
                            if not first and self._firsts:
                                break  # a first line came meanwhile: it takes this token
                # leaving the lock queues us again behind the first line waiting for it
        finally:
            if first:
                self._firsts -= 1

    def min_duration(self, n: int) -> float:
        """The least time ``n`` acquisitions can take starting from a full bucket."""
        return max(0, n - self.burst) / self.rate


def backoff_delay(
    attempt: int, low: float, high: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before reconnect ``attempt`` (0, 1, 2, ...): exponential, capped, jittered.

    The cap grows as ``low * 2**attempt`` up to ``high``; the wait is drawn from the upper half
    of it ("equal jitter"), so a fleet of bots that lost the same server does not come back in
    lockstep, yet no wait is shorter than half the cap.
    """
    cap = min(high, low * 2 ** min(attempt, 60))
    return cap / 2 + cap / 2 * rand()
