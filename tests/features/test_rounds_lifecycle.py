"""A round from sign-ups to wrap-up, as people live it: the next round's sign-ups open while one
runs, closing ends the pairs (no prompt, reminder or nudge after it), every pair gets its wrap-up
once, every report still works on the closed round, and the waiting list fills and empties.

The clock starts on Sunday 3 Jan 2027; "2027 Q1" runs 4 Jan – 31 Mar. ``you`` is the admin (a
coordinator by config); alice (mentee) and bob (mentor) sign up through the real interviews.
"""

from __future__ import annotations

from datetime import datetime, timezone

from tests.harness import Bot, matches

SUNDAY = datetime(2027, 1, 3, 12, 0, tzinfo=timezone.utc)
Q1 = '!round open "2027 Q1" 2027-01-04 2027-03-31'


async def start(tmp_path, round_line: str = Q1) -> Bot:
    bot = await Bot.start(tmp_path)
    bot.clock.set(SUNDAY)
    out = await bot.say("you", round_line)
    assert "is open" in out[0], out
    return bot


async def sign_up(bot: Bot, who: str, kind: str, capacity: str = "3", goal: str = "Land a patch") -> None:
    answers = ["Europe/Berlin", "en", "3", "programming", "testing", goal] if kind == "mentee" else ["Europe/Berlin", "en", "3", "all", "testing", capacity]
    out = await bot.say(who, f"!signup {kind}")
    assert "Welcome" in out[0], out
    for answer in answers:
        out = await bot.say(who, answer)
    assert "signed up" in out[0].lower(), out


async def days(bot: Bot, n: int) -> None:
    """``n`` days pass, the scheduler ticking every two hours as it would."""
    for _ in range(n * 12):
        await bot.advance("2h")


async def test_closing_stops_prompts_and_each_pair_gets_one_wrap_up(tmp_path):
    bot = await start(tmp_path)
    try:
        await bot.pair("alice", "bob")
        await days(bot, 1)
        assert matches(r"check-in", bot.dm("alice")), "alice was prompted while the round ran"
        await bot.say("bob", "!session log alice 45m testing")
        await bot.say("alice", "!goal step add Read the contributor guide")

        out = await bot.say("you", "!round close")
        assert matches(r"Round 2027 Q1 is closed: 1 mentee, 1 pair ended; wrap-ups are on their way\.\n1 final check was asked for, due", out), out
        wrap = [t for t in bot.dm("alice") if "2027 Q1 is over" in t]
        assert len(wrap) == 1
        assert "With bob: 1 session (45m); 1 of 1 check-in answered" not in wrap[0]  # she never answered
        assert matches(r"With bob: 1 session \(45m\); 0 of \d+ check-ins? answered; goal “Land my first patch in core”: 0 of 1 step done", wrap)
        assert matches(r"The coordinators will announce the next round\.", wrap)
        assert matches(r"2027 Q1 is over\. With alice: 1 session \(45m\).*Thank you for mentoring!", bot.dm("bob"))
        assert matches(r"final check of alice's skills, by .*!assess final alice starts it", bot.dm("bob"))
        assert matches(r"Final check of alice for 2027 Q1", await bot.say("bob", "!assess final alice")), "due after the close"
        await bot.say("bob", "stop")

        alice, bob = len(bot.dm("alice")), len(bot.dm("bob"))
        out = await bot.say("alice", "1. read the guide 2. a patch 3. none 4. 4")
        assert not matches(r"Thanks, saved", out), "an open check-in ends with the round"
        alice = len(bot.dm("alice"))
        await days(bot, 14)
        assert bot.dm("alice")[alice:] == [] and bot.dm("bob")[bob:] == [], "no prompt, reminder, digest or nudge after closing"

        out = await bot.say("you", "!round close 2027 Q1")
        assert matches(r"2027 Q1 is closed already \(on ", out), out
        await bot.restart()
        await days(bot, 1)
        assert bot.dm("alice")[alice:] == [] and bot.dm("bob")[bob:] == []
        out = await bot.say("bob", "!assess final alice")
        assert matches(r"You do not mentor alice", out), "two weeks after the close, the final check is no longer due"
    finally:
        await bot.stop()


async def test_every_report_works_on_the_closed_round(tmp_path):
    bot = await start(tmp_path)
    try:
        await bot.pair("alice", "bob")
        await bot.say("bob", "!session log alice 1h30m Composer debugging")
        await bot.say("alice", "!assess")
        await bot.say("alice", "1")
        await bot.say("alice", "stop")
        await bot.say("you", "!round close")
        await days(bot, 2)

        assert matches(r"2027 Q1: 1 session, 1h30m in all\.\nbob: 1 session, 1h30m — alice 1 \(1h30m\)", await bot.say("you", "!session totals"))
        assert matches(r"All sessions in 2027 Q1:\n1: Sun 3 Jan bob with alice, 1h30m", await bot.say("you", "!session list"))
        assert matches(r"Sessions with alice in 2027 Q1", await bot.say("bob", "!session list alice"))
        assert matches(r"2027 Q1 is closed: 1 pair took part; every one logged sessions\.", await bot.say("you", "!match report"))
        assert matches(r"Skills of alice in 2027 Q1 .*\nOpen Source Ecosystem Awareness: self 1", await bot.say("you", "!assess report alice"))
        assert matches(r"Skills of alice in 2027 Q1", await bot.say("bob", "!assess report alice"))
        assert matches(r"Round 2027 Q1 \(.*\), closed on .*: 1 mentee, 1 mentor signed up", await bot.say("alice", "!round status"))

        out = await bot.say("bob", "!mentees")
        assert matches(r"You have no mentees now\.\nYou mentored 1 more person before: !mentees all shows them\.", out), out
        out = await bot.say("bob", "!mentees all")
        assert matches(r"Earlier:\nalice in 2027 Q1: 1 session \(1h30m\); goal “Land my first patch in core”: open", out), out
        assert not matches(r"goal: \?", out)
        assert matches(r"Your goal for 2027 Q1: Land my first patch in core", await bot.say("alice", "!goal"))
    finally:
        await bot.stop()


async def test_the_next_round_takes_sign_ups_while_one_runs(tmp_path):
    bot = await start(tmp_path)
    try:
        await bot.pair("alice", "bob")
        await days(bot, 2)  # Q1 runs now; its sign-ups ended when it started
        out = await bot.say("you", '!round open "2027 Q2" 2027-03-15 2027-06-30')
        assert matches(r"2027 Q1 runs until .*31 Mar 2027; a new round may start after that", out), out
        out = await bot.say("you", '!round open "2027 Q2" 2027-04-01 2027-06-30')
        assert matches(r"Round 2027 Q2 is open: it runs .*, sign-ups Tue, 5 Jan 2027 → Wed, 31 Mar 2027 with", out), out
        out = await bot.say("you", '!round open "2027 Q3" 2027-07-01 2027-09-30')
        assert matches(r"2027 Q2 takes sign-ups until .*; let sign-ups for the new round begin after that with --signups-from 2027-04-01", out), out

        status = await bot.say("carol", "!round status")
        assert matches(r"Round 2027 Q1 .*, running: 1 mentee, 1 mentor .*\nRound 2027 Q2 .*, taking sign-ups until ", status), status
        out = await bot.say("carol", "!signup mentee")
        assert matches(r"sign you up as a mentee for 2027 Q2", out), out

        await bot.say("you", "!round close")
        assert matches(r"2027 Q2 takes sign-ups now: !signup mentee\.", bot.dm("alice"))
    finally:
        await bot.stop()


async def test_a_round_opened_late_takes_sign_ups_until_it_ends(tmp_path):
    bot = await start(tmp_path, '!round open "2027 Q1" 2027-01-01 2027-03-31')
    try:
        out = await bot.say("you", "!round status")
        assert matches(r"running, taking sign-ups until .*31 Mar 2027", out), out
        out = await bot.say("you", '!round open "2027 Q2" 2027-04-01 2027-06-30 --signups-from 2027-03-01')
        assert matches(r"2027 Q1 takes sign-ups until .*; let sign-ups .* --signups-from 2027-04-01", out), out
        out = await bot.say("you", '!round open "2027 Q2" 2027-04-01 2027-06-30 --signups-form 2027-03-01')
        assert matches(r"--signups-form is not an option here; use --signups-from --signups-until", out), out
    finally:
        await bot.stop()


async def test_a_waiting_mentee_is_suggested_when_a_mentor_has_room(tmp_path):
    bot = await start(tmp_path)
    try:
        await sign_up(bot, "alice", "mentee")
        await sign_up(bot, "carol", "mentee")
        await sign_up(bot, "dave", "mentee")
        await sign_up(bot, "bob", "mentor", capacity="1")
        out = await bot.say("you", "!match suggest")
        assert matches(r"1\. alice ← bob", out), out
        assert matches(r"Every mentor of your track is full in 2027 Q1 for now, so you are on the waiting list: number 1\.", bot.dm("carol"))
        assert matches(r"waiting list: number 2\.", bot.dm("dave"))
        await bot.say("you", "!match confirm all")
        assert matches(r"mentee in 2027 Q1: on the waiting list, number 2", await bot.say("dave", "!signup status"))
        await bot.say("you", "!match suggest")
        assert len([t for t in bot.dm("carol") if "waiting list" in t]) == 1, "told once"

        told = len(bot.dm("you"))
        await bot.say("bob", "!profile set capacity 2")
        news = bot.dm("you")[told:]
        assert matches(r"A mentor has room in 2027 Q1\. First in line who fits: carol, number 1 of 2 on the waiting list\.\n"
                       r"Suggested: carol ← bob: .*\n!match assign carol bob pairs them\.", news), news
        await bot.say("you", "!match assign carol bob")
        assert matches(r"mentee in 2027 Q1: on the waiting list, number 1", await bot.say("dave", "!signup status"))

        told = len(bot.dm("you"))
        await sign_up(bot, "erin", "mentor")
        assert matches(r"First in line who fits: dave, number 1 of 1 .*\nSuggested: dave ← erin", bot.dm("you")[told:])
    finally:
        await bot.stop()


async def test_a_round_closes_itself_after_its_last_day_with_a_reminder_a_week_before(tmp_path):
    bot = await start(tmp_path, '!round open "Sprint" 2027-01-04 2027-01-20')
    try:
        await bot.pair("alice", "bob")
        await days(bot, 9)  # 12 Jan
        assert not matches(r"Sprint ends on", bot.dm("you"))
        await days(bot, 1)  # 13 Jan: a week before the last day
        assert matches(r"Sprint ends on .*20 Jan 2027: it closes by itself the day after .*!round close Sprint closes it earlier\.", bot.dm("you"))
        await days(bot, 7)  # 20 Jan, its last day: still running
        assert not matches(r"Sprint is over", bot.dm("alice"))
        await days(bot, 1)
        assert matches(r"Sprint ended on .*20 Jan 2027, so I closed it", bot.dm("you"))
        assert len([t for t in bot.dm("alice") if "Sprint is over" in t]) == 1
        assert len([t for t in bot.dm("you") if "ends on" in t]) == 1, "reminded once"
    finally:
        await bot.stop()


async def test_a_pair_ending_or_a_mentor_reopening_frees_room_for_the_first_waiting(tmp_path):
    bot = await start(tmp_path)
    try:
        await sign_up(bot, "alice", "mentee")
        await sign_up(bot, "carol", "mentee")
        await sign_up(bot, "bob", "mentor", capacity="1")
        await bot.say("you", "!match suggest")
        await bot.say("you", "!match confirm all")
        await bot.say("bob", "!mentor closed")
        told = len(bot.dm("you"))
        await bot.say("you", "!match unassign alice")
        assert not matches(r"A mentor has room", bot.dm("you")[told:]), "bob takes nobody new: no suggestion"
        await bot.say("bob", "!mentor open")
        news = bot.dm("you")[told:]
        assert matches(r"First in line who fits: carol, number 1 of 1 on the waiting list\.\nSuggested: carol ← bob", news), news
        assert len([t for t in news if "A mentor has room" in t]) == 1
    finally:
        await bot.stop()
