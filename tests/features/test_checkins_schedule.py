"""Check-ins over weeks: mentors' digests and histories, schedules and timezones, days off,
who gets no prompt, and retention. Helpers and the paired starting point: tests/features/test_checkins.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chatbot.config import embedded_default
from tests.harness import Bot
from tests.features.test_checkins import (  # noqa: F401 - fixtures
    SUNDAY,
    add_mentor,
    bot,
    checkins_of,
    paired_db,
    paired_templates,
    prompts,
    run_until,
    set_away,
    start,
    utc,
)


# ---------------------------------------------------------------------------- mentors' reading


async def test_a_digest_once_a_day_instead_of_each_answer(bot):
    await bot.say("bob", "!checkin digest on")
    assert (await bot.say("bob", "!checkin digest on")) == ["You get a daily digest at 18:00 (America/New_York) already."]
    await run_until(bot, utc(2027, 1, 4, 9, 30))
    before = len(bot.dm("bob"))
    await bot.say("alice", "fixed the parser | write tests | none | 4")
    assert len(bot.dm("bob")) == before  # nothing at once
    await run_until(bot, utc(2027, 1, 4, 22, 30))  # 17:30 in New York
    assert len(bot.dm("bob")) == before
    await run_until(bot, utc(2027, 1, 5, 0, 0))
    assert bot.dm("bob")[before:] == [
        "Check-in digest (times in America/New_York):\n"
        "alice, Mon 4 Jan 04:00: mood 4/5 · done: fixed the parser · next: write tests · blocker: none"
    ]
    await run_until(bot, utc(2027, 1, 6, 0, 0))  # nothing new on Tuesday: no digest
    assert len(bot.dm("bob")) == before + 1
    await run_until(bot, utc(2027, 1, 7, 9, 30))
    await bot.say("alice", "docs | more | none | 5")
    out = await bot.say("bob", "!checkin digest off")
    assert out[0] == "You'll get each check-in as it comes. What came since the last digest is on its way."
    assert out[1].startswith("Check-in digest") and "alice, Thu 7 Jan 04:00: mood 5/5" in out[1]
    assert await bot.say("bob", "!checkin digest off") == ["You get each check-in as it comes already."]
    assert "is for mentor" in (await bot.say("alice", "!checkin digest on"))[0]


async def test_history_with_answer_rate_and_streak(bot):
    step = timedelta(hours=3)
    await run_until(bot, utc(2027, 1, 4, 9, 30), step)
    await bot.say("alice", "one | two | none | 4")
    await run_until(bot, utc(2027, 1, 11, 9, 30), step)  # Thursday's missed
    await bot.say("alice", "three | four | none | 3")
    await run_until(bot, utc(2027, 1, 14, 9, 30), step)
    await bot.say("alice", "five | six | none | 5")
    out = await bot.say("bob", "!checkins alice last 3")
    assert out[0].splitlines() == [
        "alice's check-ins: 3 of 4 answered (75%), streak 2; times in America/New_York",
        "(last 3 of 4)",
        "Thu 7 Jan 04:00: missed",
        "Mon 11 Jan 04:00: mood 3/5 · done: three · next: four · blocker: none",
        "Thu 14 Jan 04:00: mood 5/5 · done: five · next: six · blocker: none",
    ]
    out = await bot.say("alice", "!checkins 1")
    assert out[0].splitlines() == [
        "Your check-ins: 3 of 4 answered (75%), streak 2; times in Europe/Berlin",
        "(last 1 of 4)",
        "Thu 14 Jan 10:00: mood 5/5 · done: five · next: six · blocker: none",
    ]
    out = await bot.say("bob", "!checkins")
    assert out[0].splitlines() == [
        "Your mentees' check-ins (!checkins MENTEE for one in full):",
        "alice: 3 of 4 answered (75%), streak 2; last answer Thu 14 Jan 04:00: mood 5/5 · done: five · next: six · blocker: none",
    ]
    assert (await bot.say("you", "!checkins alice 1"))[0].startswith("alice's check-ins: 3 of 4 answered")  # a coordinator


async def test_history_refuses_bad_input_and_other_peoples_mentees(bot):
    await add_mentor(bot, "dave")
    usage = "usage: !checkins [QUERY…]"
    assert await bot.say("bob", "!checkins alice last 0") == [f"show between 1 and 50 check-ins — {usage}"]
    assert await bot.say("bob", "!checkins alice last") == [f"say how many, e.g. last 5 — {usage}"]
    assert await bot.say("bob", "!checkins zed") == [f"I don't know anyone called 'zed' — {usage}"]
    assert await bot.say("bob", "!checkins alice dave") == [f"name one mentee, not 'alice dave' — {usage}"]
    assert await bot.say("dave", "!checkins alice") == [
        "You can read your own check-ins and your mentees'; alice is not your mentee."
    ]
    assert await bot.say("alice", "!checkins") == ["Your check-ins: none yet."]
    assert "is for mentee, mentor or coordinator" in (await bot.say("erin", "!checkins"))[0]


# ---------------------------------------------------------------------------- schedules and days off


async def test_a_mentee_chooses_their_own_schedule(bot):
    out = await bot.say("alice", "!checkin schedule tue,fri 18:30")
    assert out == ["Your check-ins are now Tue, Fri at 18:30 (Europe/Berlin). The next one: Tue 5 Jan 18:30 (Europe/Berlin)."]
    await run_until(bot, utc(2027, 1, 9), timedelta(hours=2))
    assert [p.split("!")[0] for p in prompts(bot)] == [
        "Time for your check-in (Tue 5 Jan 18:30)",
        "Time for your check-in (Fri 8 Jan 18:30)",
    ]
    assert (await bot.say("alice", "!checkin schedule"))[0].startswith("Your check-ins: Tue, Fri at 18:30 (Europe/Berlin) (your own); next Tue 12 Jan")
    out = await bot.say("alice", "!checkin schedule default")
    assert out == ["Your check-ins are now Mon, Thu at 10:00 (Europe/Berlin). The next one: Mon 11 Jan 10:00 (Europe/Berlin)."]


@pytest.mark.parametrize(
    "zone,expected",
    [
        # moved east on Tuesday: Thursday 10:00 in Kolkata is 04:30 UTC, before Berlin's 09:00
        ("Asia/Kolkata", (utc(2027, 1, 7, 4, 30), "Time for your check-in (Thu 7 Jan 10:00)")),
        # moved west: Thursday 10:00 in Los Angeles is 18:00 UTC
        ("America/Los_Angeles", (utc(2027, 1, 7, 18, 0), "Time for your check-in (Thu 7 Jan 10:00)")),
    ],
)
async def test_a_new_timezone_moves_the_prompts_to_the_new_local_time(bot, zone, expected):
    await run_until(bot, utc(2027, 1, 5, 12))
    assert (await bot.say("alice", f"!profile set timezone {zone}"))[0].startswith("Saved.")
    await run_until(bot, utc(2027, 1, 8, 0), timedelta(minutes=30))
    assert [p.split("!")[0] for p in prompts(bot)][1:] == [expected[1]]
    monday, thursday = checkins_of(bot)
    assert thursday.due_at == expected[0] and thursday.prompted_at - thursday.due_at <= timedelta(minutes=30)


async def test_moving_west_the_same_evening_never_asks_twice_on_one_day(bot):
    await run_until(bot, utc(2027, 1, 4, 9, 30))  # Monday 10:00 in Berlin: asked
    await bot.say("alice", "!profile set timezone America/Los_Angeles")  # Monday 01:30 in Los Angeles
    await run_until(bot, utc(2027, 1, 5, 12), timedelta(minutes=30))
    assert len(prompts(bot)) == 1  # not again at Monday 10:00 in Los Angeles


async def test_a_new_default_schedule_in_the_config_reaches_the_mentees_who_follow_it(tmp_path, paired_db):
    bot = await start(tmp_path, paired_db)
    await bot.say("alice", "!checkin schedule")
    await run_until(bot, utc(2027, 1, 4, 12))
    await bot.stop()
    raw = embedded_default().model_dump()
    raw["checkins"]["schedule"] = "wed 15:00"
    bot = await Bot.start(tmp_path, config=raw)
    try:
        bot.clock.set(utc(2027, 1, 4, 12))
        await run_until(bot, utc(2027, 1, 8))
        assert [p.split("!")[0] for p in prompts(bot)] == ["Time for your check-in (Wed 6 Jan 15:00)"]
    finally:
        await bot.stop()


@pytest.mark.parametrize(
    "line,answer",
    [
        ("!checkin schedule blursday 10:00", "unknown day 'blursday': use day names such as mon, tue or wednesday"),
        ("!checkin schedule tue 25:00", "'25:00' is not a time of day: use HH:MM on a 24-hour clock (18:30) or 6:30pm"),
        ("!checkin schedule tue", "no time given: add one like 18:30, e.g. 'mon,thu 10:00' or 'tue fri 18:30'"),
        ("!checkin schedule tue 10:00 (Asia/Tokyo)", "check-ins follow your own timezone (Europe/Berlin); !profile set timezone changes it"),
        ("!checkin schedule tue 10:00:30", "give the time in hours and minutes, like 18:30"),
    ],
)
async def test_a_schedule_that_cannot_be_read_is_explained(bot, line, answer):
    assert await bot.say("alice", line) == [f"{answer} — usage: !checkin schedule [DAYS_AND_TIME…]"]


async def test_only_mentees_have_a_schedule_and_an_unpaired_one_is_told_when_it_starts(bot):
    assert "is for mentee" in (await bot.say("bob", "!checkin schedule"))[0]
    await bot.say("you", "!match unassign alice")
    out = await bot.say("alice", "!checkin schedule wed 09:00")
    assert out[0].endswith("They start once you have a mentor.")
    assert await bot.say("alice", "!checkin") == ["You have no mentor right now, so there is no check-in to answer."]


async def test_a_day_off_skips_the_prompt_and_says_when_the_next_one_is(tmp_path, paired_db):
    bot = await start(tmp_path, paired_db, checkins={"days_off": ["2027-01-07 Founders' day", "2027-01-11..2027-01-15 Winter break"]})
    try:
        await run_until(bot, utc(2027, 1, 19), timedelta(hours=2))
        assert [t for t in bot.dm("alice") if t.startswith(("Time for", "No check-in"))] == [
            prompts(bot)[0],
            "No check-in today (Founders' day). Your next one is Mon 18 Jan 10:00 (Europe/Berlin).",
            prompts(bot)[1],
        ]
        assert prompts(bot)[1].startswith("Time for your check-in (Mon 18 Jan 10:00)")
        # the Monday 4 Jan check-in stayed open through the days off, until the next prompt
        assert [(c.due_at.day, c.status) for c in checkins_of(bot)] == [(4, "missed"), (18, "prompted")]
    finally:
        await bot.stop()


# ---------------------------------------------------------------------------- who gets no prompt


async def test_away_withdrawn_and_unpaired_mentees_get_no_prompts(bot):
    for name, tz in (("dora", "Europe/Berlin"), ("emil", "Europe/Berlin")):
        for answer in ["!signup mentee", tz, "en", "3", "programming", "testing", "Ship a feature"]:
            await bot.say(name, answer)
    await bot.say("you", "!match assign dora bob")
    await bot.say("you", "!match assign emil bob")
    await set_away(bot, "alice", "2027-01-10")
    assert "You have withdrawn" in (await bot.say("dora", "!withdraw confirm"))[0]
    await bot.say("you", "!match unassign emil")
    await run_until(bot, utc(2027, 1, 11, 9, 30), timedelta(hours=2))
    assert prompts(bot, "dora") == [] and prompts(bot, "emil") == []
    assert [p.split("!")[0] for p in prompts(bot, "alice")] == ["Time for your check-in (Mon 11 Jan 10:00)"]
    assert not any(t.startswith("Reminder") for t in bot.dm("alice"))


async def test_a_prompt_does_not_break_into_another_interview(bot):
    await bot.say("alice", "!signup mentor")  # the mentor interview is under way at prompt time
    await run_until(bot, utc(2027, 1, 4, 9, 30))
    assert prompts(bot)[0].endswith("(You're answering other questions of mine first: send !checkin when you're done.)")
    assert (await bot.say("alice", "all"))[0].startswith("(2/")  # still the sign-up
    await bot.say("alice", "!cancel")
    await bot.say("alice", "!checkin")
    assert (await bot.say("alice", "a | b | none | 4"))[0].startswith("Thanks, saved!")
    assert checkins_of(bot)[0].status == "answered"


async def test_answers_older_than_the_retention_period_are_deleted(tmp_path, paired_db):
    raw = embedded_default().model_dump()
    bot = await start(tmp_path, paired_db)
    await bot.stop()
    raw["privacy"] = {"retention_days": 7}
    bot = await Bot.start(tmp_path, config=raw)
    try:
        bot.clock.set(SUNDAY)
        await run_until(bot, utc(2027, 1, 4, 9, 30))
        await bot.say("alice", "a | b | none | 4")
        await run_until(bot, utc(2027, 1, 11, 8, 0))
        assert [c.due_at.day for c in checkins_of(bot)] == [4, 7]
        await run_until(bot, utc(2027, 1, 11, 12, 0))  # Monday 4 Jan is more than 7 days ago
        assert [c.due_at.day for c in checkins_of(bot)] == [7, 11]
    finally:
        await bot.stop()
