"""Issue 22, item 3: a message during an open check-in is an answer only when it fits its
question, and an interview that is over takes no answers.

"I answered this already?" became the answer to question 1; two weeks after his mentor withdrew,
"hello? is anyone there?" got "(2/4) What will you do next?"; `!assess` during a check-in was
refused, and the scores typed next reached the mentor as "done: 4 / next: 2.5 / … mood: 1/5".
"""

from __future__ import annotations

import pytest

from chatbot.config import embedded_default
from chatbot.features.checkins.answers import check_answer, is_greeting
from chatbot.i18n import ENGLISH, Languages
from tests.harness import Bot
from sqlmodel import Session, select

from storage.aside import AsideInterview
from tests.features.test_checkins import SUNDAY, bot, checkins_of, paired_db, paired_templates, run_until, start, utc  # noqa: F401 - fixtures

DONE = ["done", "done", "What did you do since last time?"]
PLAN = ["next", "plan", "What will you do next?"]
QUESTION_1 = "This is check-in question 1 of 4: What did you do since last time? Answer it, or send !later to answer later (!cancel stops)."


async def test_a_question_back_is_not_an_answer_and_the_question_is_asked_again(bot):
    await run_until(bot, utc(2027, 1, 4, 9, 30))
    out = await bot.say("alice", "I answered this already?")
    assert out == ["That reads as a question, not an answer (your mentor is the one to ask).\n" + QUESTION_1]
    assert await bot.say("alice", "hello") == ["Hello! That is a greeting, not an answer.\n" + QUESTION_1]
    assert await bot.say("alice", "fixed the flaky test") == ["(2/4) What will you do next?"]
    out = await bot.say("alice", "2.5")
    assert out[0].startswith("A number alone does not say what you did or plan to do: a few words, please.\n"
                             "This is check-in question 2 of 4: What will you do next?")
    await bot.say("alice", "review the patch")
    await bot.say("alice", "none")
    assert (await bot.say("alice", "4"))[0].startswith("Thanks, saved!")
    assert checkins_of(bot)[0].answers == ["fixed the flaky test", "review the patch", "none", "4"]


async def test_after_the_mentor_leaves_a_message_is_not_taken_for_the_open_check_in(bot):
    await run_until(bot, utc(2027, 1, 4, 9, 30))
    await bot.say("alice", "fixed the flaky test")
    await bot.say("you", "!match unassign alice")
    await run_until(bot, utc(2027, 1, 18, 9, 30))  # two weeks on
    out = await bot.say("alice", "hello? is anyone there?")
    assert out == ["You have no mentor right now, so there is no check-in to answer."]
    assert (await bot.say("alice", "review the patch"))[0].startswith("I'm not waiting for an answer from you right now.")


async def test_a_check_in_waits_for_answers_until_its_next_prompt_whatever_the_interview_timeout(tmp_path, paired_db):  # noqa: F811
    paired_db.database.copy_into(paired_db.url, tmp_path)
    raw = embedded_default().model_dump()
    raw["bot"] = {**raw["bot"], "interview_timeout": "1d"}
    bot = await Bot.start(tmp_path, config=raw)
    bot.clock.set(SUNDAY)
    try:
        await run_until(bot, utc(2027, 1, 4, 9, 30))
        await bot.say("alice", "fixed the flaky test")
        await run_until(bot, utc(2027, 1, 6, 12))  # two days later, the check-in is still open
        assert await bot.say("alice", "review the patch") == ["(3/4) Is anything blocking you? (or: none)"]
    finally:
        await bot.stop()


async def test_assess_during_a_check_in_pauses_it_and_scores_never_reach_the_check_in(bot):
    await run_until(bot, utc(2027, 1, 4, 9, 30))
    await bot.say("alice", "fixed the flaky test")
    out = (await bot.say("alice", "!assess"))[0]
    assert "I've paused your check-in; it carries on when this one is done." in out
    await bot.say("alice", "2")
    out = (await bot.say("alice", "stop"))[0]
    assert "Back to your check-in:\n(2/4) What will you do next?" in out
    assert (await bot.say("alice", "4"))[0].startswith("A number alone does not say")
    assert checkins_of(bot)[0].answers == []


PUT_ASIDE = "Put aside with your answers so far; !checkin carries on where you stopped, and your check-in stays open until the next one."


def asides(bot: Bot) -> list[AsideInterview]:
    with Session(bot.app.database) as s:
        return list(s.exec(select(AsideInterview)))


async def test_later_puts_the_check_in_aside_and_checkin_carries_on_at_the_same_question(bot):
    await run_until(bot, utc(2027, 1, 4, 9, 30))
    await bot.say("alice", "fixed the flaky test")
    assert await bot.say("alice", "!later") == [PUT_ASIDE]
    assert (await bot.say("alice", "review the patch"))[0].startswith("I'm not waiting for an answer from you right now.")
    out = await bot.say("alice", "!checkin")
    assert out == ["Your check-in for Mon 4 Jan 10:00, where you left off:\n(2/4) What will you do next?"]
    assert asides(bot) == []
    await bot.say("alice", "review the patch")
    await bot.say("alice", "none")
    assert (await bot.say("alice", "4"))[0].startswith("Thanks, saved!")
    assert checkins_of(bot)[0].answers == ["fixed the flaky test", "review the patch", "none", "4"]


async def test_a_check_in_put_aside_is_asked_again_at_its_reminder_where_it_stopped(tmp_path, paired_db):  # noqa: F811
    bot = await start(tmp_path, paired_db, checkins={"reminder_after": "3h"})
    try:
        await run_until(bot, utc(2027, 1, 4, 9, 30))
        await bot.say("alice", "fixed the flaky test")
        assert await bot.say("alice", "!later") == [PUT_ASIDE]
        await run_until(bot, utc(2027, 1, 4, 12, 30))
        reminder = bot.dm("alice")[-1]
        assert reminder.startswith("Reminder: your check-in for Mon 4 Jan 10:00 is still open")
        assert reminder.endswith("Reply here; I'm waiting for your answer to: What will you do next?")
        assert await bot.say("alice", "review the patch") == ["(3/4) Is anything blocking you? (or: none)"]
    finally:
        await bot.stop()


async def test_the_next_prompt_replaces_a_check_in_put_aside(tmp_path, paired_db):  # noqa: F811
    bot = await start(tmp_path, paired_db, checkins={"reminder_after": "off"})
    try:
        await run_until(bot, utc(2027, 1, 4, 9, 30))
        await bot.say("alice", "fixed the flaky test")
        await bot.say("alice", "!later")
        assert len(asides(bot)) == 1
        await run_until(bot, utc(2027, 1, 7, 9, 30))  # Thursday's prompt
        assert asides(bot) == []
        assert await bot.say("alice", "thursday's work") == ["(2/4) What will you do next?"]
        assert [c.status for c in checkins_of(bot)] == ["missed", "prompted"]
    finally:
        await bot.stop()


@pytest.mark.parametrize("text,code", [("Bonjour !", "fr"), ("hola", "es"), ("Olá?", "pt"), ("hi there", "en"), ("hello again", "en")])
def test_greetings_are_known_in_each_language(text, code):
    assert is_greeting(text, Languages().get(code))


@pytest.mark.parametrize("text", ["hi, I fixed the parser", "Hello World example finished", "4 patches merged", "read chapter 3"])
def test_answers_that_start_like_a_greeting_or_hold_numbers_still_count(text):
    assert check_answer(DONE, text, ENGLISH) == text
    assert check_answer(PLAN, text, ENGLISH) == text
