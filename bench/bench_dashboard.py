"""The web dashboard on a large round, and what it costs the bot beside it.

A round of 320 pairs (Wiki Mentor Africa's size) with 12 weeks of twice-weekly check-ins (7,680),
a session a week per pair (3,840) and 2,000 office-hour waits, written straight to a SQLite file.
The dashboard is served by the real App on 127.0.0.1 and fetched over HTTP with a signed-in
cookie. Measured in the same run:

- baseline: ``GET /static/dashboard.css`` (the server, HTTP and middleware, no database);
- the round overview, the skills page and the office-hours page (queries, figures, SVG, template);
- ``!round chart answers`` as a PNG (the same figure, rasterised by CairoSVG);
- a chat command's answer time (``!round status``) alone, and while a client fetches the
  overview page over and over: the pages' database work runs in a worker thread, so the bot's
  loop keeps answering.

    python bench/bench_dashboard.py [--pairs 320] [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session  # noqa: E402

from adapters.console import MemoryAdapter  # noqa: E402
from bench.bench_matching import machine  # noqa: E402
from chatbot.app import App  # noqa: E402
from chatbot.clock import FakeClock  # noqa: E402
from chatbot.config import from_dict  # noqa: E402
from chatbot.dashboard import charts  # noqa: E402
from chatbot.dashboard.auth import COOKIE  # noqa: E402
from chatbot.features.dashboard import chart_figure  # noqa: E402
from chatbot.context import Context  # noqa: E402
from storage.checkins import ANSWERED, MISSED, Checkin  # noqa: E402
from storage.mentorship import Pair  # noqa: E402
from storage.office_hours import OhEntry, OfficeHour  # noqa: E402
from storage.progress import MentoringSession  # noqa: E402
from storage.repos import Repos  # noqa: E402
from storage.tables import Member, MemberRole, Round, Signup  # noqa: E402

START = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)
NOW = START + timedelta(weeks=12)


def seed(app: App, pairs: int) -> None:
    """The round, written with bulk inserts (the point is reading it)."""
    with Session(app.database) as s:
        rnd = Round(name="2027 Q1", starts_on=date(2027, 1, 4), ends_on=date(2027, 3, 28), opened_at=START)
        s.add(rnd)
        s.flush()
        members = [dict(handle=f"p{i}", display_name=f"Person {i}", languages=[], created_at=START) for i in range(2 * pairs)]
        s.execute(insert(Member), members)
        ids = {h: i for i, h in s.execute(Member.__table__.select().with_only_columns(Member.id, Member.handle))}  # type: ignore[attr-defined]
        mentee = [ids[f"p{i}"] for i in range(pairs)]
        mentor = [ids[f"p{pairs + i}"] for i in range(pairs)]
        s.execute(insert(Signup), [dict(member_id=m, round_id=rnd.id, kind="mentee", tracks=[], skills=[], created_at=START,
                                        goal="A first patch") for m in mentee])
        s.execute(insert(Pair), [dict(round_id=rnd.id, mentee_id=a, mentor_id=b, kind="mentor", created_at=START)
                                 for a, b in zip(mentee, mentor)])
        s.execute(insert(MemberRole), [dict(member_id=ids["p0"], role="coordinator", granted_at=START)])
        checkins, logs = [], []
        for n, (a, b) in enumerate(zip(mentee, mentor)):
            for week in range(12):
                for day in (0, 3):
                    due = START + timedelta(weeks=week, days=day)
                    ok = (n + week + day) % 4 != 0
                    checkins.append(dict(mentee_id=a, due_at=due, status=ANSWERED if ok else MISSED, questions=[],
                                         answers=["done", "3"] if ok else [], rating=3 if ok else None, prompted_at=due))
                logs.append(dict(round_id=rnd.id, mentor_id=b, mentee_id=a, held_on=(START + timedelta(weeks=week)).date(),
                                 minutes=45, topic="review", logged_at=START + timedelta(weeks=week)))
        s.execute(insert(Checkin), checkins)
        s.execute(insert(MentoringSession), logs)
        oh = OfficeHour(platform="console", channel="#oh", opened_at=START, closed_at=NOW)
        s.add(oh)
        s.flush()
        s.execute(insert(OhEntry), [dict(session_id=oh.id, member_id=mentee[i % pairs], platform="console", nick="x",
                                         status="ended", outcome="helped", joined_at=START + timedelta(hours=7 * i),
                                         called_at=START + timedelta(hours=7 * i, minutes=i % 40), ended_at=START + timedelta(hours=7 * i, minutes=50))
                                    for i in range(2000)])
        s.commit()


def ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"p50 {1000 * statistics.median(ordered):.1f} ms, p95 {1000 * ordered[int(0.95 * (len(ordered) - 1))]:.1f} ms"


async def timed_get(http: aiohttp.ClientSession, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        began = time.perf_counter()
        async with http.get(url) as resp:
            await resp.read()
            assert resp.status == 200, (url, resp.status)
        out.append(time.perf_counter() - began)
    return out


async def command_times(adapter: MemoryAdapter, app: App, n: int) -> list[float]:
    out = []
    for _ in range(n):
        began = time.perf_counter()
        await adapter.say("p0", "!round status")
        await app.engine.flush_outbox()
        out.append(time.perf_counter() - began)
    return out


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=320)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    os.environ["MENTORBOT_DASHBOARD_SECRET"] = "bench-secret-" + "x" * 32
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        settings = from_dict({"database": {"url": f"sqlite:///{tmp}/bench.db", "synchronous": "normal"},
                              "dashboard": {"listen": "127.0.0.1:0"}, "adapters": {}})
        adapter = MemoryAdapter()
        app = App(settings, clock=FakeClock(NOW), adapters=[adapter])
        began = time.perf_counter()
        seed(app, args.pairs)
        print(f"seeded {args.pairs} pairs, {args.pairs * 24} check-ins, {args.pairs * 12} sessions, 2,000 waits "
              f"in {time.perf_counter() - began:.1f} s")
        await app.start(schedule=False)
        assert app.dashboard is not None and app.engine.web_url is not None
        cookie = app.dashboard.signer.issue(1, 0, NOW, timedelta(hours=1))
        base = app.engine.web_url
        async with aiohttp.ClientSession(cookies={COOKIE: cookie}) as http:
            await timed_get(http, base + "/round", 2)  # warm: templates compiled, caches filled
            rows = [("baseline: GET /static/dashboard.css", await timed_get(http, base + "/static/dashboard.css", args.repeat))]
            for path in ("/round", "/skills", "/office-hours", "/round/1/answers.csv"):
                rows.append((f"GET {path}", await timed_get(http, base + path, args.repeat)))
            with Session(app.database) as s:
                ctx = Context(app.engine, Repos(s), NOW)
                rnd = ctx.repos.rounds.current(NOW.date())
                pngs = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    figure, _page = chart_figure(ctx, rnd, "answers")
                    data = charts.png(figure.svg())
                    pngs.append(time.perf_counter() - t)
            rows.append((f"!round chart answers: figure + PNG ({len(data):,} bytes)", pngs))
            alone = await command_times(adapter, app, args.repeat)
            stop = asyncio.Event()

            async def hammer() -> int:
                n = 0
                while not stop.is_set():
                    async with http.get(base + "/round") as resp:
                        await resp.read()
                    n += 1
                return n

            task = asyncio.create_task(hammer())
            await asyncio.sleep(0.2)
            busy = await command_times(adapter, app, args.repeat)
            stop.set()
            pages = await task
            rows.append(("chat command !round status, dashboard idle", alone))
            rows.append((f"chat command !round status, overview fetched meanwhile ({pages} pages)", busy))
        await app.stop()
    width = max(len(name) for name, _ in rows)
    for name, samples in rows:
        print(f"{name.ljust(width)}  {ms(samples)}  (n={len(samples)})")


if __name__ == "__main__":
    asyncio.run(main())
