"""Engine throughput and answer latency through the in-memory adapter with the real SQLite
store, each command durably committed; beside it, in the same run and interleaved with it, the
machine's rate of single-row durable SQLite transactions, and the ratio of the two.

Throughput: the 50 people of the mix all at once, each sending their next command when the
engine has committed the last (the engine commits those waiting together), until every answer
was handed to the platform by the background sender. Latency: commands arriving at a steady
rate (100 a second unless told), timed from arrival to the answer being handed over.

    python bench/bench_engine.py [--commands N] [--runs 3] [--rate 100] [--synchronous full|normal]
                                 [--databases sqlite,postgresql]

On PostgreSQL (bench/pg.py: the shared server script, fsync on) the same runs are made against a
new database each, beside that server's own rate of single-row durable transactions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.console import MemoryAdapter  # noqa: E402
from chatbot.events import Delivery, Outbound  # noqa: E402
from chatbot.app import App  # noqa: E402
from chatbot.clock import FakeClock  # noqa: E402
from chatbot.config import from_dict  # noqa: E402
from bench.bench_matching import machine  # noqa: E402
from bench.pg import postgres  # noqa: E402

MENTEES, MENTORS = 40, 10  # four mentees each
CHANNEL = "#office-hours"
SUNDAY = datetime(2027, 1, 3, 11, 0, tzinfo=timezone.utc)  # paired on a Sunday
MONDAY = datetime(2027, 1, 4, 9, 1, tzinfo=timezone.utc)  # 10:01 in Berlin: the first prompts are due
ANSWER = "1. fixed the parser test 2. send the patch for review 3. none 4. 3"

def baseline(path: Path, synchronous: str, n: int = 2000) -> float:
    """Single-row transactions per second with the same pragmas as the bot."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(f"PRAGMA synchronous={synchronous}")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    start = time.perf_counter()
    for i in range(n):
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO t (v) VALUES (?)", (f"row {i}",))
        con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.close()
    return n / elapsed


def mix(k: int) -> list[tuple[str, str, str | None]]:
    """One check-in period's commands, in the order people would send them: for each mentee an
    answer to the open check-in, a session their mentor logs, a queue join and leave in the
    office-hours channel, and a look at their profile."""
    out: list[tuple[str, str, str | None]] = []
    for i in range(MENTEES):
        mentee, mentor = f"mentee{i}", f"mentor{i % MENTORS}"
        out += [
            (mentee, ANSWER, None),
            (mentor, f'!session log {mentee} 45m "review round {k}"', None),
            (mentee, "!q join rebasing my patch", CHANNEL),
            (mentee, "!profile", None),
            (mentee, "!q leave", CHANNEL),
        ]
    return out


KINDS = "check-in answers, !session log, !q join, !profile, !q leave"


async def set_up(adapter: MemoryAdapter) -> None:
    """A round, 40 mentees and 10 mentors through the real interviews, paired, and an open
    office hour (none of it measured)."""
    await adapter.say("you", '!round open "Bench" 2027-01-01 2027-03-31')
    for i in range(MENTEES):
        for line in ["!signup mentee", "Europe/Berlin", "en", "3", "programming", "testing", "Land a patch"]:
            await adapter.say(f"mentee{i}", line)
    for j in range(MENTORS):
        for line in ["!signup mentor", "Europe/London", "en", "3", "all", "testing", "4"]:
            await adapter.say(f"mentor{j}", line)
    for i in range(MENTEES):
        await adapter.say("you", f"!match assign mentee{i} mentor{i % MENTORS}")
    await adapter.say("you", "!oh open Patches and code review", CHANNEL)


class TimedAdapter(MemoryAdapter):
    """The memory adapter, noting when each event's first answer is handed to the platform."""

    def __init__(self) -> None:
        super().__init__()
        self.answered: dict[str, float] = {}

    async def send(self, event: Outbound) -> Delivery:
        ref = getattr(event, "in_reply_to", None)
        if ref is not None and ref not in self.answered:
            self.answered[ref] = time.perf_counter()
        return await super().send(event)


async def prepared(synchronous: str, url: str) -> tuple[App, TimedAdapter, FakeClock]:
    settings = from_dict({
        "admins": ["console:you"],
        "database": {"url": url, "synchronous": synchronous},
    })
    adapter = TimedAdapter()
    clock = FakeClock(SUNDAY)
    app = App(settings, clock=clock, adapters=[adapter])
    await app.start(schedule=False)
    await set_up(adapter)
    return app, adapter, clock


async def period(app: App, adapter: MemoryAdapter, clock: FakeClock, k: int) -> None:
    """The next check-in period: its prompts are out and the office hour is open (not measured)."""
    clock.set(MONDAY + timedelta(days=7 * (k // 2) + 3 * (k % 2)))  # Monday, Thursday, Monday... 10:01 Berlin
    await app.engine.run_due()
    await adapter.say("you", "!oh open Patches and code review", CHANNEL)  # open again if it closed
    await app.engine.flush_outbox(60)


async def throughput(n: int, synchronous: str, url: str) -> dict[str, float]:
    """Everybody at once: each person sends their commands one after another (waiting for the
    engine to commit each), all people side by side; until every answer was handed over."""
    app, adapter, clock = await prepared(synchronous, url)
    done, busy, cpu, k, serial = 0, 0.0, 0.0, 0, 0
    latencies: list[float] = []
    while done < n:
        await period(app, adapter, clock, k)
        lanes: dict[str, list[tuple[str, str | None]]] = {}
        for who, text, channel in mix(k)[: n - done]:
            lanes.setdefault(who, []).append((text, channel))

        async def person(who: str, lines: list[tuple[str, str | None]]) -> None:
            nonlocal serial
            for text, channel in lines:
                serial += 1
                ref = f"c{serial}"
                t0 = time.perf_counter()
                await adapter.say(who, text, channel, event_id=ref)
                latencies.append(time.perf_counter() - t0)

        start, cpu_start = time.perf_counter(), time.process_time()
        await asyncio.gather(*(person(who, lines) for who, lines in lanes.items()))
        await app.engine.flush_outbox(120)
        busy += time.perf_counter() - start
        cpu += time.process_time() - cpu_start
        done += sum(len(v) for v in lanes.values())
        k += 1
    await app.stop()
    latencies.sort()
    return {"rate": n / busy, "cpu_ms": cpu / n * 1e3, "p50_ms": latencies[len(latencies) // 2] * 1e3,
            "p99_ms": latencies[int(len(latencies) * 0.99)] * 1e3}


async def offered(n: int, per_second: float, synchronous: str, url: str) -> dict[str, float]:
    """Commands arriving at a steady ``per_second`` (whatever the bot is doing): the time from a
    command's arrival to its answer being handed to the platform."""
    app, adapter, clock = await prepared(synchronous, url)
    waits: list[float] = []
    done, k, serial = 0, 0, 0
    while done < n:
        await period(app, adapter, clock, k)
        batch = mix(k)[: n - done]
        arrived: dict[str, float] = {}
        tasks = []
        start = time.perf_counter()
        for i, (who, text, channel) in enumerate(batch):
            due = start + i / per_second
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            serial += 1
            ref = f"o{serial}"
            arrived[ref] = time.perf_counter()
            tasks.append(asyncio.create_task(adapter.say(who, text, channel, event_id=ref)))
        await asyncio.gather(*tasks)
        await app.engine.flush_outbox(120)
        waits += [adapter.answered[ref] - t for ref, t in arrived.items() if ref in adapter.answered]
        done += len(batch)
        k += 1
    await app.stop()
    waits.sort()
    return {"answered": len(waits), "p50_ms": waits[len(waits) // 2] * 1e3, "p99_ms": waits[int(len(waits) * 0.99)] * 1e3}


def report(label: str, run: int, base: float, result: dict[str, float]) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{label} run {run}: baseline {base:,.0f} single-row durable transactions/s; engine {result['rate']:,.0f} "
          f"commands/s (everybody at once, until every answer was handed over), commit wait p50 "
          f"{result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms; CPU {result['cpu_ms']:.2f} ms a command "
          f"(this process; less sensitive to other load than wall time); ratio {result['rate'] / base:.3f}; load {load}")


def report_offered(label: str, rate: float, late: dict[str, float]) -> None:
    print(f"{label} {rate:.0f} commands/s offered: time to the answer handed to the platform p50 {late['p50_ms']:.1f} ms, "
          f"p99 {late['p99_ms']:.1f} ms ({late['answered']:.0f} answers)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=100.0, help="commands per second offered in the latency run")
    parser.add_argument("--synchronous", choices=["full", "normal"], default="full")
    parser.add_argument("--databases", default="sqlite,postgresql", help="which databases, in one run")
    args = parser.parse_args()
    kinds = args.databases.split(",")
    print(machine())
    print(f"synchronous={args.synchronous} (SQLite); mix: {KINDS}")
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as d, ExitStack() as stack:
        work = Path(d)
        pg = stack.enter_context(postgres()) if "postgresql" in kinds else None
        if pg is not None:
            print(f"PostgreSQL: {pg.url.rsplit('@', 1)[1]}, fsync={pg.fsync()}")
        for run in range(1, args.runs + 1):  # baselines and engines interleaved: they see the same machine
            if "sqlite" in kinds:
                base = baseline(work / f"baseline{run}.db", args.synchronous)
                report("sqlite", run, base, asyncio.run(throughput(args.commands, args.synchronous, f"sqlite:///{work / f't{run}.db'}")))
            if pg is not None:
                base = pg.baseline()
                with pg.database() as url:
                    report("postgresql", run, base, asyncio.run(throughput(args.commands, args.synchronous, url)))
        if "sqlite" in kinds:
            late = asyncio.run(offered(min(args.commands, 1000), args.rate, args.synchronous, f"sqlite:///{work / 'offered.db'}"))
            report_offered("sqlite", args.rate, late)
        if pg is not None:
            with pg.database() as url:
                report_offered("postgresql", args.rate, asyncio.run(offered(min(args.commands, 1000), args.rate, args.synchronous, url)))

if __name__ == "__main__":
    main()
