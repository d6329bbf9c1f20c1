"""A host's call while somebody floods the bot: on a real InspIRCd with its stock flood control
(``IRC_FLOOD=strict``) and the bot at its default pace (5 lines at once, then 1 a second), the
time from a host's ``!next`` in the channel to the bot's call there, quiet and while a visitor
sends ten ``!help`` by private message before each call.

Before the background senders a call waited behind every queued answer (17.5 s measured); the
figure to watch is the flooded p99 beside the quiet one, measured in the same run.

    python bench/bench_irc_fairness.py [--samples 5]

The server runs on its own ports (``IRC_PORT``, default 16800, and the next two) and is stopped
at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.irc import IrcAdapter  # noqa: E402
from bench.bench_matching import machine  # noqa: E402
from chatbot.app import App  # noqa: E402
from chatbot.clock import FakeClock  # noqa: E402
from chatbot.config import from_dict  # noqa: E402
from tests.irc_client import Client, Line  # noqa: E402

SERVERS = Path(__file__).resolve().parents[2] / "shared" / "servers"
PORT = int(os.environ.get("IRC_PORT", "16800"))
ENV = {**os.environ, "IRC_PORT": str(PORT), "IRC_FLOOD": "strict"}
PASSWORD_ENV = "MENTORBOT_BENCH_IRC_PASSWORD"


def server(*args: str) -> str:
    return subprocess.run([str(SERVERS / "irc-server.sh"), *args], env=ENV, check=True, capture_output=True, text=True).stdout


def said_by(nick: str, target: str, starts: str = ""):  # noqa: ANN201 - a predicate
    return lambda l: (l.command == "PRIVMSG" and l.nick == nick and l.params[0].lower() == target.lower()
                      and l.text.startswith(starts))


def account(who: str) -> tuple[str, str]:
    name, password = f"{who}b{secrets.token_hex(2)}", secrets.token_hex(8)
    server("register", name, password)
    return name, password


async def measure(samples: int, workdir: Path) -> dict[str, list[float]]:
    bot_acct, admin_acct, host_acct, vic_acct = (account(w) for w in ("bot", "adm", "hst", "vic"))
    os.environ[PASSWORD_ENV] = bot_acct[1]
    channel = f"#bench{secrets.token_hex(2)}"
    settings = from_dict({
        "admins": [f"irc:{admin_acct[0]}"],
        "database": {"url": f"sqlite:///{workdir / 'bot.db'}"},
        "adapters": {"irc": {"enabled": True, "host": "127.0.0.1", "port": PORT, "nick": f"mb{secrets.token_hex(2)}",
                             "sasl_account": bot_acct[0], "password_env": PASSWORD_ENV, "channels": [channel]}},
    })
    app = App(settings, clock=FakeClock(datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)))
    await app.start(schedule=False)
    adapter = app.engine.adapters["irc"]
    assert isinstance(adapter, IrcAdapter)
    while adapter.joined_channels != [channel]:
        await asyncio.sleep(0.05)
    nick = adapter.nick or ""
    admin = await Client.connect(PORT, f"adm{secrets.token_hex(2)}", sasl=admin_acct)
    host = await Client.connect(PORT, f"hst{secrets.token_hex(2)}", sasl=host_acct)
    vic = await Client.connect(PORT, f"vic{secrets.token_hex(2)}", sasl=vic_acct)
    flooder = await Client.connect(PORT, f"fld{secrets.token_hex(2)}")
    out: dict[str, list[float]] = {"quiet": [], "flooded": []}
    try:
        for person in (host, vic):
            await person.join(channel)

        async def ask(person: Client, target: str, text: str, starts: str, where: str | None = None) -> Line:
            mark = person.mark()
            person.say(target, text)
            return await person.wait_for(said_by(nick, where or person.nick, starts), since=mark, timeout=60)

        await ask(host, nick, "!whoami", "You are")
        await ask(admin, nick, f"!role grant irc:{host_acct[0]} host", "")
        await ask(host, channel, "!oh open", "Office hours are open", where=channel)
        for kind in ("quiet", "flooded") * samples:
            await ask(vic, channel, "!q join", f"{vic.nick}: You're #1", where=channel)
            assert await app.engine.senders.settle(120)
            if kind == "flooded":
                mark = flooder.mark()
                flooder.send(*[f"PRIVMSG {nick} :!help" for _ in range(10)])
                await flooder.wait_for(said_by(nick, flooder.nick, "Commands:"), since=mark, timeout=60)
            t0 = time.perf_counter()
            await ask(host, channel, "!next", f"{host.nick}: You're with", where=channel)
            out[kind].append(time.perf_counter() - t0)
            await ask(host, channel, "!done", f"{host.nick}: Done with", where=channel)
        assert adapter.connected and adapter.registrations == 1, "the bot was disconnected"
    finally:
        for person in (admin, host, vic, flooder):
            person.writer.close()
        await app.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    server()
    try:
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as d:
            result = asyncio.run(measure(args.samples, Path(d)))
    finally:
        server("stop")
    print(machine())
    for kind, times in result.items():
        times.sort()
        print(f"{kind}: !next to the call in the channel p50 {times[len(times) // 2] * 1e3:.0f} ms, "
              f"p99 {times[min(len(times) - 1, int(len(times) * 0.99))] * 1e3:.0f} ms ({len(times)} calls)")


if __name__ == "__main__":
    main()
