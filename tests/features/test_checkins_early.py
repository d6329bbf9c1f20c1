"""Answers given before the prompt (issue 22): they reach digest readers, and the schedule
says the same as the acknowledgement."""

from __future__ import annotations

from tests.features.test_checkins import (  # noqa: F401 - fixtures
    bot,
    paired_db,
    paired_templates,
    prompts,
    run_until,
    utc,
)


async def test_an_early_answer_appears_in_the_mentors_digest(bot):
    """The console's clock stands still between lines: an answer given at the very instant the
    digest was turned on belongs to the digest (it was not sent on its own)."""
    await bot.say("bob", "!checkin digest on")
    before = len(bot.dm("bob"))
    out = await bot.say("alice", "!checkin a | b | none | 4")
    assert out[0].startswith("Thanks, saved! bob will see it.")
    await run_until(bot, utc(2027, 1, 4, 23, 30))  # 18:30 in New York on Monday
    digests = [t for t in bot.dm("bob")[before:] if t.startswith("Check-in digest")]
    assert digests and "alice, Mon 4 Jan 04:00: mood 4/5 · done: a" in digests[0], bot.dm("bob")[before:]


async def test_checkin_schedule_agrees_with_the_acknowledgement_after_an_early_answer(bot):
    out = await bot.say("alice", "!checkin a | b | none | 4")
    assert "Next check-in: Thu 7 Jan 10:00 (Europe/Berlin)" in out[0]
    out = await bot.say("alice", "!checkin schedule")
    assert "next Thu 7 Jan 10:00 (Europe/Berlin)" in out[0], out


async def test_checkin_edit_3_without_a_dot_corrects_answer_3(bot):
    """Issue 22: "!checkin edit 3 none at all" (without "3.") was refused."""
    await bot.say("alice", "!checkin a | b | waiting for review | 4")
    out = await bot.say("alice", "!checkin edit 3 none at all")
    assert out[0] == "Corrected (3). bob will see the correction.", out
