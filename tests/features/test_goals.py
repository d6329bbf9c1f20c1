"""Goals: a mentee's goal per round with steps, seen and commented on by their mentors."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.harness import Bot

OPEN = '!round open "2027 Q1" 2027-01-01 2027-03-31'


async def with_comentor(bot: Bot) -> None:
    """alice: lead mentor bob, co-mentor dave (who also leads erin); carol: mentee of dave."""
    await bot.pair("alice", "bob")
    await bot.pair("erin", "dave", mentor_tz="America/New_York")
    await bot.pair("carol", "dave")
    out = await bot.say("you", "!match comentor alice dave")
    assert "dave now co-mentors alice" in out[0]


async def test_goal_set_changes_the_one_goal_the_signup_holds(bot):
    await bot.pair("alice", "bob")
    out = await bot.say("alice", "!goal set Get two patches merged in core")
    assert out == ["Your goal for 2027 Q1 is now: Get two patches merged in core."]
    assert "goal: Get two patches merged in core" in (await bot.say("alice", "!profile"))[0]
    assert "Their goal" not in (await bot.say("alice", "!goal"))[0]
    assert (await bot.say("bob", "!mentees"))[0].endswith("goal: Get two patches merged in core")
    # and the other way round: !profile set goal is what !goal shows
    await bot.say("alice", "!profile set goal Write the extension's manual")
    assert (await bot.say("alice", "!goal"))[0].startswith("Your goal for 2027 Q1: Write the extension's manual\nStatus: open")
    assert (await bot.say("alice", "!goal set Write the extension's manual"))[0].startswith("Your goal for 2027 Q1 is that already")


async def test_goal_set_refuses_bad_text_and_people_who_are_not_mentees(bot):
    out = await bot.say("alice", "!goal set Land a patch")
    assert out == ["!goal set is for mentee (you have: no role yet)."]
    await bot.pair("alice", "bob")
    assert (await bot.say("alice", "!goal set"))[0] == "text is missing — usage: !goal set TEXT…"
    assert (await bot.say("alice", "!goal set ok"))[0].startswith("Say a little more about your goal")
    assert "under 300 characters" in (await bot.say("alice", "!goal set " + "x" * 301))[0]
    assert (await bot.say("bob", "!goal set Mentor well"))[0] == "!goal set is for mentee (you have: mentor)."
    assert "Land my first patch in core" in (await bot.say("alice", "!goal"))[0]  # nothing changed


async def test_goal_needs_a_mentee_signup_and_stays_after_the_round(bot):
    await bot.pair("alice", "bob")
    out = await bot.say("bob", "!goal")
    assert out == ["You are not signed up as a mentee in 2027 Q1, and goals are mentees': !goal MENTEE shows a mentee's."]
    await bot.say("you", "!round close")
    assert (await bot.say("alice", "!goal"))[0].startswith("Your goal for 2027 Q1: Land my first patch in core")


async def test_steps_are_numbered_and_marked_done_once(bot):
    await bot.pair("alice", "bob")
    assert "no steps yet" in (await bot.say("alice", "!goal step done 1"))[0]
    assert (await bot.say("alice", "!goal step add Set up a local wiki"))[0].startswith("Step 1 added: Set up a local wiki.")
    await bot.say("alice", '!goal step add "Pick a good first bug"')
    out = await bot.say("alice", "!goal step done 2")
    assert out == ["Step 2 is done: Pick a good first bug. 1 to go."]
    assert (await bot.say("alice", "!goal step done 2"))[0] == "Step 2 was done on Mon 4 Jan already."
    assert (await bot.say("alice", "!goal step done 1"))[0].endswith("That was the last one: !goal done when the goal is reached.")
    shown = (await bot.say("alice", "!goal"))[0].split("\n")
    assert shown[1:] == ["Status: open; 2 of 2 steps done", "1. [x] Set up a local wiki", "2. [x] Pick a good first bug"]


async def test_step_commands_refuse_bad_input(bot):
    await bot.pair("alice", "bob")
    await bot.say("alice", "!goal step add Set up a local wiki")
    usage = " — usage: !goal step done NUMBER"
    assert (await bot.say("alice", "!goal step done 3"))[0] == "number: your goal has 1 step; choose 1 to 1" + usage
    assert (await bot.say("alice", "!goal step done 0"))[0] == "number must be at least 1" + usage
    assert (await bot.say("alice", "!goal step done two"))[0] == "number: 'two' is not a whole number" + usage
    assert (await bot.say("alice", "!goal step done"))[0] == "number is missing" + usage
    assert (await bot.say("alice", "!goal step add"))[0] == "text is missing — usage: !goal step add TEXT…"
    assert (await bot.say("alice", "!goal step add ab"))[0].startswith("say a little more about the step")
    assert "under 200 characters" in (await bot.say("alice", "!goal step add " + "y" * 201))[0]
    assert (await bot.say("bob", "!goal step add Mentor"))[0] == "!goal step add is for mentee (you have: mentor)."
    assert "0 of 1 step done" in (await bot.say("alice", "!goal"))[0]  # still one step, not done; not "1 steps"
    for n in range(2, 21):
        await bot.say("alice", f"!goal step add Step number {n}")
    assert (await bot.say("alice", "!goal step add One too many"))[0] == "A goal has 20 steps at most."


async def test_goal_done_tells_lead_and_comentor_once_and_set_reopens_it(bot):
    await with_comentor(bot)
    await bot.say("alice", "!goal step add Set up a local wiki")
    out = await bot.say("alice", "!goal done")
    assert out[0] == "Well done! Your goal for 2027 Q1 is marked reached. (1 step left open.) Told: bob, dave."
    notice = "alice has reached their goal for 2027 Q1: Land my first patch in core"
    assert bot.dm("bob").count(notice) == 1 and bot.dm("dave").count(notice) == 1
    assert (await bot.say("alice", "!goal done"))[0] == "Your goal was marked reached on Mon 4 Jan already."
    assert bot.dm("bob").count(notice) == 1
    assert "Status: reached on Mon 4 Jan" in (await bot.say("bob", "!goal alice"))[0]
    out = await bot.say("alice", "!goal set Land two patches in core")
    assert out == ["Your goal for 2027 Q1 is now: Land two patches in core. It was marked reached; it is open again."]
    assert "Status: open" in (await bot.say("alice", "!goal"))[0]
    await bot.say("alice", "!goal done")
    assert bot.dm("bob")[-1] == "alice has reached their goal for 2027 Q1: Land two patches in core"


async def test_goal_done_without_a_goal_says_how_to_set_one(bot):
    await bot.say("you", OPEN)
    await bot.say("alice", "!signup mentee")
    for answer in ["Europe/Berlin", "en", "1", "programming", "testing", "Land my first patch"]:
        await bot.say("alice", answer)
    await bot.say("alice", "!goal set Land my first patch in core")
    await bot.say("alice", "!goal done")  # a mentee with no mentor yet: nobody to tell
    assert bot.dm("alice")[-1] == "Well done! Your goal for 2027 Q1 is marked reached."


async def test_mentors_and_comentors_see_the_same_goal_others_are_refused(bot):
    await with_comentor(bot)
    await bot.say("alice", "!goal step add Set up a local wiki")
    await bot.say("bob", "!goal comment alice Start with the good-first-bug tag")
    lead = await bot.say("bob", "!goal alice")
    assert lead[0].split("\n") == [
        "alice's goal for 2027 Q1: Land my first patch in core",
        "Status: open; 0 of 1 step done",
        "1. [ ] Set up a local wiki",
        "Comments (1):",
        "bob on Mon 4 Jan: Start with the good-first-bug tag",
    ]
    assert await bot.say("dave", "!goal alice") == lead
    assert (await bot.say("you", "!goal alice")) == lead  # a coordinator (here: admin)
    assert (await bot.say("bob", "!goal carol"))[0] == "carol is not your mentee; you can see your own mentees' goals."
    assert (await bot.say("carol", "!goal alice"))[0] == "alice is not your mentee; you can see your own mentees' goals."
    assert (await bot.say("bob", "!goal zed"))[0] == "I don't know anyone called 'zed' — usage: !goal [MENTEE]"
    assert (await bot.say("you", "!goal bob"))[0] == "bob is not signed up as a mentee in 2027 Q1."


async def test_comment_tells_the_mentee_exactly_once(bot):
    await with_comentor(bot)
    out = await bot.say("dave", "!goal comment alice Try the good-first-bug tag", event_id="m1")
    assert out == ["Comment saved; alice has been told.", "dave commented on your goal: Try the good-first-bug tag"]
    await bot.say("dave", "!goal comment alice Try the good-first-bug tag", event_id="m1")  # a replayed event
    assert bot.dm("alice").count("dave commented on your goal: Try the good-first-bug tag") == 1
    await bot.restart()
    await bot.tick()
    assert bot.dm("alice").count("dave commented on your goal: Try the good-first-bug tag") == 1
    assert "dave on Mon 4 Jan: Try the good-first-bug tag" in (await bot.say("alice", "!goal"))[0]


async def test_comment_refuses_bad_input_and_tells_nobody(bot):
    await with_comentor(bot)
    usage = " — usage: !goal comment MENTEE TEXT…"
    assert (await bot.say("bob", "!goal comment carol Nice"))[0] == "carol is not your mentee; you can comment on your own mentees' goals."
    assert (await bot.say("bob", "!goal comment bob Nice"))[0] == "bob is not your mentee; you can comment on your own mentees' goals."
    assert (await bot.say("bob", "!goal comment zed Nice"))[0] == "I don't know anyone called 'zed'" + usage
    assert (await bot.say("bob", "!goal comment alice"))[0] == "text is missing" + usage
    assert (await bot.say("bob", "!goal comment alice " + "z" * 501))[0] == "keep a comment under 500 characters" + usage
    assert (await bot.say("alice", "!goal comment alice Me"))[0] == "!goal comment is for mentor (you have: mentee)."
    assert not [t for who in ("alice", "carol", "bob") for t in bot.dm(who) if "commented on your goal" in t]


async def test_long_comment_threads_show_the_newest_three(bot):
    await bot.pair("alice", "bob")
    for n in range(1, 6):
        await bot.say("bob", f"!goal comment alice Note {n}")
    lines = (await bot.say("alice", "!goal"))[0].split("\n")
    assert lines[-4:] == ["Comments (5, 2 earlier not shown):", "bob on Mon 4 Jan: Note 3", "bob on Mon 4 Jan: Note 4", "bob on Mon 4 Jan: Note 5"]


async def test_dates_are_shown_in_the_viewers_timezone(bot):
    await bot.pair("alice", "bob")  # alice in Berlin, bob in New York
    bot.clock.set(datetime(2027, 1, 4, 23, 30, tzinfo=timezone.utc))  # Berlin: the 5th; New York: the 4th
    await bot.say("bob", "!goal comment alice Late thought")
    assert "bob on Tue 5 Jan: Late thought" in (await bot.say("alice", "!goal"))[0]
    assert "bob on Mon 4 Jan: Late thought" in (await bot.say("bob", "!goal alice"))[0]


async def test_each_round_has_its_own_goal(bot):
    await bot.pair("alice", "bob")
    await bot.say("alice", "!goal step add Set up a local wiki")
    await bot.say("alice", "!goal done")
    await bot.say("you", "!round close")
    await bot.say("you", '!round open "2027 Q2" 2027-04-01 2027-06-30')
    await bot.say("alice", "!signup mentee")
    await bot.say("alice", "programming")
    await bot.say("alice", "testing")
    await bot.say("alice", "Review other people's patches")
    shown = (await bot.say("alice", "!goal"))[0].split("\n")
    assert shown == [
        "Your goal for 2027 Q2: Review other people's patches",
        "Status: open",
        "No steps yet: !goal step add TEXT adds a milestone.",
    ]
