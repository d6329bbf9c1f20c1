"""The composition root: builds storage, engine, scheduler and the configured adapters.

No global singletons: everything is built here and handed down. Adapters are found through the
``mentorbot.adapters`` entry-point group (the built-in ones too), and each is imported only when
enabled, so the console starts without loading discord.py, matrix-nio or irc.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import random
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import Session

from adapters.base import Adapter, AdapterContext
from chatbot.clock import Clock, SystemClock
from chatbot.config import Settings
from chatbot.context import Feature
from chatbot.engine import Engine
from chatbot.features import all_features
from chatbot.scheduler import Scheduler
from chatbot.supervisor import HEALTH_NAMESPACE, Supervisor
from chatbot.tick_lock import tick_lock
from storage.db import open_database
from storage.repos import KeyValueRepo

if TYPE_CHECKING:
    from chatbot.dashboard.server import Dashboard

log = logging.getLogger(__name__)

BUILTIN_ADAPTERS = {
    "console": "adapters.console:create",
    "irc": "adapters.irc:create",
    "matrix": "adapters.matrix:create",
    "discord": "adapters.discord:create",
}


class DbKeyValue:
    """An adapter's (or the supervisor's) durable key-value state.

    Called from the event loop, so a write never waits there for the database: given the
    engine's writer ``lock``, ``set`` keeps the value and a task writes what is pending once it
    holds the lock (one short transaction). Writing at once instead would wait, blocking the
    loop, for a write transaction that the engine may hold open across an ``await``, and fail
    with "database is locked" when the busy timeout ran out. ``get`` sees pending values."""

    def __init__(self, database: DbEngine, namespace: str, lock: asyncio.Lock | None = None):
        self.database, self.namespace, self.lock = database, namespace, lock
        self._pending: dict[str, str] = {}
        self._writer: asyncio.Task[None] | None = None

    def get(self, key: str) -> str | None:
        if key in self._pending:
            return self._pending[key]
        with Session(self.database) as s:
            return KeyValueRepo(s).get(self.namespace, key)

    def set(self, key: str, value: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # outside the event loop nothing can be holding the lock
            loop = None
        if self.lock is None or loop is None:
            self._write({key: value})
            return
        self._pending[key] = value
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_pending(), name=f"kv-{self.namespace}")

    async def flush(self) -> None:
        """Until what was set is written (stopping, and tests)."""
        while self._writer is not None and not self._writer.done():
            await self._writer

    async def _write_pending(self) -> None:
        assert self.lock is not None
        async with self.lock:
            values, self._pending = self._pending, {}
            try:
                self._write(values)
            except Exception:
                log.exception("could not record %s state (%s); kept for the next write", self.namespace, ", ".join(values))
                self._pending = {**values, **self._pending}

    def _write(self, values: dict[str, str]) -> None:
        with Session(self.database) as s:
            repo = KeyValueRepo(s)
            for key, value in values.items():
                repo.set(self.namespace, key, value)
            s.commit()


def adapter_factory(name: str) -> Callable[..., Adapter]:
    """The factory registered for ``name`` in the entry-point group (or the built-in one)."""
    for ep in entry_points(group="mentorbot.adapters"):
        if ep.name == name:
            return ep.load()
    target = BUILTIN_ADAPTERS.get(name)
    if target is None:
        known = ", ".join(sorted({*BUILTIN_ADAPTERS, *(e.name for e in entry_points(group="mentorbot.adapters"))}))
        raise LookupError(f"no adapter called {name!r} is installed (known: {known})")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass
class App:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    #: adapters built by the caller (tests, the console); otherwise the config's enabled ones
    adapters: list[Adapter] | None = None
    #: run only these of the enabled adapters (``mentorbot run --adapters``): other processes
    #: over the same database serve the rest, and DMs for them are left to those processes
    only: list[str] | None = None
    tick_seconds: float = 30.0
    rng: random.Random | None = None
    #: the features to run (all of them unless a test narrows or extends the set)
    features: list[Feature] | None = None
    #: backoff between attempts to start an adapter that failed (seconds, doubling, with jitter)
    retry_first_delay: float = 1.0
    retry_max_delay: float = 300.0
    #: keeps the adapters running and records their state (made by the first ``_supervise``)
    supervisor: Supervisor | None = field(default=None, init=False, repr=False)
    #: the console's dashboard may sign sessions with a random secret when none is set
    #: (sessions then end with the process); ``run`` needs the secret from the environment
    dashboard_ephemeral_secret: bool = False
    #: the web dashboard, when ``[dashboard] listen`` is set (started by ``start``)
    dashboard: "Dashboard | None" = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        conf = self.settings.database
        self.database = open_database(conf.url, synchronous=conf.synchronous, busy_timeout_ms=conf.busy_timeout_ms,
                                migrate=conf.migrate_on_start)
        self.engine = Engine(self.database, self.settings, self.clock, self.features or all_features(), rng=self.rng)
        self.scheduler: Scheduler | None = None
        self._supervisors: list[asyncio.Task[None]] = []
        self._stores: list[DbKeyValue] = []
        enabled = self.settings.enabled_adapters()
        if self.only is not None:
            unknown = [name for name in self.only if name not in enabled]
            if unknown or not self.only:
                raise ValueError(f"--adapters {','.join(self.only)}: the config enables {', '.join(enabled) or 'no adapter'}")
            self.engine.elsewhere = frozenset(enabled) - set(self.only)
        if self.adapters is None:
            self.adapters = [self._build(name) for name in (self.only if self.only is not None else enabled)]

    def _build(self, name: str) -> Adapter:
        state = Path(self.settings.state_dir) / name
        context = AdapterContext(state_dir=state, kv=self._store(name), localize=self.engine.languages.translation)
        return adapter_factory(name)(self.settings.adapter_settings(name), context)

    async def start(self, *, schedule: bool = True, wait: float = 5.0) -> None:
        """Start every adapter (waiting up to ``wait`` seconds for them), catch up, then tick."""
        assert self.adapters is not None
        secret = self._dashboard_secret() if self.settings.dashboard.listen is not None else None  # fail before connecting
        for adapter in self.adapters:
            self.engine.attach(adapter)
        for adapter in self.adapters:
            self._supervisors.append(asyncio.create_task(self._supervise(adapter), name=f"start-{adapter.platform}"))
        if not self._supervisors:
            log.warning("no adapter is enabled: the bot runs its schedule but nobody can talk to it")
        else:
            _done, pending = await asyncio.wait(self._supervisors, timeout=wait)
            for task in pending:
                log.info("%s is still connecting; carrying on without waiting", task.get_name())
        if secret is not None:
            await self.start_dashboard(secret)
        if schedule:
            lock = tick_lock(self.database, self.engine.senders.owner, self.tick_seconds)
            self.scheduler = Scheduler(self.engine, self.tick_seconds, lock)
            self.scheduler.start()

    def _dashboard_secret(self) -> bytes:
        """The secret that signs the dashboard's sessions; ``ValueError`` when it is missing."""
        from chatbot.dashboard.auth import load_secret

        return load_secret(self.settings.dashboard.secret_env, ephemeral_ok=self.dashboard_ephemeral_secret)

    async def start_dashboard(self, secret: bytes | None = None) -> str:
        """Serve the web dashboard from this process; returns its address, which ``!dashboard``
        puts in sign-in links. Raises ``ValueError`` when the signing secret is missing."""
        from chatbot.dashboard.server import Dashboard

        self.dashboard = Dashboard(self.engine, self.settings.dashboard, secret or self._dashboard_secret())
        self.engine.web_url = await self.dashboard.start()
        return self.engine.web_url

    async def _supervise(self, adapter: Adapter) -> None:
        """Hand ``adapter`` to the supervisor, which restarts it whenever it fails to start or
        its client ends, and records its state for ``mentorbot health``; one platform being
        down never stops the others. Returns once the adapter is up (or never can be);
        ``self.supervisor.stop()`` ends the supervision."""
        if self.supervisor is None:
            self.supervisor = Supervisor(self.engine.handle, self.engine.specs,
                                         store=self._store(HEALTH_NAMESPACE),
                                         first_delay=self.retry_first_delay, max_delay=self.retry_max_delay)
        await self.supervisor.supervise(adapter)

    def _store(self, namespace: str) -> DbKeyValue:
        store = DbKeyValue(self.database, namespace, self.engine.lock)
        self._stores.append(store)
        return store

    async def stop(self) -> None:
        """Stop taking input, handle and commit what was accepted, give the senders a few
        seconds, close the database."""
        if self.scheduler is not None:
            self.scheduler.shutdown()
        if self.dashboard is not None:
            await self.dashboard.stop()
            self.engine.web_url = None
        if self.supervisor is not None:
            await self.supervisor.stop()
        for task in self._supervisors:
            task.cancel()
        await self.engine.drain()
        # the senders get a bounded time for what is queued; the rest waits in the outbox
        await self.engine.senders.stop(timeout=5.0)
        for adapter in self.adapters or []:
            try:
                await adapter.stop()
            except Exception:
                log.exception("adapter %s did not stop cleanly", adapter.platform)
        for store in self._stores:  # the adapters' last state (a Matrix sync token) is kept
            await store.flush()
        self.database.dispose()

