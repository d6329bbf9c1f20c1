"""The console adapter: a terminal chat with the bot, a transcript player, and the in-memory
recorder the tests use. It is the embedded default, so it needs no account anywhere.

Output format (stable; tests and demos read it): one line per bot message,
``[dm NAME] text`` or ``[#channel] text``, further lines of a message indented by two spaces.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Sequence, TextIO
from zoneinfo import ZoneInfo

from adapters.base import AdapterContext, Capabilities, Sink
from chatbot.clock import FakeClock, parse_span
from chatbot.commands import CommandSpec
from chatbot.events import SENT, Announce, Delivery, DirectMessage, Identity, Outbound, Reply, TextReceived, Where

PLATFORM = "console"


@dataclass(frozen=True)
class Said:
    """One bot message as the console shows it."""

    target: str  # "dm NAME" or "#channel"
    text: str

    def render(self) -> str:
        first, *rest = self.text.split("\n") or [""]
        return "\n".join([f"[{self.target}] {first}", *(f"  {line}" for line in rest)])


class MemoryAdapter:
    """Records every outbound message; the base of the console and of the test harness.

    ``platform`` may name another platform to *simulate* it (``alice@irc`` in a script), so a
    demo or a test can show one person on two platforms without any server."""

    capabilities = Capabilities(
        direct_messages=True, ephemeral_replies=False, channel_lines=12,
    )

    def __init__(self, platform: str = PLATFORM, prefix: str = "!") -> None:
        self.platform = platform
        #: what starts a command (the bot's ``[bot] prefix``)
        self.prefix = prefix
        self.sink: Sink | None = None
        self.specs: Sequence[CommandSpec] = ()
        self.said: list[Said] = []
        #: people who cannot be reached, to test undeliverable paths
        self.unreachable: set[str] = set()

    async def start(self, sink: Sink, specs: Sequence[CommandSpec]) -> None:
        self.sink, self.specs = sink, specs

    async def stop(self) -> None:
        self.sink = None

    async def send(self, event: Outbound) -> Delivery:
        if isinstance(event, DirectMessage):
            name = self.name_of(event.to)
            if name in self.unreachable:
                return Delivery("undeliverable", "test: unreachable")
            self._record(Said(f"dm {name}", event.text))
        elif isinstance(event, Reply):
            target = event.where.channel or f"dm {self.name_of(event.to) if event.to else '?'}"
            # In a channel, a reply is addressed to the asker, as people do on IRC.
            addressee = event.mention or (event.to if event.where.channel else None)
            text = f"{addressee.display}: {event.text}" if addressee else event.text
            self._record(Said(target, text))
        elif isinstance(event, Announce):
            text = f"{event.mention.display}: {event.text}" if event.mention else event.text
            self._record(Said(event.where.channel or "?", text))
        return SENT

    def _record(self, said: Said) -> None:
        self.said.append(said)

    def channel_label(self, channel: str) -> str:
        return channel  # a console channel is named as it is typed

    def name_of(self, who: Identity) -> str:
        name = who.account or who.display
        return name if self.platform == PLATFORM else f"{name}@{self.platform}"

    async def say(self, name: str, text: str, channel: str | None = None, event_id: str | None = None) -> None:
        """A person types ``text`` (in a DM, or in ``channel``)."""
        assert self.sink is not None, "adapter not started"
        who = Identity(self.platform, name, name)
        await self.sink(TextReceived(who=who, where=Where(self.platform, channel), text=text, event_id=event_id,
                                     prefix=self.prefix))


class ConsoleAdapter(MemoryAdapter):
    """Prints what the bot says as it says it."""

    def __init__(self, out: TextIO | None = None, platform: str = PLATFORM, prefix: str = "!") -> None:
        super().__init__(platform, prefix)
        self.out = out or sys.stdout
        #: the reader went away (``mentorbot console | head``): the bot goes on, silently
        self.closed = False

    def _record(self, said: Said) -> None:
        super()._record(said)
        self.show(said.render())

    def show(self, text: str) -> None:
        """Print a line for the person at the terminal, if anyone still reads."""
        if self.closed:
            return
        try:
            print(text, file=self.out, flush=True)
        except BrokenPipeError:
            self.closed = True
            if self.out is sys.stdout:  # as Python's docs advise: no second error at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def create(settings: dict[str, Any], context: AdapterContext) -> ConsoleAdapter:
    if settings:
        unknown = ", ".join(sorted(settings))
        raise ValueError(f"the console adapter has no settings (got: {unknown})")
    return ConsoleAdapter()


# ---------------------------------------------------------------------------- scripts

LINE_RE = re.compile(r"^(?P<name>[A-Za-z][\w.\-]{0,31})(?:@(?P<platform>[a-z][a-z0-9_]{0,15}))?(?:\s+(?P<channel>#[\w.\-]{1,40}))?:\s?(?P<text>.*)$")


class ScriptError(ValueError):
    pass


#: how often ``@advance`` ticks on its way: well inside every grace period, and on the quarter
#: hours schedules use; a running bot ticks more often, but nothing is due at a finer grain
STEP = timedelta(minutes=15)


class ScriptPlayer:
    """Plays transcript lines against a running engine with a fake clock.

    ``NAME: text`` (a DM), ``NAME #channel: text``, ``NAME@irc: text`` (the same on a simulated
    platform), ``@time 2027-01-04 09:00 Europe/Berlin`` (sets the clock and runs what is due),
    ``@advance 3d4h`` (lives through the span, ticking on the way), ``# comment`` and blank lines.
    """

    def __init__(
        self,
        adapter: MemoryAdapter,
        clock: FakeClock,
        tick: Callable[[], Awaitable[None]],
        simulate: Callable[[str], Awaitable[MemoryAdapter]] | None = None,
        settle: Callable[[], Awaitable[object]] | None = None,
    ):
        self.adapter, self.clock, self.tick, self.simulate = adapter, clock, tick, simulate
        #: waits until what the bot sent because of a line has gone out (the senders run in the
        #: background), so a transcript shows each line's answers before the next line
        self.settle = settle
        self.adapters: dict[str, MemoryAdapter] = {adapter.platform: adapter}

    async def play(self, lines: Iterable[str]) -> None:
        for number, raw in enumerate(lines, 1):
            try:
                await self.line(raw)
            except ScriptError as exc:
                raise ScriptError(f"line {number}: {exc}") from None
            if self.settle is not None:
                await self.settle()

    async def advance(self, span: timedelta) -> None:
        """Move the clock as a running bot lives through the time: a tick every ``STEP`` on the
        way, so what fell due meanwhile happens when it was due (a prompt is not "skipped, the
        bot was down" because a script jumped two days). Only ``@time`` jumps like an outage."""
        target = self.clock.now() + span
        while self.clock.now() < target:
            self.clock.advance(min(STEP, target - self.clock.now()))
            await self.tick()

    async def line(self, raw: str) -> None:
        line = raw.rstrip("\n")
        stripped = line.strip()
        if not stripped or stripped.startswith("# ") or stripped == "#":
            return
        if stripped.startswith("@time "):
            self.clock.set(parse_when(stripped[6:]))
            await self.tick()
            return
        if stripped.startswith("@advance "):
            try:
                span = parse_span(stripped[9:])
            except ValueError as exc:
                raise ScriptError(str(exc)) from None
            await self.advance(span)
            return
        m = LINE_RE.match(stripped)
        if not m:
            raise ScriptError(f"not a script line: {stripped[:60]!r} (expected 'NAME: text' or 'NAME #channel: text')")
        platform = m["platform"] or self.adapter.platform
        if platform not in self.adapters:
            if self.simulate is None:
                raise ScriptError(f"cannot simulate platform {platform}")
            self.adapters[platform] = await self.simulate(platform)
        await self.adapters[platform].say(m["name"], m["text"], m["channel"])


def parse_when(text: str) -> datetime:
    """``2027-01-04 09:00 Europe/Berlin`` (the zone defaults to UTC)."""
    parts = text.split()
    if len(parts) not in (2, 3):
        raise ScriptError(f"@time wants 'YYYY-MM-DD HH:MM [Zone/Name]', not {text!r}")
    try:
        naive = datetime.fromisoformat(f"{parts[0]}T{parts[1]}")
        zone = ZoneInfo(parts[2]) if len(parts) == 3 else ZoneInfo("UTC")
    except Exception as exc:
        raise ScriptError(f"@time: {exc}") from None
    return naive.replace(tzinfo=zone)


def read_script(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


async def repl(
    adapter: ConsoleAdapter,
    user: str = "you",
    on_command: Callable[[str], Awaitable[str | None]] | None = None,
    settle: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """The interactive console. ``/as NAME``, ``/join #channel``, ``/dm``, ``/quit``. With
    ``settle``, the answers to a line are printed before the next prompt."""
    loop = asyncio.get_running_loop()
    channel: str | None = None
    # typed at a terminal, the prompt is input()'s; piped in, each line is shown after its prompt,
    # so the transcript reads as a conversation ("you@dm> !help", then the answer)
    typed = sys.stdin.isatty()
    adapter.show(f"Talking to the bot as {user} in a direct message. /as NAME switches user, /join #channel "
                 "speaks in a channel, /dm goes back to private, /quit leaves. Try !help.")
    while True:
        prompt = f"{user}@{channel or 'dm'}> "
        try:
            line = await loop.run_in_executor(None, lambda: input(prompt if typed else ""))
        except (EOFError, KeyboardInterrupt):
            return
        if not typed and line.strip():
            adapter.show(prompt + line.strip())
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return
        if line.startswith("/as "):
            user = line[4:].strip() or user
            continue
        if line.startswith("/join "):
            name = line[6:].strip()
            channel = name if name.startswith("#") else f"#{name}"
            continue
        if line in ("/dm", "/part"):
            channel = None
            continue
        if line.startswith("/") and on_command is not None:
            answer = await on_command(line)
            if answer:
                adapter.show(answer)
            continue
        await adapter.say(user, line, channel)
        if settle is not None:
            await settle()
