"""Check-in fan-out: time and peak memory to compute, record and hand to the adapter the Monday
prompts of N paired mentees (default schedule), so the cost per mentee at each size is visible.

Why this shape: the population is written with bulk SQL inserts into the real tables (building
it through the interviews would take longer than the measure), then the real engine runs its
scheduler ticks (``run_due``) until a tick sends nothing more, exactly as the running bot would
on a Monday morning. Each size runs in a child process so its peak RSS is its own.

    python bench/bench_checkin_fanout.py [--sizes 1000,10000] [--extrapolate 100000] [--batch 500]
                                         [--databases sqlite,postgresql]

The batch is the shipped default (500 prompts per transaction): the engine runs the job again
at once until nothing is due, letting commands in between, so a tick is the whole fan-out and
the longest batch is how long a command may wait. ``--batch 100000`` (the most the config
allows) does everything in one transaction, which shows the cost without batching. 100,000
mentees take about two minutes on a 2-core machine, so by default that size is extrapolated
from the largest measured one (pass --sizes 1000,10000,100000 to measure it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from adapters.console import MemoryAdapter  # noqa: E402
from chatbot.app import App  # noqa: E402
from chatbot.clock import FakeClock  # noqa: E402
from chatbot.config import from_dict  # noqa: E402
from bench.pg import postgres  # noqa: E402
from storage.db import analyze, reset_sequences  # noqa: E402
from storage.mentorship import Pair  # noqa: E402
from storage.tables import Member, PlatformIdentity, Round, Signup  # noqa: E402

ZONE = "Europe/Berlin"
PAIRED_AT = datetime(2027, 1, 1, 12, 0, tzinfo=timezone.utc)  # a Friday; the first prompt is Monday 10:00 Berlin
MONDAY_JUST_PAST_TEN = datetime(2027, 1, 4, 9, 1, tzinfo=timezone.utc)  # 10:01 in Berlin
MENTEES_PER_MENTOR = 4


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def populate(app: App, n: int) -> None:
    """N mentees and N/4 mentors, one identity each, signed up in one open round, paired."""
    mentors = max(1, n // MENTEES_PER_MENTOR)
    people = [
        dict(id=i, handle=f"p{i}", display_name=f"Person {i}", timezone=ZONE, languages=["en"], status="active", created_at=PAIRED_AT)
        for i in range(1, n + mentors + 1)
    ]
    idents = [
        dict(platform="console", account=f"p{i}", member_id=i, display=f"p{i}", last_seen=PAIRED_AT) for i in range(1, n + mentors + 1)
    ]
    signups = [
        dict(member_id=i, round_id=1, kind="mentee" if i <= n else "mentor", tracks=["programming"], skills=["testing"],
             capacity=None if i <= n else MENTEES_PER_MENTOR, accepting=True, status="active", created_at=PAIRED_AT)
        for i in range(1, n + mentors + 1)
    ]
    pairs = [
        dict(round_id=1, mentee_id=i, mentor_id=n + 1 + (i - 1) // MENTEES_PER_MENTOR, kind="mentor", created_at=PAIRED_AT)
        for i in range(1, n + 1)
    ]
    with app.database.begin() as con:
        con.execute(insert(Member), people)
        con.execute(insert(PlatformIdentity), idents)
        con.execute(insert(Round), [dict(id=1, name="2027 Q1", starts_on=date(2027, 1, 1), ends_on=date(2027, 3, 31),
                                         status="open", opened_at=PAIRED_AT)])
        con.execute(insert(Signup), signups)
        con.execute(insert(Pair), pairs)
        reset_sequences(con, [Member.__table__, PlatformIdentity.__table__, Round.__table__, Signup.__table__, Pair.__table__])  # type: ignore[attr-defined]


async def one(n: int, batch: int, url: str) -> dict[str, float]:
    settings = from_dict({
        "database": {"url": url, "synchronous": "full"},
        "checkins": {"batch": batch},
    })
    adapter = MemoryAdapter()
    clock = FakeClock(PAIRED_AT)
    app = App(settings, clock=clock, adapters=[adapter])
    await app.start(schedule=False)
    t0 = time.perf_counter()
    populate(app, n)
    analyze(app.database)  # as migrate-data does after a bulk load (SQLite: statistics for the planner too)
    populate_s = time.perf_counter() - t0
    clock.set(MONDAY_JUST_PAST_TEN)
    rss_before = maxrss_mb()
    ticks, slowest, per_job = 0, 0.0, {}
    holds: list[float] = []  # how long each batch held the engine lock (commands wait that long at most)
    run_batch = app.engine._run_job_batch

    async def timed_batch(job):  # noqa: ANN001, ANN202 - the engine's own method, timed
        t = time.perf_counter()
        try:
            return await run_batch(job)
        finally:
            holds.append(time.perf_counter() - t)

    app.engine._run_job_batch = timed_batch  # type: ignore[method-assign]
    start = time.perf_counter()
    while True:
        before = len(adapter.said)
        t = time.perf_counter()
        for job in app.engine.jobs:  # what run_due does, timed per job
            j = time.perf_counter()
            await app.engine.run_job(job.name)
            per_job[job.name] = per_job.get(job.name, 0.0) + time.perf_counter() - j
        await app.engine.flush_outbox()
        slowest = max(slowest, time.perf_counter() - t)
        ticks += 1
        if len(adapter.said) == before and ticks > 1:
            break
        clock.advance(timedelta(seconds=1))  # the next tick, a second later
    elapsed = time.perf_counter() - start
    mentees = {f"dm p{i}" for i in range(1, n + 1)}
    prompts = len({s.target for s in adapter.said if s.target in mentees})  # each mentee reached once
    await app.stop()
    return {
        "n": n, "seconds": elapsed, "sent": len(adapter.said), "prompts": prompts, "ticks": ticks, "slowest_tick": slowest, "batches": len(holds), "longest_batch": max(holds),
        "populate_s": populate_s, "jobs": {k: round(v, 2) for k, v in sorted(per_job.items(), key=lambda kv: -kv[1])[:3]}, "rss_before_mb": rss_before, "rss_peak_mb": maxrss_mb(),
    }


def child(n: int, batch: int, url: str | None) -> dict[str, float]:
    """Run one size in a fresh interpreter so the RSS peak is that size's alone."""
    out = subprocess.run([sys.executable, __file__, "--one", str(n), "--batch", str(batch), *(["--url", url] if url else [])],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"size {n} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--extrapolate", type=int, default=100_000, help="size to extrapolate to linearly (0: none)")
    parser.add_argument("--batch", type=int, default=500, help="[checkins] batch: prompts per transaction")
    parser.add_argument("--databases", default="sqlite,postgresql", help="which databases, in one run")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as d:
            print(json.dumps(asyncio.run(one(args.one, args.batch, args.url or f"sqlite:///{Path(d) / 'fanout.db'}"))))
        return
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load}; synchronous=full (SQLite); [checkins] batch = {args.batch}")
    kinds = args.databases.split(",")
    with ExitStack() as stack:
        pg = stack.enter_context(postgres()) if "postgresql" in kinds else None
        if pg is not None:
            print(f"PostgreSQL: {pg.url.rsplit('@', 1)[1]}, fsync={pg.fsync()}")
        sizes = [int(s) for s in args.sizes.split(",")]
        for n in sizes:  # the two databases side by side at each size
            extrapolate = args.extrapolate if n == sizes[-1] else 0
            if "sqlite" in kinds:
                report("sqlite", n, child(n, args.batch, None), extrapolate)
            if pg is not None:
                with pg.database() as url:
                    report("postgresql", n, child(n, args.batch, url), extrapolate)


def report(label: str, n: int, r: dict[str, float], extrapolate: int) -> None:
    """One size's figures (and, for the largest, the linear extrapolation to ``extrapolate``)."""
    print(f"{label:>10} {n:>7,} mentees: {r['seconds']:7.2f} s for {r['prompts']:,} mentees prompted ({r['ticks']} ticks, slowest "
          f"{r['slowest_tick']:.2f} s; {r['batches']} job batches, the longest holding the engine {r['longest_batch']:.2f} s), "
          f"{r['prompts'] / r['seconds']:,.0f} prompts/s, "
          f"{1e6 * r['seconds'] / n:,.0f} µs per mentee; peak RSS {r['rss_peak_mb']:.0f} MB "
          f"(+{r['rss_peak_mb'] - r['rss_before_mb']:.0f} MB over the loaded process; population built in {r['populate_s']:.1f} s)")
    print(f"          seconds by job (top 3): {r['jobs']}")
    if extrapolate > n:
        k = extrapolate / n
        print(f"{label:>10} {extrapolate:>7,} mentees: not measured; linear from {n:,}: about {r['seconds'] * k:,.0f} s "
              f"and +{(r['rss_peak_mb'] - r['rss_before_mb']) * k:,.0f} MB")


if __name__ == "__main__":
    main()
