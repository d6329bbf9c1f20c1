"""The console's script player lives through time as a running bot would."""

from __future__ import annotations

from datetime import datetime, timezone

from storage.checkins import SKIPPED
from tests.features.test_checkins import checkins_of, prompts


async def test_console_advance_2d_sends_the_prompts_due_on_the_way_instead_of_skipping_them(bot):
    """Issue 22: "@advance 2d" behaved like an outage: prompts more than 6 hours late were
    "skipped (the bot was down)"."""
    bot.clock.set(datetime(2027, 1, 3, 12, 0, tzinfo=timezone.utc))  # Sunday
    await bot.pair("alice", "bob")
    await bot.play("@advance 2d")  # through Monday 10:00 in Berlin, alice's check-in
    assert [p.splitlines()[0][:40] for p in prompts(bot)] == ["Time for your check-in (Mon 4 Jan 10:00)"]
    assert bot.clock.now() == datetime(2027, 1, 5, 12, 0, tzinfo=timezone.utc)
    assert not [r for r in checkins_of(bot) if r.status == SKIPPED]


async def test_a_time_jump_is_still_an_outage(bot):
    bot.clock.set(datetime(2027, 1, 3, 12, 0, tzinfo=timezone.utc))
    await bot.pair("alice", "bob")
    await bot.play("@time 2027-01-05 12:00 UTC")
    assert prompts(bot) == [] and [r.status for r in checkins_of(bot)] == [SKIPPED]
