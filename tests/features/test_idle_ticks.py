"""Idle ticks (chatbot/rests.py): a job that found nothing due rests until its next duty, so a
tick with nothing to do asks the database almost nothing; a person doing anything, here or in
another process sharing the database, wakes every job. That the duties still come on time is
what the jobs' own tests show, advancing fake time across weeks (test_checkins*.py,
test_matchmaking.py, test_feedback*.py, test_rounds_lifecycle.py, test_away.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from chatbot.scheduler import Scheduler
from storage.tables import OutboxMessage
from tests.harness import Bot, statements

ALL_REST = {
    "pair-silence", "round-close", "checkins", "checkin-digest", "feedback", "away-return", "forget-old-events", "office-hours-leavers",
}


async def awake(bot: Bot) -> set[str]:
    return {job.name for job in await bot.engine._awake_jobs()}


async def test_once_every_job_looked_an_idle_tick_runs_only_the_jobs_with_no_next_duty(bot):
    await bot.pair()
    await bot.say("alice", "!away until 2027-01-20")
    await bot.tick()
    await bot.advance("1h")
    assert not await awake(bot) & ALL_REST
    with statements(bot.app.database) as seen:
        await bot.advance("1h")
    # which jobs are awake (one read) and the sender's look at the outbox; nothing of any job
    assert len(seen) <= 6, seen


async def test_a_person_doing_anything_wakes_every_job(bot):
    await bot.pair()
    await bot.advance("1h")
    assert not await awake(bot) & ALL_REST
    await bot.say("alice", "!whoami")
    assert await awake(bot) >= ALL_REST


async def test_a_message_another_process_recorded_wakes_every_job(bot):
    await bot.pair()
    await bot.advance("1h")
    assert not await awake(bot) & ALL_REST
    now = bot.clock.now()
    with Session(bot.app.database) as db:  # the process serving IRC answered somebody
        db.add(OutboxMessage(key="elsewhere:1", platform="irc", payload={}, status="sent", created_at=now, next_attempt_at=now))
        db.commit()
    assert await awake(bot) >= ALL_REST


async def test_the_clock_set_back_wakes_every_job(bot):
    await bot.pair()
    await bot.advance("1h")
    assert not await awake(bot) & ALL_REST
    bot.clock.set(bot.clock.now() - timedelta(hours=2))
    assert await awake(bot) >= ALL_REST


class HeldElsewhere:
    """A tick lock another process holds."""

    def hold(self) -> bool:
        return False

    def release(self) -> None:
        pass


async def test_a_tick_another_process_runs_wakes_every_job_here(bot):
    await bot.pair()
    await bot.advance("1h")
    assert not await awake(bot) & ALL_REST
    await Scheduler(bot.engine, lock=HeldElsewhere())._tick()  # its jobs may change what ours read
    assert await awake(bot) >= ALL_REST
