"""Away mode: who is told, exactly once, when someone goes away and comes back."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import Session, select

from chatbot.config import embedded_default
from storage.progress import AwayPeriod
from tests.harness import Bot

USAGE = " — usage: !away until UNTIL [REASON…]"


def notices(bot: Bot, who: str, about: str) -> list[str]:
    return [t for t in bot.dm(who) if t.startswith(f"Your {about}")]


async def mentor_of_two(bot: Bot) -> None:
    """bob leads alice and carol; dave co-mentors alice."""
    await bot.pair("alice", "bob")
    await bot.pair("carol", "bob")
    await bot.pair("erin", "dave")
    await bot.say("you", "!match comentor alice dave")


async def test_mentee_away_tells_each_mentor_once_and_back_tells_them_again(bot):
    await mentor_of_two(bot)
    out = await bot.say("alice", "!away until 2027-01-15 family visit")
    assert out[:1] == [
        "You are away until 2027-01-15 (inclusive, Europe/Berlin): no prompts, matching or office-hour duty. "
        "!back ends it early. Told: bob, dave."
    ]
    away = "Your mentee alice is away until 2027-01-15. You'll hear when they are back."
    assert notices(bot, "bob", "mentee") == [away] and notices(bot, "dave", "mentee") == [away]
    assert "family" not in "".join(bot.dm("bob") + bot.dm("dave"))  # the reason stays private
    assert await bot.say("alice", "!away until 2027-01-15 family visit") == ["You are away until 2027-01-15 already. !back ends it early."]
    assert notices(bot, "bob", "mentee") == [away]
    assert await bot.say("alice", "!back") == [
        "Welcome back! Prompts and matching include you again. Told: bob, dave.",
        "Your mentee alice is back.",
        "Your mentee alice is back.",
    ]
    assert notices(bot, "bob", "mentee") == [away, "Your mentee alice is back."]
    assert notices(bot, "dave", "mentee") == [away, "Your mentee alice is back."]
    assert await bot.say("alice", "!back") == ["You are not away; nothing changed."]
    await bot.advance("30d")
    assert len(notices(bot, "bob", "mentee")) == 2 and not [t for t in bot.dm("alice") if "Welcome back" in t and "ended" in t]


async def test_mentor_away_tells_lead_and_co_mentees(bot):
    await mentor_of_two(bot)
    out = await bot.say("dave", "!away until 2027-01-10")
    assert out[0].endswith("Told: erin, alice.")
    assert notices(bot, "alice", "co-mentor") == ["Your co-mentor dave is away until 2027-01-10. You'll hear when they are back."]
    assert notices(bot, "erin", "mentor") == ["Your mentor dave is away until 2027-01-10. You'll hear when they are back."]
    assert notices(bot, "carol", "") == []
    # a new date is news; it is told once more
    await bot.say("dave", "!away until 2027-01-12")
    assert notices(bot, "erin", "mentor")[-1] == "Your mentor dave is away until 2027-01-12. You'll hear when they are back."
    assert len(notices(bot, "erin", "mentor")) == 2


async def test_dates_are_checked_in_the_members_own_timezone(bot):
    await bot.pair("alice", "bob")  # alice in Berlin, bob in New York
    bot.clock.set(datetime(2027, 1, 4, 23, 30, tzinfo=timezone.utc))  # Berlin: the 5th; New York: still the 4th
    assert await bot.say("alice", "!away until 2027-01-04") == ["2027-01-04 is in the past (today is 2027-01-05 in Europe/Berlin)" + USAGE]
    assert (await bot.say("bob", "!away until 2027-01-04"))[0].startswith("You are away until 2027-01-04 (inclusive, America/New_York)")
    assert await bot.say("alice", "!away until 2028-01-06") == ["2028-01-06 is more than a year ahead; the latest is 2028-01-05" + USAGE]
    assert (await bot.say("alice", "!away until 2028-01-05"))[0].startswith("You are away until 2028-01-05")


async def test_bad_input_is_refused_and_nobody_is_told(bot):
    await bot.pair("alice", "bob")
    refusals = {
        "!away until": "until is missing" + USAGE,
        "!away until soon": "until: 'soon' is not a date like 2027-01-15" + USAGE,
        "!away until 2027-02-30": "until: '2027-02-30' is not a date like 2027-01-15" + USAGE,
        "!away until 2026-12-31 holiday": "2026-12-31 is in the past (today is 2027-01-04 in Europe/Berlin)" + USAGE,
        "!away until 2027-01-15 " + "r" * 201: "keep the reason under 200 characters" + USAGE,
        "!away 2027-01-15": "!away has: status, until. Try !help away.",
    }
    for line, answer in refusals.items():
        assert await bot.say("alice", line) == [answer], line
    assert notices(bot, "bob", "mentee") == []
    assert await bot.say("alice", "!away status") == ["You are not away. !away until DATE [reason] sets it."]


async def test_status_shows_the_date_and_the_private_reason(bot):
    await bot.pair("alice", "bob")
    await bot.say("alice", "!away until 2027-01-15 conference")
    assert await bot.say("alice", "!away status") == [
        "You are away until 2027-01-15 (inclusive, Europe/Berlin). Reason: conference. !back ends it."
    ]


async def test_the_date_passing_announces_the_return_once_across_ticks_and_restarts(bot):
    await mentor_of_two(bot)
    await bot.say("alice", "!away until 2027-01-05")
    bot.clock.set(datetime(2027, 1, 5, 22, 59, tzinfo=timezone.utc))  # 23:59 on the 5th in Berlin: still away
    await bot.tick()
    assert notices(bot, "bob", "mentee") == ["Your mentee alice is away until 2027-01-05. You'll hear when they are back."]
    await bot.advance("1m")  # midnight in Berlin
    await bot.tick()
    await bot.restart()
    await bot.tick()
    await bot.advance("1d")
    assert notices(bot, "bob", "mentee")[1:] == ["Your mentee alice is back."]
    assert notices(bot, "dave", "mentee")[1:] == ["Your mentee alice is back."]
    welcome = [t for t in bot.dm("alice") if t.startswith("Welcome back")]
    assert welcome == ["Welcome back: your away time ended on 2027-01-05. Prompts and matching include you again."]
    assert await bot.say("alice", "!away status") == ["You are not away. !away until DATE [reason] sets it."]
    with Session(bot.app.database) as s:
        [period] = s.exec(select(AwayPeriod)).all()
    assert (period.until.isoformat(), period.ended_how) == ("2027-01-05", "date passed")


async def test_long_mentor_absence_lists_the_mentees_to_the_coordinators_once(bot):
    await mentor_of_two(bot)
    await bot.say("cora", "!help")
    await bot.say("you", "!role grant cora coordinator")
    await bot.say("dave", "!away until 2027-01-17")  # 14 days counting today: within the limit
    assert not [t for t in bot.dm("cora") if "is away until" in t]
    out = await bot.say("bob", "!away until 2027-02-20 sabbatical")
    assert out[0].endswith(
        "Told: alice, carol. That is over the 14-day limit, so the coordinators have been asked to look after your mentees."
    )
    expected = (
        "bob (mentor) is away until 2027-02-20 (sabbatical): 48 days, over the 14-day limit. "
        "Their mentees may need another mentor: alice, carol. !match unassign MENTEE, then !match assign MENTEE MENTOR."
    )
    assert [t for t in bot.dm("cora") if "is away until" in t] == [expected]
    assert not [t for t in bot.dm("you") if "is away until" in t]  # coordinators exist: the admin is not asked
    await bot.say("bob", "!away until 2027-03-01")  # longer still: the coordinators know already
    await bot.restart()
    await bot.advance("1d")
    assert [t for t in bot.dm("cora") if "is away until" in t] == [expected]
    await bot.say("dave", "!away until 2027-01-31")  # from the 5th now; a co-mentor's mentees are marked
    assert [t for t in bot.dm("cora") if "is away until" in t][-1].startswith(
        "dave (mentor) is away until 2027-01-31: 27 days, over the 14-day limit. Their mentees may need another mentor: "
        "erin, alice (as co-mentor)."
    )


async def test_without_coordinators_the_admins_are_asked_and_a_mentor_without_mentees_bothers_nobody(bot):
    await bot.pair("alice", "bob")
    await bot.pair("carol", "dave")
    await bot.say("you", "!match unassign carol")
    assert (await bot.say("dave", "!away until 2027-06-01"))[0].endswith("!back ends it early.")
    await bot.say("bob", "!away until 2027-06-01")
    assert [t for t in bot.dm("you") if "is away until" in t] == [
        "bob (mentor) is away until 2027-06-01: 149 days, over the 14-day limit. Their mentees may need another mentor: "
        "alice. !match unassign MENTEE, then !match assign MENTEE MENTOR."
    ]


async def test_the_limit_is_a_setting(tmp_path):
    raw = embedded_default().model_dump()
    raw["programme"]["max_mentor_away_days"] = 3
    bot = await Bot.start(tmp_path, config=raw)
    try:
        await bot.pair("alice", "bob")
        await bot.say("bob", "!away until 2027-01-07")  # 4 days counting today
        assert [t for t in bot.dm("you") if "is away until" in t][0].startswith(
            "bob (mentor) is away until 2027-01-07: 4 days, over the 3-day limit."
        )
    finally:
        await bot.stop()


async def test_an_away_mentor_is_not_matched(bot):
    await bot.pair("alice", "bob")
    await bot.pair("carol", "dave")
    await bot.say("you", "!match unassign carol")
    await bot.say("bob", "!away until 2027-01-10")
    assert await bot.say("you", "!match assign carol bob") == ["bob is away until 2027-01-10."]
    await bot.say("bob", "!back")
    assert (await bot.say("you", "!match assign carol bob"))[0] == "bob now mentors carol. Both have been introduced."
