"""The hot commands run a bounded number of statements (issue 24): counted with an SQLAlchemy
event listener, not timed. Each count is of the statements the engine runs for the event
inside its savepoint (the per-command path and the handler, not the group's BEGIN/COMMIT or
the background sender's bookkeeping), so it does not depend on timing.

The bounds are the counts after the prebuilt statements of issue 24 (before: a check-in answer
18, `!session log` 13, `!q join` 15, `!profile` 7, `!q leave` 12, a replayed event 2; then the
check-in answer 16: its interview's ``closed`` check is not asked twice, and nothing is read to
resume when no interview was paused; then the check-in answer 14 and `!session log` 9: a message
whose key is recorded already is left out by the insert, not found by a query first, and the
check-in row is read once; then one less each, as the event's record moved out of its savepoint:
a group records all its events in one statement; then `!q leave` 6: the line is read as its
first two plain rows, and the hosts only when one of those two is still to be told; `!q join` reads
the line's summary, one row, instead of every entry; then `!q join` 10: the hosts on duty and
whom they are with are one statement, not two; then `!q join` 9 and `!q leave` 5: the open hour
and the asker's place in its line are one statement; then `!q join` 8: the line's summary comes
with them; then 7: the hosts are read with what a DM to them needs; then 6: with a host free for
them, the channel's help lengths are not read, since the wait is none whatever a help takes;
the check-in answer 11: the mentors and which of them read a digest in one statement, and
whether the mentee is still paired with the check-in's row in another; `!session log` 6: the
pair, its round and the pair's totals so far in one statement, where it read the pairs, the
round and every log): a change that adds a query to one of these paths (a lookup per
command, an ORM load where a prebuilt statement did) fails here and should be a choice."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from chatbot.context import Context
from chatbot.events import Identity, TextReceived, Where
from storage.db import open_database, reader
from storage.progress import MentoringSession
from storage.repos import Repos
from storage.tables import OutboxMessage, PlatformIdentity
from tests.harness import Bot, statements
from tests.features.test_checkins import paired_db, paired_templates, run_until, start, utc  # noqa: F401 (fixtures)


@contextmanager
def in_savepoint(bot: Bot) -> Iterator[list[str]]:
    """The statements of the next event, between its SAVEPOINT and that savepoint's RELEASE."""
    seen: list[str] = []
    with statements(bot.engine.database) as every:
        yield seen
    first = next(i for i, s in enumerate(every) if s.startswith("SAVEPOINT"))
    name = every[first].split()[1]
    last = every.index(f"RELEASE SAVEPOINT {name}", first)
    seen += every[first + 1:last]


async def test_a_check_in_answer_runs_at_most_11_statements(tmp_path, paired_db):  # noqa: F811
    bot = await start(tmp_path, paired_db)
    try:
        await run_until(bot, utc(2027, 1, 4, 9, 30))
        with in_savepoint(bot) as seen:
            out = await bot.say("alice", "1. fixed the flaky test 2. review the patch 3. none 4. 4", event_id="e1")
        assert out[0].startswith("Thanks, saved! bob will see it.")
        assert len(seen) <= 11, "\n".join(seen)
        # the replay of the same event is recognised in the statement that records its group's
        # events, and nothing else runs for it (not even a savepoint)
        with statements(bot.engine.database) as again:
            assert await bot.say("alice", "1. fixed the flaky test 2. review the patch 3. none 4. 4", event_id="e1") == []
        engines = [s for s in again if "outbox" not in s]  # (not the sender's look at the outbox after it)
        assert [s.split()[0] for s in engines] == ["INSERT"], again
    finally:
        await bot.stop()


@pytest.fixture
async def paired(tmp_path):
    bot = await Bot.start(tmp_path)
    await bot.pair("alice", "bob")
    await bot.say("you", "!oh open Patches", channel="#oh")
    yield bot
    await bot.stop()


@pytest.mark.parametrize(
    ("who", "text", "channel", "expected", "at_most"),
    [
        ("bob", '!session log alice 45m "review"', None, "Logged session 1", 6),
        ("alice", "!q join rebasing", "#oh", "alice", 6),
        ("alice", "!profile", None, "alice", 5),
    ],
)
async def test_hot_commands_run_a_bounded_number_of_statements(paired, who, text, channel, expected, at_most):
    with in_savepoint(paired) as seen:
        out = await paired.say(who, text, channel=channel, event_id="e1")
    assert expected in out[0]
    assert len(seen) <= at_most, "\n".join(seen)


async def test_leaving_the_line_runs_a_bounded_number_of_statements(paired):
    await paired.say("alice", "!q join rebasing", channel="#oh")
    with in_savepoint(paired) as seen:
        out = await paired.say("alice", "!q leave", channel="#oh", event_id="e2")
    assert "alice" in out[0] or "line" in out[0]
    assert len(seen) <= 5, "\n".join(seen)


async def test_a_role_granted_counts_at_the_next_command(paired):
    """Roles are read with the member in every transaction, never cached: no stale gate."""
    assert "is for" in (await paired.say("alice", "!oh open Other", channel="#other"))[0]
    await paired.say("you", "!role grant alice host")
    assert "is for" not in (await paired.say("alice", "!oh open Other", channel="#other"))[0]
    await paired.say("you", "!role revoke alice host")
    assert "is for" in (await paired.say("alice", "!oh close", channel="#other"))[0]


async def test_an_answer_goes_out_without_a_claim_of_its_own_and_is_marked_sent(paired):
    """The engine records its answers as claimed by this process's sender, which sends them
    without a claim transaction (one durable commit less per answer, each under the engine's
    lock) and still marks them sent."""
    with statements(paired.engine.database, "UPDATE outbox") as updates:
        out = await paired.say("alice", "!profile")
    assert "alice" in out[0]
    claims = [s for s in updates if "sent_at" not in s]
    marks = [s for s in updates if "sent_at" in s]
    assert claims == [] and len(marks) == 1, updates
    with Session(paired.engine.database) as db:
        assert db.exec(select(OutboxMessage.status)).all() == ["sent"] * len(db.exec(select(OutboxMessage.id)).all())


async def test_a_message_whose_key_is_recorded_already_is_left_out_without_a_query_first(paired):
    """A job may queue what is due without remembering what it sent: a key recorded by an
    earlier unit of work, or twice in one, gives one row. The database leaves the repeat out
    (``INSERT ... ON CONFLICT DO NOTHING``), with no query for the recorded keys first."""
    engine = paired.engine

    def queue_twice() -> tuple[list[int], list[str]]:
        with Session(engine.database, expire_on_commit=False) as db, statements(engine.database) as seen:
            ctx = Context(engine, Repos(db), paired.clock.now(), bulk=True)
            alice = ctx.repos.members.by_handle("alice")
            assert alice is not None
            ctx.dm(alice, "your check-in is due", key="due:alice:1")
            ctx.dm(alice, "your check-in is due", key="due:alice:1")
            recorded = [p.outbox_id for p in engine.record(ctx)]
            db.commit()
        return recorded, [s for s in seen if "outbox" in s]

    first, statements_first = queue_twice()
    again, statements_again = queue_twice()
    assert len(first) == 1 and again == []
    assert [s.split()[0] for s in statements_first] == ["INSERT"] == [s.split()[0] for s in statements_again]
    with Session(engine.database) as db:
        assert len(db.exec(select(OutboxMessage).where(OutboxMessage.key == "due:alice:1")).all()) == 1


async def test_a_command_that_fails_still_records_the_visit(paired):
    """The visit (an identity's ``last_seen``) is written with a prebuilt UPDATE inside the
    event's savepoint; when the handler fails, that savepoint is undone, and the answer's own
    savepoint must write it again, not trust the loaded object (which the ORM did not see
    change, so would not expire)."""
    paired.clock.advance(timedelta(minutes=30))  # past SEEN_TOUCH_INTERVAL: this visit is written
    out = await paired.say("alice", "!q join rebasing", channel="#nowhere")
    assert "#nowhere" in out[0] or "office hours" in out[0].lower(), out
    with Session(paired.engine.database) as db:
        ident = db.exec(select(PlatformIdentity).where(PlatformIdentity.account == "alice")).one()
    assert ident.last_seen == paired.clock.now()


async def test_a_row_read_by_key_is_read_once_in_a_unit_of_work(paired):
    """The identity map holds objects weakly: a member read to choose a language and dropped
    was read again for the DM that followed (office hours' "you're next"). ``by_key`` holds
    what it read until the next unit of work (a new ``Repos``) on the session."""
    with Session(paired.engine.database) as db:
        alice = db.exec(select(PlatformIdentity.member_id).where(PlatformIdentity.account == "alice")).one()
    with Session(paired.engine.database) as db, statements(paired.engine.database, "SELECT") as seen:
        repos = Repos(db)
        assert repos.members.get(alice).handle == "alice"  # the object is dropped here
        gc.collect()
        assert repos.members.get(alice) is not None
        assert len(seen) == 1, seen
        repos = Repos(db)  # the next event: read afresh
        gc.collect()
        assert repos.members.get(alice) is not None
        assert len(seen) == 2, seen


def _whoami(who: str, event_id: str) -> TextReceived:
    return TextReceived(Identity("console", who, who), Where("console"), "!whoami", event_id=event_id)


async def test_a_group_records_its_events_in_one_statement_and_a_repeat_in_it_is_a_replay(paired, monkeypatch):
    monkeypatch.setattr("chatbot.engine.GROUP_SECONDS", 60.0)  # the three wait together: one group
    events = [_whoami("alice", "g1"), _whoami("bob", "g2"), _whoami("alice", "g1")]
    with statements(paired.engine.database, "INSERT INTO processed_event") as recording:
        await asyncio.gather(*(paired.engine.handle(e) for e in events))
    await paired.settle()
    assert len(recording) == 1
    assert [s.target for s in paired.said[-2:]] == ["dm alice", "dm bob"]  # alice's repeat: not answered


async def test_events_a_groups_time_bound_leaves_for_the_next_group_are_not_taken_for_replays(paired, monkeypatch):
    """The group records its events before handling them; those its time bound leaves for the
    next group are unrecorded again (else the next group would take them for replays, and a
    crash before it would lose them)."""
    monkeypatch.setattr("chatbot.engine.GROUP_SECONDS", -1.0)  # every group handles one event
    before = len(paired.said)
    await asyncio.gather(*(paired.engine.handle(_whoami(who, f"t{n}")) for n, who in enumerate(["alice", "bob", "you"])))
    await paired.settle()
    assert sorted(s.target for s in paired.said[before:]) == ["dm alice", "dm bob", "dm you"]
    # an event handled, then repeated among those left for the next group, stays recorded: it
    # is not handled again (a session logged twice would show it; its answer would not, as
    # the outbox leaves out the repeat of its key)
    log = TextReceived(Identity("console", "bob", "bob"), Where("console"), '!session log alice 30m "x"', event_id="r1")
    await asyncio.gather(*(paired.engine.handle(e) for e in [log, _whoami("alice", "r2"), log]))
    await paired.settle()
    with Session(paired.engine.database) as db:
        assert len(db.exec(select(MentoringSession)).all()) == 1


def test_the_bots_database_engine_runs_its_statements_without_event_listeners(tmp_path):
    """An SQLAlchemy engine with any connection event listener sends every statement through
    its event dispatch (about 2 % of a command's function calls): SQLite's ``BEGIN IMMEDIATE``
    is the dialect's begin, and only the dashboard's reader has a listener of its own."""
    engine = open_database(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        read_only = reader(engine)
        assert not engine._has_events and read_only._has_events
        with engine.begin() as conn:
            assert conn.connection.dbapi_connection.in_transaction
    finally:
        engine.dispose()
