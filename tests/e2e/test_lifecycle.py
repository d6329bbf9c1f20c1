"""One process, every platform: adapters that fail to connect are retried and never stop the
others; SIGTERM shuts down cleanly; the interactive console works through a pipe."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from adapters.console import MemoryAdapter
from chatbot.app import App, adapter_factory
from chatbot.config import from_dict

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


class FlakyAdapter(MemoryAdapter):
    """Refuses to connect a few times, like a server that is still booting."""

    def __init__(self, platform: str, failures: int):
        super().__init__(platform)
        self.failures, self.attempts = failures, 0
        self.connected = asyncio.Event()

    async def start(self, sink, specs):  # noqa: ANN001
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionRefusedError("server not up yet")
        await super().start(sink, specs)
        self.connected.set()


async def test_a_failing_adapter_is_retried_and_does_not_stop_the_others(tmp_path):
    settings = from_dict({"admins": ["console:you"], "database": {"url": f"sqlite:///{tmp_path / 'a.db'}"}})
    flaky, console = FlakyAdapter("irc", failures=3), MemoryAdapter()
    app = App(settings, adapters=[flaky, console], retry_first_delay=0.01, retry_max_delay=0.05)
    try:
        await app.start(schedule=False, wait=0.001)
        await console.say("you", "!help")  # the console works while irc is still failing
        assert await app.engine.flush_outbox()
        assert console.said and console.said[-1].text.startswith("Commands:")
        await asyncio.wait_for(flaky.connected.wait(), timeout=10)
        assert flaky.attempts == 4
        await flaky.say("alice", "!whoami")
        assert await app.engine.flush_outbox()
        assert "irc:alice" in flaky.said[-1].text
    finally:
        await app.stop()


def test_unknown_adapter_is_named():
    try:
        adapter_factory("zulip")
    except LookupError as exc:
        assert "no adapter called 'zulip'" in str(exc) and "console" in str(exc)
    else:
        raise AssertionError("expected LookupError")


def test_builtin_adapters_are_registered_as_entry_points():
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="mentorbot.adapters")}
    assert {"console", "irc", "matrix", "discord"} <= names


def test_sigterm_shuts_down_cleanly(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "b.db"}"\n[adapters.console]\nenabled = false\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatbot", "--config", str(config), "run"],
        cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 30
    assert proc.stderr is not None
    line = ""
    while time.monotonic() < deadline and "running with" not in line:
        line = proc.stderr.readline()
        assert line or proc.poll() is None, "the bot exited before it was running"
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "shutting down" in err and "Traceback" not in err


def test_the_interactive_console_through_a_pipe(tmp_path):
    lines = "\n".join(["!whoami", "/as alice", "!whoami", "/join #general", "!round status", "/dm", "/quit"])
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "console", "--db", str(tmp_path / "c.db")],
        input=lines, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[dm you] You are you" in out and "admin" in out
    assert "[dm alice] You are alice" in out
    assert "[#general] alice: There has been no round yet." in out
