"""The bot on a real Matrix homeserver (Synapse): answers per second and latency to 20 people who
each send a command as soon as the previous answer arrived; beside it, in the same run, the
ceiling of the same setup: a bare matrix-nio echo client answering the same 20 people.

Why both: the echo client costs nothing per message but matrix-nio and Synapse (a /sync to see
the message, a room_send to answer it), so the gap between the two is what the bot's own work
(engine, SQLite commits, the adapter's bookkeeping) costs on Matrix.

Each person talks to the responder in a direct room of their own, as people talk to the bot:
DMs are what the bot is built for, and setting up 20 of them (rooms made, the bot joined) takes
about 5 s, which is affordable. A shared room would make every person's /sync carry everybody's
traffic, so it would measure Synapse's fan-out instead of the bot. For the echo, the same people open fresh direct rooms with the echo account.
One answer is the responder's first event in the room that relates (``m.in_reply_to``) to the
command. A multi-line answer is one event; any extra events are counted and printed. The echo
answers with an ``m.notice`` holding the same body, replying to the message the same way the
bot does, and stores nothing.

Synapse is started on its own port (``MATRIX_PORT``, default 18190; data in ``MATRIX_DIR``,
default /tmp/matrix-server-18190) with the script's relaxed rate limits, and stopped at the end.
The people and the echo account are registered once per data directory; the bot is a new
account each run. To say what limits each side, the script times where the bot's serial sync
loop spends its wall time (methods timed on the instances; no code changed). It also reads the
CPU time of Synapse and of this process from /proc.

    python bench/bench_matrix.py [--seconds 10] [--people 20] [--command "!help"]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PORT = os.environ.get("MATRIX_PORT", "18190")
DIR = Path(os.environ.get("MATRIX_DIR", f"/tmp/matrix-server-{PORT}"))
# tests.matrix_fixtures reads its server's port when it is imported: make it this bench's own
os.environ["MENTORBOT_TEST_MATRIX_PORT"] = PORT

from nio import AsyncClient, MatrixRoom, RoomMessageText  # noqa: E402

from bench.bench_matching import machine  # noqa: E402
from chatbot.app import App  # noqa: E402
from chatbot.clock import FakeClock  # noqa: E402
from chatbot.config import from_dict  # noqa: E402
from tests.matrix_fixtures import (  # noqa: E402
    BASELINE,
    BOT,
    BOT_NAME,
    EVERYTHING,
    PASSWORD,
    SCRIPT,
    SERVER_ENV,
    Person,
    _can_log_in,
    server,
    uid,
)
from tests.e2e.test_e2e_matrix import relation, settings  # noqa: E402

URL = f"http://127.0.0.1:{PORT}"
ECHO_NAME = "mbbenchecho"
TICK = os.sysconf("SC_CLK_TCK")


def person_name(i: int) -> str:
    return f"mbbench{i}"


class BenchPerson(Person):
    """A test Person whose /sync long-polls 10 s, as a real client's does (30 s), instead of
    0.5 s: 20 people re-polling twice a second cost Synapse 18 % of a core with no traffic at
    all, the same on both sides, which would blur the comparison. Any new event ends the poll."""

    async def sync(self, timeout: int = 10_000, sync_filter: dict[str, Any] | None = None) -> None:
        await super().sync(timeout, sync_filter)


def cpu_seconds(pid: int | str) -> float:
    """User + system CPU time of a process (all its threads) so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, every process and core."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / TICK, sum(ticks) / TICK


def cpu_now(synapse: int) -> tuple[float, float, float, float]:
    return (cpu_seconds(synapse), cpu_seconds("self"), *machine_busy())


class Stopwatch:
    """Wall time spent inside chosen methods, wrapped on the instance (the code is unchanged)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    def watch(self, obj: Any, name: str, label: str) -> None:
        inner = getattr(obj, name)
        spent = self.spent
        if asyncio.iscoroutinefunction(inner):
            async def timed(*args: Any, **kwargs: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return await inner(*args, **kwargs)
                finally:
                    spent[label] += time.perf_counter() - t0
        else:
            def timed(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
                t0 = time.perf_counter()
                try:
                    return inner(*args, **kwargs)
                finally:
                    spent[label] += time.perf_counter() - t0
        setattr(obj, name, timed)


def register_missing(names: list[str]) -> None:
    """Register the accounts that cannot log in yet (the script takes ~2 s each, so in parallel)."""
    ok = asyncio.run(_all_log_in(names))
    procs = [subprocess.Popen([str(SCRIPT), "register", n, PASSWORD], env=SERVER_ENV, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for n, good in zip(names, ok) if not good]
    for p in procs:
        if p.wait(timeout=120) != 0:
            raise RuntimeError(f"registering failed: {p.stderr.read() if p.stderr else ''}")


async def _all_log_in(names: list[str]) -> list[bool]:
    return list(await asyncio.gather(*(_can_log_in(URL, uid(n)) for n in names)))


def answer_from(responder: str, room: str, event_id: str) -> Callable[[str, Any], bool]:
    """Person.wait predicate: the responder's event in ``room`` replying to ``event_id``."""
    return lambda r, e: r == room and getattr(e, "sender", None) == responder and relation(e) == event_id


async def round_trip(person: Person, room: str, responder: str, command: str) -> float:
    since = len(person.timeline)
    t0 = time.perf_counter()
    event_id = await person.say(room, command)
    await person.wait(answer_from(responder, room, event_id), since=since, what=f"{responder}'s answer")
    return time.perf_counter() - t0


async def load(pairs: list[tuple[Person, str]], responder: str, command: str, seconds: float,
               watch: Stopwatch, synapse: int) -> dict[str, Any]:
    """Each person keeps one command outstanding for ``seconds``; every answer's latency, and
    where the time went (the stopwatch's totals, CPU of Synapse and of this process)."""
    marks = [len(p.timeline) for p, _ in pairs]
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def one(person: Person, room: str) -> None:
        while time.perf_counter() < stop_at:
            latencies.append(await round_trip(person, room, responder, command))

    watch.spent.clear()
    cpu0 = cpu_now(synapse)
    start = time.perf_counter()
    await asyncio.gather(*(one(p, r) for p, r in pairs))
    elapsed = time.perf_counter() - start
    cpu1 = cpu_now(synapse)
    events = sum(1 for (p, room), mark in zip(pairs, marks) for r, e in p.timeline[mark:]
                 if r == room and getattr(e, "sender", None) == responder)
    latencies.sort()
    n = len(latencies)
    return {"rate": n / elapsed, "n": n, "events": events / n, "elapsed": elapsed,
            "p50": latencies[n // 2] * 1e3, "p99": latencies[int(n * 0.99)] * 1e3,
            "synapse_cpu": (cpu1[0] - cpu0[0]) / elapsed, "own_cpu": (cpu1[1] - cpu0[1]) / elapsed,
            "machine_busy": (cpu1[2] - cpu0[2]) / (cpu1[3] - cpu0[3]),
            "spent": dict(watch.spent)}


async def measure_bot(people: list[Person], command: str, seconds: float, workdir: Path,
                      synapse: int) -> dict[str, Any]:
    raw = settings(URL, workdir, [])
    del raw["database"]["synchronous"]  # the shipped default (full), as the other benches run
    app = App(from_dict(raw), clock=FakeClock())
    watch = Stopwatch()
    engine, adapter = app.engine, app.adapters[0]  # type: ignore[index]
    watch.watch(engine, "_handle", "engine (ORM, commit)")
    watch.watch(engine, "_mark", "engine (ORM, commit)")
    watch.watch(adapter, "send", "room_send")
    watch.watch(adapter, "_sync", "/sync")
    watch.watch(adapter, "_save_token", "sync-token commit")
    watch.watch(adapter, "_translate", "translate")
    await app.start(schedule=False, wait=60)
    try:
        rooms = await asyncio.gather(*(p.room(invite_bot=True, direct=True) for p in people))
        await asyncio.gather(*(p.bot_joined(r) for p, r in zip(people, rooms)))
        pairs = list(zip(people, rooms))
        # first contact creates each member; not part of the measure
        await asyncio.gather(*(round_trip(p, r, BOT, command) for p, r in pairs))
        return await load(pairs, BOT, command, seconds, watch, synapse)
    finally:
        await app.stop()


async def measure_echo(people: list[Person], command: str, seconds: float, synapse: int) -> dict[str, Any]:
    """The limit: a matrix-nio client that answers every text message of someone else with a
    notice of the same body (as a reply), from its sync loop like any nio bot."""
    echo = AsyncClient(URL, uid(ECHO_NAME))
    await echo.login(PASSWORD)
    await echo.sync(0, sync_filter=BASELINE)  # from now on; earlier runs' rooms stay quiet
    watch = Stopwatch()

    async def answer(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender != echo.user_id:
            await echo.room_send(room.room_id, "m.room.message", {
                "msgtype": "m.notice", "body": event.body,
                "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}}})

    echo.add_event_callback(answer, RoomMessageText)  # type: ignore[arg-type]
    watch.watch(echo, "room_send", "room_send")
    watch.watch(echo, "sync", "/sync")
    rooms = await asyncio.gather(*(p.room(direct=True) for p in people))
    await asyncio.gather(*(p.c.room_invite(r, echo.user_id) for p, r in zip(people, rooms)))
    await asyncio.gather(*(echo.join(r) for r in rooms))
    loop = asyncio.create_task(echo.sync_forever(timeout=2000, sync_filter=EVERYTHING))
    try:
        pairs = list(zip(people, rooms))
        await asyncio.gather(*(round_trip(p, r, echo.user_id, command) for p, r in pairs))
        result = await load(pairs, echo.user_id, command, seconds, watch, synapse)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        for r in rooms:
            await echo.room_leave(r)
        await echo.logout()
        await echo.close()
    # the callbacks run inside sync(): what /sync took without them
    result["spent"]["/sync"] -= result["spent"].get("room_send", 0.0)
    return result


def shares(r: dict[str, Any]) -> str:
    """Where the responder's loop spent the run, per answer (the loop answers one at a time)."""
    per = {label: s / r["n"] * 1e3 for label, s in r["spent"].items()}
    per["other"] = max(0.0, r["elapsed"] / r["n"] * 1e3 - sum(per.values()))
    return ", ".join(f"{label} {ms:.1f} ms" for label, ms in sorted(per.items(), key=lambda kv: -kv[1]))


def limit(r: dict[str, Any]) -> str:
    """What the measures say: the share of the run the loop waited on Synapse, and CPU use."""
    waiting = (r["spent"].get("room_send", 0.0) + r["spent"].get("/sync", 0.0)) / r["elapsed"]
    verdict = "Synapse" if waiting >= 0.5 else "its own work"
    return (f"{verdict} (the loop waited on room_send + /sync {waiting:.0%} of the run; Synapse used "
            f"{r['synapse_cpu']:.0%} of a core, this process {r['own_cpu']:.0%}, the whole machine was "
            f"{r['machine_busy']:.0%} busy)")


async def run(seconds: float, n_people: int, command: str, workdir: Path, synapse: int) -> None:
    people = list(await asyncio.gather(*(BenchPerson(URL, person_name(i)).login() for i in range(n_people))))
    try:
        bot = await measure_bot(people, command, seconds, workdir, synapse)
        echo = await measure_echo(people, command, seconds, synapse)
    finally:
        await asyncio.gather(*(p.leave() for p in people))
    print(f"Matrix: Synapse on {URL} (relaxed rate limits), {n_people} people each in a direct room with the "
          f"responder, one command outstanding each, {seconds:.0f} s per side")
    print(machine())
    for label, r in (("bot (App, matrix adapter, SQLite)", bot), ("bare echo on matrix-nio", echo)):
        print(f"  {label}: {r['rate']:,.1f} answers/s ({r['n']:,} answers to {command!r}, "
              f"{r['events']:.2f} event(s) each), p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms")
    print(f"  ratio bot/echo: {bot['rate'] / echo['rate']:.3f}")
    for label, r in (("bot", bot), ("echo", echo)):
        print(f"  {label}: per answer {shares(r)}")
        print(f"    limit: {limit(r)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--command", default="!help")
    args = parser.parse_args()
    os.environ["MENTORBOT_MATRIX_PASSWORD"] = PASSWORD  # the bot logs in with a password, no E2E
    os.environ.pop("MENTORBOT_MATRIX_TOKEN", None)
    os.environ.pop("MENTORBOT_MATRIX_PICKLE_KEY", None)
    logging.getLogger("nio.responses").setLevel(logging.ERROR)  # the login probe of a new account warns
    server()
    try:
        register_missing([BOT_NAME, ECHO_NAME, *(person_name(i) for i in range(args.people))])
        synapse = int((DIR / "synapse.pid").read_text())
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as d:
            asyncio.run(run(args.seconds, args.people, args.command, Path(d), synapse))
    finally:
        server("stop")


if __name__ == "__main__":
    main()
