"""Replies never wait for delivery: the engine commits and returns, background senders send.

What a user would notice: one person's burst of answers does not hold up a call in a channel;
answers go before a fan-out of prompts; a message is sent once even when a flush runs while it
waits in a slow sender; one failing handler of a group does not cost the others their answers;
a message that keeps failing is set aside while the rest go out; a claim left by a process that
died is sent again."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

from sqlmodel import Session, select

from adapters.console import MemoryAdapter
from chatbot.commands import CommandSpec, Example
from chatbot.context import Context, Feature
from chatbot.delivery.fairness import BULK, URGENT, FairQueue, Pending
from chatbot.delivery.records import apply_results, decode
from chatbot.delivery.sender import claimant_gone, process_owner
from chatbot.events import SENT, Delivery, DirectMessage, Identity, Outbound, TextReceived, Where
from storage.outbox import OutboxRepo
from storage.tables import OutboxMessage, Round
from tests.harness import Bot
from tests.servers import wait_until


def item(n: int, recipient: str, priority: int = URGENT, group: str | None = None) -> Pending:
    return Pending(n, "console", None, recipient, priority, DirectMessage(Identity("console", recipient, recipient), f"m{n}"), group)


def drain(queue: FairQueue) -> list[int]:
    """Send one turn at a time, as a platform with strict pacing does."""
    order = []
    while turn := queue.take():
        order += [item.outbox_id for item in turn]
        queue.done(turn)
    return order


# ---------------------------------------------------------------------------- the order of sending


def test_a_burst_to_one_person_does_not_hold_up_a_call_in_the_channel():
    queue = FairQueue()
    for n in range(1, 11):  # ten answers to alice's ten !help
        queue.add(item(n, "@alice"))
    queue.add(item(11, "#oh"))  # the host's !next, half a second later
    order = drain(queue)
    assert order.index(11) <= 1  # after at most alice's first answer
    assert [n for n in order if n != 11] == list(range(1, 11))  # alice's answers still in order


def test_answers_go_before_a_fan_out_of_prompts():
    queue = FairQueue()
    for n in range(1, 10_001):
        queue.add(item(n, f"@mentee{n}", BULK))
    queue.add(item(20_000, "#oh"))
    assert [item.outbox_id for item in queue.take()] == [20_000]
    assert len(queue) == 10_000


def test_one_events_messages_to_a_recipient_go_in_one_turn():
    queue = FairQueue()
    for n, to in [(1, "#oh"), (2, "#oh"), (3, "@alice")]:  # !next: the answer, the call, the DM
        queue.add(item(n, to, group="e1"))
    assert [i.outbox_id for i in queue.take()] == [1, 2]
    assert drain(queue) == [3]


def test_a_recipients_order_holds_when_an_answer_follows_a_prompt():
    queue = FairQueue()
    queue.add(item(1, "@bob", BULK))  # a check-in prompt
    queue.add(item(2, "@carol", BULK))
    queue.add(item(3, "@alice", BULK))
    queue.add(item(4, "@alice"))  # alice answered a command meanwhile
    order = drain(queue)
    assert order[:2] == [3, 4]  # alice has an answer waiting: her turn comes first, in her order
    assert sorted(order) == [1, 2, 3, 4]


def test_a_recipient_in_line_keeps_its_place_when_more_arrives():
    queue = FairQueue()
    queue.add(item(1, "@bob"))
    queue.add(item(2, "@alice"))
    queue.add(item(3, "@bob", BULK))
    assert drain(queue)[:2] == [1, 2]


def test_a_recipient_has_one_turn_in_flight_at_a_time():
    queue = FairQueue()
    queue.add(item(1, "@alice", group="e1"))
    queue.add(item(2, "@alice", group="e2"))
    first = queue.take()
    assert [i.outbox_id for i in first] == [1] and queue.take() == []  # the second waits for the first
    queue.done(first)
    assert [i.outbox_id for i in queue.take()] == [2]


# ---------------------------------------------------------------------------- the sender


A = TypeVar("A", bound=MemoryAdapter)


async def use(bot: Bot, adapter: A) -> A:
    """``adapter`` serves the console platform from now on (its sender included)."""
    adapter.said = bot.said
    bot.adapters["console"] = adapter
    bot.engine.attach(adapter)
    await adapter.start(bot.engine.handle, bot.engine.specs)
    return adapter


class SlowAdapter(MemoryAdapter):
    """A platform whose sends wait until the test lets them through."""

    def __init__(self) -> None:
        super().__init__("console")
        self.gate = asyncio.Event()
        self.waiting = 0

    async def send(self, event: Outbound) -> Delivery:
        self.waiting += 1
        await self.gate.wait()
        self.waiting -= 1
        return await super().send(event)


async def test_a_flush_while_messages_wait_in_a_slow_sender_sends_each_once(tmp_path):
    bot = await Bot.start(tmp_path)
    slow = await use(bot, SlowAdapter())
    try:
        for n in range(3):
            await slow.say(f"p{n}", "!whoami")  # answered (committed) while the platform is stuck
        await wait_until(lambda: slow.waiting, what="a send waiting on the platform")
        await bot.engine.run_due()  # the scheduler's tick and its flush, while all that waits
        await bot.engine.run_due()
        slow.gate.set()
        await bot.settle()
        assert sorted(s.target for s in bot.said) == ["dm p0", "dm p1", "dm p2"]
        with Session(bot.app.database) as s:
            rows = s.exec(select(OutboxMessage)).all()
        assert [(r.status, r.attempts) for r in rows] == [("sent", 1)] * 3
    finally:
        await bot.stop()


async def test_a_busy_sender_does_not_read_back_the_messages_it_holds(tmp_path, monkeypatch):
    """A tick's read of the outbox while answers wait on a slow platform: what the sender holds
    in memory is not read back (during a fan-out that was thousands of rows at every tick)."""
    read: list[int] = []
    due = OutboxRepo.due
    monkeypatch.setattr(OutboxRepo, "due", lambda self, *a, **k: read.append(len(rows := due(self, *a, **k))) or rows)
    bot = await Bot.start(tmp_path)
    slow = await use(bot, SlowAdapter())
    try:
        for n in range(3):
            await slow.say(f"p{n}", "!whoami")
        await wait_until(lambda: slow.waiting, what="a send waiting on the platform")
        read.clear()
        bot.engine.senders.poke()  # what a tick's flush does
        await wait_until(lambda: read, what="the sender reading the outbox")
        assert sum(read) == 0
        slow.gate.set()
        await bot.settle()
        assert sorted(s.target for s in bot.said) == ["dm p0", "dm p1", "dm p2"]
    finally:
        await bot.stop()


async def test_answers_past_the_senders_capacity_wait_in_the_outbox_and_all_go_once(tmp_path):
    """They are read as room frees, before the sender says it is done (it used to drop the wish
    to read when there was no room, and leave them for its next poll)."""
    bot = await Bot.start(tmp_path)
    slow = await use(bot, SlowAdapter())
    sender = bot.engine.senders.add(slow)
    sender.settings = replace(sender.settings, capacity=2)
    try:
        for n in range(5):
            await slow.say(f"p{n}", "!whoami")  # answered while the platform is stuck: 3 do not fit
        await wait_until(lambda: slow.waiting, what="a send waiting on the platform")
        slow.gate.set()
        await bot.settle()
        assert sorted(s.target for s in bot.said) == [f"dm p{n}" for n in range(5)]
        with Session(bot.app.database) as s:
            assert [(r.status, r.attempts) for r in s.exec(select(OutboxMessage))] == [("sent", 1)] * 5
    finally:
        await bot.stop()


class TickingAdapter(MemoryAdapter):
    """A platform whose every send ends just as a scheduler tick asks the senders to look at the
    outbox: the message is out, its mark not yet written."""

    def __init__(self, bot: Bot) -> None:
        super().__init__("console")
        self.bot = bot
        self.tries: list[str] = []

    async def send(self, event: Outbound) -> Delivery:
        to = getattr(event, "to", None)
        self.tries.append(to.account if to else "?")
        if to is not None and to.account == "dora":  # a platform that refuses dora for good
            delivery = Delivery("undeliverable", "cannot send private messages to this user")
        else:
            delivery = await super().send(event)
        self.bot.engine.senders.poke()
        return delivery


async def test_a_tick_between_a_send_and_its_mark_sends_nothing_twice(tmp_path):
    bot = await Bot.start(tmp_path)
    ticking = await use(bot, TickingAdapter(bot))
    try:
        for name in ("alice", "bob", "dora", "carol"):
            await ticking.say(name, "!whoami")
        await bot.settle()
        assert sorted(ticking.tries) == ["alice", "bob", "carol", "dora"]  # each tried once
        with Session(bot.app.database) as s:
            assert sorted((r.status, r.attempts) for r in s.exec(select(OutboxMessage)).all()) == [
                ("sent", 1), ("sent", 1), ("sent", 1), ("undeliverable", 1)]
    finally:
        await bot.stop()


class RefusingAdapter(MemoryAdapter):
    """A platform that answers 5xx for one person's messages (a server in trouble)."""

    def __init__(self) -> None:
        super().__init__("console")
        self.failing: set[str] = set()
        self.tries: list[str] = []

    async def send(self, event: Outbound) -> Delivery:
        to = getattr(event, "to", None)
        if to is not None and to.account in self.failing:
            self.tries.append(to.account)
            return Delivery("failed", "HTTP 503")
        return await super().send(event)


async def test_a_message_that_keeps_failing_is_set_aside_while_the_others_go(tmp_path):
    bot = await Bot.start(tmp_path)
    refusing = await use(bot, RefusingAdapter())
    try:
        refusing.failing.add("alice")
        assert await bot.say("alice", "!whoami") == []
        for name in ("bob", "carol"):
            assert (await bot.say(name, "!whoami"))[0].startswith(f"You are {name}")
        assert refusing.tries == ["alice"]  # tried once, then set aside: not retried in a loop
        with Session(bot.app.database) as s:
            [row] = s.exec(select(OutboxMessage).where(OutboxMessage.recipient == "@alice")).all()
        assert (row.status, row.attempts) == ("pending", 1) and row.next_attempt_at > bot.clock.now()
        refusing.failing.clear()
        bot.clock.advance(timedelta(seconds=31))  # its retry falls due
        await bot.tick()
        assert bot.dm("alice")[-1].startswith("You are alice")
    finally:
        await bot.stop()


# ---------------------------------------------------------------------------- group commit


async def _explode(ctx: Context) -> str:
    ctx.repos.rounds.add("half written", ctx.now.date(), ctx.now.date(), None, ctx.now)
    ctx.repos.db.flush()
    raise RuntimeError("boom")


EXPLODING = Feature(
    name="exploding",
    commands=(CommandSpec(("explode",), "fails", roles=("member",), handler=_explode, examples=(Example("!explode", "wrong"),)),),
)


async def test_one_failing_handler_of_a_group_rolls_back_alone(tmp_path, monkeypatch):
    # the time bound of a group is not under test: on a busy machine (or a database server a
    # round trip away) three handlers can take longer than it, and the group would split
    monkeypatch.setattr("chatbot.engine.GROUP_SECONDS", 60.0)
    bot = await Bot.start(tmp_path, extra_features=(EXPLODING,))
    groups: list[int] = []
    handle_group = bot.engine._handle_group

    async def counted(group):  # noqa: ANN001, ANN202
        groups.append(len(group))
        return await handle_group(group)

    bot.engine._handle_group = counted  # type: ignore[method-assign]
    try:
        lines = [("you", '!round open "2027 Q1" 2027-01-01 2027-03-31'), ("bob", "!explode"), ("carol", "!whoami")]
        events = [TextReceived(Identity("console", who, who), Where("console"), text) for who, text in lines]
        await asyncio.gather(*(bot.engine.handle(e) for e in events))
        assert groups == [3]  # the three were waiting together: one transaction
        await bot.settle()
        assert bot.dm("you")[-1].startswith("Round 2027 Q1 is open")
        assert "something went wrong on my side" in bot.dm("bob")[-1]
        assert bot.dm("carol")[-1].startswith("You are carol")
        with Session(bot.app.database) as s:
            assert [r.name for r in s.exec(select(Round)).all()] == ["2027 Q1"]  # not "half written"
    finally:
        await bot.stop()


async def test_a_group_takes_at_most_its_count_of_the_events_waiting(tmp_path, monkeypatch):
    """One transaction is bounded in count too: a burst waiting at once is handled in groups of
    at most ``GROUP_EVENTS``, every event answered once."""
    monkeypatch.setattr("chatbot.engine.GROUP_SECONDS", 60.0)  # only the count is under test
    monkeypatch.setattr("chatbot.engine.GROUP_EVENTS", 4)
    bot = await Bot.start(tmp_path)
    groups: list[int] = []
    handle_group = bot.engine._handle_group

    async def counted(group):  # noqa: ANN001, ANN202
        groups.append(len(group))
        return await handle_group(group)

    bot.engine._handle_group = counted  # type: ignore[method-assign]  # a spy on the bound method
    try:
        events = [TextReceived(Identity("console", f"p{n}", f"p{n}"), Where("console"), "!whoami") for n in range(10)]
        await asyncio.gather(*(bot.engine.handle(e) for e in events))
        assert max(groups) == 4 and sum(groups) == 10
        await bot.settle()
        assert sorted(s.target for s in bot.said) == sorted(f"dm p{n}" for n in range(10))
    finally:
        await bot.stop()


async def test_a_burst_bigger_than_the_inbox_is_all_answered(tmp_path, monkeypatch):
    monkeypatch.setattr("chatbot.engine.INBOX_LIMIT", 4)
    bot = await Bot.start(tmp_path)
    try:
        events = [TextReceived(Identity("console", f"p{n}", f"p{n}"), Where("console"), "!whoami") for n in range(40)]
        await asyncio.gather(*(bot.engine.handle(e) for e in events))
        await bot.settle()
        assert sorted(s.target for s in bot.said) == sorted(f"dm p{n}" for n in range(40))
    finally:
        await bot.stop()


async def test_stopping_handles_and_commits_what_was_accepted(tmp_path):
    bot = await Bot.start(tmp_path)
    events = [TextReceived(Identity("console", f"p{n}", f"p{n}"), Where("console"), "!whoami") for n in range(20)]
    handled = [asyncio.create_task(bot.engine.handle(e)) for e in events]
    await asyncio.sleep(0)  # they are accepted (queued), none handled yet
    await bot.stop()
    await asyncio.gather(*handled)
    assert len(bot.said) == 20  # handled, committed and sent before the senders stopped


# ---------------------------------------------------------------------------- claims


def dead_senders(bot: Bot) -> None:
    """This process records but never sends (its messages are another process's to send)."""
    bot.engine.senders.push = lambda items: None  # type: ignore[method-assign]
    bot.engine.senders.poke = lambda: None  # type: ignore[method-assign]


def _claimed(bot: Bot, owner: str, until_seconds: float) -> None:
    with Session(bot.app.database) as s:
        for row in s.exec(select(OutboxMessage)).all():
            row.status, row.claimed_by = "sending", owner
            row.claimed_until = bot.clock.now() + timedelta(seconds=until_seconds)
            s.add(row)
        s.commit()


async def test_a_message_another_live_sender_holds_is_not_sent_again(tmp_path):
    bot = await Bot.start(tmp_path)
    try:
        dead_senders(bot)
        await bot.say("alice", "!whoami")
        live = f"{process_owner().split(':')[0]}:1:other"  # pid 1 is always alive
        _claimed(bot, live, 60)
        await bot.restart()
        await bot.tick()
        assert bot.dm("alice") == []  # in flight elsewhere: left alone until its lease runs out
        bot.clock.advance(timedelta(seconds=61))
        await bot.tick()
        assert bot.dm("alice")[-1].startswith("You are alice")
    finally:
        await bot.stop()


async def test_a_claim_left_by_a_killed_process_is_sent_again_at_start(tmp_path):
    bot = await Bot.start(tmp_path)
    try:
        dead_senders(bot)
        await bot.say("alice", "!whoami")
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()  # a process that claimed, then died (its id is free now)
        _claimed(bot, f"{process_owner().split(':')[0]}:{gone.pid}:dead", 3600)
        await bot.restart()
        await bot.settle()
        assert bot.dm("alice")[-1].startswith("You are alice")
    finally:
        await bot.stop()


def test_claimants_are_judged_by_their_process():
    me = process_owner()
    host = me.split(":")[0]
    assert not claimant_gone(me, me)
    assert claimant_gone(f"{host}:{os.getpid()}:earlier", me)  # an earlier run of this process
    assert not claimant_gone(f"{host}:1:x", me)  # alive
    assert not claimant_gone("elsewhere:123:x", me)  # another host: its lease decides


async def test_a_message_given_up_in_a_round_cannot_be_claimed_again_in_the_same_round(tmp_path):
    """The outcome of a send and the next claims share one transaction: a refused message must
    not be claimed (and sent) again there because its new status was not written yet."""
    bot = await Bot.start(tmp_path)
    try:
        dead_senders(bot)
        await bot.say("dora", "!whoami")
        with Session(bot.app.database) as s:
            [row] = s.exec(select(OutboxMessage)).all()
            owner, now = row.claimed_by, bot.clock.now()
            item = Pending(row.id, "console", row.member_id, row.recipient, row.priority, decode(row.payload))
            outbox = OutboxRepo(s)
            apply_results(outbox, [(item, Delivery("undeliverable", "50007"))], now)
            assert outbox.claim("console", [row.id], owner, now + timedelta(seconds=60), now) == set()
    finally:
        await bot.stop()


async def test_a_sender_claims_only_its_platform_and_skips_rows_another_process_is_claiming(tmp_path, database):
    """Several processes over one database: a claim takes rows of the sender's own platform only,
    and (PostgreSQL, FOR UPDATE SKIP LOCKED) neither waits for nor takes rows another process is
    claiming in a transaction still open."""
    bot = await Bot.start(tmp_path)
    try:
        dead_senders(bot)
        await bot.say("dora", "!whoami")
        await bot.say("erin", "!whoami")
        now, until = bot.clock.now(), bot.clock.now() + timedelta(seconds=60)
        with Session(bot.app.database) as s:
            ids = [row.id for row in s.exec(select(OutboxMessage).order_by(OutboxMessage.id))]
            OutboxRepo(s).release([bot.engine.senders.owner], now)
            s.commit()
        with Session(bot.app.database) as s:
            assert OutboxRepo(s).claim("irc", ids, "irc-process", until, now) == set()
        if database.kind != "postgresql":
            return  # SQLite has no row locks: its writers take turns on the file
        with Session(bot.app.database) as first, Session(bot.app.database) as second:
            assert OutboxRepo(first).claim("console", ids[:1], "one", until, now) == set(ids[:1])
            began = asyncio.get_running_loop().time()
            assert OutboxRepo(second).claim("console", ids, "two", until, now) == set(ids[1:])
            assert asyncio.get_running_loop().time() - began < 1.0  # skipped, not waited for
            first.commit()
            second.commit()
    finally:
        await bot.stop()


async def test_a_bookkeeping_round_that_fails_keeps_its_outcomes_and_sends_nothing_twice(tmp_path, monkeypatch):
    """A round's transaction fails after a send (the database hiccuped): the outcome is recorded
    by the next round, not forgotten, or the message would still be claimed as ours, unsent, and
    go out again at the next read of the outbox."""
    from chatbot.delivery import sender as sender_module

    real, failures = sender_module.apply_results, []

    def flaky(outbox, results, now):  # noqa: ANN001, ANN202
        if results and not failures:
            failures.append(len(results))
            raise RuntimeError("the database went away for a moment")
        return real(outbox, results, now)

    monkeypatch.setattr(sender_module, "apply_results", flaky)
    bot = await Bot.start(tmp_path)
    try:
        out = await bot.say("dora", "!whoami")
        assert failures == [1]
        await bot.settle()  # a read of the outbox after the failed round, and another
        await bot.settle()
        assert len(out) == 1 and [s.text for s in bot.said].count(out[0]) == 1
        with Session(bot.app.database) as s:
            assert [r.status for r in s.exec(select(OutboxMessage))] == ["sent"]
    finally:
        await bot.stop()
