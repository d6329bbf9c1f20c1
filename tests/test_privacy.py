"""A person's own data: export all of it, erase all of it (from the file too), retention."""

from __future__ import annotations

import json
import re

from sqlmodel import Session, select

from storage.tables import Member, OutboxMessage
from tests.harness import Bot

GOAL = "Land my first patch in core"


async def test_export_holds_every_record_about_the_person(bot):
    await bot.pair("alice", "bob")
    await bot.say("alice", "!mydata export", channel="#general")
    assert bot.channel("#general") == ["alice: I've sent you the answer in a private message."]  # private
    out = bot.dm("alice")[-1]
    lines = out.splitlines()
    assert lines[0].startswith("Everything stored about you:")
    tables = {line.split(":", 1)[0] for line in lines[1:]}
    assert {"member", "identity", "signup", "pair", "member_role", "outbox"} <= tables
    signup = next(json.loads(line.split(": ", 1)[1]) for line in lines if line.startswith("signup:"))
    assert signup["goal"] == GOAL
    assert not any('"handle": "bob"' in line for line in lines)  # nobody else's profile


async def test_delete_asks_first_then_erases_everywhere_including_the_file(tmp_path, database):
    bot = await Bot.start(tmp_path)
    try:
        await bot.pair("alice", "bob")
        asked = (await bot.say("alice", "!mydata delete"))[0]
        code = re.search(r"send !mydata delete ([A-Z2-9]{6}) within 10 minutes", asked)
        assert code, asked
        with Session(bot.app.db) as s:
            assert s.exec(select(Member).where(Member.handle == "alice")).first() is not None
        out = await bot.say("alice", f"!mydata delete {code[1]}")
        assert out[0] == "Done: everything stored about alice is erased. If you write again you start as a new member."
        assert bot.dm("bob")[-1] == "alice has left the programme and their records were erased at their request."
        with Session(bot.app.db) as s:
            assert s.exec(select(Member).where(Member.handle == "alice")).first() is None
            payloads = [json.dumps(r.payload) for r in s.exec(select(OutboxMessage))]
        assert not any(GOAL in p for p in payloads)  # bob's introduction named alice's goal
        assert "You have no mentees yet." in (await bot.say("bob", "!mentees"))[0]
        if database.kind != "sqlite":
            return  # a server's files are its own; the rows are gone, checked above
        files = list(tmp_path.glob("bot.db*"))  # the live files, the WAL included, while the bot runs
        assert len(files) >= 2
        for path in files:
            assert GOAL.encode() not in path.read_bytes(), path
    finally:
        await bot.stop()


async def test_retention_purges_old_delivered_messages_only_when_configured(tmp_path):
    bot = await Bot.start(tmp_path, config={"admins": ["console:you"], "privacy": {"retention_days": 30}})
    try:
        await bot.say("alice", "!help")
        await bot.advance("31d")
        await bot.say("alice", "!whoami")
        with Session(bot.app.db) as s:
            rows = s.exec(select(OutboxMessage)).all()
        assert [r.payload["text"][:7] for r in rows] == ["You are"]
    finally:
        await bot.stop()


async def test_without_retention_nothing_is_purged(bot):
    await bot.say("alice", "!help")
    await bot.advance("400d")
    with Session(bot.app.db) as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1


async def test_export_follows_records_that_hang_off_the_persons_records(bot):
    await bot.pair("alice", "bob")
    await bot.say("alice", "!goal step add Read the contributor guide")
    out = (await bot.say("alice", "!mydata export"))[0]
    assert any(line.startswith("goal_step:") and "Read the contributor guide" in line for line in out.splitlines())


async def test_delete_said_in_a_channel_erases_nothing_and_a_wrong_or_late_code_is_refused(tmp_path):
    """`!mydata delete confirm` typed in #office-hours used to erase the person in one step."""
    bot = await Bot.start(tmp_path)
    try:
        await bot.pair("alice", "bob")
        out = await bot.say("alice", "!mydata delete confirm", channel="#office-hours")
        assert out == ["Send !mydata delete to me in a private message."] and bot.channel("#office-hours") == []
        assert "Your check-ins" in (await bot.say("alice", "!checkins"))[0]  # still there
        asked = (await bot.say("alice", "!mydata delete"))[0]
        code = re.search(r"send !mydata delete ([A-Z2-9]{6})", asked)[1]  # type: ignore[index]
        wrong = "AAAAAA" if code != "AAAAAA" else "BBBBBB"
        assert await bot.say("alice", f"!mydata delete {wrong}") == [
            "That is not the code I gave you. Send !mydata delete for a new one."]
        assert await bot.say("alice", "!mydata delete confirm") == [
            "That is not the code I gave you. Send !mydata delete for a new one."]
        await bot.advance("11m")
        assert await bot.say("alice", f"!mydata delete {code}") == [
            "That code has expired or was never given: send !mydata delete for a new one."]
        with Session(bot.app.db) as s:
            assert s.exec(select(Member).where(Member.handle == "alice")).first() is not None
    finally:
        await bot.stop()


async def test_an_erasure_keeps_the_rounds_session_counts_and_says_what_stays(bot):
    """After deepa's erasure the round's totals shrank (6 sessions, 4h40m -> 4, 3h10m)."""
    await bot.pair("alice", "bob")
    await bot.pair("carol", "bob")
    await bot.say("bob", "!session log alice 45m testing")
    await bot.say("bob", "!session log alice 45m review")
    await bot.say("bob", "!session log carol 1h docs")
    before = (await bot.say("you", "!session totals"))[0].splitlines()[0]
    assert before == "2027 Q1: 3 sessions, 2h30m in all."
    asked = (await bot.say("alice", "!mydata delete"))[0]
    assert "What stays is the round's anonymous counts" in asked
    code = re.search(r"send !mydata delete ([A-Z2-9]{6})", asked)[1]  # type: ignore[index]
    await bot.say("alice", f"!mydata delete {code}")
    after = (await bot.say("you", "!session totals"))[0].splitlines()
    assert after[0] == "2027 Q1: 3 sessions, 2h30m in all. Of these, 2 sessions, 1h30m were with people who have left the programme."
    assert after[1].startswith("bob: 1 session, 1h")  # the pair that is left, by name
    assert "In all: 3 sessions, 2h30m." in (await bot.say("you", "!session list"))[0]
