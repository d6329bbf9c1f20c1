"""A small raw-socket IRC client for driving the adapter in tests.

It is deliberately not irc.client_aio (which the adapter uses), so the tests see the bytes
that really arrive, and a bug shared by both sides cannot hide itself.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from typing import Callable, TypeVar

T = TypeVar("T")

CAPS = ("account-tag", "extended-join", "account-notify", "message-tags", "server-time", "multi-prefix")


@dataclass(frozen=True)
class Line:
    """One line from the server, parsed; ``raw`` is exactly what came over the socket."""

    raw: bytes
    tags: dict[str, str]
    source: str
    command: str
    params: tuple[str, ...]

    @property
    def nick(self) -> str:
        return self.source.split("!", 1)[0]

    @property
    def text(self) -> str:
        return self.params[-1] if self.params else ""


def parse(raw: bytes) -> Line:
    line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
    tags: dict[str, str] = {}
    if line.startswith("@"):
        tag_part, _, line = line.partition(" ")
        for item in tag_part[1:].split(";"):
            key, _, value = item.partition("=")
            tags[key] = value
    source = ""
    if line.startswith(":"):
        source, _, line = line[1:].partition(" ")
    head, sep, trailing = line.partition(" :")
    words = head.split()
    params = tuple(words[1:]) + ((trailing,) if sep else ())
    return Line(raw, tags, source, words[0].upper() if words else "", params)


async def wait_in(items: list[T], changed: asyncio.Condition, pred: Callable[[T], bool], *, since: int = 0,
                  timeout: float = 10, describe: Callable[[], str] = lambda: "") -> T:
    """The first of ``items[since:]`` matching ``pred``, waiting on ``changed`` as items are appended."""

    async def find() -> T:
        async with changed:
            while True:
                for item in items[since:]:
                    if pred(item):
                        return item
                await changed.wait()

    try:
        return await asyncio.wait_for(find(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"nothing matched in {timeout} s; {describe()}") from None


@dataclass
class Client:
    """A connected, registered client. ``lines`` holds everything received, in order."""

    nick: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    lines: list[Line] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    reader_task: asyncio.Task | None = None

    @classmethod
    async def connect(cls, port: int, nick: str, *, sasl: tuple[str, str] | None = None,
                      caps: tuple[str, ...] = CAPS, host: str = "127.0.0.1") -> "Client":
        reader, writer = await asyncio.open_connection(host, port)
        client = cls(nick, reader, writer)
        client.reader_task = asyncio.create_task(client._read())
        wanted = list(caps) + (["sasl"] if sasl else [])
        client.send("CAP LS 302", f"NICK {nick}", f"USER {nick} 0 * :{nick}")
        if wanted:
            client.send("CAP REQ :" + " ".join(wanted))
            await client.wait_for(lambda l: l.command == "CAP" and l.params[1] in ("ACK", "NAK"))
        if sasl:
            client.send("AUTHENTICATE PLAIN")
            await client.wait_for(lambda l: l.command == "AUTHENTICATE")
            blob = base64.b64encode(f"{sasl[0]}\0{sasl[0]}\0{sasl[1]}".encode()).decode()
            client.send(f"AUTHENTICATE {blob}")
            done = await client.wait_for(lambda l: l.command in ("903", "904"))
            assert done.command == "903", f"SASL failed for {nick}: {done.raw!r}"
        client.send("CAP END")
        welcome = await client.wait_for(lambda l: l.command in ("001", "433"))
        assert welcome.command == "001", f"{nick} was not registered: {welcome.raw!r}"
        return client

    async def _read(self) -> None:
        while True:
            raw = await self.reader.readline()
            if not raw:
                break
            line = parse(raw)
            if line.command == "PING":
                self.send("PONG :" + line.text)
            async with self.changed:
                self.lines.append(line)
                self.changed.notify_all()

    def send(self, *lines: str) -> None:
        for line in lines:
            self.writer.write(line.encode("utf-8") + b"\r\n")

    def mark(self) -> int:
        """An index to pass as ``since`` so a wait ignores what already arrived."""
        return len(self.lines)

    async def wait_for(self, pred: Callable[[Line], bool], *, since: int = 0, timeout: float = 10) -> Line:
        tail = lambda: b"\n".join(l.raw.rstrip() for l in self.lines[-8:]).decode("utf-8", "replace")
        return await wait_in(self.lines, self.changed, pred, since=since, timeout=timeout,
                             describe=lambda: f"{self.nick}'s last lines:\n{tail()}")

    async def join(self, channel: str) -> None:
        mark = self.mark()
        self.send(f"JOIN {channel}")
        await self.wait_for(lambda l: l.command == "366" and l.params[1].lower() == channel.lower(), since=mark)

    def say(self, target: str, text: str) -> None:
        self.send(f"PRIVMSG {target} :{text}")

    async def privmsgs_from(self, nick: str, count: int, *, target: str | None = None, since: int = 0,
                            timeout: float = 10) -> list[Line]:
        """Wait until ``count`` PRIVMSGs from ``nick`` (to ``target``, if given) have arrived."""

        def matches(line: Line) -> bool:
            return (line.command == "PRIVMSG" and line.nick.lower() == nick.lower()
                    and (target is None or line.params[0].lower() == target.lower()))

        await self.wait_for(lambda l: sum(map(matches, self.lines[since:])) >= count, since=since, timeout=timeout)
        return [line for line in self.lines[since:] if matches(line)][:count]

    async def identify(self, account: str, password: str) -> None:
        mark = self.mark()
        self.say("NickServ", f"IDENTIFY {account} {password}")
        await self.wait_for(lambda l: l.command == "900", since=mark)

    async def change_nick(self, new: str) -> None:
        mark = self.mark()
        self.send(f"NICK {new}")
        await self.wait_for(lambda l: l.command == "NICK" and l.nick == self.nick, since=mark)
        self.nick = new

    async def quit(self, message: str = "bye") -> None:
        if self.writer.is_closing():
            return
        self.send(f"QUIT :{message}")
        try:
            await asyncio.wait_for(self.reader_task, 5) if self.reader_task else None
        except (asyncio.TimeoutError, ConnectionError):
            pass
        self.writer.close()
