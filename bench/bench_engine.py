"""Engine throughput: commands per second and latency through the in-memory adapter with the
real SQLite store, each command durably committed; beside it, the machine's baseline rate of
single-row durable SQLite transactions, and the ratio of the two.

    python bench/bench_engine.py [--commands N] [--synchronous full|normal]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.console import MemoryAdapter  # noqa: E402
from chatbot.app import App  # noqa: E402
from chatbot.clock import FakeClock  # noqa: E402
from chatbot.config import from_dict  # noqa: E402

PEOPLE = 50


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


def mix(i: int) -> tuple[str, str]:
    who = f"person{i % PEOPLE}"
    commands = ["!profile", "!whoami", "!profile set timezone Europe/Berlin", "!round status"]
    return who, commands[i % len(commands)]


async def run(n: int, synchronous: str, workdir: Path) -> dict[str, float]:
    settings = from_dict({
        "admins": ["console:you"],
        "database": {"url": f"sqlite:///{workdir / 'bench.db'}", "synchronous": synchronous},
    })
    adapter = MemoryAdapter()
    app = App(settings, clock=FakeClock(), adapters=[adapter])
    await app.start(schedule=False)
    await adapter.say("you", '!round open "Bench" 2027-01-01 2027-03-31')
    for p in range(PEOPLE):  # first contact creates the member; not part of the measure
        await adapter.say(f"person{p}", "!help")
    latencies = []
    start = time.perf_counter()
    for i in range(n):
        who, text = mix(i)
        t0 = time.perf_counter()
        await adapter.say(who, text)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    await app.stop()
    latencies.sort()
    return {
        "rate": n / elapsed,
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
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, synchronous={args.synchronous}")
    print(f"baseline single-row durable transactions: {base:,.0f}/s")
    print(f"engine: {result['rate']:,.0f} commands/s, p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms "
          f"({args.commands} commands: !profile, !whoami, !profile set, !round status)")
    print(f"ratio engine/baseline: {result['rate'] / base:.3f}")


if __name__ == "__main__":
    main()
