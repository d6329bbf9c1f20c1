"""Supervision: every adapter is started, watched and restarted by ``chatbot.supervisor``, and
its state is recorded for ``mentorbot health``.

The first part drives the supervisor with small fake adapters (no network, no sleeps: the
backoff is a hundredth of a second, or recorded by an injected ``sleep``). The second part
runs the real IRC and Matrix adapters against the session's real servers, behind a
:class:`~tests.door.Door` that is closed when the bot starts and opened later.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from adapters.base import AdapterContext, AdapterState, Capabilities, Reporter, ignore_state
from chatbot.events import SENT, Delivery, Inbound, Outbound, Reply, TextReceived, Where
from chatbot.supervisor import AdapterHealth, Supervisor, assess
from tests.door import Door
from tests.irc_client import Client
from tests.irc_fixtures import PORT as IRC_PORT, clients, irc_server, name  # noqa: F401 (fixtures)
from tests.matrix_fixtures import BOT, bot_password, homeserver, people  # noqa: F401 (fixtures)
from tests.servers import MemoryKV, wait_until

ROOT = Path(__file__).resolve().parents[2]


# =========================================================================== fake adapters


class FakeAdapter:
    """A platform that refuses ``failures`` starts (a server still booting), then connects.
    Each start makes a new ``client`` object, as the real adapters must."""

    capabilities = Capabilities()

    def __init__(self, platform: str, failures: int = 0, gate: asyncio.Event | None = None) -> None:
        self.platform, self.failures, self.gate = platform, failures, gate
        self.calls: list[str] = []
        self.clients: list[object] = []
        self.client: object | None = None
        self._report: Reporter = ignore_state

    def bind_reporter(self, report: Reporter) -> None:
        self._report = report

    def channel_label(self, channel: str) -> str:
        return channel

    @property
    def starts(self) -> int:
        return self.calls.count("start")

    async def start(self, sink: Any, specs: Any) -> None:
        self.calls.append("start")
        if self.gate is not None:
            await self.gate.wait()
        if self.starts <= self.failures:
            raise ConnectionRefusedError("server not up yet")
        self.client = object()
        self.clients.append(self.client)
        self._report(AdapterState("connected"))

    async def stop(self) -> None:
        self.calls.append("stop")
        self.client = None
        self._report(AdapterState("stopped"))

    async def send(self, event: Outbound) -> Delivery:
        return SENT if self.client is not None else Delivery("failed", "not connected")

    def say(self, phase: str, reason: str | None = None) -> None:
        """What the real adapters report from their own loops."""
        self._report(AdapterState(phase, reason))  # type: ignore[arg-type]


class SilentAdapter(FakeAdapter):
    """A third-party adapter without ``bind_reporter``: it cannot say how it is doing."""

    bind_reporter = None  # type: ignore[assignment]


class Records(MemoryKV):
    """The kv the supervisor writes to, remembering every write."""

    def __init__(self) -> None:
        super().__init__()
        self.history: list[AdapterHealth] = []

    def set(self, key: str, value: str) -> None:
        super().set(key, value)
        record = AdapterHealth.from_json(value)
        assert record is not None and record.platform == key
        self.history.append(record)

    def phases(self, platform: str) -> list[str]:
        seen = [r.phase for r in self.history if r.platform == platform]
        return [p for i, p in enumerate(seen) if i == 0 or seen[i - 1] != p]


async def _sink(event: Inbound) -> None:
    return None


@pytest.fixture
async def supervisors() -> Any:
    """``make(**options)`` -> a Supervisor with fast backoff; all are stopped at the end."""
    made: list[Supervisor] = []

    def make(**options: Any) -> Supervisor:
        options = {"first_delay": 0.01, "max_delay": 0.05, "store": Records(), **options}
        sup = Supervisor(_sink, [], **options)
        made.append(sup)
        return sup

    yield make
    for sup in made:
        await sup.stop()


def _state(sup: Supervisor, platform: str) -> AdapterHealth:
    """The adapter's state; "unknown" until its supervise() call has begun."""
    return sup.states().get(platform) or AdapterHealth(platform, "unknown")


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "chatbot.supervisor"]


# =========================================================================== the supervisor itself


async def test_an_adapter_that_fails_to_start_is_retried_with_a_fresh_client_until_it_connects(supervisors, caplog):
    caplog.set_level(logging.INFO, "chatbot.supervisor")
    sup = supervisors()
    irc = FakeAdapter("irc", failures=3)
    await asyncio.wait_for(sup.supervise(irc), 5)  # returns once it is up
    assert irc.calls == ["start", "stop"] * 3 + ["start"]  # stopped after each failure: nothing stale is reused
    state = sup.states()["irc"]
    assert (state.phase, state.restarts, state.down_since) == ("connected", 3, None)
    said = _messages(caplog)
    assert sum("irc could not start (ConnectionRefusedError: server not up yet)" in m for m in said) == 3
    assert said[-1] == "running with irc"  # said once, and only after it connected
    assert (await irc.send(Reply(Where("irc", "#x"), "hi"))).ok


async def test_a_client_that_ends_after_start_is_restarted_with_a_new_client(supervisors, caplog):
    caplog.set_level(logging.INFO, "chatbot.supervisor")
    sup = supervisors()
    discord = FakeAdapter("discord")
    await sup.supervise(discord)
    first = discord.client
    discord.say("failed", "the Discord client ended: TypeError(\"int() argument must be ... 'NoneType'\")")
    await wait_until(lambda: len(discord.clients) == 2 and sup.states()["discord"].phase == "connected",
                     what="the restart")
    assert discord.client is not first and discord.calls == ["start", "stop", "start"]
    assert sup.states()["discord"].restarts == 1
    said = _messages(caplog)
    assert any(m.startswith("discord stopped working (the Discord client ended: TypeError") for m in said)
    assert said[-1].startswith("discord is back after")
    assert sum(m.startswith("running with") for m in said) == 1  # "back", not "running with" again


async def test_one_adapter_failing_or_hanging_never_delays_another(supervisors):
    sup = supervisors()
    hung = asyncio.Event()
    matrix = FakeAdapter("matrix", gate=hung)  # its start() does not return
    irc = FakeAdapter("irc", failures=10**9)  # never starts
    discord = FakeAdapter("discord")
    waiting = [asyncio.create_task(sup.supervise(a)) for a in (matrix, irc)]
    await asyncio.wait_for(sup.supervise(discord), 1.0)
    assert sup.states()["discord"].phase == "connected"
    await wait_until(lambda: irc.starts >= 5, what="irc being retried meanwhile")
    assert sup.states()["matrix"].phase == "starting" and not waiting[0].done()

    discord.say("failed", "gone")  # discord restarting does not touch the others either
    await wait_until(lambda: len(discord.clients) == 2, what="discord restarted")
    hung.set()
    await asyncio.wait_for(waiting[0], 5)
    assert sup.states()["matrix"].phase == "connected" and matrix.starts == 1
    assert sup.states()["irc"].phase == "starting" and not waiting[1].done()


async def test_the_backoff_doubles_from_the_first_delay_is_capped_and_starts_over_after_a_stable_run(supervisors):
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(0)

    now = [1000.0]
    sup = supervisors(first_delay=1.0, max_delay=8.0, stable_after=60.0, sleep=sleep, rand=lambda: 1.0,
                      clock=lambda: now[0])
    irc = FakeAdapter("irc", failures=6)
    await asyncio.wait_for(sup.supervise(irc), 5)
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]  # capped

    delays.clear()
    now[0] += 61  # up for a minute: the next failure starts from the first delay again
    irc.say("failed", "crash")
    await wait_until(lambda: len(irc.clients) == 2)
    irc.say("failed", "crash")  # dies at once after coming back: a crash loop backs off further
    await wait_until(lambda: len(irc.clients) == 3)
    now[0] += 61
    irc.say("failed", "crash")
    await wait_until(lambda: len(irc.clients) == 4)
    assert delays == [1.0, 2.0, 1.0]

    low = supervisors(first_delay=1.0, max_delay=8.0, sleep=sleep, rand=lambda: 0.0)
    delays.clear()
    await asyncio.wait_for(low.supervise(FakeAdapter("matrix", failures=5)), 5)
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0]  # jitter takes at most half off, never above the cap


async def test_states_are_reported_recorded_and_logged(supervisors, caplog):
    caplog.set_level(logging.INFO, "chatbot.supervisor")
    store = Records()
    sup = supervisors(store=store)
    gate = asyncio.Event()
    discord = FakeAdapter("discord", gate=gate)
    supervising = asyncio.create_task(sup.supervise(discord))
    await wait_until(lambda: discord.starts == 1)
    assert sup.states()["discord"].phase == "starting" and sup.connected() == []
    assert not any("running with" in m for m in _messages(caplog))  # not before it connected
    gate.set()
    await supervising
    discord.say("degraded", "slash commands not synced: 400 50035: Invalid Form Body")
    discord.say("connected")
    discord.say("reconnecting", "the Discord gateway connection closed")
    down = sup.states()["discord"]
    assert down.phase == "reconnecting" and down.down_since is not None and down.connected_at is not None
    assert sup.connected() == []
    discord.say("connected")
    await discord.stop()  # stopped by someone else (the app shutting down): not restarted
    await wait_until(lambda: sup.states()["discord"].phase == "stopped")
    assert discord.calls == ["start", "stop"]

    assert store.phases("discord") == ["starting", "connected", "degraded", "connected", "reconnecting", "connected",
                                       "stopped"]
    kept = AdapterHealth.from_json(store["discord"])
    assert kept == sup.states()["discord"] and kept.phase == "stopped"
    said = _messages(caplog)
    assert said == ["running with discord",
                    "discord is degraded: slash commands not synced: 400 50035: Invalid Form Body",
                    "discord works fully again",
                    "discord lost its connection (the Discord gateway connection closed); it is reconnecting",
                    said[4], "discord stopped"]
    assert said[4].startswith("discord is back after")
    levels = {r.getMessage(): r.levelno for r in caplog.records if r.name == "chatbot.supervisor"}
    assert levels[said[3]] == logging.WARNING


async def test_a_configuration_error_is_not_retried(supervisors, caplog):
    class Misconfigured(FakeAdapter):
        async def start(self, sink: Any, specs: Any) -> None:
            self.calls.append("start")
            raise ValueError("the server refused the SASL login")

    sup = supervisors()
    bad = Misconfigured("irc")
    await asyncio.wait_for(sup.supervise(bad), 5)
    state = sup.states()["irc"]
    assert bad.calls == ["start"] and state.phase == "stopped"
    assert state.reason == "configuration: ValueError: the server refused the SASL login"
    assert any(r.levelno == logging.ERROR and "irc cannot start" in r.getMessage() for r in caplog.records)


async def test_an_adapter_that_cannot_report_counts_as_connected_once_started(supervisors, caplog):
    caplog.set_level(logging.INFO, "chatbot.supervisor")
    sup = supervisors()
    zulip = SilentAdapter("zulip", failures=2)
    await asyncio.wait_for(sup.supervise(zulip), 5)
    assert zulip.calls == ["start", "stop", "start", "stop", "start"]
    assert sup.states()["zulip"].phase == "connected" and "running with zulip" in _messages(caplog)


# =========================================================================== mentorbot health


def test_health_judges_records_by_how_long_an_adapter_has_been_down() -> None:
    now = 1_000_000.0
    up = AdapterHealth("discord", "connected", since=now - 7200, connected_at=now - 7200, updated=now - 5)
    verdict = assess("discord", up, now, max_down=600)
    assert verdict.ok and verdict.line == "discord: connected; connected 2h 00m ago"
    degraded = AdapterHealth("discord", "degraded", "slash commands not synced", since=now - 60,
                             connected_at=now - 7200, updated=now - 5)
    assert assess("discord", degraded, now, 600).ok  # text commands and DMs work
    down = AdapterHealth("irc", "reconnecting", "cannot connect: refused", since=now - 700, connected_at=now - 9000,
                         down_since=now - 700, updated=now - 5)
    verdict = assess("irc", down, now, 600)
    assert not verdict.ok
    assert verdict.line == "irc: reconnecting (cannot connect: refused); down for 11m 40s, last connected 2h 30m ago"
    assert assess("irc", down, now, 800).ok  # not down for long enough yet
    silent = AdapterHealth("matrix", "connected", since=now - 9000, connected_at=now - 9000, updated=now - 700)
    verdict = assess("matrix", silent, now, 600)  # the bot stopped writing: it is not running
    assert not verdict.ok and "no report for 11m 40s, is the bot running?" in verdict.line
    assert not assess("console", None, now, 600).ok


async def test_mentorbot_health_reads_what_the_running_bot_recorded(tmp_path: Path) -> None:
    """The bot (here: a supervisor whose clock says two hours ago) writes the records into its
    database; ``mentorbot health``, another process, reads them and says whether all is well."""
    from chatbot.app import DbKeyValue
    from chatbot.supervisor import HEALTH_NAMESPACE
    from storage.db import open_database

    class Unplugged(DbKeyValue):
        """Stops writing once the test has what it wants in the database."""

        plugged = True

        def set(self, key: str, value: str) -> None:
            if self.plugged:
                super().set(key, value)

    url = f"sqlite:///{tmp_path / 'bot.db'}"
    database = open_database(url, synchronous="normal")
    store = Unplugged(database, HEALTH_NAMESPACE)
    sup = Supervisor(_sink, [], store=store, first_delay=3600, max_delay=3600, heartbeat=10**6,
                     clock=lambda: time.time() - 7200)
    try:
        await sup.supervise(FakeAdapter("discord"))
        irc = FakeAdapter("irc", failures=1)  # its first start fails; the next try is an hour away
        asyncio.create_task(sup.supervise(irc))
        await wait_until(lambda: _state(sup, "irc").reason, what="irc's failure recorded")
    finally:
        store.plugged = False
        await sup.stop()
        database.dispose()

    config = tmp_path / "bot.toml"

    def health(enabled: list[str], max_down: str) -> subprocess.CompletedProcess[str]:
        tables = "".join(f"[adapters.{name}]\nenabled = true\n" for name in enabled)
        config.write_text(f'[database]\nurl = "{url}"\n[health]\nmax_down = "{max_down}"\n{tables}')
        return subprocess.run([sys.executable, "-m", "chatbot", "--config", str(config), "health"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})

    result = health(["discord", "irc"], "10m")
    assert result.returncode == 1, result
    lines = result.stdout.splitlines()
    assert lines[0].startswith("discord: connected; connected 2h "), lines
    assert lines[1].startswith("irc: starting (ConnectionRefusedError: server not up yet); down for 2h "), lines
    assert lines[1].endswith("never connected")
    assert "unhealthy: irc down for longer than 10m" in result.stderr
    assert health(["discord", "irc"], "3h").returncode == 0  # down, but not for longer than allowed
    assert health(["discord"], "10m").returncode == 0
    result = health(["matrix"], "10m")
    assert result.returncode == 1 and "matrix: no record" in result.stdout


# =========================================================================== IRC: down at start, then up

async def test_irc_down_at_start_connects_once_the_server_is_up_and_answers(irc_server, clients, tmp_path, caplog):
    from adapters.irc import create as irc_create

    caplog.set_level(logging.INFO, "chatbot.supervisor")
    door = Door()
    nick = name("sup")
    adapter = irc_create({"host": "127.0.0.1", "port": door.port, "nick": nick, "burst": 50, "rate": 500.0,
                          "reconnect_min_delay": 0.05, "reconnect_max_delay": 0.3, "connect_timeout": 5},
                         AdapterContext(state_dir=tmp_path, kv=MemoryKV()))

    async def answer(event: Inbound) -> None:
        if isinstance(event, TextReceived):
            await adapter.send(Reply(event.where, f"heard: {event.text}", to=event.who))

    sup = Supervisor(answer, [], store=Records(), first_delay=0.05, max_delay=0.3)
    supervising = asyncio.create_task(sup.supervise(adapter))
    try:
        await wait_until(lambda: "cannot connect" in (_state(sup, "irc").reason or ""), what="the refused connect")
        assert not sup.states()["irc"].up and not supervising.done()
        assert not any("running with irc" in m for m in _messages(caplog))
        await door.open(IRC_PORT)
        await asyncio.wait_for(supervising, 10)
        assert sup.states()["irc"].phase == "connected" and "running with irc" in _messages(caplog)
        person: Client = await clients(name("ann"))
        mark = person.mark()
        person.say(nick, "!help")
        [reply] = await person.privmsgs_from(nick, 1, since=mark)
        assert reply.text == "heard: !help"
    finally:
        await sup.stop()
        await adapter.stop()
        await door.close()


# =========================================================================== Matrix: down at start, then up

async def test_matrix_down_at_start_connects_once_the_homeserver_is_up_and_answers(homeserver, people, bot_password,
                                                                                   tmp_path, caplog):
    from urllib.parse import urlparse

    from adapters.matrix import create as matrix_create

    caplog.set_level(logging.INFO, "chatbot.supervisor")
    alice = await people("alice", "Alice")
    room = await alice.room()
    door = Door()
    adapter = matrix_create({"homeserver": f"http://127.0.0.1:{door.port}", "user_id": BOT, "rooms": [room],
                             "sync_timeout_ms": 2000, "reconnect_min_delay": 0.05, "reconnect_max_delay": 0.3,
                             "start_timeout": 0.5, "stop_grace": 0.2},
                            AdapterContext(state_dir=tmp_path / "state", kv=MemoryKV()))

    async def answer(event: Inbound) -> None:
        if isinstance(event, TextReceived) and event.text == "!help":
            await adapter.send(Reply(event.where, "heard: !help", in_reply_to=event.event_id))

    sup = Supervisor(answer, [], store=Records(), first_delay=0.05, max_delay=0.3)
    supervising = asyncio.create_task(sup.supervise(adapter))
    try:
        await wait_until(lambda: _state(sup, "matrix").phase == "reconnecting", what="the failed first sync")
        assert not supervising.done() and not any("running with" in m for m in _messages(caplog))
        await door.open(urlparse(homeserver).port or 80)
        await asyncio.wait_for(supervising, 20)
        assert sup.states()["matrix"].phase == "connected" and "running with matrix" in _messages(caplog)
        await alice.bot_joined(room)
        await alice.say(room, "!help")
        from nio import RoomMessageNotice

        await alice.wait(lambda r, e: r == room and isinstance(e, RoomMessageNotice) and e.body == "heard: !help",
                         what="the bot's answer")
    finally:
        await sup.stop()
        await adapter.stop()
        await door.close()


async def test_a_state_record_waits_for_the_engines_write_instead_of_failing_with_a_locked_database(tmp_path):
    """The supervisor (and an adapter's kv, a Matrix sync token) wrote at once from the event
    loop: while the engine's own write transaction was open it waited out the busy timeout,
    blocking the loop, and failed with "database is locked" (seen with three bots on one file)."""
    from sqlalchemy import text
    from sqlmodel import Session

    from chatbot.config import embedded_default
    from chatbot.supervisor import HEALTH_NAMESPACE
    from storage.repos import KeyValueRepo
    from tests.harness import Bot

    raw = embedded_default().model_dump()
    raw["database"] = {"busy_timeout_ms": 100}
    bot = await Bot.start(tmp_path, raw)
    try:
        store = bot.app._store(HEALTH_NAMESPACE)
        async with bot.engine.lock:  # the engine's worker in the middle of a group
            with bot.engine.database.begin() as conn:  # BEGIN IMMEDIATE: the database's write lock
                conn.execute(text("DELETE FROM kv WHERE namespace = 'nothing'"))
                store.set("irc", '{"phase": "connected"}')  # must neither wait nor raise
                assert store.get("irc") == '{"phase": "connected"}'
        await store.flush()
        with Session(bot.engine.database) as s:
            assert KeyValueRepo(s).get(HEALTH_NAMESPACE, "irc") == '{"phase": "connected"}'
    finally:
        await bot.stop()
