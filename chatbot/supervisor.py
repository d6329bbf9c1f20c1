"""Keeps every adapter running, and records truthfully how each one is doing.

Why: an adapter's client can fail to start (its server is down), end after start (a bug, an
event its library cannot parse) or lose its link, and the process used to carry on deaf while
its log said it was running. The supervisor starts each adapter in a task of its own and
starts it again, with capped and jittered backoff, whenever ``start()`` raises or the adapter
reports ``failed``; the adapter's ``stop()`` runs first, so each attempt gets a fresh client.
One adapter never waits on another: nothing here holds a lock across an adapter call.

Each adapter's state (:class:`AdapterHealth`) is written to the bot's key-value table on every
change and every ``heartbeat`` seconds, because ``mentorbot health`` runs as another process;
:func:`assess` is how that command judges a record.

The contract with adapters is ``adapters.base``: restartable ``start``/``stop`` and the optional
``bind_reporter``. An adapter without ``bind_reporter`` counts as connected once ``start()``
returns, and is retried only until then (nothing would tell when its client ends).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Awaitable, Callable, Sequence

from adapters.base import Adapter, AdapterState, KeyValue, Sink
from chatbot.commands import CommandSpec

log = logging.getLogger(__name__)

#: the kv namespace the records live in (one key per adapter platform)
HEALTH_NAMESPACE = "health"
#: phases in which the adapter talks to its platform
UP = frozenset({"connected", "degraded"})


@dataclass(frozen=True)
class AdapterHealth:
    """A snapshot of one adapter's state, as kept in the kv table (times: Unix seconds)."""

    platform: str
    phase: str
    reason: str | None = None
    #: when this phase began
    since: float = 0.0
    #: when the current (or the last) connection began; None: never connected
    connected_at: float | None = None
    #: when it went down (None while up); kept through reconnect attempts
    down_since: float | None = None
    #: restarts after the client ended or a start failed
    restarts: int = 0
    #: when the record was last written; a process that stopped writing is presumed dead
    updated: float = 0.0
    #: seconds between writes while nothing changes
    heartbeat: float = 30.0

    @property
    def up(self) -> bool:
        return self.phase in UP

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> "AdapterHealth | None":
        """The record, or None for a missing or unreadable one."""
        try:
            data = json.loads(text or "")
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except (ValueError, TypeError):
            return None


@dataclass(frozen=True)
class Verdict:
    """What ``mentorbot health`` says about one adapter."""

    platform: str
    ok: bool
    line: str


def span(seconds: float) -> str:
    """``3h 05m``, ``4m 10s``, ``12s``: a duration for people."""
    s = max(0, int(seconds))
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {s:02d}s" if minutes else f"{s}s"


def assess(platform: str, health: AdapterHealth | None, now: float, max_down: float) -> Verdict:
    """Judge one record: fine unless the adapter has been down for longer than ``max_down``
    seconds. A record not rewritten for three heartbeats means the bot itself is not running,
    so the adapter counts as down since that last write."""
    if health is None:
        return Verdict(platform, False, f"{platform}: no record (has the bot run with it enabled?)")
    state = health.phase + (f" ({health.reason})" if health.reason else "")
    down_since = health.down_since
    silent = now - health.updated
    if silent > max(3 * health.heartbeat, 10) and health.phase != "stopped":
        state = f"no report for {span(silent)}, is the bot running? (last: {state})"
        down_since = health.updated if down_since is None else down_since
    if down_since is None:
        when = f"connected {span(now - (health.connected_at or now))} ago"
    else:
        last = f"last connected {span(now - health.connected_at)} ago" if health.connected_at else "never connected"
        when = f"down for {span(now - down_since)}, {last}"
    ok = down_since is None or now - down_since <= max_down
    return Verdict(platform, ok, f"{platform}: {state}; {when}")


def describe(exc: BaseException) -> str:
    """An exception as one line for logs and records."""
    text = str(exc)
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:300]


@dataclass(eq=False)
class _Watch:
    """The supervisor's bookkeeping for one adapter."""

    adapter: Adapter
    health: AdapterHealth
    reporting: bool = False
    #: the supervisor itself is in start()/stop(): a ``stopped`` report then is its own doing
    calling: bool = False
    #: set when the adapter reports ``failed`` (the reason) or is stopped by someone else
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    failure: str | None = None
    halted: bool = False
    #: resolved when the adapter is first up, or can never be
    first: asyncio.Future[None] | None = None
    task: asyncio.Task[None] | None = None
    ever_up: bool = False
    up_at: float = 0.0


class Supervisor:
    """Starts, watches and restarts adapters; see the module docstring."""

    def __init__(self, sink: Sink, specs: Sequence[CommandSpec], *, store: KeyValue | None = None,
                 first_delay: float = 1.0, max_delay: float = 300.0, stable_after: float = 60.0,
                 heartbeat: float = 30.0, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 rand: Callable[[], float] = random.random) -> None:
        self._sink, self._specs, self._store = sink, specs, store
        self.first_delay, self.max_delay, self.stable_after = first_delay, max_delay, stable_after
        self.heartbeat = heartbeat
        self._clock, self._sleep, self._rand = clock, sleep, rand
        self._watches: dict[str, _Watch] = {}
        self._closing = False
        self._beat: asyncio.Task[None] | None = None
        self._store_failed = False

    # ------------------------------------------------------------------ public

    async def supervise(self, adapter: Adapter) -> None:
        """Keep ``adapter`` running from now on. Returns once it is first up (or can never be:
        a configuration error); the supervision goes on in the background until :meth:`stop`."""
        now = self._clock()
        watch = _Watch(adapter, AdapterHealth(adapter.platform, "starting", since=now, down_since=now,
                                              updated=now, heartbeat=self.heartbeat))
        watch.first = asyncio.get_running_loop().create_future()
        self._watches[adapter.platform] = watch
        bind = getattr(adapter, "bind_reporter", None)
        if callable(bind):
            bind(lambda state: self._reported(watch, state))
            watch.reporting = True
        self._save(watch)
        watch.task = asyncio.create_task(self._keep(watch), name=f"supervise-{adapter.platform}")
        if self._beat is None and self._store is not None:
            self._beat = asyncio.create_task(self._heartbeat(), name="supervisor-heartbeat")
        await asyncio.wait({watch.first, watch.task}, return_when=asyncio.FIRST_COMPLETED)

    def states(self) -> dict[str, AdapterHealth]:
        """Every supervised adapter's state now, by platform."""
        return {platform: w.health for platform, w in self._watches.items()}

    def connected(self) -> list[str]:
        return [platform for platform, w in self._watches.items() if w.health.up]

    async def stop(self) -> None:
        """Stop supervising: no more restarts, the background tasks end. The adapters
        themselves are stopped by the caller (after it has drained what is in flight); an
        adapter still up is recorded as stopped now."""
        self._closing = True
        tasks = [w.task for w in self._watches.values() if w.task is not None]
        if self._beat is not None:
            tasks.append(self._beat)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for watch in self._watches.values():
            watch.halted = True
            self._set(watch, "stopped", None)

    # ------------------------------------------------------------------ the loop

    async def _keep(self, w: _Watch) -> None:
        attempt = 0
        try:
            while not (self._closing or w.halted):
                w.ended.clear()
                w.failure = None
                try:
                    w.calling = True
                    await w.adapter.start(self._sink, self._specs)
                except asyncio.CancelledError:
                    raise
                except (ValueError, LookupError) as exc:  # configuration: retrying cannot help
                    log.error("%s cannot start: %s (fix the configuration and restart the bot)",
                              w.adapter.platform, describe(exc))
                    self._set(w, "stopped", f"configuration: {describe(exc)}")
                    return
                except Exception as exc:
                    await self._quiet_stop(w)
                    delay = self._delay(attempt)
                    attempt += 1
                    log.warning("%s could not start (%s); retrying in %.2f s", w.adapter.platform, describe(exc), delay)
                    self._restarting(w, describe(exc))
                    await self._pause(w, delay)
                    continue
                finally:
                    w.calling = False
                if not w.reporting:
                    self._set(w, "connected", None)
                    return
                await w.ended.wait()
                if w.failure is None:  # stopped by someone else: they meant it
                    return
                if w.ever_up and self._clock() - w.up_at >= self.stable_after:
                    attempt = 0
                await self._quiet_stop(w)
                delay = self._delay(attempt)
                attempt += 1
                log.warning("%s stopped working (%s); restarting it in %.2f s", w.adapter.platform, w.failure, delay)
                self._restarting(w, w.failure)
                await self._pause(w, delay)
        finally:
            self._resolve_first(w)

    def _delay(self, attempt: int) -> float:
        """Exponential from ``first_delay``, capped at ``max_delay``, from the upper half of it
        (so adapters that failed together do not come back in lockstep)."""
        cap = min(self.max_delay, self.first_delay * 2 ** min(attempt, 60))
        return cap / 2 + cap / 2 * self._rand()

    async def _pause(self, w: _Watch, delay: float) -> None:
        """Wait ``delay`` seconds, or less if the adapter is stopped meanwhile."""
        sleeping = asyncio.ensure_future(self._sleep(delay))
        stopped = asyncio.ensure_future(w.ended.wait())
        try:
            await asyncio.wait({sleeping, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            stopped.cancel()

    async def _quiet_stop(self, w: _Watch) -> None:
        """Let the adapter drop what is left of its client, so the next start is a fresh one."""
        w.calling = True
        try:
            await w.adapter.stop()
        except Exception as exc:
            log.warning("%s did not stop cleanly before its restart: %s", w.adapter.platform, describe(exc))
        finally:
            w.calling = False
            w.ended.clear()

    def _restarting(self, w: _Watch, reason: str | None) -> None:
        w.health = replace(w.health, restarts=w.health.restarts + 1)
        self._set(w, "reconnecting" if w.ever_up else "starting", reason)

    def _resolve_first(self, w: _Watch) -> None:
        if w.first is not None and not w.first.done():
            w.first.set_result(None)

    # ------------------------------------------------------------------ reports and records

    def _reported(self, w: _Watch, state: AdapterState) -> None:
        if state.phase == "failed":
            w.failure = state.reason or "the client ended"
            w.ended.set()
        elif state.phase == "stopped":
            if w.calling or self._closing:
                return  # the supervisor's own stop() before a restart, or the end: not news
            w.halted = True
            self._set(w, "stopped", state.reason)
            w.ended.set()
        else:
            self._set(w, state.phase, state.reason)

    def _set(self, w: _Watch, phase: str, reason: str | None) -> None:
        """Record a phase, logging what a person watching the log needs to know."""
        old, now, name = w.health, self._clock(), w.adapter.platform
        if (old.phase, old.reason) == (phase, reason):
            return
        new = replace(old, phase=phase, reason=reason, since=now if phase != old.phase else old.since)
        if phase in UP and not old.up:
            new = replace(new, connected_at=now, down_since=None)
            suffix = f" (degraded: {reason})" if phase == "degraded" else ""
            if not w.ever_up:
                log.info("running with %s%s", name, suffix)
            else:
                log.info("%s is back after %s down%s", name, span(now - (old.down_since or now)), suffix)
            w.ever_up, w.up_at = True, now
            self._resolve_first(w)
        elif phase in UP:
            if phase == "degraded":
                log.info("%s is degraded: %s", name, reason)
            else:
                log.info("%s works fully again", name)
        elif old.up:
            new = replace(new, down_since=now)
            if phase == "stopped":
                log.info("%s stopped", name)
            else:
                log.warning("%s lost its connection (%s); it is %s", name, reason or "no reason given", phase)
        w.health = new
        self._save(w)

    def _save(self, w: _Watch) -> None:
        if self._store is None:
            return
        w.health = replace(w.health, updated=self._clock())
        try:
            self._store.set(w.adapter.platform, w.health.to_json())
            self._store_failed = False
        except Exception as exc:  # a busy database must never stop the supervision
            if not self._store_failed:
                log.warning("could not record the state of %s: %s", w.adapter.platform, describe(exc))
            self._store_failed = True

    async def _heartbeat(self) -> None:
        """Rewrite every record now and then, so ``health`` can tell a live bot from a dead one."""
        while not self._closing:
            await asyncio.sleep(self.heartbeat)
            for watch in self._watches.values():
                self._save(watch)
