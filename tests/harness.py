"""Conversations against the real engine and a real database, with no sleeps.

    bot = await Bot.start(tmp_path)
    await bot.say("alice", "!signup mentee")          # a DM; channel="#oh" speaks in a channel
    assert "timezone" in bot.dm("alice")[-1]
    await bot.restart()                               # same database, new engine

Everything the engine does for a line is finished when ``say`` returns (the sink awaits the
commit, then ``say`` waits until the background senders have sent what it recorded), so tests
read results straight away. ``tick`` is a scheduler tick that waits for its messages likewise.
The database is a SQLite file in ``tmp_path`` unless the ``database`` fixture (tests/conftest.py)
points ``database_in`` at PostgreSQL.
"""

from __future__ import annotations

import random
import re
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any, Awaitable, Callable, Hashable

from sqlalchemy import Engine as DbEngine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.util import LRUCache

from adapters.console import MemoryAdapter, Said, ScriptPlayer
from chatbot.app import App
from chatbot.clock import FakeClock, parse_span
from chatbot.config import Settings, embedded_default, from_dict
from chatbot.context import Feature
from chatbot.features import all_features
import storage.db
from storage.db import open_database, sqlite_path

START = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)  # a Monday
SUNDAY = datetime(2027, 1, 3, 12, 0, tzinfo=timezone.utc)  # the day before


@cache
def _sqlite_compiled() -> tuple[Dialect, LRUCache]:
    """SQLite's dialect (initialized: it served a connection) and the statements compiled for it."""
    engine = _create_engine("sqlite://")
    engine.connect().close()
    engine.dispose()
    return engine.dialect, LRUCache(5000)


_create_engine = storage.db.create_engine


def _engine_sharing_compiled(url: Any, **kwargs: Any) -> DbEngine:
    """``create_engine``, its SQLite engines compiling each statement once a test process: an
    engine compiles every statement the first time it runs it (its dialect is part of the key),
    which was half of what a new bot's first commands cost, and the tests start hundreds of bots.
    They all use one SQLite library, so one dialect serves them (each engine still connects with
    its own)."""
    engine = _create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite" and not kwargs:
        dialect, compiled = _sqlite_compiled()
        if type(engine.dialect) is type(dialect):
            engine.dialect, engine._compiled_cache = dialect, compiled
    return engine


storage.db.create_engine = _engine_sharing_compiled


def sqlite_in(directory: Path) -> str:
    return f"sqlite:///{directory / 'bot.db'}"


#: the database URL of a bot whose files are in a directory (set by the ``database`` fixture)
database_in: Callable[[Path], str] = sqlite_in


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database file (its WAL included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


@cache
def _migrated_template() -> Path:
    """A SQLite file migrated to the newest schema, once per test process (where migrating each
    test's new file took a third of a second)."""
    folder = tempfile.TemporaryDirectory(prefix="mentorbot-template-")  # removed at exit
    _kept.append(folder)
    open_database(sqlite_in(Path(folder.name)), synchronous="normal").dispose()
    return Path(folder.name) / "bot.db"


_kept: list[tempfile.TemporaryDirectory[str]] = []
#: ``Bot.prepared``'s databases: key -> the SQLite file and the clock's time when it was left
_prepared: dict[Hashable, tuple[Path, datetime]] = {}


def migrated(url: str) -> str:
    """``url``; a SQLite file that does not exist yet starts as a copy of the migrated template
    (the bot's own migration then finds nothing to do)."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        copy_sqlite(_migrated_template(), path)
    return url


@dataclass
class Bot:
    db_path: Path
    settings: Settings
    clock: FakeClock
    app: App = field(init=False)
    adapters: dict[str, MemoryAdapter] = field(default_factory=dict)
    said: list[Said] = field(default_factory=list)
    features: list[Feature] | None = None

    @classmethod
    async def start(
        cls,
        tmp_path: Path,
        config: dict[str, Any] | None = None,
        clock: FakeClock | None = None,
        platforms: tuple[str, ...] = ("console",),
        extra_features: tuple[Feature, ...] = (),
        url: str | None = None,
    ) -> "Bot":
        db_path = tmp_path / "bot.db"
        raw = embedded_default().model_dump() if config is None else config
        # Durability is not under test here; "normal" keeps each commit from waiting on fsync.
        url = migrated(url or database_in(tmp_path))
        raw = {**raw, "database": {**raw.get("database", {}), "synchronous": "normal", "url": url}}
        bot = cls(db_path, from_dict(raw), clock or FakeClock(START))
        if extra_features:
            bot.features = [*all_features(), *extra_features]
        await bot._boot(platforms)
        return bot

    @classmethod
    async def prepared(cls, tmp_path: Path, key: Hashable, build: Callable[["Bot"], Awaitable[None]], **kwargs: Any) -> "Bot":
        """A bot on a copy of the SQLite database ``build`` left behind on a new bot (built once a
        test process for each ``key``; ``kwargs`` go to ``start`` both times and belong in the
        key), its clock where ``build`` left it and its transcript empty: a restart after the
        setup, for tests whose subject comes after a common one (which its own tests still play).
        On PostgreSQL ``build`` runs on the test's own bot (the transcript is emptied likewise)."""
        if database_in is not sqlite_in:
            bot = await cls.start(tmp_path, **kwargs)
            await build(bot)
            bot.said.clear()
            return bot
        if key not in _prepared:
            folder = tempfile.TemporaryDirectory(prefix="mentorbot-prepared-")  # removed at exit
            _kept.append(folder)
            first = await cls.start(Path(folder.name), url=sqlite_in(Path(folder.name)), **kwargs)
            await build(first)
            await first.stop()
            _prepared[key] = (first.db_path, first.clock.now())
        source, now = _prepared[key]
        tmp_path.mkdir(parents=True, exist_ok=True)
        copy_sqlite(source, tmp_path / "bot.db")
        return await cls.start(tmp_path, url=sqlite_in(tmp_path), clock=FakeClock(now), **kwargs)

    async def _boot(self, platforms: tuple[str, ...]) -> None:
        self.adapters = {}
        for platform in platforms:
            self._adapter(platform)
        self.app = App(
            self.settings, clock=self.clock, adapters=list(self.adapters.values()), rng=random.Random(7), features=self.features
        )
        await self.app.start(schedule=False)

    def _adapter(self, platform: str) -> MemoryAdapter:
        adapter = MemoryAdapter(platform, self.settings.bot.prefix)
        adapter.said = self.said  # one transcript across platforms, in order
        self.adapters[platform] = adapter
        return adapter

    async def simulate(self, platform: str) -> MemoryAdapter:
        return await self.add(self._adapter(platform))

    async def add(self, adapter: MemoryAdapter) -> MemoryAdapter:
        """A platform of the test's own (one that takes files, say), in the one transcript."""
        adapter.said = self.said
        self.adapters[adapter.platform] = adapter
        self.app.engine.attach(adapter)
        await adapter.start(self.app.engine.handle, self.app.engine.specs)
        return adapter

    @property
    def engine(self):  # noqa: ANN201
        return self.app.engine

    async def say(self, who: str, text: str, channel: str | None = None, platform: str = "console", event_id: str | None = None) -> list[str]:
        """``who`` says ``text``; returns the texts the bot sent because of it."""
        before = len(self.said)
        adapter = self.adapters.get(platform) or await self.simulate(platform)
        await adapter.say(who, text, channel, event_id=event_id)
        await self.settle()
        return [s.text for s in self.said[before:]]

    async def handle(self, event: Any) -> Any:
        """An inbound event straight to the engine, and what it sent because of it."""
        result = await self.engine.handle(event)
        await self.settle()
        return result

    async def settle(self) -> None:
        """Until the senders have sent everything due (a test fails if that takes 10 s)."""
        assert await self.engine.flush_outbox(), "the senders did not finish within 10 s"

    async def tick(self, budget: float | None = None) -> None:
        """One scheduler tick, and what it sent."""
        await self.engine.run_due(budget)
        await self.settle()

    async def play(self, script: str) -> list[Said]:
        """Play console-script lines; returns what the bot said meanwhile."""
        before = len(self.said)
        player = ScriptPlayer(self.adapters["console"], self.clock, self.engine.run_due, self.simulate, settle=self.settle)
        player.adapters.update(self.adapters)
        await player.play(script.strip().splitlines())
        return self.said[before:]

    def dm(self, who: str) -> list[str]:
        """Every private message the bot sent to ``who`` (``alice`` or ``alice@irc``)."""
        return [s.text for s in self.said if s.target == f"dm {who}"]

    def channel(self, name: str) -> list[str]:
        return [s.text for s in self.said if s.target == name]

    def transcript(self) -> str:
        return "\n".join(s.render() for s in self.said)

    async def pair(self, mentee: str = "alice", mentor: str = "bob", *, mentee_tz: str = "Europe/Berlin", mentor_tz: str = "America/New_York") -> None:
        """Open a round if none is, sign both up (the real interviews) and ``!match assign`` them."""
        out = await self.say("you", "!round status")
        if "no round yet" in out[0]:
            await self.say("you", '!round open "2027 Q1" 2027-01-01 2027-03-31')
        for who, answers in (
            (mentee, ["!signup mentee", mentee_tz, "en", "3", "programming", "testing, code review", "Land my first patch in core"]),
            (mentor, ["!signup mentor", mentor_tz, "en", "3", "all", "testing, code review", "3"]),
        ):
            for answer in answers:
                last = await self.say(who, answer)
                if answer.startswith("!signup") and "already" in last[0]:
                    break
        out = await self.say("you", f"!match assign {mentee} {mentor}")
        assert "now mentors" in out[0], out

    async def pair_on_sunday(self) -> None:
        """``pair()`` (alice with bob) on Sunday 3 Jan 2027 at noon: a build for ``prepared``."""
        self.clock.set(SUNDAY)
        await self.pair()

    async def advance(self, span: str) -> None:
        self.clock.advance(parse_span(span))
        await self.tick()

    async def restart(self) -> None:
        """Stop the engine as a shutdown would and start a new one on the same database."""
        await self.app.stop()
        await self._boot(tuple(self.adapters))

    async def stop(self) -> None:
        await self.app.stop()


def matches(pattern: str, texts: list[str]) -> bool:
    return any(re.search(pattern, t, re.S) for t in texts)


@contextmanager
def selects(database: DbEngine) -> Iterator[list[str]]:
    """The SELECT statements run on ``db`` inside the block: for tests that a job's number of
    queries does not grow with the number of people it serves."""
    with statements(database, "SELECT") as seen:
        yield seen


@contextmanager
def statements(database: DbEngine, kind: str = "") -> Iterator[list[str]]:
    """The statements run on ``db`` inside the block (those starting with ``kind``, if given)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(kind.upper()):
            seen.append(statement.strip())

    event.listen(database, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database, "before_cursor_execute", record)
