"""The issue-24 mix one command at a time: CPU time, statements and function calls per command
kind, and optionally a cProfile of them all.

Why: on a shared 2-CPU machine wall times say little; CPU time of this process per command
(handling, its commit, the sender's send and mark, all included: each command waits until the
sender is idle again) and the number of statements are what a change to the hot path moves.

    python bench/profile_mix.py [--commands 200] [--profile tottime|cumtime] [--top 40]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event  # noqa: E402

from bench.bench_engine import mix, period, prepared  # noqa: E402

KIND_OF = {0: "check-in answer", 1: "!session log", 2: "!q join", 3: "!profile", 4: "!q leave"}


async def measure(n: int, profile: cProfile.Profile | None, url: str) -> dict[str, list[float]]:
    """CPU seconds and statements of each command of ``n``, by kind."""
    app, adapter, clock = await prepared("full", url)
    statements = [0]

    def count(*_args: object) -> None:
        statements[0] += 1

    event.listen(app.engine.database, "before_cursor_execute", count)
    cpu: dict[str, list[float]] = defaultdict(list)
    stmts: dict[str, list[float]] = defaultdict(list)
    done, k, serial = 0, 0, 0
    while done < n:
        await period(app, adapter, clock, k)
        for i, (who, text, channel) in enumerate(mix(k)[: n - done]):
            serial += 1
            kind = KIND_OF[i % 5]
            before, c0 = statements[0], time.process_time()
            if profile is not None:
                profile.enable()
            await adapter.say(who, text, channel, event_id=f"p{serial}")
            await app.engine.senders.settle(30)
            if profile is not None:
                profile.disable()
            cpu[kind].append(time.process_time() - c0)
            stmts[kind].append(statements[0] - before)
            done += 1
        k += 1
    await app.stop()
    return {**{f"cpu {k}": v for k, v in cpu.items()}, **{f"statements {k}": v for k, v in stmts.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--profile", choices=["tottime", "cumtime"], default=None)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    prof = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not wall
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as d:
        got = asyncio.run(measure(args.commands, prof, f"sqlite:///{Path(d) / 'mix.db'}"))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    every = [x for key, v in got.items() if key.startswith("cpu ") for x in v]
    print(f"{len(every)} commands, CPU {sum(every) / len(every) * 1e3:.2f} ms a command; load {load}")
    for kind in KIND_OF.values():
        cpu, st = got.get(f"cpu {kind}", []), got.get(f"statements {kind}", [])
        if cpu:
            print(f"  {kind:16} CPU {sum(cpu) / len(cpu) * 1e3:6.2f} ms, statements {sum(st) / len(st):5.1f} (all in)")
    if prof is not None:
        stats = pstats.Stats(prof)
        print(f"function calls: {stats.total_calls:,}")  # type: ignore[attr-defined]
        stats.sort_stats(args.profile).print_stats(args.top)


if __name__ == "__main__":
    main()
