"""Idle scheduler ticks: what each job costs when nothing is due, the case that dominates a bot's
life (a tick every 30 s, work a few times a day) and the feature tests that advance fake time
through weeks.

Why this shape: the bot is the test harness's (SQLite file, every feature, the real interviews),
with one open round, a pair and an office-hour schedule, then the clock moves an hour at a time
for a few days; each job's batch is timed on its own (wall and CPU), and a cProfile of the idle
ticks names where the time goes.

    python bench/bench_idle_tick.py [--ticks 200] [--step-seconds 3600] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.harness import Bot  # noqa: E402


async def seeded(folder: Path) -> Bot:
    """A bot with an open round, a pair, and an office-hour schedule: every job has rows to look at."""
    bot = await Bot.start(folder)
    await bot.pair()
    await bot.say("you", "!role add carol host")
    await bot.tick()
    return bot


async def measure(ticks: int, profile: bool, step: timedelta) -> None:
    with tempfile.TemporaryDirectory() as folder:
        bot = await seeded(Path(folder))
        engine = bot.engine
        wall: dict[str, float] = defaultdict(float)
        cpu: dict[str, float] = defaultdict(float)
        prof = cProfile.Profile() if profile else None
        t_wall, t_cpu = time.perf_counter(), time.process_time()
        for _ in range(ticks):
            bot.clock.advance(step)
            w, c = time.perf_counter(), time.process_time()
            awake = await engine._awake_jobs() if hasattr(engine, "_awake_jobs") else engine.jobs  # as run_due
            wall["(which jobs are awake)"] += time.perf_counter() - w
            cpu["(which jobs are awake)"] += time.process_time() - c
            for job in awake:
                w, c = time.perf_counter(), time.process_time()
                if prof:
                    prof.enable()
                await engine._run_batches([job])
                if prof:
                    prof.disable()
                wall[job.name] += time.perf_counter() - w
                cpu[job.name] += time.process_time() - c
            await bot.settle()
        total_wall, total_cpu = time.perf_counter() - t_wall, time.process_time() - t_cpu
        print(f"load average {os.getloadavg()[0]:.2f}; {ticks} ticks {step} apart, {len(engine.jobs)} jobs")
        print(f"{'job':<24} {'wall ms/tick':>12} {'cpu ms/tick':>12}")
        for name in sorted(wall, key=lambda n: -cpu[n]):
            print(f"{name:<24} {1000 * wall[name] / ticks:12.2f} {1000 * cpu[name] / ticks:12.2f}")
        print(f"{'a whole tick':<24} {1000 * total_wall / ticks:12.2f} {1000 * total_cpu / ticks:12.2f}")
        await bot.stop()
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(35)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--step-seconds", type=float, default=3600, help="fake time between ticks (the bot: 30)")
    args = parser.parse_args()
    asyncio.run(measure(args.ticks, args.profile, timedelta(seconds=args.step_seconds)))


if __name__ == "__main__":
    main()
