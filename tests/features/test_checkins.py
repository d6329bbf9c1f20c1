"""Check-ins as whole conversations: prompts, answers in every shape, reminders, misses,
blockers, answers before the prompt and corrections. (Weeks-long behaviour is in
test_checkins_schedule.py, failures and scale in test_checkins_reliability.py; both use the
helpers and the paired starting point defined here.)

Time is driven with the injected clock: ``run_until`` moves it in steps and runs what fell due,
as the scheduler would. The round starts on Sunday 3 Jan 2027; alice lives in Europe/Berlin
(check-ins Mon/Thu 10:00 = 09:00 UTC in winter), bob (her mentor) in America/New_York.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from chatbot.config import embedded_default
from chatbot.features.checkins.commands import blocker_of, numbered, parse_rating, several
from storage.checkins import Checkin
from storage.tables import Member, OutboxMessage
from tests.harness import Bot

UTC = timezone.utc
SUNDAY = datetime(2027, 1, 3, 12, 0, tzinfo=UTC)
QUESTIONS = [
    ["done", "text", "What did you do since last time?"],
    ["next", "text", "What will you do next?"],
    ["blocker", "blocker", "Is anything blocking you? (or: none)"],
    ["mood", "scale", "How is it going, from 1 (badly) to 5 (great)?"],
]


# ---------------------------------------------------------------------------- helpers


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture(scope="session")
def paired_templates() -> dict[str, str]:
    """The paired database of each kind (SQLite, PostgreSQL), built by the first test needing it."""
    return {}


@pytest.fixture
def paired_db(paired_templates, database, tmp_path_factory) -> Template:
    """A database where alice (Europe/Berlin) was paired with bob (America/New_York) on Sunday
    3 Jan 2027 through the real interviews; each test starts from a copy (a second, not two)."""
    if database.kind not in paired_templates:
        path = tmp_path_factory.mktemp("checkins-template")

        async def build() -> None:
            bot = await Bot.start(path, url=database.template_in(path))
            bot.clock.set(SUNDAY)
            await bot.pair("alice", "bob")
            await bot.stop()

        asyncio.run(build())
        paired_templates[database.kind] = database.template_in(path)
    return Template(paired_templates[database.kind], database)


@dataclass(frozen=True)
class Template:
    url: str
    database: Any  # tests.conftest.Database


async def start(tmp_path: Path, template: Template, checkins: dict[str, Any] | None = None, **kwargs: Any) -> Bot:
    """A bot on Sunday 3 Jan 2027 with alice paired to bob (a copy of ``template``)."""
    template.database.copy_into(template.url, tmp_path)
    raw = embedded_default().model_dump()
    if checkins:
        raw["checkins"] = {**raw["checkins"], **checkins}
    bot = await Bot.start(tmp_path, config=raw, **kwargs)
    bot.clock.set(SUNDAY)
    return bot


async def add_mentor(bot: Bot, name: str, tz: str = "Asia/Kolkata") -> None:
    for answer in ["!signup mentor", tz, "en", "3", "all", "testing", "3"]:
        await bot.say(name, answer)


async def run_until(bot: Bot, moment: datetime, step: timedelta = timedelta(hours=3)) -> None:
    """Tick as the scheduler would, every ``step``, until ``moment``."""
    while bot.clock.now() < moment:
        bot.clock.advance(min(step, moment - bot.clock.now()))
        await bot.tick()


def prompts(bot: Bot, who: str = "alice") -> list[str]:
    return [t for t in bot.dm(who) if t.startswith("Time for your check-in")]


def checkins_of(bot: Bot, handle: str = "alice") -> list[Checkin]:
    with Session(bot.app.database) as s:
        member = s.exec(select(Member).where(Member.handle == handle)).one()
        return list(s.exec(select(Checkin).where(Checkin.mentee_id == member.id).order_by(Checkin.due_at)))


def outbox(bot: Bot, prefix: str) -> list[OutboxMessage]:
    with Session(bot.app.database) as s:
        return [r for r in s.exec(select(OutboxMessage).order_by(OutboxMessage.id)) if r.key.startswith(prefix)]


async def set_away(bot: Bot, handle: str, until: str) -> None:
    out = await bot.say(handle, f"!away until {until}")
    assert "away until" in out[0], out


@pytest.fixture
async def bot(tmp_path, paired_db):
    b = await start(tmp_path, paired_db)
    yield b
    await b.stop()


# ---------------------------------------------------------------------------- reading answers


@pytest.mark.parametrize(
    "text",
    [
        "1. fixed the parser 2. write tests 3. none 4. 4",  # IRC: one line, numbered
        "1) fixed the parser\n2) write tests\n3) none\n4) 4",
        "Q1: fixed the parser\nQ2: write tests\nQ3: none\nQ4: 4",
        "fixed the parser | write tests | none | 4",
        "fixed the parser\nwrite tests\nnone\n4",
        "- fixed the parser\n- write tests\n- none\n- 4",
    ],
)
def test_a_whole_answer_is_read_in_every_usual_shape(text):
    assert several(text, QUESTIONS, 0) == ["fixed the parser", "write tests", "none", "4"]


def test_numbers_inside_answers_are_not_taken_for_question_marks():
    text = "1. read ch. 3. of the guide, fixed 2 bugs 2. write 1.5 pages 3. none 4. 5"
    assert numbered(text, 4) == {0: "read ch. 3. of the guide, fixed 2 bugs", 1: "write 1.5 pages", 2: "none", 3: "5"}


def test_one_answer_with_several_lines_stays_one_answer():
    bullets = "- fixed the parser\n- reviewed a patch\n- wrote docs\n- read the guide"
    assert several(bullets, QUESTIONS, 0) is None  # the fourth line is no rating: one answer to question 1
    assert several("just the parser", QUESTIONS, 0) is None


def test_partial_or_miscounted_answers_are_explained():
    with pytest.raises(ValueError, match=r"I read answers 1, 2; send all of 1-4"):
        several("1. a 2. b", QUESTIONS, 0)
    with pytest.raises(ValueError, match=r"I see 2 answers separated by \|, but 4 questions are left"):
        several("a | b", QUESTIONS, 0)
    with pytest.raises(ValueError, match=r"from 1 \(badly\) to 5"):
        several("a | b | none | great", QUESTIONS, 0)


def test_ratings_and_blockers_are_read_forgivingly():
    assert [parse_rating(t) for t in ("4", "4/5", "3 - ok week", "five", "2.")] == [4, 4, 3, 5, 2]
    for bad in ("6", "great", "4.5", "0"):
        with pytest.raises(ValueError):
            parse_rating(bad)
    for none in ("none", "None.", "no", "nothing so far", "n/a", "-", "Nope, all good", "no blockers", "none now"):
        assert blocker_of(none) is None, none
    assert blocker_of("none, CI access came through") is None and blocker_of("Nothing - all merged") is None
    assert blocker_of("no access to the staging server") == "no access to the staging server"
    assert blocker_of("no, but the staging server is down") == "no, but the staging server is down"
    assert blocker_of("waiting  for review") == "waiting for review"


# ---------------------------------------------------------------------------- prompts and answers


async def test_the_prompt_reaches_the_mentee_once_and_every_mentor_sees_the_answer(bot):
    await add_mentor(bot, "carol")
    assert "carol now co-mentors alice" in (await bot.say("you", "!match comentor alice carol"))[0]
    await run_until(bot, utc(2027, 1, 4, 9, 30))
    [prompt] = prompts(bot)
    assert prompt.splitlines() == [
        "Time for your check-in (Mon 4 Jan 10:00)! Reply here with all 4 answers at once (numbered, one per line, "
        "or separated by |), or answer 1 and I'll ask the rest:",
        "1. What did you do since last time?",
        "2. What will you do next?",
        "3. Is anything blocking you? (or: none)",
        "4. How is it going, from 1 (badly) to 5 (great)?",
        "Answers are welcome until your next check-in, Thu 7 Jan 10:00 (Europe/Berlin).",
    ]
    [row] = outbox(bot, "checkin:")
    assert row.payload["buttons"] == [{"label": "Answer", "command": "!checkin"}]
    out = await bot.say("alice", "1. fixed the flaky test 2. review the patch 3. none 4. 4 - good week")
    assert out[0] == "Thanks, saved! bob and carol will see it. Next check-in: Thu 7 Jan 10:00 (Europe/Berlin)."
    assert bot.dm("bob")[-1].splitlines() == [
        "alice checked in for Mon 4 Jan 04:00 (America/New_York):",
        "done: fixed the flaky test",
        "next: review the patch",
        "blocker: none",
        "mood: 4/5 (4 - good week)",
    ]
    assert bot.dm("carol")[-1].startswith("alice checked in for Mon 4 Jan 14:30 (Asia/Kolkata):")
    [checkin] = checkins_of(bot)
    assert (checkin.status, checkin.rating, checkin.blocker) == ("answered", 4, None)
    await run_until(bot, utc(2027, 1, 6, 12))
    assert len(prompts(bot)) == 1 and not any("Reminder" in t for t in bot.dm("alice"))


async def test_question_by_question_with_a_wrong_rating_asked_again(bot):
    await run_until(bot, utc(2027, 1, 4, 9, 30))
    assert await bot.say("alice", "fixed the flaky test") == ["(2/4) What will you do next?"]
    assert await bot.say("alice", "review the patch") == ["(3/4) Is anything blocking you? (or: none)"]
    assert await bot.say("alice", "nothing") == ["(4/4) How is it going, from 1 (badly) to 5 (great)?"]
    out = await bot.say("alice", "great")
    assert out == ["Please answer with a number from 1 (badly) to 5 (great).\nThis is check-in question 4 of 4: "
                   "How is it going, from 1 (badly) to 5 (great)? Answer it, or send !later to answer later (!cancel stops)."]
    assert (await bot.say("alice", "5"))[0].startswith("Thanks, saved!")
    [checkin] = checkins_of(bot)
    assert checkin.answers == ["fixed the flaky test", "review the patch", "nothing", "5"]


async def test_a_late_answer_counts_until_the_next_prompt_and_then_the_check_in_is_missed(bot):
    await run_until(bot, utc(2027, 1, 6, 15))  # Wednesday: Monday's check-in is still open
    out = await bot.say("alice", "fixed it | tests | none | 3")
    assert out[0].startswith("Thanks, saved!")
    assert bot.dm("bob")[-1].startswith("alice checked in for Mon 4 Jan 04:00 (America/New_York) (late):")
    await run_until(bot, utc(2027, 1, 11, 9, 30))  # Thursday's went unanswered: the Monday prompt closes it
    monday, thursday, next_monday = checkins_of(bot)
    assert (monday.status, thursday.status, next_monday.status) == ("answered", "missed", "prompted")
    await bot.say("alice", "docs | more docs | none | 4")
    assert checkins_of(bot)[2].status == "answered" and checkins_of(bot)[1].answers == []


async def test_a_reminder_comes_once_a_day_after_an_unanswered_prompt(bot):
    await run_until(bot, utc(2027, 1, 5, 8, 30))
    assert not any(t.startswith("Reminder") for t in bot.dm("alice"))
    await run_until(bot, utc(2027, 1, 5, 12))
    reminders = [t for t in bot.dm("alice") if t.startswith("Reminder")]
    assert reminders == [
        "Reminder: your check-in for Mon 4 Jan 10:00 is still open; answers count until Thu 7 Jan 10:00 (Europe/Berlin).\n"
        "Reply here; I'm waiting for your answer to: What did you do since last time?"
    ]
    # answered on time on Thursday: no reminder on Friday
    await run_until(bot, utc(2027, 1, 7, 9, 30))
    await bot.say("alice", "a | b | none | 4")
    await run_until(bot, utc(2027, 1, 9))
    assert len([t for t in bot.dm("alice") if t.startswith("Reminder")]) == 1


async def test_a_reminder_after_cancel_asks_the_questions_again(tmp_path, paired_db):
    bot = await start(tmp_path, paired_db, checkins={"reminder_after": "3h"})
    try:
        await run_until(bot, utc(2027, 1, 4, 9, 30))
        assert "stays open" in (await bot.say("alice", "!cancel"))[0]
        assert "not waiting for an answer" in (await bot.say("alice", "hello?"))[0]
        await run_until(bot, utc(2027, 1, 4, 12, 30))
        reminder = bot.dm("alice")[-1]
        assert reminder.startswith("Reminder: your check-in for Mon 4 Jan 10:00 is still open")
        assert "Reply here with your answers:\n1. What did you do since last time?" in reminder
        assert (await bot.say("alice", "a | b | none | 4"))[0].startswith("Thanks, saved!")
    finally:
        await bot.stop()


async def test_no_reminders_when_switched_off(tmp_path, paired_db):
    bot = await start(tmp_path, paired_db, checkins={"reminder_after": "off"})
    try:
        await run_until(bot, utc(2027, 1, 7, 8), step=timedelta(hours=3))
        assert not any(t.startswith("Reminder") for t in bot.dm("alice"))
    finally:
        await bot.stop()


async def test_two_misses_in_a_row_tell_every_mentor_once_per_run(bot):
    await add_mentor(bot, "carol")
    await bot.say("you", "!match comentor alice carol")
    step = timedelta(hours=2)
    await run_until(bot, utc(2027, 1, 7, 10), step)  # Monday's missed when Thursday's comes: one miss
    assert not any("missed two" in t for t in bot.dm("bob"))
    await run_until(bot, utc(2027, 1, 11, 10), step)  # Thursday's missed too
    alert = [t for t in bot.dm("bob") if "missed two" in t]
    assert alert == [
        "alice has missed two check-ins in a row (the last one was for Thu 7 Jan 04:00 (America/New_York)). "
        "A friendly private word may help."
    ]
    assert len([t for t in bot.dm("carol") if "missed two" in t]) == 1
    assert not any("missed two" in t for t in bot.dm("alice"))
    await run_until(bot, utc(2027, 1, 14, 10), step)  # a third miss: no second alert
    assert len([t for t in bot.dm("bob") if "missed two" in t]) == 1
    await bot.say("alice", "back on track | tests | none | 3")  # an answer ends the run of misses
    await run_until(bot, utc(2027, 1, 25, 10), step)  # misses Mon 18 and Thu 21: a new run of two
    assert len([t for t in bot.dm("bob") if "missed two" in t]) == 2


async def test_a_blocker_reaches_every_mentor_at_once_even_those_reading_a_digest(bot):
    await add_mentor(bot, "carol")
    await bot.say("you", "!match comentor alice carol")
    assert "one digest a day" in (await bot.say("carol", "!checkin digest on"))[0]
    await run_until(bot, utc(2027, 1, 4, 9, 30))
    out = await bot.say("alice", "setup | tests | waiting for a review from the infra team | 2")
    assert out[0] == (
        "Thanks, saved! bob and carol will see it. Your blocker went to bob and carol straight away. "
        "Next check-in: Thu 7 Jan 10:00 (Europe/Berlin)."
    )
    assert bot.dm("bob")[-1].startswith("alice checked in for Mon 4 Jan 04:00 (America/New_York) (with a blocker):")
    assert "blocker: waiting for a review from the infra team" in bot.dm("bob")[-1]
    assert bot.dm("carol")[-1] == (
        "alice is blocked: waiting for a review from the infra team (check-in for Mon 4 Jan 14:30 (Asia/Kolkata)). "
        "They may welcome a word from you."
    )


async def test_answering_before_the_prompt_covers_it(bot):
    out = await bot.say("alice", "!checkin")
    assert out[0].startswith("Your next check-in is Mon 4 Jan 10:00 (Europe/Berlin); answering it now:\n1. What did you do")
    out = await bot.say("alice", "prepared | start | none | 5")
    assert out[0] == "Thanks, saved! bob will see it. Next check-in: Thu 7 Jan 10:00 (Europe/Berlin)."
    assert bot.dm("bob")[-1].startswith("alice checked in for Mon 4 Jan 04:00 (America/New_York) (early):")
    out = await bot.say("alice", "!checkin")
    assert out == ["You have answered your next check-in (Mon 4 Jan 10:00) already; !checkin edit corrects it."]
    await run_until(bot, utc(2027, 1, 7, 9, 30))
    assert [p.split("!")[0] for p in prompts(bot)] == ["Time for your check-in (Thu 7 Jan 10:00)"]
    assert [c.status for c in checkins_of(bot)] == ["answered", "prompted"]


async def test_checkin_with_the_answers_on_the_command_line(bot):
    await run_until(bot, utc(2027, 1, 4, 9, 30))
    out = await bot.say("alice", "!checkin 1. docs 2. more docs 3. none 4. 4")
    assert out[0].startswith("Thanks, saved!")
    await run_until(bot, utc(2027, 1, 7, 9, 30))
    out = await bot.say("alice", "!checkin just docs")
    assert out == [
        "Give all 4 answers (numbered, or separated by |), or send !checkin alone and I'll ask one at a time — "
        "usage: !checkin [ANSWER…]"
    ]
    out = await bot.say("alice", "!checkin a | b | none | eleven")
    assert out == ["Please answer with a number from 1 (badly) to 5 (great). — usage: !checkin [ANSWER…]"]
    assert checkins_of(bot)[-1].status == "prompted"


async def test_a_correction_is_shown_to_the_mentors_marked_as_such(bot):
    assert "no answered check-in" in (await bot.say("alice", "!checkin edit"))[0]
    await run_until(bot, utc(2027, 1, 4, 9, 30))
    await bot.say("alice", "fixed the parser | write tests | none | 4")
    out = await bot.say("alice", "!checkin edit")
    assert out[0].splitlines() == [
        "Your answers for Mon 4 Jan 10:00:",
        "1. done: fixed the parser",
        "2. next: write tests",
        "3. blocker: none",
        "4. mood: 4/5",
        "Send the corrected ones, numbered (e.g. '3. none now'); the others stay as they were.",
    ]
    out = await bot.say("alice", "just fine")
    assert out == ["Number the answers you correct, e.g. '3. none now' (the others stay as they were).\n"
                   "(1/1) Send the corrected answers, numbered (e.g. '3. none now'); the others stay as they were."]
    out = await bot.say("alice", "3. waiting for CI access 4. 3")
    assert out[0] == "Corrected (3, 4). bob will see the correction."
    assert bot.dm("bob")[-1].splitlines() == [
        "CORRECTION: alice corrected their check-in for Mon 4 Jan 04:00 (America/New_York):",
        "done: fixed the parser",
        "next: write tests",
        "blocker: waiting for CI access (corrected; was: none)",
        "mood: 3/5 (corrected; was: 4)",
    ]
    history = (await bot.say("bob", "!checkins alice"))[0]
    assert "mood 3/5 · done: fixed the parser · next: write tests · blocker: waiting for CI access (corrected)" in history
    assert (await bot.say("alice", "!checkin edit 3. waiting for CI access"))[0] == (
        "Those are the answers you gave already; nothing changed."
    )
    out = await bot.say("alice", "!checkin edit 4. superb")
    assert out == ["Please answer with a number from 1 (badly) to 5 (great). — usage: !checkin edit [ANSWER…]"]
    [row] = checkins_of(bot)
    assert row.original == ["fixed the parser", "write tests", "none", "4"] and row.rating == 3


async def test_a_form_offers_the_questions_at_once_and_its_numbered_answers_are_read(bot):
    await run_until(bot, utc(2027, 1, 4, 9, 30))
    [row] = outbox(bot, "checkin:")
    assert row.payload["form"] == {"title": "Check-in", "questions": [q[2] for q in QUESTIONS], "label": "Answer in a form",
                                   "first": 1}
    await bot.say("alice", "fixed the parser")  # answered question 1, then used the form for everything
    out = await bot.say("alice", "1. fixed the parser and docs\n2. tests\n3. none\n4. 5")
    assert out[0].startswith("Thanks, saved!")
    assert checkins_of(bot)[0].answers == ["fixed the parser and docs", "tests", "none", "5"]


async def test_commands_refuse_the_wrong_people_and_bad_choices_and_keep_answers_private(bot):
    assert await bot.say("bob", "!checkin") == ["!checkin is for mentee (you have: mentor)."]
    assert await bot.say("bob", "!checkin digest maybe") == [
        "choice must be one of on, off, not 'maybe' — usage: !checkin digest on|off"
    ]
    assert await bot.say("alice", "!checkin digest on") == ["!checkin digest is for mentor (you have: mentee)."]
    await run_until(bot, utc(2027, 1, 4, 9, 30))
    await bot.say("alice", "!checkin a | b | none | 4", channel="#general")
    # said in a channel, answered in private: the channel only hears that
    assert bot.channel("#general") == ["alice: I've sent you the answer in a private message."]
    assert bot.dm("alice")[-1].startswith("Thanks, saved!")


async def test_a_plain_answer_after_cancel_still_answers_the_open_check_in(bot):
    """Leaving the interview does not close the check-in: a plain DM with every answer answers it."""
    bot.clock.set(datetime(2027, 1, 4, 9, 30, tzinfo=timezone.utc))
    await bot.tick()
    assert any("check-in" in t.lower() for t in bot.dm("alice"))
    await bot.say("alice", "!cancel")
    out = await bot.say("alice", "1. fixed a test 2. review a patch 3. none 4. 4")
    assert any("saved" in t.lower() for t in out), out
