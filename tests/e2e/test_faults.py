"""Faults a real deployment meets: the process killed at any instant, and many writers at once.

The crash test SIGKILLs a real bot process (tests/crash_driver.py, synchronous=FULL) at seeded
random instants while sign-up interviews, check-in answers and queue commands run, restarts it
each time, and checks after every kill that the file is intact, every acknowledged answer is
stored and nothing was delivered twice beyond the one window an outbox cannot close (a message
handed to the platform just before the kill, not yet marked sent: it goes again at start-up with
the same key, which Matrix uses as its transaction id). At the end the records and the replies
must be exactly those of an uninterrupted run of the same stream.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import random
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, create_engine, select as sql_select

from chatbot.commands import Arg, CommandSpec
from chatbot.events import CommandInvoked, Identity, TextReceived, Where
from chatbot.features import all_features
from storage.checkins import ANSWERED, Checkin
from storage.office_hours import OhEntry
from storage.tables import Conversation, Member, OutboxMessage, PlatformIdentity, ProcessedEvent, Signup
from tests.crash_driver import MENTEES, MENTORS, Step, build_stream, load, load_lines, read_log
from tests.harness import Bot

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
DAYS = 5
KILLS = 15
SEED = int(os.environ.get("FAULT_SEED", "11"))  # another seed explores other kill instants
#: outbox columns that record delivery, which a crash legitimately changes (when, how often)
DELIVERY_COLUMNS = {"status", "attempts", "last_error", "sent_at", "next_attempt_at", "claimed_by", "claimed_until"}
#: kv namespaces of running state, not records (the supervisor's adapter health, with real times)
RUNNING_STATE = ("health",)


# ---------------------------------------------------------------------------- processes


def driver(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.crash_driver", *args],
        cwd=ROOT, env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


class Lines:
    """A child's stdout read line by line with a deadline (no blocking read, no sleep)."""

    def __init__(self, proc: subprocess.Popen[bytes]):
        assert proc.stdout is not None
        self.stdout, self.buf = proc.stdout, b""

    def next(self, *prefixes: bytes, timeout: float = 60) -> bytes | None:
        """The next line starting with one of ``prefixes`` (others are skipped); None at EOF."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if line.startswith(prefixes):
                    return line
            left = deadline - time.monotonic()
            assert left > 0, f"no {prefixes} line within {timeout} s"
            ready, _, _ = select.select([self.stdout], [], [], left)
            if ready:
                chunk = os.read(self.stdout.fileno(), 4096)
                if not chunk:
                    return None
                self.buf += chunk

    def push_back(self, line: bytes) -> None:
        self.buf = line + b"\n" + self.buf


class ForkServer:
    """tests/crash_driver.py ``serve``: forks a fresh bot process per run (see there why) and
    kills it on request; only the server reaps, so a kill never reaches a reused process id."""

    def __init__(self) -> None:
        self.proc = driver("serve")
        self.out = Lines(self.proc)
        assert self.out.next(b"serving") is not None

    def tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def run(self, *args: str) -> None:
        self.tell(" ".join(args))
        assert self.out.next(b"pid ", b"error") is not None

    def ready(self) -> None:
        assert self.out.next(b"ready") is not None, "the bot exited before it was ready"

    def kill(self) -> None:
        self.tell("kill")

    def wait(self, timeout: float = 120) -> int:
        """The child's wait status once it is gone (-9 killed, 0 finished the stream)."""
        self.tell("wait")
        found = self.out.next(b"exit ", timeout=timeout)
        assert found is not None
        status = int(found.split()[2])
        return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)

    def stop(self) -> str:
        _out, err = self.proc.communicate(timeout=60)  # closing stdin ends the server
        return err.decode()


# ---------------------------------------------------------------------------- what the file holds


def integrity(db: Path) -> tuple[str, list[Any]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0], conn.execute("PRAGMA foreign_key_check").fetchall()


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, minus the delivery bookkeeping, running state and random ``auto:`` key tails."""
    with closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        out = {}
        for table in tables:
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            keep = [c for c in cols if not (table == "outbox" and c in DELIVERY_COLUMNS)]
            rows = conn.execute(f"SELECT {', '.join(keep)} FROM {table}").fetchall()
            if table == "kv":
                rows = [r for r in rows if r[0] not in RUNNING_STATE]
            if table == "outbox":
                k = keep.index("key")
                rows = [tuple("auto:" if i == k and str(v).startswith("auto:") else v for i, v in enumerate(r)) for r in rows]
            out[table] = sorted(rows, key=repr)
        return out


#: the column an office-hours command sets to the moment it ran
QUEUE_COLUMNS = {
    "open": None, "join": OhEntry.joined_at, "leave": OhEntry.ended_at, "next": OhEntry.called_at, "done": OhEntry.ended_at,
}


class Stored:
    """Reads the records an acknowledged step promised, through the project's tables."""

    def __init__(self, db: Path):
        self.engine = create_engine(f"sqlite:///{db}")
        self.s = Session(self.engine)

    def close(self) -> None:
        self.s.close()
        self.engine.dispose()

    def member(self, who: str) -> Member | None:
        ident = (PlatformIdentity.platform == "console") & (PlatformIdentity.account == who)
        stmt = sql_select(Member).join(PlatformIdentity).where(ident)
        return self.s.exec(stmt).first()

    def replies(self) -> dict[int, list[str]]:
        replies = col(OutboxMessage.key).startswith("console:s")
        rows = self.s.exec(sql_select(OutboxMessage).where(replies)).all()
        out: dict[int, list[tuple[int, str]]] = {}
        for r in rows:
            step, n = r.key.split(":")[1:3]
            out.setdefault(int(step[1:]), []).append((int(n), r.payload["text"]))
        return {k: [t for _, t in sorted(v)] for k, v in out.items()}

    def processed(self) -> set[int]:
        ids = self.s.exec(sql_select(ProcessedEvent.event_id).where(ProcessedEvent.platform == "console")).all()
        return {int(e[1:]) for e in ids}

    def outbox_status(self) -> dict[str, str]:
        return {r.key: r.status for r in self.s.exec(sql_select(OutboxMessage)).all()}

    def holds(self, step: Step) -> str | None:
        """None when the record the step promised is there, else what is missing."""
        me = self.member(step.who)
        if me is None:
            return f"{step.who} is unknown"
        kind = step.expect[0]
        if kind == "signup":
            conv = self.s.get(Conversation, me.id)
            done = self.s.exec(sql_select(Signup).where(Signup.member_id == me.id)).first()
            ok = done is not None or (conv is not None and step.expect[1] in conv.data)
            return None if ok else f"{step.who}'s answer for {step.expect[1]} is lost"
        if kind == "signup-start":
            conv = self.s.get(Conversation, me.id)
            done = self.s.exec(sql_select(Signup).where(Signup.member_id == me.id)).first()
            return None if conv is not None or done is not None else f"{step.who}'s interview is lost"
        if kind == "checkin":
            rows = self.s.exec(sql_select(Checkin).where(Checkin.mentee_id == me.id, Checkin.status == ANSWERED)).all()
            return None if any(r.answers == step.expect[1] for r in rows) else f"{step.who}'s check-in answer is lost"
        if kind == "queue":  # the entry the command changed carries the step's instant
            column = QUEUE_COLUMNS[step.expect[1]]
            if column is None:
                return None
            found = self.s.exec(sql_select(OhEntry).where(column == step.at)).first()
            return None if found is not None else f"{step.who}'s {step.text} at {step.at} is lost"
        raise AssertionError(f"unknown expectation {step.expect}")


def check_after_kill(db: Path, state: Path, steps: list[Step], in_doubt: Counter[str]) -> int:
    """The checks after one kill; returns how many steps are acknowledged so far."""
    if not db.exists():
        return 0
    ok, broken_keys = integrity(db)
    assert ok == "ok" and broken_keys == [], (ok, broken_keys)
    acked = read_log(state / "ack.log")
    if not acked:
        return 0  # killed while the first start-up was migrating: the next start must finish it
    stored = Stored(db)
    try:
        replies, processed = stored.replies(), stored.processed()
        for rec in acked:
            step = steps[rec["i"]]
            if step.who is None:
                continue  # a tick: what it sends is checked through the deliveries
            assert rec["i"] in processed, f"acknowledged step {rec['i']} ({step.text!r}) was not recorded as handled"
            assert replies.get(rec["i"], []) == rec["out"], f"step {rec['i']}: acknowledged replies differ from the stored ones"
            if step.expect:
                missing = stored.holds(step)
                assert missing is None, f"after a kill, step {rec['i']} ({step.who}: {step.text!r}): {missing}"
        status = stored.outbox_status()
        for key in {d["key"] for d in read_log(state / "delivered.log")}:
            if status.get(key) != "sent":
                in_doubt[key] += 1  # shown by the platform, not yet marked: start-up sends it again
    finally:
        stored.close()
    return len(acked)


# ---------------------------------------------------------------------------- the crash test


def acknowledged(state: Path) -> int:
    path = state / "ack.log"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def wait_acknowledged(state: Path, target: int, timeout: float = 60) -> None:
    """Poll (with a deadline) until the bot acknowledged ``target`` steps."""
    deadline = time.monotonic() + timeout
    while acknowledged(state) < target:
        assert time.monotonic() < deadline, f"fewer than {target} steps acknowledged after {timeout} s"
        time.sleep(0.002)


def kill_and_restart(tmp_path: Path, steps: list[Step], rng: random.Random) -> tuple[list[int], Counter[str]]:
    """KILLS runs each killed at a random instant, then one run to the end of the stream.
    Returns the steps acknowledged at each kill and how often each message was in doubt.

    Kills land at a random step a few steps on and at a random instant inside it (the time a
    start-up and a step take is measured on the way), so they spread over the whole stream on
    an idle machine and on a loaded one alike. Every fifth kill lands while the bot starts."""
    db, state = tmp_path / "bot.db", tmp_path / "state"
    server = ForkServer()
    in_doubt: Counter[str] = Counter()
    progress: list[int] = []
    boot, per_step = 0.5, 0.02  # first guesses, in seconds
    try:
        for run in range(KILLS):
            started = time.monotonic()
            server.run("crash", "--db", str(db), "--state", str(state), "--run", str(run), "--days", str(DAYS))
            if run % 5 == 0:
                time.sleep(rng.uniform(0.0, boot))  # the fault injected: a kill while starting
            else:
                server.ready()
                ready, done = time.monotonic(), acknowledged(state)
                boot = ready - started
                target = min(len(steps), done + rng.randint(1, 2 * len(steps) // (KILLS + 4)))
                wait_acknowledged(state, target)
                per_step = (time.monotonic() - ready) / max(1, target - done)
                time.sleep(rng.uniform(0.0, per_step))  # the fault injected: somewhere in the next step
            server.kill()
            status = server.wait()
            assert status in (-signal.SIGKILL, 0), f"run {run} ended with {status}"
            progress.append(check_after_kill(db, state, steps, in_doubt))
        server.run("crash", "--db", str(db), "--state", str(state), "--run", str(KILLS), "--days", str(DAYS))
        assert server.wait() == 0, "the last run did not finish the stream"
    finally:
        err = server.stop()
    assert "Traceback" not in err and "OperationalError" not in err, err[-3000:]
    check_after_kill(db, state, steps, in_doubt)
    return progress, in_doubt


def test_a_killed_bot_keeps_every_acknowledged_answer_and_resends_only_in_doubt(tmp_path):
    steps = build_stream(DAYS)
    # The uninterrupted run to compare with, on the other core meanwhile.
    reference = driver("crash", "--db", str(tmp_path / "ref.db"), "--state", str(tmp_path / "ref"), "--run", "0",
                       "--days", str(DAYS), "--reference")
    try:
        progress, in_doubt = kill_and_restart(tmp_path, steps, random.Random(SEED))
        _out, ref_err = reference.communicate(timeout=120)
    finally:
        if reference.poll() is None:
            reference.kill()
            reference.communicate()
    assert reference.returncode == 0, ref_err.decode()[-3000:]
    kills_while_running = sum(1 for a, b in zip([0, *progress], progress) if b > a)
    assert kills_while_running >= KILLS // 2, f"most kills should land mid-stream: {progress}"

    # Every step acknowledged once, saying what the uninterrupted bot said.
    acked = read_log(tmp_path / "state" / "ack.log")
    assert sorted(r["i"] for r in acked) == list(range(len(steps)))
    expected = {r["i"]: r["out"] for r in read_log(tmp_path / "ref" / "ack.log")}
    for rec in acked:
        assert rec["out"] == expected[rec["i"]], f"step {rec['i']} {steps[rec['i']].text!r}: {rec['out']} != {expected[rec['i']]}"
    # The same records as the uninterrupted run: interviews resumed, nothing doubled or lost.
    got, want = dump(tmp_path / "bot.db"), dump(tmp_path / "ref.db")
    assert got.keys() == want.keys()
    for table in want:
        assert got[table] == want[table], f"table {table} differs from the uninterrupted run"
    assert len(got["signup"]) == len(MENTORS) + len(MENTEES) + DAYS

    # Every message delivered; twice only when it was in doubt at a kill.
    sent = Counter(d["key"] for d in read_log(tmp_path / "state" / "delivered.log"))
    with closing(sqlite3.connect(tmp_path / "bot.db")) as conn:
        outbox = dict(conn.execute("SELECT key, status FROM outbox").fetchall())
    assert set(outbox.values()) == {"sent"}
    assert set(sent) == set(outbox), "a message was lost, or one not in the outbox was sent"
    twice = {k: n for k, n in sent.items() if n > 1 + in_doubt[k]}
    assert twice == {}, f"sent more than once without a crash in between: {twice}"
    print(f"\n{len(steps)} steps, {KILLS} kills, acknowledged by kill: {progress}; "
          f"{len(outbox)} messages, {sum(n - 1 for n in sent.values())} resent after a kill "
          f"(in doubt: {sum(in_doubt.values())})")


# ---------------------------------------------------------------------------- many writers at once

LOCK_ERRORS = ("database is locked", "OperationalError", "Traceback")


async def test_twenty_people_at_once_over_four_platforms_are_all_answered(tmp_path, caplog):
    """20 conversations interleaved on one engine (interviews, queue, profile, away mode)."""
    with caplog.at_level(logging.WARNING):
        summary = await load(tmp_path / "bot.db", "t", people=20, rounds=1, platforms=4, synchronous="normal")
    assert summary["bad"] == []
    assert summary["answered"] == 20 * len(load_lines("tp0", 1))
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or "locked" in r.getMessage()]


def test_three_bot_processes_and_a_backup_share_one_file_without_lock_errors(tmp_path):
    """Three bots started at once on a new file (so they migrate it at once too), each with four
    people writing, and a `mentorbot backup` taken while they write."""
    db = tmp_path / "shared.db"
    procs = {w: driver("load", "--db", str(db), "--who", w, "--people", "4", "--rounds", "1", "--platforms", "2") for w in "abc"}
    outs = {w: Lines(p) for w, p in procs.items()}
    for w in procs:
        assert outs[w].next(b"ready") is not None, procs[w].communicate(timeout=30)[1].decode()[-2000:]
    backup = subprocess.run(
        [sys.executable, "-m", "chatbot", "backup", "--db", str(db), str(tmp_path / "copy.db")],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=60,
    )
    assert backup.returncode == 0, backup.stderr
    summaries = {}
    for w, proc in procs.items():
        line = outs[w].next(b"{", timeout=120)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and line is not None, err.decode()[-2000:]
        assert not [e for e in LOCK_ERRORS if e in err.decode()], err.decode()[-2000:]
        summaries[w] = json.loads(line)
    per_process = 4 * len(load_lines("ap0", 1))
    assert {w: (s["answered"], s["bad"]) for w, s in summaries.items()} == {w: (per_process, []) for w in "abc"}
    assert integrity(db) == ("ok", []) and integrity(tmp_path / "copy.db") == ("ok", [])
    with Session(create_engine(f"sqlite:///{db}")) as s:
        signups = s.exec(sql_select(Signup)).all()
    assert len(signups) == 12  # every interview of every process finished


# ---------------------------------------------------------------------------- malformed input
# tests/features/test_commands.py fuzzes text from a person with no role, so the engine refuses most
# commands before their arguments reach a handler. Here the people may run everything (admins
# who are also a paired mentee and her mentor), so every handler meets odd but well-formed
# arguments, slash commands with any option values, and interviews get any answer.

FUZZ_SKIP = {("mydata", "delete"), ("withdraw",)}  # they would end the fuzzers' own records
FUZZ_SPECS = [s for f in all_features() for s in f.commands if s.path not in FUZZ_SKIP]
ODD = {
    "int": ["0", "-1", "1", "2", "7", "9223372036854775807", "1e3", "٣"],
    "date": ["2027-02-30", "0001-01-01", "9999-12-31", "2027-01-04", "2026-12-31", "2027-13-01"],
    "time": ["00:00", "23:59", "24:00", "9:5", "10:00"],
    "duration": ["1", "1440", "1441", "0m", "24h", "1h30m", "90"],
    "timezone": ["UTC", "Europe/Berlin", "etc/gmt+14", "Asia/Kathmandu", "America/St_Johns", "Mars/Base"],
    "member": ["alice", "bob", "you", "nobody", "@bob:x", "<@42>", "console:alice", "irc:", "#oh", "ALICE"],
    "word": ["x", "all", "last", "2", "#oh", "none"],
    "text": ["a", "none", "1. a 2. b 3. none 4. 5", "a | b | none | 4", "mon,thu 10:00", "daily 25:00"],
}
junk = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


def arg_value(arg: Arg) -> st.SearchStrategy[str]:
    pool = list(arg.choices) or ODD[arg.kind]
    return st.one_of(st.sampled_from(pool), junk)


@st.composite
def invocation(draw: st.DrawFn) -> tuple[CommandSpec, dict[str, str]]:
    spec = draw(st.sampled_from(FUZZ_SPECS))
    values = {}
    for arg in spec.args:
        if arg.required or draw(st.booleans()):
            values[arg.name] = draw(arg_value(arg))
    return spec, values


def quoted(value: str) -> str:
    return f'"{value}"' if any(c.isspace() for c in value) and '"' not in value else value


BUG_REPLY = re.compile(r"(^|: )Sorry, something went wrong on my side \(ref ")


class SyncBot:
    """A bot on its own event loop, for the synchronous tests hypothesis drives."""

    def __init__(self, tmp: Path, setup: list[tuple[str, str, str | None]]):
        self.loop = asyncio.new_event_loop()
        self.bot = self.loop.run_until_complete(Bot.start(tmp))
        self.loop.run_until_complete(self.bot.pair("alice", "bob"))
        for who, text, channel in setup:
            self.say(who, text, channel)
        self.newcomers = itertools.count()

    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return "SyncBot()"

    def say(self, who: str, text: str, channel: str | None = None) -> list[str]:
        return self.loop.run_until_complete(self.bot.say(who, text, channel=channel))

    def answer(self, event: TextReceived | CommandInvoked) -> list[str]:
        """The bot's answer to the event; fails on the reply the engine gives for a bug."""
        before = len(self.bot.said)
        self.loop.run_until_complete(self.bot.handle(event))
        out = [s.text for s in self.bot.said[before:]]
        assert out, f"no answer to {event}"
        assert not any(BUG_REPLY.search(o) for o in out), (event, out)
        return out

    def close(self) -> None:
        self.loop.run_until_complete(self.bot.stop())
        self.loop.close()


@pytest.fixture(scope="module")
def deep_bot(tmp_path_factory):
    """Alice and Bob, her mentor, are both admins; Bob hosts an open queue in #oh."""
    setup = [("you", "!role grant alice admin", None), ("you", "!role grant bob admin", None),
             ("you", "!role grant bob host", None), ("bob", "!oh open", "#oh")]
    bot = SyncBot(tmp_path_factory.mktemp("deep"), setup)
    yield bot
    bot.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=invocation(), who=st.sampled_from(["alice", "bob"]), channel=st.sampled_from([None, "#oh"]))
def test_every_handler_answers_odd_arguments_without_a_bug(deep_bot, call, who, channel):
    spec, values = call
    text = " ".join(["!" + spec.name, *(quoted(v) for v in values.values())])
    deep_bot.answer(TextReceived(Identity("console", who, who), Where("console", channel), text))
    deep_bot.say(who, "!cancel")  # an interview the line began must not eat the next one


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=invocation(), extra=st.dictionaries(st.sampled_from(["", "x", "who", "value"]), junk, max_size=1),
       blank=st.booleans(), channel=st.sampled_from([None, "#oh"]))
def test_slash_commands_with_any_option_values_are_answered(deep_bot, call, extra, blank, channel):
    spec, values = call
    options = {**values, **extra}
    if blank and options:  # Discord sends an empty string for a cleared option
        options[next(iter(options))] = " "
    deep_bot.answer(CommandInvoked(Identity("console", "bob", "bob"), Where("console", channel), spec.path, options))
    deep_bot.say("bob", "!cancel")


@pytest.fixture(scope="module")
def interview_bot(tmp_path_factory):
    """Its own bot, so the commands fuzzed above cannot undo the pair the interviews need."""
    bot = SyncBot(tmp_path_factory.mktemp("interviews"), [("alice", "!checkin did a thing | next thing | none | 4", None)])
    yield bot
    bot.close()


STARTS = {
    "!signup mentee": None, "!signup mentor": None,  # None: a newcomer each time
    "!checkin": "alice", "!checkin edit": "alice", "!assess": "alice", "!assess review alice": "bob",
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.sampled_from(sorted(STARTS)),
       answers=st.lists(st.one_of(junk, st.sampled_from(sum(ODD.values(), []))), min_size=1, max_size=5))
def test_interviews_take_any_answer_without_a_bug(interview_bot, start, answers):
    """Whatever is typed in an interview gets an answer: the next question, the same question
    with what was wrong, or the end."""
    who = STARTS[start] or f"new{next(interview_bot.newcomers)}"
    for text in [start, *answers]:
        interview_bot.answer(TextReceived(Identity("console", who, who), Where("console", None), text))
    interview_bot.say(who, "!cancel")


async def test_a_number_too_large_to_store_is_a_usage_error(bot):
    await bot.pair("alice", "bob")
    for line in ("!session delete 99999999999999999999", "!session edit 99999999999999999999 topic x"):
        out = await bot.say("bob", line)
        assert not any(BUG_REPLY.search(o) for o in out), out
        assert "usage: !session" in out[0]
