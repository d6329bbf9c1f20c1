"""A netsplit through the engine: ``--people`` known members QUIT at once and come back (a
``Left`` then a ``Returned`` each), ``--in-line`` of them waiting in an open office-hours line,
handed to the engine 32 at a time as the IRC adapter does; then the expiry job when all of them
stayed away past the grace. Beside it, in the same run and interleaved, the same number of
``Seen`` events (what the engine did for a returning person before leavers were tracked).

    python bench/bench_leavers.py [--people 500] [--in-line 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.console import MemoryAdapter  # noqa: E402
from bench.bench_matching import machine  # noqa: E402
from chatbot.app import App  # noqa: E402
from chatbot.clock import FakeClock  # noqa: E402
from chatbot.config import from_dict  # noqa: E402
from chatbot.events import Identity, Left, Returned, Seen, Where  # noqa: E402

CHANNEL = "#office-hours"
START = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)
#: events the IRC adapter hands to the engine at once (adapters/irc/inbound.py IN_FLIGHT)
IN_FLIGHT = 32


async def prepared(workdir: Path, name: str, people: int, in_line: int) -> tuple[App, FakeClock]:
    """Members ``p0``..``pN`` known to the bot, the first ``in_line`` waiting (not measured)."""
    settings = from_dict({"admins": ["console:host"], "database": {"url": f"sqlite:///{workdir / name}"}})
    adapter, clock = MemoryAdapter(), FakeClock(START)
    app = App(settings, clock=clock, adapters=[adapter])
    await app.start(schedule=False)
    await adapter.say("host", "!oh open", CHANNEL)
    for i in range(people):
        await adapter.say(f"p{i}", "!q join" if i < in_line else "!whoami", CHANNEL if i < in_line else None)
    await app.engine.flush_outbox(120)
    return app, clock


async def handed(app: App, events: list[Any]) -> float:
    """Seconds to have every event committed, ``IN_FLIGHT`` waiting at a time."""
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one(event: Any) -> None:
        async with slots:
            await app.engine.handle(event)

    start = time.perf_counter()
    await asyncio.gather(*(one(e) for e in events))
    return time.perf_counter() - start


def who(i: int) -> Identity:
    return Identity("console", f"p{i}", f"p{i}")


async def run(workdir: Path, k: int, people: int, in_line: int) -> dict[str, float]:
    app, clock = await prepared(workdir, f"bot{k}.db", people, in_line)
    everywhere = Where("console", None)
    event_lists: dict[str, Callable[[int], Any]] = {
        "seen (baseline)": lambda i: Seen(who(i)),
        "left (quit)": lambda i: Left(who(i), everywhere, "quit"),
        "returned": lambda i: Returned(who(i), Where("console", CHANNEL)),
    }
    out = {}
    for label, make in event_lists.items():
        out[label] = people / await handed(app, [make(i) for i in range(people)])
    await handed(app, [Left(who(i), everywhere, "quit") for i in range(people)])
    clock.advance(timedelta(minutes=11))
    start = time.perf_counter()
    await app.engine.run_job("office-hours-leavers")
    out["expiry job (s)"] = time.perf_counter() - start
    await app.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--in-line", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(machine())
    print(f"{args.people} people, {args.in_line} of them in line; events/s committed, {IN_FLIGHT} in flight")
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as d:
        for k in range(args.runs):
            figures = asyncio.run(run(Path(d), k, args.people, args.in_line))
            base = figures["seen (baseline)"]
            shown = ", ".join(
                f"{label} {value:.2f}" if label.endswith("(s)") else f"{label} {value:,.0f}/s ({value / base:.2f})"
                for label, value in figures.items()
            )
            print(f"run {k + 1}: {shown}")


if __name__ == "__main__":
    main()
