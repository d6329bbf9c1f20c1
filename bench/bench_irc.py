"""The bot on a real IRC server: replies per second and latency to 50 people who each send a
command as soon as the previous answer arrived; beside it, the ceiling of the same setup, a bare
echo bot on the same ``irc`` library (irc.client_aio) answering the same 50 people.

Why both: the echo bot costs nothing per line but the library's parsing and the server's relay,
so the gap between the two is what the bot's own work (engine, SQLite commit, outbox) costs.
The server is started on its own port (``IRC_PORT``, default 16790, and the next two) and
stopped at the end; the bot's flood control is relaxed so it measures the bot, not the pacing.

    python bench/bench_irc.py [--seconds 10] [--people 50] [--command "!help"]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import irc.client_aio  # noqa: E402

from chatbot.app import App  # noqa: E402
from chatbot.clock import FakeClock  # noqa: E402
from chatbot.config import from_dict  # noqa: E402
from tests.irc_client import Client, Line  # noqa: E402

SERVERS = Path(__file__).resolve().parents[2] / "shared" / "servers"
PORT = int(os.environ.get("IRC_PORT", "16790"))
ENV = {**os.environ, "IRC_PORT": str(PORT)}


def server(*args: str) -> str:
    return subprocess.run([str(SERVERS / "irc-server.sh"), *args], env=ENV, check=True, capture_output=True, text=True).stdout


def from_nick(nick: str):  # noqa: ANN201 - a predicate
    return lambda line: line.command in ("PRIVMSG", "NOTICE") and line.nick.lower() == nick.lower()


async def lines_per_answer(person: Client, target: str, command: str) -> int:
    """How many lines one answer has (so a long answer is not counted as several)."""
    mark = person.mark()
    person.say(target, command)
    await person.wait_for(from_nick(target), since=mark)
    try:  # the rest of a multi-line answer follows at once; half a second of quiet ends it
        while True:
            seen = sum(1 for l in person.lines[mark:] if from_nick(target)(l))
            await person.wait_for(lambda l, n=seen: sum(1 for x in person.lines[mark:] if from_nick(target)(x)) > n,
                                  since=mark, timeout=0.5)
    except AssertionError:
        return sum(1 for l in person.lines[mark:] if from_nick(target)(l))


async def load(people: list[Client], target: str, command: str, seconds: float) -> dict[str, float]:
    """Each person keeps one command outstanding for ``seconds``; every answer's latency."""
    per_answer = await lines_per_answer(people[0], target, command)
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def one(person: Client) -> None:
        is_answer = from_nick(target)
        while time.perf_counter() < stop_at:
            mark = person.mark()
            t0 = time.perf_counter()
            person.say(target, command)
            for _ in range(per_answer):
                line = await person.wait_for(is_answer, since=mark)
                mark = person.lines.index(line, mark) + 1
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(one(p) for p in people))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {"rate": len(latencies) / elapsed, "lines": per_answer, "n": len(latencies),
            "p50": latencies[len(latencies) // 2] * 1e3, "p99": latencies[int(len(latencies) * 0.99)] * 1e3}


async def echo_bot(nick: str) -> Any:
    """The limit: a client on irc.client_aio that answers every private line with itself."""
    reactor = irc.client_aio.AioReactor(loop=asyncio.get_running_loop())
    conn = await reactor.server().connect("127.0.0.1", PORT, nick)
    conn.handlers["privmsg"] = [lambda c, e: c.privmsg(e.source.nick, e.arguments[0])]
    deadline = time.monotonic() + 10
    while not conn.real_server_name:  # set on 001, which may come before the handlers could be
        if time.monotonic() > deadline:
            raise TimeoutError("the echo bot was not registered in 10 s")
        await asyncio.sleep(0.01)
    return conn


async def run(seconds: float, n_people: int, command: str, workdir: Path) -> None:
    people = [await Client.connect(PORT, f"bp{i}x{os.getpid() % 1000}") for i in range(n_people)]
    bot_nick = f"mbbench{os.getpid() % 1000}"
    settings = from_dict({
        "database": {"url": f"sqlite:///{workdir / 'bot.db'}"},
        "state_dir": str(workdir / "state"),
        "adapters": {"irc": {"enabled": True, "host": "127.0.0.1", "port": PORT, "nick": bot_nick,
                             "burst": 1000, "rate": 10000.0, "connect_timeout": 5}},
    })
    app = App(settings, clock=FakeClock())
    await app.start(schedule=False)
    for person in people:  # first contact creates each member; not part of the measure
        mark = person.mark()
        person.say(bot_nick, command)
        await person.wait_for(from_nick(bot_nick), since=mark)
    bot = await load(people, bot_nick, command, seconds)
    await app.stop()
    echo_nick = f"echo{os.getpid() % 1000}"
    conn = await echo_bot(echo_nick)
    echo = await load(people, echo_nick, command, seconds)
    conn.disconnect()
    for person in people:
        person.writer.close()
        if person.reader_task is not None:
            person.reader_task.cancel()
    load_avg = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"IRC InspIRCd on 127.0.0.1:{PORT} (relaxed flood), {n_people} people, one command outstanding each, "
          f"{seconds:.0f} s per side; load average now {load_avg}")
    for label, r in (("bot (App, irc adapter, SQLite)", bot), ("bare echo on irc.client_aio", echo)):
        print(f"  {label}: {r['rate']:,.0f} answers/s ({r['n']:,} answers of {r['lines']} line(s) to {command!r}), "
              f"p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms")
    print(f"  ratio bot/echo: {bot['rate'] / echo['rate']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--command", default="!help")
    args = parser.parse_args()
    server()
    try:
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as d:
            asyncio.run(run(args.seconds, args.people, args.command, Path(d)))
    finally:
        server("stop")


if __name__ == "__main__":
    main()
