"""Matchmaking through conversations: suggestions with reasons, confirmation, manual pairs and
their rules, pairs at risk, and nobody left without a mentor silently."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from chatbot.context import Context
from chatbot.features.matchmaking.risk import notice_silence, pairs_at_risk
from storage.mentorship import Pair
from storage.repos import Repos
from tests.harness import Bot, selects

OPEN = '!round open "2027 Q1" 2027-01-01 2027-03-31'


async def mentee(bot: Bot, who: str, tz: str = "Europe/Berlin", langs: str = "en", track: str = "programming",
                 skills: str = "testing") -> None:
    for line in ["!signup mentee", tz, langs, "3", track, skills, "Land a patch in core"]:
        await bot.say(who, line)


async def mentor(bot: Bot, who: str, tz: str = "Europe/London", langs: str = "en", tracks: str = "programming",
                 skills: str = "testing", capacity: str = "2") -> None:
    for line in ["!signup mentor", tz, langs, "3", tracks, skills, capacity]:
        await bot.say(who, line)


def pairs(bot: Bot) -> list[tuple[str, str, str, bool]]:
    from storage.tables import Member

    with Session(bot.app.database) as s:
        handle = {m.id: m.handle for m in s.exec(select(Member))}
        return [(handle[p.mentee_id], handle[p.mentor_id], p.kind, p.ended_at is None) for p in s.exec(select(Pair))]


async def test_suggest_explains_each_pair_and_confirm_makes_them(bot):
    await bot.say("you", OPEN)
    await mentee(bot, "alice", skills="code review")
    await mentee(bot, "carol", langs="de", skills="documentation")
    await mentee(bot, "erin", langs="fr")
    await mentor(bot, "bob", skills="code review", langs="en, de")
    out = (await bot.say("you", "!match suggest"))[0]
    lines = out.splitlines()
    assert lines[0].startswith("1. alice ← bob: shares code review") and "both speak en" in lines[0] and "overlapping daytime" in lines[0]
    assert lines[1].startswith("2. carol ← bob:") and "both speak de" in lines[1]
    assert lines[2] == "Not matched: erin (no mentor shares a language)." or lines[2].startswith("Not matched: erin (")
    assert "!match confirm all" in lines[-1]
    assert "There is no suggestion 3" in (await bot.say("you", "!match confirm 3"))[0]
    assert "say all, or the numbers" in (await bot.say("you", "!match confirm two"))[0]
    out = (await bot.say("you", "!match confirm 2"))[0]
    assert out == "Paired 1: carol ← bob."
    assert ("carol", "bob", "mentor", True) in pairs(bot)
    assert any("Meet your mentor" in t for t in bot.dm("carol")) and any("You are now mentor of" in t for t in bot.dm("bob"))
    assert "no suggestions to confirm" in (await bot.say("you", "!match confirm all"))[0]


async def test_suggest_with_nobody_to_match_says_why(bot):
    await bot.say("you", OPEN)
    assert await bot.say("you", "!match suggest") == ["No mentee has signed up for 2027 Q1 yet."]
    await bot.pair("alice", "bob")
    assert await bot.say("you", "!match suggest") == ["Every mentee of 2027 Q1 has a mentor."]


async def test_confirm_skips_what_changed_since_the_suggestion(bot):
    await bot.say("you", OPEN)
    for who in ("alice", "carol", "erin"):
        await mentee(bot, who)
    await mentor(bot, "bob", capacity="1")
    await mentor(bot, "dave", capacity="1")
    lines = (await bot.say("you", "!match suggest"))[0].splitlines()
    second_mentor = lines[1].split("← ")[1].split(":")[0]
    left_out = lines[2].split("Not matched: ")[1].split(" ")[0]
    await bot.say("you", f"!match assign {left_out} {second_mentor}")  # that mentor is full now
    out = (await bot.say("you", "!match confirm all"))[0]
    assert out.startswith("Paired 1:")
    assert f"Skipped: 2 ({second_mentor} is at capacity (1 of 1 mentee).)" in out


async def test_manual_pairs_obey_every_rule(bot):
    await bot.say("you", OPEN)
    await mentee(bot, "alice")
    await mentee(bot, "carol")
    await mentee(bot, "dora", track="documentation")
    await mentor(bot, "bob", capacity="1", tracks="programming")
    await mentor(bot, "eve", capacity="3", tracks="all")
    assert "bob now mentors alice" in (await bot.say("you", "!match assign alice bob"))[0]
    assert "bob is at capacity (1 of 1 mentee)" in (await bot.say("you", "!match assign carol bob"))[0]
    assert "alice has a mentor already (bob)" in (await bot.say("you", "!match assign alice eve"))[0]
    assert "Matching never crosses tracks" in (await bot.say("you", "!match assign dora bob"))[0]
    assert "bob is not signed up as a mentee" in (await bot.say("you", "!match assign bob eve"))[0]
    assert "I don't know anyone called 'zed'" in (await bot.say("you", "!match assign zed eve"))[0]
    assert "is for coordinator" in (await bot.say("alice", "!match assign carol eve"))[0]
    assert "eve now co-mentors alice" in (await bot.say("you", "!match comentor alice eve"))[0]
    assert "has no mentor yet" in (await bot.say("you", "!match comentor carol eve"))[0]
    out = (await bot.say("alice", "!mentor"))[0]
    assert out.splitlines() == ["mentor: bob (bob, timezone Europe/London)", "co-mentor: eve (eve, timezone Europe/London)"]
    await bot.say("eve", "!away until 2027-02-01 holiday")
    assert "eve is away until 2027-02-01" in (await bot.say("you", "!match assign carol eve"))[0]
    assert "alice has no mentor now (was: bob, eve)" in (await bot.say("you", "!match unassign alice"))[0]
    # the mentee hears of both in one sentence, with the verb agreeing (it said "mentor(s)")
    assert bot.dm("alice")[-1] == "bob and eve no longer mentor you; a coordinator will find you a new mentor."
    assert "alice has no mentor." in (await bot.say("you", "!match unassign alice"))[0]


async def test_mentors_claim_unmatched_mentees_of_their_track(bot):
    await bot.say("you", OPEN)
    await mentee(bot, "alice")
    await mentee(bot, "dora", track="documentation")
    await mentor(bot, "bob", tracks="programming")
    assert "Matching never crosses tracks" in (await bot.say("bob", "!match claim dora"))[0]
    await bot.say("bob", "!mentor closed")
    assert "closed to new mentees" in (await bot.say("bob", "!match claim alice"))[0]
    await bot.say("bob", "!mentor open")
    assert (await bot.say("bob", "!match claim alice"))[0] == "You now mentor alice. You have both been introduced."
    # said to bob himself: "you", not "bob mentors alice already."
    assert await bot.say("bob", "!match claim alice") == ["You mentor alice already."]
    assert "is for mentor" in (await bot.say("alice", "!match claim dora"))[0]
    out = (await bot.say("bob", "!mentees"))[0]
    assert out == "alice (Europe/Berlin): no sessions yet; no check-in yet; goal: Land a patch in core"
    await bot.say("bob", '!session log alice 1h30m "first look"')
    await bot.say("alice", "!checkin a | b | none | 4")
    await bot.advance("1d")
    out = (await bot.say("bob", "!mentees"))[0]
    # one session reads "1 session" (it read "1 sessions")
    assert out == "alice (Europe/Berlin): 1 session (1h30m); last check-in yesterday; goal: Land a patch in core"


async def test_silence_is_nudged_once_then_coordinators_are_told_once(bot):
    await bot.pair("alice", "bob")
    await bot.advance("1h")
    await bot.say("alice", "!whoami")  # she is around after the introduction
    await bot.advance("13d")
    assert not any("No session with alice" in t for t in bot.dm("bob"))
    await bot.advance("1d")
    assert len([t for t in bot.dm("bob") if "No session with alice has been logged for 14 days" in t]) == 1
    await bot.advance("1d")
    assert len([t for t in bot.dm("bob") if "No session with alice" in t]) == 1  # once
    assert not any("Pair at risk" in t for t in bot.dm("you"))
    await bot.advance("2d")
    assert len([t for t in bot.dm("you") if t.startswith("Pair at risk: bob and alice: no session for 17 days")]) == 1
    await bot.advance("1d")
    assert len([t for t in bot.dm("you") if t.startswith("Pair at risk")]) == 1
    assert "bob and alice: no session for 18 days" in (await bot.say("you", "!match report"))[0]
    await bot.say("bob", '!session log alice 45m "getting started"')
    assert "No pair of 2027 Q1 looks stuck" in (await bot.say("you", "!match report"))[0]


def _risks_and_queries(bot: Bot) -> tuple[list[str], int]:
    with selects(bot.app.database) as seen, Session(bot.app.database) as db:
        repos = Repos(db)
        risks = pairs_at_risk(Context(bot.engine, repos, bot.clock.now()), repos.rounds.current(bot.clock.now().date()))
    return sorted(f"{r.kind} {r.mentor.handle}/{r.mentee.handle}" for r in risks), len(seen)


async def test_the_at_risk_scan_asks_the_same_few_questions_however_many_pairs(bot):
    await bot.pair("alice", "bob")
    bot.clock.advance(timedelta(days=8))
    one_pair = _risks_and_queries(bot)
    assert one_pair[0] == ["intro bob/alice"]
    await bot.pair("carol", "dave")
    await bot.pair("erin", "frank")
    bot.clock.advance(timedelta(hours=1))
    await bot.say("erin", "!whoami")  # erin was seen after her introduction: not at risk
    bot.clock.advance(timedelta(days=8))
    three_pairs = _risks_and_queries(bot)
    assert three_pairs[0] == ["intro bob/alice", "intro dave/carol"]
    assert three_pairs[1] == one_pair[1] <= 4  # the round, sessions, pairs' activity, the risky pairs' people


async def test_the_hourly_risk_scan_asks_a_fixed_few_questions_once_everyone_was_told(bot):
    for mentee, mentor in (("alice", "bob"), ("carol", "dave"), ("erin", "frank")):
        await bot.pair(mentee, mentor)
    for coordinator in ("gina", "hank"):
        await bot.say(coordinator, "!whoami")
        await bot.say("you", f"!role grant {coordinator} coordinator")
    await bot.advance("8d")  # the three mentees are nudged about the introduction
    await bot.advance("4d")  # and both coordinators told about the three pairs
    assert len([t for t in bot.dm("gina") if t.startswith("3 pairs at risk")]) == 1
    bot.clock.advance(timedelta(hours=1))
    with selects(bot.app.database) as seen, Session(bot.app.database) as db:
        ctx = Context(bot.engine, Repos(db), bot.clock.now())
        await notice_silence(ctx)
        db.rollback()
    assert ctx.outbound == []  # nobody is told twice
    # the round, the hourly mark (read, then read to write), sessions, pairs, their people,
    # nudges, coordinators, escalations sent: none of it per pair
    assert len(seen) <= 9, "\n".join(s[:90] for s in seen)


async def test_a_mentee_who_never_answers_the_introduction_is_noticed(bot):
    await bot.pair("alice", "bob")
    await bot.advance("7d")
    assert len([t for t in bot.dm("alice") if "introduced themselves a while ago" in t]) == 1


async def test_the_introduction_alert_says_what_the_bot_saw_not_that_the_mentee_never_answered(bot):
    """Issue 22: "chidi has not answered nkem's introduction (10 days)" claimed what the bot
    cannot know (they may have talked elsewhere); it says what it saw."""
    await bot.pair("alice", "bob")
    await bot.advance("7d")
    assert (await bot.say("you", "!match report"))[0] == (
        "1 pair at risk in 2027 Q1:\n"
        "bob and alice: no check-in, no session and no message from alice since their introduction 7 days ago"
    )


async def test_no_silence_alert_while_the_mentee_is_away_and_the_days_away_do_not_count(bot):
    """Issue 22: a mentor was told "No session with hana has been logged for 14 days" while hana was away."""
    await bot.pair("hana", "bob")
    await bot.advance("1h")
    await bot.say("hana", "!away until 2027-01-25 travel")
    await bot.advance("20d")
    assert not any("No session with hana" in t for t in bot.dm("bob"))
    assert "No pair of 2027 Q1 looks stuck" in (await bot.say("you", "!match report"))[0]
    await bot.advance("2d")  # back on the 26th: the count starts again
    assert not any("No session with hana" in t for t in bot.dm("bob"))
    await bot.advance("14d")
    assert len([t for t in bot.dm("bob") if "No session with hana has been logged for 14 days" in t]) == 1


async def test_coordinators_get_one_message_about_every_pair_at_risk_in_a_tick(bot):
    """Issue 22: the coordinator got six separate "Pair at risk" DMs in one tick."""
    for mentee, mentor in (("alice", "bob"), ("carol", "dave"), ("erin", "frank")):
        await bot.pair(mentee, mentor)
    await bot.advance("8d")
    before = len(bot.dm("you"))
    await bot.advance("4d")
    alerts = [t for t in bot.dm("you")[before:] if "at risk" in t]
    assert len(alerts) == 1, alerts
    assert alerts[0].splitlines()[0] == "3 pairs at risk, nudged with no change since:"
    assert alerts[0].splitlines()[1].startswith("bob and alice: no check-in, no session and no message from alice")
    await bot.advance("1d")
    assert len([t for t in bot.dm("you") if "at risk" in t]) == 1


async def test_a_withdrawing_mentor_leaves_nobody_without_a_mentor_silently(bot):
    await bot.pair("alice", "bob")
    await mentor(bot, "eve", tz="Europe/Berlin")
    await bot.say("bob", "!withdraw confirm")
    assert ("alice", "bob", "mentor", False) in pairs(bot)
    assert any("bob can no longer mentor you" in t for t in bot.dm("alice"))
    notice = [t for t in bot.dm("you") if "These mentees need a new mentor: alice" in t]
    assert len(notice) == 1 and "alice ← eve:" in notice[0]


async def test_a_withdrawing_mentee_ends_the_pair_and_the_mentor_is_told(bot):
    await bot.pair("alice", "bob")
    await bot.say("alice", "!withdraw confirm")
    assert ("alice", "bob", "mentor", False) in pairs(bot)
    assert any("alice has left the programme" in t for t in bot.dm("bob"))
    assert "You have no mentees now." in (await bot.say("bob", "!mentees"))[0]


async def test_linking_keeps_pairs_with_the_person(bot):
    await bot.pair("alice", "bob")
    code = (await bot.say("alice", "!link", platform="irc"))[0].split()[4].rstrip(".")
    await bot.say("alice", f"!link {code}")
    assert "mentor: bob" in (await bot.say("alice", "!mentor", platform="irc"))[0]


async def test_a_full_mentor_is_not_made_co_mentor_of_more_mentees_without_an_override(bot):
    """Issue 22: a mentor leading as many mentees as their capacity was made co-mentor of two
    more and !mentees listed them all. Co-mentoring counts in full."""
    await bot.say("you", OPEN)
    for who in ("alice", "carol", "dora"):
        await mentee(bot, who)
    await mentor(bot, "bob", capacity="1")
    await mentor(bot, "eve", capacity="3")
    await bot.say("you", "!match assign alice bob")
    await bot.say("you", "!match assign carol eve")
    await bot.say("you", "!match assign dora eve")
    out = await bot.say("you", "!match comentor carol bob")
    assert out == [
        "bob is at capacity (1 of 1 mentee). Add 'over-capacity' to the command to pair them anyway."
    ]
    assert ("carol", "bob", "comentor", True) not in pairs(bot)
    out = await bot.say("you", "!match comentor carol bob over-capacity")
    assert out[:1] == ["bob now co-mentors carol. This puts bob over capacity (2 of 1 mentee), as you asked."]
    assert "eve now co-mentors alice." == (await bot.say("you", "!match comentor alice eve"))[0]
    assert len((await bot.say("bob", "!mentees"))[0].splitlines()) == 2


async def test_match_confirm_1_comma_2_confirms_both(bot):
    """Issue 22: "!match confirm 1,2" was refused."""
    await bot.say("you", OPEN)
    await mentee(bot, "alice")
    await mentee(bot, "carol")
    await mentor(bot, "bob", capacity="2")
    await bot.say("you", "!match suggest")
    out = await bot.say("you", "!match confirm 1,2")
    assert out[0].startswith("Paired 2:"), out
