"""Interviews as people use them: a second interview pauses the first instead of swallowing its
answers, an interview nobody answered for days stops taking messages as answers, a command
is never an answer, and ``!later`` puts one aside. Features end, amend and open interviews
through their context (flows are the only writer of conversation state)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from sqlmodel import Session

from chatbot.commands import CommandSpec, Example
from chatbot.context import Context, Feature
from chatbot.flows import Flow, Step
from storage.repos import Repos
from tests.harness import Bot


def _parse_number(ctx: Context, text: str, data: dict[str, Any]) -> int:
    if not text.strip().isdigit():
        raise ValueError("That is not a number.")
    return int(text)


async def _quiz_done(ctx: Context, data: dict[str, Any]) -> str:
    return f"Quiz saved: {data['colour']} {data['number']}."


async def _survey_done(ctx: Context, data: dict[str, Any]) -> str:
    return f"Survey saved: {data['food']}."


QUIZ = Flow("quiz", (
    Step("colour", lambda ctx, d: "Which colour?", lambda ctx, text, d: text.strip()),
    Step("number", lambda ctx, d: "Which number?", _parse_number),
), finish=_quiz_done, title="quiz")
SURVEY = Flow("survey", (Step("food", lambda ctx, d: "Which food?", lambda ctx, text, d: text.strip()),),
              finish=_survey_done, title="survey")


async def _quiz(ctx: Context) -> str:
    ctx.start_flow("quiz")
    return ""


async def _survey(ctx: Context) -> str:
    ctx.start_flow("survey")
    return ""


async def _stop(ctx: Context) -> str:
    return ctx.cancel_flow() or "There is nothing to stop."


FEATURE = Feature(
    name="interviews-under-test",
    commands=(
        CommandSpec(("quiz",), "a quiz", roles=("member",), handler=_quiz, examples=(Example("!quiz", "colour"),)),
        CommandSpec(("survey",), "a survey", roles=("member",), handler=_survey, examples=(Example("!survey", "food"),)),
        CommandSpec(("stop",), "stop", roles=("member",), handler=_stop, examples=(Example("!stop", "nothing"),)),
    ),
    flows=(QUIZ, SURVEY),
)


async def start(tmp_path, **bot: Any) -> Bot:
    from chatbot.config import embedded_default

    raw = embedded_default().model_dump()
    raw["bot"] = {**raw["bot"], **bot}
    return await Bot.start(tmp_path, raw, extra_features=(FEATURE,))


async def test_a_second_interview_pauses_the_first_which_carries_on_after_it(tmp_path):
    bot = await start(tmp_path)
    try:
        assert await bot.say("ana", "!quiz") == ["(1/2) Which colour?"]
        await bot.say("ana", "green")
        started = await bot.say("ana", "!survey")
        assert started == ["I've paused your quiz; it carries on when this one is done.\n(1/1) Which food?"]
        # the answer goes to the survey, not into the quiz
        assert await bot.say("ana", "rice") == ["Survey saved: rice.\nBack to your quiz:\n(2/2) Which number?"]
        assert await bot.say("ana", "7") == ["Quiz saved: green 7."]
    finally:
        await bot.stop()


async def test_cancelling_the_second_interview_brings_back_the_paused_one(tmp_path):
    bot = await start(tmp_path)
    try:
        await bot.say("ana", "!quiz")
        await bot.say("ana", "blue")
        await bot.say("ana", "!survey")
        assert await bot.say("ana", "!stop") == ["Stopped. Nothing was saved.\nBack to your quiz:\n(2/2) Which number?"]
        assert await bot.say("ana", "3") == ["Quiz saved: blue 3."]
        assert await bot.say("ana", "!stop") == ["There is nothing to stop."]
    finally:
        await bot.stop()


async def test_an_interview_left_for_days_does_not_take_a_later_message_as_its_answer(tmp_path):
    bot = await start(tmp_path, interview_timeout="2d")
    try:
        await bot.say("ana", "!quiz")
        await bot.say("ana", "red")
        await bot.advance("3d")
        (answer,) = await bot.say("ana", "hello? is anyone there?")
        assert answer.startswith("I stopped waiting for an answer to your quiz after 2 days, so I did not take this message as one.")
        assert (await bot.say("ana", "5"))[0].startswith("I'm not waiting for an answer from you right now.")
        # within the time it is an answer as before
        await bot.say("ana", "!quiz")
        await bot.advance("1d")
        assert await bot.say("ana", "violet") == ["(2/2) Which number?"]
    finally:
        await bot.stop()


async def test_a_command_during_an_interview_is_a_command_and_the_question_waits(tmp_path):
    bot = await start(tmp_path)
    try:
        await bot.say("ana", "!quiz")
        (answer,) = await bot.say("ana", "!whoami")
        assert answer.startswith("You are ana")
        assert await bot.say("ana", "teal") == ["(2/2) Which number?"]
    finally:
        await bot.stop()


async def test_later_puts_an_interview_aside_and_one_it_had_paused_carries_on(tmp_path):
    bot = await start(tmp_path)
    try:
        assert await bot.say("ana", "!later") == ["You're not in the middle of any of my questions, so there is nothing to put aside."]
        await bot.say("ana", "!quiz")
        await bot.say("ana", "green")
        await bot.say("ana", "!survey")
        out = await bot.say("ana", "!later")
        assert out == [
            "Put aside with your answers so far; the command that started it carries on where you stopped.\n"
            "Back to your quiz:\n(2/2) Which number?"
        ]
        assert await bot.say("ana", "7") == ["Quiz saved: green 7."]
    finally:
        await bot.stop()


@contextmanager
def _as_a_feature(bot: Bot) -> Iterator[tuple[Context, int]]:
    """A context as a job or a handler has one, and ana's member id; what it writes is committed."""
    with Session(bot.app.database) as db:
        repos = Repos(db)
        ana = repos.members.by_handle("ana")
        assert ana is not None and ana.id is not None
        yield Context(bot.engine, repos, bot.clock.now()), ana.id
        db.commit()


async def test_an_amended_answer_is_the_one_saved_and_one_not_given_yet_is_still_asked(tmp_path):
    """``!profile set`` during a sign-up: the answer given meanwhile replaces the interview's."""
    bot = await start(tmp_path)
    try:
        await bot.say("ana", "!quiz")
        await bot.say("ana", "green")
        with _as_a_feature(bot) as (ctx, ana):
            ctx.amend_flow(ana, "survey", {"colour": "blue"})  # another kind: not this one
            ctx.amend_flow(ana, "quiz", {"colour": "red", "number": 3})
            conv = ctx.repos.conversations.get(ana)
            assert conv is not None and conv.data == {"colour": "red"}  # the number is still to ask
        assert await bot.say("ana", "7") == ["Quiz saved: red 7."]
        await bot.say("ana", "!quiz")
        await bot.say("ana", "teal")
        await bot.say("ana", "!later")
        with _as_a_feature(bot) as (ctx, ana):
            ctx.amend_flow(ana, "quiz", {"colour": "gold", "number": 4})
        with _as_a_feature(bot) as (ctx, ana):
            aside = ctx.repos.aside.get(ana, "quiz")
            assert aside is not None and aside.data == {"colour": "gold"}
    finally:
        await bot.stop()


async def test_an_interview_ended_by_a_feature_takes_no_more_answers(tmp_path):
    bot = await start(tmp_path)
    try:
        await bot.say("ana", "!quiz")
        with _as_a_feature(bot) as (ctx, ana):
            assert ctx.end_flow(ana, "survey") is False  # not the one she is in
        assert await bot.say("ana", "green") == ["(2/2) Which number?"]
        with _as_a_feature(bot) as (ctx, ana):
            assert ctx.end_flow(ana, "survey", "quiz") is True
            assert ctx.end_flow(ana) is False
        assert (await bot.say("ana", "7"))[0].startswith("I'm not waiting for an answer from you right now.")
    finally:
        await bot.stop()


async def test_opening_the_next_interview_can_keep_the_one_put_aside(tmp_path):
    """The next feedback request, opened as one ends, leaves another put aside where it was;
    a check-in's new prompt replaces the one put aside."""
    bot = await start(tmp_path)
    try:
        await bot.say("ana", "!quiz")
        await bot.say("ana", "green")
        await bot.say("ana", "!later")
        with _as_a_feature(bot) as (ctx, ana):
            ctx.open_flow(ana, "quiz", "console", {}, keep_aside=True)
            kept = ctx.repos.aside.get(ana, "quiz")
            assert kept is not None and kept.data == {"colour": "green"}
            ctx.drop_aside([ana], "survey")  # another kind: not this one
            ctx.repos.db.flush()
            assert ctx.repos.aside.get(ana, "quiz") is not None
            ctx.open_flow(ana, "quiz", "console", {})
            ctx.repos.db.flush()
            ctx.repos.db.expire_all()
            assert ctx.repos.aside.get(ana, "quiz") is None
        assert await bot.say("ana", "blue") == ["(2/2) Which number?"]
    finally:
        await bot.stop()
