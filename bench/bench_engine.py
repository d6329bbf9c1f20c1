"""Engine throughput: commands per second and latency through the in-memory adapter with the
real SQLite store, each command durably committed; beside it, the machine's baseline rate of
single-row durable SQLite transactions, and the ratio of the two.

    python bench/bench_engine.py [--commands N] [--synchronous full|normal]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.console import MemoryAdapter  # noqa: E402
from chatbot.app import App  # noqa: E402
from chatbot.clock import FakeClock  # noqa: E402
from chatbot.config import from_dict  # noqa: E402
from bench.bench_matching import machine  # noqa: E402

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


async def run(n: int, synchronous: str, workdir: Path) -> dict[str, float]:
    settings = from_dict({
        "admins": ["console:you"],
        "database": {"url": f"sqlite:///{workdir / 'bench.db'}", "synchronous": synchronous},
    })
    adapter = MemoryAdapter()
    clock = FakeClock(SUNDAY)
    app = App(settings, clock=clock, adapters=[adapter])
    await app.start(schedule=False)
    await set_up(adapter)
    latencies: list[float] = []
    busy, k = 0.0, 0
    while len(latencies) < n:
        clock.set(MONDAY + timedelta(days=7 * (k // 2) + 3 * (k % 2)))  # Monday, Thursday, Monday... 10:01 Berlin
        await app.engine.run_due()  # the prompts: not part of the measure (bench_checkin_fanout's)
        await adapter.say("you", "!oh open Patches and code review", CHANNEL)  # open again if it closed
        start = time.perf_counter()
        for who, text, channel in mix(k)[: n - len(latencies)]:
            t0 = time.perf_counter()
            await adapter.say(who, text, channel)
            latencies.append(time.perf_counter() - t0)
        busy += time.perf_counter() - start
        k += 1
    await app.stop()
    latencies.sort()
    return {
        "rate": n / busy,
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--synchronous", choices=["full", "normal"], default="full")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as d:
        work = Path(d)
        base = baseline(work / "baseline.db", args.synchronous)
        result = asyncio.run(run(args.commands, args.synchronous, work))
    print(machine())
    print(f"synchronous={args.synchronous}")
    print(f"baseline single-row durable transactions: {base:,.0f}/s")
    print(f"engine: {result['rate']:,.0f} commands/s, p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms "
          f"({args.commands} commands: {KINDS})")
    print(f"ratio engine/baseline: {result['rate'] / base:.3f}")


if __name__ == "__main__":
    main()
