"""Feedback's storage on SQLite and PostgreSQL: one request per (round, window, respondent,
pair) however often the job plans, the answer rate per side that reports read, and retention."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from storage.feedback import AnswerRate, FeedbackRequest
from storage.repos import Repos
from tests.harness import Bot

UTC = timezone.utc


@pytest.fixture
async def bot(tmp_path):
    b = await Bot.prepared(tmp_path, "paired on Sunday", Bot.pair_on_sunday)
    yield b
    await b.stop()


async def test_the_answer_rate_per_side_counts_who_was_asked_and_who_answered(bot):
    bot.clock.set(datetime(2027, 1, 14, 20, 0, tzinfo=UTC))  # both asked (13:00 and 19:00 UTC)
    await bot.tick()
    for text in ["today", "weekly", "4", "none", "skip"]:
        await bot.say("alice", text)
    with Session(bot.engine.database) as db:
        repos = Repos(db)
        rnd = repos.rounds.current(bot.clock.now().date())
        assert rnd is not None and rnd.id is not None
        rates = repos.feedback.answer_rates(rnd.id)
        assert rates.mentee == AnswerRate(answered=1, asked=1) and rates.mentor == AnswerRate(answered=0, asked=1)
        assert repos.feedback.answer_rates(rnd.id + 1).mentor == AnswerRate(0, 0)


async def test_planning_again_makes_no_second_request_and_the_table_refuses_one(bot):
    for minute in (0, 11, 30):  # the job compares pairs with requests every 10 minutes
        bot.clock.set(datetime(2027, 1, 14, 12, minute, tzinfo=UTC))
        await bot.tick()
    with Session(bot.engine.database) as db:
        repos = Repos(db)
        rnd = repos.rounds.current(bot.clock.now().date())
        assert rnd is not None and rnd.id is not None
        [first, second] = repos.feedback.requests_of(rnd.id, "initial")
        assert {first.side, second.side} == {"mentor", "mentee"}
        db.add(FeedbackRequest(
            round_id=rnd.id, window=first.window, respondent_id=first.respondent_id, pair_id=first.pair_id,
            side=first.side, due_at=first.due_at, deadline_at=first.deadline_at,
        ))
        with pytest.raises(IntegrityError):
            db.flush()


async def test_retention_removes_answers_of_windows_long_closed(bot):
    bot.clock.set(datetime(2027, 1, 14, 13, 0, tzinfo=UTC))
    await bot.tick()
    for text in ["today", "weekly", "4", "none", "skip"]:
        await bot.say("alice", text)
    with Session(bot.engine.database) as db:
        repos = Repos(db)
        assert repos.feedback.purge_before(datetime(2027, 1, 20, tzinfo=UTC)) == 0  # the window is still open
        assert repos.feedback.purge_before(datetime(2027, 2, 1, tzinfo=UTC)) == 1
        db.commit()
        rnd = repos.rounds.current(bot.clock.now().date())
        assert rnd is not None and rnd.id is not None and repos.feedback.requests_of(rnd.id) == []
