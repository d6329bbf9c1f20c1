"""A bot process for the fault tests: it plays a long deterministic stream of chat lines against
a real App on a real SQLite file, and logs durably what it acknowledged and what it delivered,
so a test can SIGKILL it anywhere, start it again, and check what survived.

    python -m tests.crash_driver crash --db bot.db --state DIR --run N [--days D]
    python -m tests.crash_driver serve      (then ``crash ...`` lines on stdin: one fork each)
    python -m tests.crash_driver load --db bot.db --who p1 --people 6 --rounds 20

``crash`` resumes the stream after the last step in ``DIR/ack.log``. A step is acknowledged
(one JSON line, flushed and fsynced) only after the engine returned from it, i.e. after the
change and its reply were committed (the senders hand replies to the adapter beside it). Every message the
adapter is given is logged (``DIR/delivered.log``, fsynced) *before* ``send`` returns, as a
platform would have shown it. The clock is fake and set per step, so an uninterrupted run of
the same stream (the reference) must end in the same records and say the same replies.

``load`` is one of several processes writing to one database at once: each of its people runs
interviews, profile changes and queue commands; it prints a JSON summary of what was answered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlmodel import Session, col, select

from adapters.console import MemoryAdapter
from chatbot.app import App
from chatbot.clock import FakeClock
from chatbot.config import Settings, from_dict
from chatbot.events import SENT, Delivery, Identity, Outbound, TextReceived, Where
from storage.tables import OutboxMessage

SETUP_AT = datetime(2027, 1, 3, 12, 0, tzinfo=timezone.utc)  # a Sunday
FIRST_DAY = datetime(2027, 1, 4, 9, 0, 30, tzinfo=timezone.utc)  # 10:00:30 in Berlin, after the prompts fall due
MENTORS = ("mona", "milo")
MENTEES = ("ada", "ben", "cleo")
HOST = "hana"
QUEUE = "#oh"


# ---------------------------------------------------------------------------- the stream


@dataclass(frozen=True)
class Step:
    """One line somebody says (``who`` is set) or one scheduler tick (``who`` is None), at ``at``."""

    at: datetime
    who: str | None = None
    text: str = ""
    channel: str | None = None
    #: what the test checks is stored once the step is acknowledged: ("signup", field, value),
    #: ("checkin", [answers]), ("queue", "join"|"leave"|...)
    expect: tuple[Any, ...] = ()


def settings_for(db: Path, synchronous: str = "full") -> Settings:
    return from_dict(
        {
            "admins": ["console:you"],
            "database": {"url": f"sqlite:///{db}", "synchronous": synchronous},
            "checkins": {"schedule": "daily 10:00"},
            "adapters": {},
        }
    )


def _signup_lines(who: str, kind: str, day: int) -> list[tuple[str, tuple[Any, ...]]]:
    answers: list[tuple[str, Any]] = [("timezone", "Europe/Berlin"), ("languages", "en, de"), ("focus", "3")]
    if kind == "mentee":
        answers += [("tracks", "programming"), ("skills", "testing, code review"), ("goal", f"Land patch number {day} in core")]
    else:
        answers += [("tracks", "all"), ("skills", "code review, gerrit"), ("capacity", "3")]
    return [(f"!signup {kind}", ("signup-start", kind))] + [(text, ("signup", field, text)) for field, text in answers]


#: who says what, where, and what it promises (the fields of a Step after its instant)
Line = tuple[str | None, str, str | None, tuple[Any, ...]]


def _merge(*lanes: list[Line]) -> Iterator[Line]:
    """Round-robin over lanes, so several interviews and the queue advance side by side."""
    iters = [iter(lane) for lane in lanes]
    while iters:
        for it in list(iters):
            try:
                yield next(it)
            except StopIteration:
                iters.remove(it)


def build_stream(days: int) -> list[Step]:
    """Set-up (a round, a host, two mentors, three mentees in interviews side by side, pairs, an
    open queue), then per day: a tick (check-in prompts), every mentee answering in a DM,
    queue traffic, a session log and a newcomer's sign-up interview, interleaved."""
    steps: list[Step] = []

    def add(at: datetime, lines: Iterator[Line], gap: timedelta) -> None:
        for n, (who, text, channel, expect) in enumerate(lines):
            steps.append(Step(at + n * gap, who, text, channel, expect))

    setup = [
        ("you", '!round open "2027 Q1" 2027-01-01 2027-03-31', None, ()),
        (HOST, "!whoami", None, ()),
        ("you", f"!role grant {HOST} host", None, ()),
        (HOST, "!oh open Gerrit and first patches", QUEUE, ("queue", "open")),
    ]
    lanes = [[(who, text, None, exp) for text, exp in _signup_lines(who, "mentor", 0)] for who in MENTORS]
    lanes += [[(who, text, None, exp) for text, exp in _signup_lines(who, "mentee", 0)] for who in MENTEES]
    assign = [("you", f"!match assign {m} {MENTORS[i % 2]}", None, ()) for i, m in enumerate(MENTEES)]
    add(SETUP_AT, iter(setup + list(_merge(*lanes)) + assign), timedelta(seconds=10))

    for day in range(days):
        start = FIRST_DAY + timedelta(days=day)
        steps.append(Step(start))  # the tick: today's check-in prompts
        answers = []
        for i, m in enumerate(MENTEES):
            if (day + i) % 7 == 3:
                continue  # forgets today: the check-in is missed when the next one comes
            blocker = "waiting for CI access" if (day + i) % 5 == 0 else "none"
            parts = [f"day {day}: reviewed {m}'s patch", f"rebase patch {day}", blocker, str(1 + (day + i) % 5)]
            answers.append((m, " | ".join(parts), None, ("checkin", parts)))
        v1, v2, v3, v4 = ("vic", "wes", "xia", "yan") if day % 2 else ("wes", "yan", "vic", "xia")
        queue = [
            (v1, f"!q join topic {day}", QUEUE, ("queue", "join")),
            (v2, "!q join", QUEUE, ("queue", "join")),
            (HOST, "!next", QUEUE, ("queue", "next")),
            (v3, "!q join", QUEUE, ("queue", "join")),
            (v2, "!q leave", QUEUE, ("queue", "leave")),
            (HOST, "!done", QUEUE, ("queue", "done")),
            (HOST, "!next", QUEUE, ("queue", "next")),
            (v4, "!q", QUEUE, ()),
            (HOST, "!done", QUEUE, ("queue", "done")),
        ]
        newcomer = [(f"late{day}", text, None, exp) for text, exp in _signup_lines(f"late{day}", "mentee", day)]
        mentee = day % len(MENTEES)
        mentor_lane = [(MENTORS[mentee % 2], f'!session log {MENTEES[mentee]} 30m "day {day} review"', None, ())]
        add(start + timedelta(seconds=20), _merge(answers, queue, newcomer, mentor_lane), timedelta(seconds=20))
    return steps


# ---------------------------------------------------------------------------- durable logs


class DurableLog:
    """Append-only JSON lines, each written with one write() and (``sync``) fsynced before returning."""

    def __init__(self, path: Path, sync: bool = True):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.sync = sync

    def add(self, record: dict[str, Any]) -> None:
        os.write(self.fd, (json.dumps(record) + "\n").encode())
        if self.sync:
            os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


def read_log(path: Path) -> list[dict[str, Any]]:
    """The complete records (a line cut short by a kill was never acknowledged)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


class LoggingAdapter(MemoryAdapter):
    """Logs each message's outbox key before handing it over, like a platform that showed it."""

    def __init__(self, delivered: DurableLog, run: int):
        super().__init__("console")
        self.delivered, self.run = delivered, run

    async def send(self, event: Outbound) -> Delivery:
        self.delivered.add({"run": self.run, "key": event.key})
        await super().send(event)
        return SENT


# ---------------------------------------------------------------------------- the crash mode


def replies_of(app: App, step_no: int) -> list[str]:
    """The bot's replies to step ``step_no`` as committed (also after a replay the engine ignored)."""
    with Session(app.database) as s:
        rows = s.exec(
            select(OutboxMessage).where(col(OutboxMessage.key).startswith(f"console:s{step_no}:")).order_by(col(OutboxMessage.id))
        ).all()
    return [r.payload["text"] for r in rows]


async def play(db: Path, state: Path, run: int, days: int, durable: bool = True) -> int:
    """Play the stream from the first step not acknowledged; returns how many steps were played.

    ``durable=False`` is the reference run: nothing is killed, so nothing needs to reach the disk."""
    state.mkdir(parents=True, exist_ok=True)
    steps = build_stream(days)
    done = {r["i"] for r in read_log(state / "ack.log")}
    first = next((i for i in range(len(steps)) if i not in done), len(steps))
    ack = DurableLog(state / "ack.log", sync=durable)
    delivered = DurableLog(state / "delivered.log", sync=durable)
    clock = FakeClock(steps[min(first, len(steps) - 1)].at)
    adapter = LoggingAdapter(delivered, run)
    settings = settings_for(db, "full" if durable else "normal")
    app = App(settings, clock=clock, adapters=[adapter], rng=random.Random(7))
    await app.start(schedule=False)
    await app.engine.flush_outbox()  # what a crash left unsent goes out first
    print(f"ready {first}", flush=True)
    for i in range(first, len(steps)):
        step = steps[i]
        clock.set(step.at)
        if step.who is None:
            await app.engine.run_due()
            out: list[str] = []
        else:
            await adapter.sink(  # type: ignore[misc]
                TextReceived(Identity("console", step.who, step.who), Where("console", step.channel), step.text, event_id=f"s{i}")
            )
            out = replies_of(app, i)
        adapter.said.clear()
        ack.add({"i": i, "out": out})
    await app.engine.flush_outbox()
    await app.stop()
    ack.close()
    delivered.close()
    print("done", flush=True)
    return len(steps) - first


# ---------------------------------------------------------------------------- the load mode


def load_lines(who: str, rounds: int) -> list[tuple[str, str | None]]:
    """What one person does: an interview, profile changes, queue traffic, status questions."""
    lines: list[tuple[str, str | None]] = [(text, None) for text, _ in _signup_lines(who, "mentee", 1)]
    for n in range(rounds):
        lines += [
            (f"!profile set goal Goal number {n} of {who}", None),
            ("!q join", QUEUE),
            ("!q", QUEUE),
            ("!q leave", QUEUE),
            ("!whoami", None),
            (f"!away until 2027-02-{1 + n % 27:02d} travelling", None),
            ("!back", None),
        ]
    return lines


async def load(db: Path, prefix: str, people: int, rounds: int, platforms: int, synchronous: str = "full") -> dict[str, Any]:
    """``people`` at once (one task each) over several adapters, all on one database file that
    other processes may be writing too. Returns what was answered and every bad answer."""
    adapters = [MemoryAdapter("console")] + [MemoryAdapter(p) for p in ("irc", "matrix", "discord")[: platforms - 1]]
    app = App(settings_for(db, synchronous), clock=FakeClock(SETUP_AT), adapters=list(adapters), rng=random.Random(7))
    await app.start(schedule=False)
    print("ready", flush=True)
    console = adapters[0]
    # Whoever comes first opens the round and the queue; the others are told it is open already.
    await console.say("you", '!round open "2027 Q1" 2027-01-01 2027-03-31')
    await console.say("you", "!oh open", QUEUE)
    answered = 0
    bad: list[str] = []

    async def person(n: int) -> None:
        nonlocal answered
        adapter = adapters[n % len(adapters)]
        who = f"{prefix}p{n}"
        for text, channel in load_lines(who, rounds):
            before = len(adapter.said)
            await adapter.say(who, text, channel)
            await app.engine.senders.settle(60)  # the answer goes out beside the engine
            mine = [s.text for s in adapter.said[before:] if s.target.startswith(f"dm {who}") or s.text.startswith(f"{who}:")]
            answered += bool(mine)
            if not mine:
                bad.append(f"no answer to {who}: {text}")
            bad.extend(f"{who}: {text} -> {t}" for t in mine if "something went wrong" in t)

    await asyncio.gather(*(person(n) for n in range(people)))
    await app.stop()
    return {"answered": answered, "bad": bad[:20]}


# ---------------------------------------------------------------------------- the fork server


def serve() -> int:
    """Import everything once, then fork a fresh bot process per ``crash ...`` line on stdin.

    Starting Python and importing SQLAlchemy, alembic and the features costs a second or more on
    a busy 2-core machine; forking a process that has done it costs milliseconds, so the test
    can afford many kills. The server never opens the database: each child opens its own
    connections, so a child killed by SIGKILL is an ordinary crashed bot.

    Lines on stdin: ``crash ARGS`` forks a child (answer ``pid N``; the child prints ``ready
    ...`` and ``done``), ``kill`` sends it SIGKILL, ``wait`` reaps it (answer ``exit N STATUS``).
    Only ``wait`` reaps, so ``kill`` can never hit another process that reused the id."""
    import alembic.command  # noqa: F401 - preloaded for the children
    import alembic.config  # noqa: F401
    from chatbot.features import all_features

    all_features()
    print("serving", flush=True)
    child = None
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["kill"] and child is not None:
            os.kill(child, signal.SIGKILL)  # a child that finished is a zombie until reaped: harmless
        elif words[:1] == ["wait"] and child is not None:
            _, status = os.waitpid(child, 0)
            print(f"exit {child} {status}", flush=True)
            child = None
        elif words[:1] == ["crash"] and child is None:
            child = os.fork()
            if child == 0:
                code = 1
                try:
                    code = main(words)
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            print(f"pid {child}", flush=True)
        else:
            print(f"error: cannot {line.strip()!r} now", flush=True)
    if child is not None:  # the test ended early: leave nothing running
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    return 0


# ---------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("crash")
    c.add_argument("--db", type=Path, required=True)
    c.add_argument("--state", type=Path, required=True)
    c.add_argument("--run", type=int, required=True)
    c.add_argument("--days", type=int, default=5)
    c.add_argument("--reference", action="store_true", help="an uninterrupted run to compare with: no fsync")
    sub.add_parser("serve")
    ld = sub.add_parser("load")
    ld.add_argument("--db", type=Path, required=True)
    ld.add_argument("--who", required=True)
    ld.add_argument("--people", type=int, default=6)
    ld.add_argument("--rounds", type=int, default=10)
    ld.add_argument("--platforms", type=int, default=2)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if args.mode == "serve":
        return serve()
    if args.mode == "crash":
        asyncio.run(play(args.db, args.state, args.run, args.days, durable=not args.reference))
    else:
        summary = asyncio.run(load(args.db, args.who, args.people, args.rounds, args.platforms))
        print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
