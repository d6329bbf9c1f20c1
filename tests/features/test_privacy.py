"""A person's own data: export all of it, erase all of it (from the file too), retention."""

from __future__ import annotations

import json
import re

from sqlmodel import Session, select

from chatbot.cli import main
from chatbot.features.privacy import data_file
from storage.aside import AsideInterview
from storage.repos import Repos
from storage.tables import Member, OutboxMessage
from tests.harness import START, Bot
from tests.features.test_charts_in_chat import FilesAdapter

GOAL = "Land my first patch in core"


async def test_export_is_a_readable_file_that_does_not_grow_with_each_export(bot):
    """One 37,749-byte DM of raw JSON with "attempts" and "next_attempt_at"; the second 80 KB."""
    files = await bot.add(FilesAdapter())
    await bot.say("alice", "!help", platform="files")
    out = await bot.say("alice", "!mydata export", channel="#general", platform="files")
    assert out[0] == "alice: I've sent you the answer in a private message."
    assert out[1].startswith("Everything stored about you: 2 records in 2 tables (member 1, identity 1).")
    assert out[1].endswith("The file follows in the next message.")
    await bot.say("alice", "!mydata export", platform="files")
    (first_dm, first), (second_dm, second) = files.files
    assert first.name == f"mentorbot-data-alice-{START.date().isoformat()}.json" and first.media_type == "application/json"
    assert first_dm.text == f"Your records, as a file: {first.name}"
    one, two = json.loads(first.data), json.loads(second.data)
    assert one["records"] == two["records"] and one["records"]["member"][0]["handle"] == "alice"
    assert b"attempts" not in second.data and b"Everything stored" not in second.data  # nor the first export
    assert b'\n  "records": {\n' in first.data  # indented, to be read


async def test_where_no_file_can_be_sent_the_answer_says_how_to_get_it(bot, capsys):
    await bot.pair("alice", "bob")
    await bot.say("bob", "!session log alice 45m testing | Keen, needs help with git rebase")
    (out,) = await bot.say("alice", "!mydata export")
    assert "signup 1" in out and "pair 1" in out and "outbox" not in out
    assert out.endswith("I can't send files here: ask an admin to run mentorbot export mydata alice --json FILE for you, "
                        "or send !mydata export to me on a platform that takes files.")
    assert main(["export", "mydata", "alice", "--json", "-", "--db", bot.settings.database.url]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["records"]["signup"][0]["goal"] == GOAL
    # the README's choice: a mentor's notes about the person are theirs to read
    assert document["records"]["session_log"][0]["notes"] == "Keen, needs help with git rebase"
    assert main(["export", "mydata", "nobody", "--json", "-", "--db", bot.settings.database.url]) == 2


async def test_delete_asks_first_then_erases_everywhere_including_the_file(tmp_path, database):
    bot = await Bot.start(tmp_path)
    try:
        await bot.pair("alice", "bob")
        asked = (await bot.say("alice", "!mydata delete"))[0]
        code = re.search(r"send !mydata delete ([A-Z2-9]{6}) within 10 minutes", asked)
        assert code, asked
        with Session(bot.app.database) as s:
            assert s.exec(select(Member).where(Member.handle == "alice")).first() is not None
        out = await bot.say("alice", f"!mydata delete {code[1]}")
        assert out[0] == "Done: everything stored about alice is erased. If you write again you start as a new member."
        assert bot.dm("bob")[-1] == "alice has left the programme."
        assert bot.dm("you")[-1] == "alice has left the programme."  # who coordinates (here the configured admin)
        with Session(bot.app.database) as s:
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
        with Session(bot.app.database) as s:
            rows = s.exec(select(OutboxMessage)).all()
        assert [r.payload["text"][:7] for r in rows] == ["You are"]
    finally:
        await bot.stop()


async def test_without_retention_nothing_is_purged(bot):
    await bot.say("alice", "!help")
    await bot.advance("400d")
    with Session(bot.app.database) as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1


async def test_export_follows_records_that_hang_off_the_persons_records(bot):
    await bot.pair("alice", "bob")
    await bot.say("alice", "!goal step add Read the contributor guide")
    await bot.say("alice", "!mydata export")
    out = capture_export(bot, "alice")
    assert any(step["text"] == "Read the contributor guide" for step in out["records"]["goal_step"])


def capture_export(bot: Bot, handle: str) -> dict:
    with Session(bot.app.database) as s:
        repos = Repos(s)
        member = repos.members.by_handle(handle)
        assert member is not None and member.id is not None
        return json.loads(data_file(member, repos.privacy.export(member.id), START).data)


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
        with Session(bot.app.database) as s:
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
    assert "What stays is the round's anonymous counts (sessions, check-ins, assessments" in asked
    code = re.search(r"send !mydata delete ([A-Z2-9]{6})", asked)[1]  # type: ignore[index]
    await bot.say("alice", f"!mydata delete {code}")
    after = (await bot.say("you", "!session totals"))[0].splitlines()
    assert after[0] == "2027 Q1: 3 sessions, 2h30m in all. With people who have left the programme: 2 sessions, 1h30m."
    assert after[1].startswith("bob: 1 session, 1h")  # the pair that is left, by name
    assert "In all: 3 sessions, 2h30m." in (await bot.say("you", "!session list"))[0]


async def test_an_interview_put_aside_is_in_the_export_and_goes_with_the_erasure(bot):
    await bot.say("you", '!round open "2027 Q1" 2027-01-01 2027-03-31')
    await bot.say("alice", "!signup mentee")
    await bot.say("alice", "Europe/Berlin")
    await bot.say("alice", "!later")
    [aside] = capture_export(bot, "alice")["records"]["aside_interview"]
    assert (aside["flow"], aside["step"], aside["data"]["timezone"]) == ("signup", "languages", "Europe/Berlin")
    code = re.search(r"!mydata delete ([A-Z2-9]{6})", (await bot.say("alice", "!mydata delete"))[0])
    assert code
    await bot.say("alice", f"!mydata delete {code[1]}")
    with Session(bot.app.database) as s:
        assert s.exec(select(AsideInterview)).all() == []
