"""What the IRC adapter tests and the IRC end-to-end tests share: the real InspIRCd + Atheme
(``../shared/servers/irc-server.sh``), services accounts, raw-socket people, and the check that
a line the bot sent is safe IRC.

Test modules import the fixtures they use by name (``from tests.irc_fixtures import clients``).
The server is started once per session; starting it again is a no-op of the script, so two
modules importing ``irc_server`` cost nothing extra. ``MENTORBOT_TEST_IRC_PORT`` picks the port
(default 16667; the script also takes the next two).
"""

from __future__ import annotations

import functools
import os
import secrets
import subprocess
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from tests.irc_client import Client, Line
from tests.servers import SERVERS

PORT = int(os.environ.get("MENTORBOT_TEST_IRC_PORT", "16667"))
SERVER_ENV = {**os.environ, "IRC_PORT": str(PORT)}
#: accounts of this test run are suffixed with it: a kept IRC_DIR has older runs' accounts
RUN = secrets.token_hex(2)
#: control bytes that must never reach a client inside a line (CR/LF/NUL, CTCP, formatting)
UNSAFE_BYTES = frozenset({0, 1, 2, 3, 4, 10, 13, 0x0F, 0x16, 0x1D, 0x1E, 0x1F, 0x7F})


def server(*args: str) -> dict[str, str]:
    """Run the server script (start, ``stop``, ``register ACCOUNT PASSWORD``); its KEY=VALUE output."""
    out = subprocess.run([str(SERVERS / "irc-server.sh"), *args], env=SERVER_ENV, check=True,
                         capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.split())


@pytest.fixture(scope="session")
def irc_server() -> Any:
    yield server()
    server("stop")


@dataclass(frozen=True)
class Account:
    """A services account; SASL PLAIN and ``NickServ IDENTIFY`` accept ``password``."""

    name: str
    password: str


@functools.cache
def register(stem: str) -> Account:
    """The services account named after ``stem`` for this run (made on first use; modules
    asking for the same stem share it, since re-registering with a new password would fail)."""
    account = Account(f"{stem}acct{RUN}", secrets.token_hex(8))
    server("register", account.name, account.password)
    return account


def name(stem: str) -> str:
    """A nick or channel name no other test uses."""
    return f"{stem}{secrets.token_hex(3)}"


@pytest.fixture
def channel() -> str:
    return "#" + name("mb")


@pytest.fixture
async def clients(irc_server) -> Any:
    """Connect people (``await clients(nick, account=...)``); their sockets are closed at the end."""
    made: list[Client] = []

    async def connect(nick: str, *, account: Account | None = None, **kw: Any) -> Client:
        client = await Client.connect(PORT, nick, sasl=(account.name, account.password) if account else None, **kw)
        made.append(client)
        return client

    yield connect
    for client in made:  # no QUIT handshake: a test may have stopped the server under them
        client.writer.close()
        if client.reader_task is not None:
            client.reader_task.cancel()


def privmsg_to(target: str) -> Callable[[Line], bool]:
    return lambda line: line.command == "PRIVMSG" and line.params[0].lower() == target.lower()


def untagged(line: Line) -> bytes:
    """The line as the 512-byte limit counts it (IRCv3 message tags have their own budget)."""
    return line.raw.split(b" ", 1)[1] if line.raw.startswith(b"@") else line.raw


def assert_safe(line: Line) -> None:
    """One line the bot sent, as a client received it: whole, within 512 bytes, no controls."""
    wire = untagged(line)
    assert len(wire) <= 512, (len(wire), wire[:80])
    assert wire.endswith(b"\r\n") and wire.count(b"\r") == 1 and wire.count(b"\n") == 1, wire
    assert not set(wire[:-2]) & UNSAFE_BYTES, wire
    assert line.text.strip(), "no empty messages"


#: ircd-hybrid (``IRC_SERVER=hybrid``): a network without services accounts
HYBRID_PORT = int(os.environ.get("MENTORBOT_TEST_IRC_HYBRID_PORT", "16690"))
HYBRID_ENV = {**os.environ, "IRC_PORT": str(HYBRID_PORT), "IRC_SERVER": "hybrid"}


@pytest.fixture(scope="session")
def hybrid_server() -> Any:
    run = lambda *args: subprocess.run([str(SERVERS / "irc-server.sh"), *args], env=HYBRID_ENV, check=True,
                                       capture_output=True, text=True)
    run()
    yield HYBRID_PORT
    run("stop")
