"""One person cannot stall everybody: the bot on a real InspIRCd with stock flood control.

A host has an open queue; a visitor sends ten ``!help`` by private message; half a second later
the host's ``!next`` in the channel must be answered within 2 s, while every reply of the burst
still arrives, in order, and the bot (at its default pace of 5 lines, then 1 a second) is never
disconnected for flooding. Before the background senders the ``!next`` waited behind all ten
answers (17.5 s measured).

The strict server is a second InspIRCd + Atheme of its own (``IRC_FLOOD=strict``), on ports of
its own, started for this module and stopped after it.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from adapters.irc import IrcAdapter
from chatbot.app import App
from chatbot.clock import FakeClock
from chatbot.config import from_dict
from tests.irc_client import Client, Line
from tests.irc_fixtures import PORT as MAIN_PORT, Account, assert_safe
from tests.servers import SERVERS, wait_until

PORT = int(os.environ.get("MENTORBOT_TEST_IRC_STRICT_PORT", str(MAIN_PORT + 10)))
ENV = {**os.environ, "IRC_PORT": str(PORT), "IRC_FLOOD": "strict"}
PASSWORD_ENV = "MENTORBOT_FLOOD_IRC_PASSWORD"


def strict(*args: str) -> str:
    return subprocess.run([str(SERVERS / "irc-server.sh"), *args], env=ENV, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def accounts() -> Any:
    strict()
    made = {}
    for who in ("bot", "admin", "host", "vic"):
        made[who] = Account(f"{who}fl{secrets.token_hex(2)}", secrets.token_hex(8))
        strict("register", made[who].name, made[who].password)
    yield made
    strict("stop")


@pytest.fixture
async def bot(accounts, tmp_path, monkeypatch) -> Any:
    monkeypatch.setenv(PASSWORD_ENV, accounts["bot"].password)
    channel = f"#fl{secrets.token_hex(3)}"
    settings = from_dict({
        "admins": [f"irc:{accounts['admin'].name}"],
        "database": {"url": f"sqlite:///{tmp_path / 'bot.db'}", "synchronous": "normal"},
        "adapters": {"irc": {  # the default pace: 5 lines at once, then 1 a second
            "enabled": True, "host": "127.0.0.1", "port": PORT, "nick": f"mb{secrets.token_hex(3)}",
            "sasl_account": accounts["bot"].name, "password_env": PASSWORD_ENV, "channels": [channel],
            "connect_timeout": 5,
        }},
    })
    app = App(settings, clock=FakeClock(datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)))
    await app.start(schedule=False)
    adapter = app.engine.adapters["irc"]
    assert isinstance(adapter, IrcAdapter)
    await wait_until(lambda: adapter.joined_channels == [channel], what="the bot joins its channel")
    yield app, adapter, channel
    await app.stop()


def from_bot(adapter: IrcAdapter, target: str, pattern: str = ""):  # noqa: ANN201
    return lambda l: (l.command == "PRIVMSG" and l.nick == adapter.nick and l.params[0].lower() == target.lower()
                      and re.search(pattern, l.text) is not None)


async def test_a_burst_of_private_questions_does_not_hold_up_a_call_in_the_channel(bot, accounts) -> None:
    app, adapter, channel = bot
    admin = await Client.connect(PORT, f"adm{secrets.token_hex(2)}", sasl=(accounts["admin"].name, accounts["admin"].password))
    host = await Client.connect(PORT, f"hst{secrets.token_hex(2)}", sasl=(accounts["host"].name, accounts["host"].password))
    vic = await Client.connect(PORT, f"vic{secrets.token_hex(2)}", sasl=(accounts["vic"].name, accounts["vic"].password))
    flooder = await Client.connect(PORT, f"fld{secrets.token_hex(2)}")
    people = (admin, host, vic, flooder)
    try:
        for person in (host, vic):
            await person.join(channel)
        mark = host.mark()
        host.say(adapter.nick, "!whoami")
        await host.wait_for(from_bot(adapter, host.nick, "roles: member"), since=mark, timeout=20)
        mark = admin.mark()
        admin.say(adapter.nick, f"!role grant irc:{accounts['host'].name} host")
        await admin.wait_for(from_bot(adapter, admin.nick, "is now host"), since=mark, timeout=20)
        mark = vic.mark()
        host.say(channel, "!oh open")
        await vic.wait_for(from_bot(adapter, channel, "Office hours are open"), since=mark, timeout=20)
        vic.say(channel, "!q join rebasing")
        await vic.wait_for(from_bot(adapter, channel, "in line"), since=mark, timeout=20)
        assert await app.engine.senders.settle(30)  # the set-up's lines are out: the burst starts clean

        burst_mark = flooder.mark()
        flooder.send(*[f"PRIVMSG {adapter.nick} :!help" for _ in range(10)])
        # the host asks once the first answer is out and the other nine wait behind the pace
        await flooder.wait_for(from_bot(adapter, flooder.nick, r"^Commands:"), since=burst_mark, timeout=20)
        in_channel = vic.mark()
        asked = time.monotonic()
        host.say(channel, "!next")
        called = await vic.wait_for(from_bot(adapter, channel, r"You're with"), since=in_channel, timeout=30)
        answered_in = time.monotonic() - asked
        assert called.text.startswith(f"{host.nick}: You're with {vic.nick}")
        assert answered_in < 2.0, f"!next answered after {answered_in:.1f} s"

        # every answer of the burst arrives, in order, and the bot stays connected
        def helps() -> list[Line]:
            return [l for l in flooder.lines[burst_mark:] if from_bot(adapter, flooder.nick)(l)]

        await wait_until(lambda: len([l for l in helps() if "tells more" in l.text]) == 10, timeout=90,
                         what="ten answers to ten !help")
        texts = [l.text for l in helps()]
        per_answer = len(texts) // 10
        assert per_answer >= 1 and texts == texts[:per_answer] * 10  # whole answers, one after another
        assert adapter.connected and adapter.registrations == 1  # never disconnected for flooding
        for person in people:
            for line in person.lines:
                if line.command == "PRIVMSG" and line.nick == adapter.nick:
                    assert_safe(line)
    finally:
        for person in people:
            person.writer.close()
            if person.reader_task is not None:
                person.reader_task.cancel()
