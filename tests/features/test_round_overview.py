"""The coordinator's overview: ``!round pairs``, ``!checkins overview`` and ``!round report`` on
a seeded round with known numbers (tests/dashboard_seed.py), and on it once closed.

On top of the seed: alice answered a check-in on 01-18 naming a blocker, carol missed hers
(her second miss in a row), so the check-ins read 4 of 7 answered: 2 of 3 in the week of 01-04,
1 of 2 in the weeks of 01-11 and 01-18.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from storage.checkins import ANSWERED, MISSED, Checkin
from storage.repos import Repos
from storage.tables import Member
from tests.dashboard_seed import NOW, ids, seeded_bot, utc


def more_checkins(repos: Repos) -> None:
    m = ids(repos)
    q = [["done", "text", "What did you do?"], ["blocker", "text", "Anything blocking you?"]]
    due = utc("2027-01-18")
    repos.db.add(Checkin(mentee_id=m["alice"], due_at=due, status=ANSWERED, questions=q, prompted_at=due,
                              answers=["Wrote tests", "The CI runner is down"], blocker="The CI runner is down",
                              answered_at=due + timedelta(hours=1)))
    repos.db.add(Checkin(mentee_id=m["carol"], due_at=due, status=MISSED, questions=q, answers=[], prompted_at=due))


def more_pairs(repos: Repos, n: int) -> None:
    """``n`` more mentees, each paired with dave today (so none is at risk yet)."""
    rnd, dave = repos.rounds.by_name("2027 Q1"), repos.members.by_handle("dave")
    assert rnd is not None and dave is not None
    for i in range(n):
        mentee = Member(handle=f"m{i:02}", display_name=f"M {i}", created_at=NOW)
        repos.db.add(mentee)
        repos.db.flush()
        repos.pairs.add(rnd.id, mentee.id, dave.id, "mentor", None, NOW)  # type: ignore[arg-type]


async def seeded(tmp_path, *changes):  # noqa: ANN001, ANN201 - the seeded bot, with these changes written
    bot = await seeded_bot(tmp_path, listen=None)
    with Session(bot.engine.database) as s:
        for change in changes:
            change(Repos(s))
        s.commit()
    return bot


@pytest.fixture
async def bot(tmp_path):
    bot = await seeded(tmp_path, more_checkins)
    yield bot
    await bot.stop()


async def test_every_pair_on_one_line_at_risk_first_and_in_private(bot):
    out = await bot.say("you", "!round pairs", channel="#coordinators")
    assert out[0] == "you: I've sent you the answer in a private message."
    assert out[1:] == bot.dm("you")[-1:]
    assert bot.dm("you")[-1].split("\n") == [
        "Pairs in 2027 Q1: 2 mentees, 1 at risk.",
        "carol with dave: 1 session, the last on 2027-01-06; check-ins answered: 1 of 3; goal set, no steps yet; "
        "AT RISK: no session for 15 days",
        "alice with bob: 2 sessions, the last on 2027-01-12; check-ins answered: 3 of 4; goal: 1 of 2 steps done",
    ]


def co_mentor(repos: Repos) -> None:
    m, rnd = ids(repos), repos.rounds.by_name("2027 Q1")
    assert rnd is not None
    repos.pairs.add(rnd.id, m["alice"], m["erin"], "comentor", None, NOW)  # type: ignore[arg-type]


async def test_co_mentors_share_the_line_of_their_mentee(tmp_path):
    bot = await seeded(tmp_path, co_mentor)
    try:
        out = await bot.say("you", "!round pairs")
        assert "\nalice with bob and co-mentor erin: 2 sessions, the last on 2027-01-12;" in out[0]
        assert "2 pairs, 0 ended" in (await bot.say("you", "!round report"))[0]  # a co-mentor is no second pair
    finally:
        await bot.stop()


async def test_past_twenty_pairs_the_rest_is_summarised_and_listed_on_request(tmp_path):
    bot = await seeded(tmp_path, lambda repos: more_pairs(repos, 21))
    try:
        lines = (await bot.say("you", "!round pairs"))[0].split("\n")
        assert lines[0] == "Pairs in 2027 Q1: 23 mentees, 1 at risk."
        assert len(lines) == 1 + 20 + 1 and lines[1].startswith("carol with dave")
        assert lines[-1] == "… and 3 more: !round pairs 2027 Q1 --all"
        everything = (await bot.say("you", "!round pairs 2027 Q1 --all"))[0].split("\n")
        assert len(everything) == 1 + 23 and everything[-1].startswith("m20 with dave: 0 sessions; check-ins answered: 0 of 0")
        assert (await bot.say("you", "!round pairs --all"))[0] == "\n".join(everything)
    finally:
        await bot.stop()


async def test_the_check_in_overview_gives_weekly_rates_blockers_and_who_missed_twice(bot):
    out = await bot.say("you", "!checkins overview", channel="#coordinators")
    assert out[0] == "you: I've sent you the answer in a private message."
    assert bot.dm("you")[-1].split("\n") == [
        "Check-ins in 2027 Q1: 57% answered (4 of 7).",
        "week of 2027-01-04: 67% (2 of 3)",
        "week of 2027-01-11: 50% (1 of 2)",
        "week of 2027-01-18: 50% (1 of 2)",
        "1 open blocker: alice (2027-01-18): The CI runner is down",
        "1 mentee missed their last two check-ins: carol",
    ]


async def test_the_round_report_is_one_message_of_figures(bot):
    out = await bot.say("you", "!round report", channel="#coordinators")
    assert out == [
        "you: Round 2027 Q1 (2027-01-01 → 2027-03-31): 2 mentees and 2 mentors signed up, 0 withdrawn; 2 pairs, 0 ended; "
        "3 sessions, 2h15m in all; check-ins answered: 57% (4 of 7); goals reached: 0 of 2; 5 assessments done; "
        "4 office-hour visits."
    ]


async def test_a_closed_round_keeps_its_ended_pairs_in_every_view(bot):
    await bot.say("you", "!goal show alice")  # nothing changes: a coordinator reading
    await bot.say("you", "!round close")
    with Session(bot.engine.database) as s:
        repos = Repos(s)
        for pair in repos.pairs.active():
            repos.pairs.end(pair, "round closed", NOW)
        s.commit()
    lines = (await bot.say("you", "!round pairs 2027 Q1"))[0].split("\n")
    assert lines[0] == "Pairs in 2027 Q1: 2 mentees, 0 at risk."
    assert lines[1] == ("alice with bob: 2 sessions, the last on 2027-01-12; check-ins answered: 3 of 4; "
                        "goal: 1 of 2 steps done; ended 2027-01-22")
    out = await bot.say("you", "!round report")
    assert "2 pairs, 2 ended; 3 sessions, 2h15m in all; check-ins answered: 57% (4 of 7)" in out[0]
    assert (await bot.say("you", "!checkins overview 2027 q1"))[0].startswith("Check-ins in 2027 Q1: 57% answered (4 of 7).")


async def test_mentors_and_mentees_are_refused_and_bad_names_get_a_clear_answer(bot):
    for who in ("bob", "alice"):
        for command in ("!round pairs", "!checkins overview", "!round report"):
            out = await bot.say(who, command)
            assert out and "is for coordinator" in out[0], (who, command, out)
    assert (await bot.say("you", "!round report 2031 Q9")) == ["There is no round called 2031 Q9."]
    assert (await bot.say("you", "!round pairs 2031 Q9")) == ["There is no round called 2031 Q9."]
