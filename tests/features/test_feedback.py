"""Feedback rounds as whole conversations: both sides asked on the window's date at the hour
where each lives, answers checked question by question, kept from the other side, reminders,
coordinators alerted once, away mode, answering early and a restart in the middle.

alice (mentee, Europe/Berlin) and bob (her mentor, America/New_York) were paired on Sunday
3 Jan 2027 in the round "2027 Q1" (1 Jan - 31 Mar). The first window ("initial", the end of
week 2) is Thursday 14 Jan: 14:00 in Berlin is 13:00 UTC, 14:00 in New York 19:00 UTC."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chatbot.cli import main
from tests.harness import Bot

UTC = timezone.utc
ALICE_ASKED = datetime(2027, 1, 14, 13, 0, tzinfo=UTC)
BOB_ASKED = datetime(2027, 1, 14, 19, 0, tzinfo=UTC)
ASKED = "Feedback time (initial, 2027 Q1)"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
async def bot(tmp_path):
    b = await Bot.prepared(tmp_path, "paired on Sunday", Bot.pair_on_sunday)
    yield b
    await b.stop()


async def at(bot: Bot, when: datetime) -> None:
    bot.clock.set(when)
    await bot.tick()


def asked(bot: Bot, who: str) -> list[str]:
    return [t for t in bot.dm(who) if ASKED in t]


async def answer_all(bot: Bot, who: str, answers: list[str]) -> list[str]:
    out: list[str] = []
    for text in answers:
        out = await bot.say(who, text)
    return out


ALICE_SAYS = ["2027-01-12", "2", "4", "none", "bob showed me how to rebase cleanly"]
BOB_FORM = "1. yesterday\n2. weekly\n3. 3\n4. exams may take all her time\n5. skip"


async def test_each_side_is_asked_at_the_hour_where_they_live(bot):
    await at(bot, utc(2027, 1, 14, 12, 59))
    assert asked(bot, "alice") == [] and asked(bot, "bob") == []
    await at(bot, ALICE_ASKED)
    [to_alice] = asked(bot, "alice")
    assert "a few questions about your mentor bob" in to_alice and "Only the coordinators read your answers." in to_alice
    assert "(1/5) When were you last in touch with bob?" in to_alice
    assert asked(bot, "bob") == []
    await at(bot, utc(2027, 1, 14, 18, 59))
    assert asked(bot, "bob") == []
    await at(bot, BOB_ASKED)
    [to_bob] = asked(bot, "bob")
    assert "about your mentee alice" in to_bob and "(1/5) When were you last in touch with alice?" in to_bob
    await at(bot, utc(2027, 1, 14, 20, 0))  # a later tick asks nobody again
    assert len(asked(bot, "alice")) == len(asked(bot, "bob")) == 1


async def test_answers_are_checked_one_question_at_a_time(bot):
    await at(bot, ALICE_ASKED)
    for wrong in ("hi", "?", "2027-02-30", "2027-03-01"):
        out = await bot.say("alice", wrong)
        assert "When were you last in touch with bob?" in out[-1], (wrong, out)
        assert "(2/5)" not in out[-1]
    assert "Please answer with a date like 2027-02-03, or today, yesterday, this week or none." in (await bot.say("alice", "hello"))[-1]
    assert "(2/5) How often do you and bob meet?" in (await bot.say("alice", "this week"))[-1]
    out = await bot.say("alice", "sometimes")
    assert "Please answer with one of: 1 weekly, 2 every two weeks, 3 monthly, 4 less often, 5 not yet." in out[-1]
    assert "(3/5) How are you progressing" in (await bot.say("alice", "every two weeks"))[-1]
    assert "from 1 (badly) to 5 (great)" in (await bot.say("alice", "great"))[-1]
    assert "(4/5) Is anything putting this pair at risk?" in (await bot.say("alice", "4"))[-1]
    assert "what puts the pair at risk" in (await bot.say("alice", "?"))[-1]
    assert "(5/5) Anything else" in (await bot.say("alice", "no"))[-1]
    assert "Please write a few words, or skip." in (await bot.say("alice", "hey"))[-1]
    out = await bot.say("alice", "skip")
    assert "Thanks, saved! Only the coordinators will read it." in out[-1]
    # her check-in (Thursday 10:00 in Berlin) was paused by the feedback, and carries on now
    assert "I've paused your check-in" in asked(bot, "alice")[0] and "Back to your check-in:" in out[-1]
    shown = "\n".join(await bot.say("you", "!feedback show alice"))
    assert "initial, alice about bob: last contact this week (since Mon 11 Jan) · every two weeks · progress 4/5 · no risk" in shown


def exported(bot: Bot, handle: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Everything ``!mydata export`` would send the person as a file (the admin's CLI prints it)."""
    capsys.readouterr()
    assert main(["export", "mydata", handle, "--json", "-", "--db", bot.settings.database.url]) == 0
    return capsys.readouterr().out


async def test_answers_stay_private_from_the_other_side(bot, capsys):
    await at(bot, ALICE_ASKED)
    await answer_all(bot, "alice", ALICE_SAYS)
    await at(bot, BOB_ASKED)
    out = await bot.say("bob", BOB_FORM)  # what a Discord form sends back
    assert "Thanks, saved!" in out[-1]
    for who, secret, commands in (
        ("bob", "rebase", ["!feedback", "!checkins", "!checkins alice", "!mentees", "!profile", "!profile alice", "!feedback show alice",
                           "!feedback status", "!mydata export"]),
        ("alice", "exams", ["!feedback", "!checkins", "!profile", "!profile bob", "!feedback show bob", "!feedback status", "!mydata export"]),
    ):
        for command in commands:
            seen = "\n".join(await bot.say(who, command))
            assert secret not in seen, (who, command, seen)
    assert not any("rebase" in t for t in bot.dm("bob")) and not any("exams" in t for t in bot.dm("alice"))
    assert "rebase" not in exported(bot, "bob", capsys) and "exams" not in exported(bot, "alice", capsys)
    assert "rebase" in exported(bot, "alice", capsys)  # her own answers are hers to take
    shown = "\n".join(await bot.say("you", "!feedback show bob"))
    assert "rebase" in shown and "exams may take all her time" in shown
    status = "\n".join(await bot.say("you", "!feedback status"))
    assert "Feedback (initial, 2027 Q1): 2 of 2 answered." in status and "alice and bob: mentor ✓, mentee ✓" in status


async def test_a_flagged_answer_alerts_the_coordinators_once(bot):
    await at(bot, ALICE_ASKED)
    await answer_all(bot, "alice", ["none", "5", "2", "none", "skip"])  # no contact yet
    await at(bot, BOB_ASKED)
    await bot.say("bob", BOB_FORM)
    await at(bot, utc(2027, 1, 14, 19, 1))
    alerts = [t for t in bot.dm("you") if "Feedback that needs a look" in t]
    assert len(alerts) == 2  # one per tick: alice's answer came in a tick before bob's
    assert "alice about bob (initial, 2027 Q1): no contact yet." in alerts[0]
    assert "bob about alice (initial, 2027 Q1): at risk: exams may take all her time." in alerts[1]
    await at(bot, utc(2027, 1, 25, 12, 0))  # well past the deadline: nothing more to say
    assert len([t for t in bot.dm("you") if "Feedback that needs a look" in t]) == 2


async def test_stale_last_contact_is_flagged(bot):
    await at(bot, ALICE_ASKED)
    await answer_all(bot, "alice", ["2026-12-30", "monthly", "3", "none", "skip"])
    await at(bot, utc(2027, 1, 14, 13, 1))
    [alert] = [t for t in bot.dm("you") if "Feedback that needs a look" in t]
    assert "alice about bob (initial, 2027 Q1): last contact 15 days ago." in alert


async def test_reminder_then_one_digest_of_missing_answers(bot):
    await at(bot, ALICE_ASKED)
    await at(bot, BOB_ASKED)
    await at(bot, utc(2027, 1, 17, 12, 59))
    assert not any("Reminder: your feedback" in t for t in bot.dm("alice"))
    await at(bot, utc(2027, 1, 17, 13, 0))
    [reminder] = [t for t in bot.dm("alice") if "Reminder: your feedback" in t]
    assert "about bob is still open until Thu 21 Jan 14:00 (Europe/Berlin)" in reminder.replace("\u202f", " ")
    assert "I'm waiting for your answer to: When were you last in touch with bob?" in reminder
    await at(bot, utc(2027, 1, 17, 19, 0))
    assert len([t for t in bot.dm("bob") if "Reminder: your feedback" in t]) == 1
    await at(bot, utc(2027, 1, 21, 20, 0))  # both deadlines passed since the last tick
    alerts = [t for t in bot.dm("you") if "Feedback that needs a look" in t]
    assert len(alerts) == 1
    assert "alice has not given feedback about their mentor bob (initial, 2027 Q1)." in alerts[0]
    assert "bob has not given feedback about their mentee alice (initial, 2027 Q1)." in alerts[0]
    for day in (22, 23, 28):
        await at(bot, utc(2027, 1, day, 12, 0))
    assert len([t for t in bot.dm("you") if "Feedback that needs a look" in t]) == 1
    assert len([t for t in bot.dm("alice") if "Reminder: your feedback" in t]) == 1
    status = "\n".join(await bot.say("you", "!feedback status"))
    assert "0 of 2 answered" in status and "alice and bob: mentor ✗, mentee ✗" in status


async def test_a_restart_in_the_middle_resumes_the_interview(bot):
    await at(bot, ALICE_ASKED)
    await answer_all(bot, "alice", ALICE_SAYS[:2])
    await bot.restart()
    assert "(3/5) How are you progressing" in (await bot.say("alice", "!feedback"))[-1]
    out = await answer_all(bot, "alice", ALICE_SAYS[2:])
    assert "Thanks, saved!" in out[-1]
    assert "rebase" in "\n".join(await bot.say("you", "!feedback show alice"))


async def test_early_answer_and_nothing_due(bot):
    out = await bot.say("alice", "!feedback")
    assert "No feedback is due from you now. The next one (initial, 2027 Q1) opens on Thu, 14 Jan 2027." in out[-1]
    bot.clock.set(utc(2027, 1, 14, 7, 0))  # 08:00 in Berlin on the window's date, before the questions
    out = await bot.say("alice", "!feedback")
    assert "a few questions about your mentor bob" in out[-1] and "(1/5) When were you last in touch with bob?" in out[-1]
    out = await answer_all(bot, "alice", ALICE_SAYS)
    assert "Thanks, saved!" in out[-1]
    await at(bot, ALICE_ASKED)
    assert len(asked(bot, "alice")) == 1  # the answer to !feedback: answered already, so not asked again
    out = await bot.say("alice", "!feedback")
    assert "The next one (midpoint, 2027 Q1) opens on Sun, 14 Feb 2027." in out[-1]


async def test_someone_away_is_asked_on_return_while_the_window_is_open(bot):
    await bot.say("alice", "!away until 2027-01-19")
    await at(bot, ALICE_ASKED)
    await at(bot, BOB_ASKED)
    assert asked(bot, "alice") == [] and len(asked(bot, "bob")) == 1
    await at(bot, utc(2027, 1, 19, 22, 59))  # 23:59 on the 19th in Berlin: still away
    assert asked(bot, "alice") == []
    await at(bot, utc(2027, 1, 19, 23, 0))
    assert len(asked(bot, "alice")) == 1


async def test_a_mentor_with_two_mentees_answers_one_pair_after_the_other(bot):
    for answer in ["!signup mentee", "Europe/Berlin", "en", "3", "programming", "testing", "Land a patch"]:
        await bot.say("carol", answer)
    assert "now mentors" in (await bot.say("you", "!match assign carol bob"))[0]
    await at(bot, BOB_ASKED)
    [to_bob] = asked(bot, "bob")
    assert "a few questions about each of alice and carol, one at a time" in to_bob
    out = await bot.say("bob", BOB_FORM)
    assert "Next, your feedback about carol:" in out[-1] and "(1/5) When were you last in touch with carol?" in out[-1]
    out = await answer_all(bot, "bob", ["today", "weekly", "5", "none", "skip"])
    assert "Thanks, saved!" in out[-1] and "Next, your feedback" not in out[-1]


async def test_a_french_mentee_is_asked_and_answers_in_french(bot):
    assert "fr" in "\n".join(await bot.say("alice", "!profile set language fr"))
    await at(bot, ALICE_ASKED)
    [to_alice] = [t for t in bot.dm("alice") if "Point d'étape (bilan initial, 2027 Q1)" in t]
    assert "quelques questions sur votre mentor bob" in to_alice
    assert "aujourd'hui, hier, cette semaine ou aucun" in to_alice
    assert "(2/5)" in (await bot.say("alice", "hier"))[-1]
    assert "(3/5)" in (await bot.say("alice", "toutes les deux semaines"))[-1]
    assert "(4/5)" in (await bot.say("alice", "4"))[-1]
    assert "(5/5)" in (await bot.say("alice", "aucun"))[-1]
    assert "Seuls les coordinateurs le liront." in (await bot.say("alice", "rien"))[-1]
    shown = "\n".join(await bot.say("you", "!feedback show alice"))
    assert "alice about bob: last contact Wed 13 Jan · every two weeks · progress 4/5 · no risk" in shown


async def test_a_mentee_with_a_co_mentor_answers_about_both_then_her_paused_check_in_resumes(bot):
    for answer in ["!signup mentor", "Europe/Berlin", "en", "3", "all", "testing", "2"]:
        await bot.say("erin", answer)
    assert "erin" in (await bot.say("you", "!match comentor alice erin"))[0]
    await at(bot, ALICE_ASKED)
    [to_alice] = asked(bot, "alice")
    assert "about each of bob and erin" in to_alice and "I've paused your check-in" in to_alice
    out = await answer_all(bot, "alice", ["today", "weekly", "4", "none", "skip"])
    assert "Next, your feedback about erin:" in out[-1] and "Back to your interview" not in out[-1]
    out = await answer_all(bot, "alice", ["none", "not yet", "3", "none", "skip"])
    assert "Thanks, saved!" in out[-1] and "Back to your check-in:" in out[-1]
    status = "\n".join(await bot.say("you", "!feedback status 2027 Q1"))
    assert "alice and bob: mentor ✗, mentee ✓" in status and "alice and erin: mentor ✗, mentee ✓" in status
