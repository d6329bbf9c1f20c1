"""Session logs: mentors log time with their mentees; lists, edits, deletions and totals."""

from __future__ import annotations

from datetime import datetime, timezone

from chatbot.events import CommandInvoked, Identity, Where
from chatbot.features import sessions
from tests.harness import Bot

LOG_USAGE = " — usage: !session log MENTEE DURATION TOPIC…"
EDIT_USAGE = " — usage: !session edit ID duration|topic|notes|date VALUE…"


async def cohort(bot: Bot) -> None:
    """bob leads alice and carol; dave leads erin and co-mentors alice."""
    await bot.pair("alice", "bob")
    await bot.pair("carol", "bob")
    await bot.pair("erin", "dave")
    assert "dave now co-mentors alice" in (await bot.say("you", "!match comentor alice dave"))[0]


async def test_log_tells_the_mentee_once_and_answers_with_the_pair_total(bot):
    await bot.pair("alice", "bob")
    out = await bot.say("bob", "!session log alice 45m testing | Wrote the first unit test", event_id="s1")
    assert out == [
        "Logged session 1: alice, 45m on Mon 4 Jan, testing. With alice in 2027 Q1: 1 session, 45m. alice has been told.",
        "bob logged a 45m session with you on Mon 4 Jan: testing. !session list shows them all.",
    ]
    await bot.say("bob", "!session log alice 45m testing | Wrote the first unit test", event_id="s1")  # replayed
    await bot.restart()
    await bot.tick()
    assert len([t for t in bot.dm("alice") if "logged a" in t]) == 1
    out = await bot.say("bob", '!session log alice 1h30m "code review"')
    assert out[0].startswith("Logged session 2: alice, 1h30m on Mon 4 Jan, code review. With alice in 2027 Q1: 2 sessions, 2h15m.")
    assert "The notes" not in bot.dm("alice")[-1] and "Wrote" not in "".join(bot.dm("alice"))


async def test_log_refuses_each_bad_argument_and_records_nothing(bot):
    await cohort(bot)
    refusals = {
        "!session log zed 45m testing": "I don't know anyone called 'zed'" + LOG_USAGE,
        "!session log erin 45m testing": "erin is not your mentee; you can log sessions with your own mentees only.",
        "!session log bob 45m testing": "bob is not your mentee; you can log sessions with your own mentees only.",
        "!session log alice 0m testing": "duration: '0m' must be longer than zero minutes" + LOG_USAGE,
        "!session log alice -5m testing": "duration: '-5m' is not a duration like 45m or 1h30m" + LOG_USAGE,
        "!session log alice soon testing": "duration: 'soon' is not a duration like 45m or 1h30m" + LOG_USAGE,
        "!session log alice 25h testing": "duration: '25h' is longer than a day" + LOG_USAGE,
        "!session log alice 45m": "topic is missing" + LOG_USAGE,
        "!session log alice": "duration is missing" + LOG_USAGE,
        "!session log alice 45m " + "t" * 81: "keep the topic under 80 characters (details go in the notes)" + LOG_USAGE,
        "!session log alice 45m testing | " + "n" * 501: "keep the notes under 500 characters" + LOG_USAGE,
    }
    for line, answer in refusals.items():
        assert await bot.say("bob", line) == [answer], line
    assert await bot.say("alice", "!session log bob 45m testing") == ["!session log is for mentor (you have: mentee)."]
    assert (await bot.say("bob", "!session list"))[0] == "Your sessions in 2027 Q1: none yet. Mentors log one with !session log MENTEE DURATION TOPIC."
    assert not [t for t in bot.dm("alice") + bot.dm("erin") if "logged a" in t]


async def test_logging_ends_when_the_round_closes(bot):
    await bot.pair("alice", "bob")
    await bot.say("you", "!round close")
    assert (await bot.say("bob", "!session log alice 45m testing"))[0].startswith("alice is not your mentee")


async def test_comentor_logs_too_and_every_mentor_of_the_mentee_sees_all_of_their_sessions(bot):
    await cohort(bot)
    await bot.say("bob", "!session log alice 45m testing | Ran the suite together")
    out = await bot.say("dave", "!session log alice 1h docs | Reviewed the manual")
    assert "With alice in 2027 Q1: 1 session, 1h." in out[0]  # the co-mentor's pair's own total, not bob's
    await bot.say("bob", "!session log carol 30m intro")
    expected = [
        "Sessions with alice in 2027 Q1:",
        "1: Mon 4 Jan bob with alice, 45m: testing — Ran the suite together",
        "2: Mon 4 Jan dave with alice, 1h: docs — Reviewed the manual",
        "In all: 2 sessions, 1h45m (bob 45m, dave 1h)",
    ]
    assert (await bot.say("bob", "!session list alice"))[0].split("\n") == expected
    assert (await bot.say("dave", "!session list alice"))[0].split("\n") == expected
    assert (await bot.say("dave", "!session list carol"))[0] == "carol is not your mentee; you can see your own mentees' sessions."
    assert (await bot.say("erin", "!session list alice"))[0] == "alice is not your mentee; you can see your own mentees' sessions."
    assert (await bot.say("bob", "!session list zed"))[0] == "I don't know anyone called 'zed' — usage: !session list [MENTEE…]"


async def test_each_person_sees_their_own_list_and_the_mentee_no_notes(bot):
    await cohort(bot)
    await bot.say("bob", "!session log alice 45m testing | Ran the suite together")
    await bot.say("bob", "!session log carol 30m intro | Shy at first")
    await bot.say("dave", "!session log alice 1h docs")
    assert (await bot.say("bob", "!session list"))[0].split("\n") == [
        "Your sessions in 2027 Q1:",
        "1: Mon 4 Jan bob with alice, 45m: testing — Ran the suite together",
        "2: Mon 4 Jan bob with carol, 30m: intro — Shy at first",
        "Your total as mentor: 2 sessions, 1h15m (alice 45m, carol 30m)",
    ]
    assert (await bot.say("alice", "!session list"))[0].split("\n") == [
        "Your sessions in 2027 Q1:",
        "1: Mon 4 Jan bob with alice, 45m: testing",
        "3: Mon 4 Jan dave with alice, 1h: docs",
        "With your mentors: 2 sessions, 1h45m",
    ]
    assert (await bot.say("alice", "!session list alice"))[0].split("\n")[1] == "1: Mon 4 Jan bob with alice, 45m: testing"
    assert (await bot.say("you", "!session list"))[0].split("\n") == [
        "All sessions in 2027 Q1:",
        "1: Mon 4 Jan bob with alice, 45m: testing — Ran the suite together",
        "2: Mon 4 Jan bob with carol, 30m: intro — Shy at first",
        "3: Mon 4 Jan dave with alice, 1h: docs",
        "In all: 3 sessions, 2h15m. Per mentor and pair: !session totals",
    ]
    assert (await bot.say("erin", "!session list"))[0] == "Your sessions in 2027 Q1: none yet."


async def test_long_lists_show_the_newest_ten(bot):
    await bot.pair("alice", "bob")
    for n in range(12):
        await bot.say("bob", f"!session log alice 15m topic{n}")
    lines = (await bot.say("bob", "!session list"))[0].split("\n")
    assert lines[1] == "(2 earlier not shown)"
    assert lines[2].startswith("3: ") and lines[-2].startswith("12: ") and len(lines) == 13
    assert lines[-1] == "Your total as mentor: 12 sessions, 3h (alice 3h)"


async def test_edit_changes_each_field_of_your_own_session(bot):
    await bot.pair("alice", "bob")
    await bot.say("bob", "!session log alice 45m testing | First notes")
    assert await bot.say("bob", "!session edit 1 duration 1h30m") == ["Saved. Session 1: Mon 4 Jan bob with alice, 1h30m: testing — First notes"]
    assert (await bot.say("bob", "!session edit 1 topic code review"))[0].endswith("1h30m: code review — First notes")
    assert (await bot.say("bob", "!session edit 1 notes Better notes"))[0].endswith(": code review — Better notes")
    assert (await bot.say("bob", "!session edit 1 notes -"))[0].endswith("1h30m: code review")
    assert (await bot.say("bob", "!session edit 1 date 2027-01-02"))[0] == "Saved. Session 1: Sat 2 Jan bob with alice, 1h30m: code review"
    assert "In all: 1 session, 1h30m" in (await bot.say("bob", "!session list alice"))[0]


async def test_edit_refuses_bad_input_and_sessions_that_are_not_yours(bot):
    await cohort(bot)
    await bot.say("bob", "!session log alice 45m testing")
    await bot.say("dave", "!session log erin 30m intro")
    refusals = {
        "!session edit 99 topic x": "There is no session 99. !session list shows their numbers.",
        "!session edit 2 topic x": "Session 2 is not yours; you can change only the sessions you logged.",
        "!session edit 0 topic x": "id must be at least 1" + EDIT_USAGE,
        "!session edit one topic x": "id: 'one' is not a whole number" + EDIT_USAGE,
        "!session edit 1 colour red": "field must be one of duration, topic, notes, date, not 'colour'" + EDIT_USAGE,
        "!session edit 1 duration": "value is missing" + EDIT_USAGE,
        "!session edit 1 duration 0m": "duration: '0m' must be longer than zero minutes" + EDIT_USAGE,
        "!session edit 1 duration -5m": "duration: '-5m' is not a duration like 45m or 1h30m" + EDIT_USAGE,
        "!session edit 1 date 2027-01-05": "2027-01-05 is in the future (today is 2027-01-04)" + EDIT_USAGE,
        "!session edit 1 date 2026-12-31": "2026-12-31 is before 2027 Q1 began (2027-01-01)" + EDIT_USAGE,
        "!session edit 1 date yesterday": "date: 'yesterday' is not a date like 2027-01-15" + EDIT_USAGE,
        "!session edit 1 topic " + "t" * 81: "keep the topic under 80 characters (details go in the notes)" + EDIT_USAGE,
    }
    for line, answer in refusals.items():
        assert await bot.say("bob", line) == [answer], line
    assert (await bot.say("bob", "!session list"))[0].split("\n")[1] == "1: Mon 4 Jan bob with alice, 45m: testing"
    assert (await bot.say("you", "!session edit 1 topic x"))[0] == "Session 1 is not yours; you can change only the sessions you logged."


async def test_delete_removes_only_your_own_session(bot):
    await cohort(bot)
    await bot.say("bob", "!session log alice 45m testing")
    await bot.say("dave", "!session log alice 1h docs")
    assert await bot.say("dave", "!session delete 1") == ["Session 1 is not yours; you can change only the sessions you logged."]
    assert await bot.say("alice", "!session delete 1") == ["!session delete is for mentor (you have: mentee)."]
    assert await bot.say("bob", "!session delete x") == ["id: 'x' is not a whole number — usage: !session delete ID"]
    assert await bot.say("bob", "!session delete 1") == ["Deleted session 1 (alice, 45m on Mon 4 Jan)."]
    assert await bot.say("bob", "!session delete 1") == ["There is no session 1. !session list shows their numbers."]
    assert (await bot.say("bob", "!session list alice"))[0].split("\n")[1:] == ["2: Mon 4 Jan dave with alice, 1h: docs", "In all: 1 session, 1h"]


async def test_totals_per_mentor_and_pair_for_coordinators(bot):
    await cohort(bot)
    assert (await bot.say("bob", "!session totals"))[0] == "!session totals is for coordinator (you have: mentor)."
    await bot.say("bob", "!session log alice 45m testing")
    await bot.say("bob", "!session log alice 1h review")
    await bot.say("dave", "!session log alice 30m docs")
    assert (await bot.say("you", "!session totals"))[0].split("\n") == [
        "2027 Q1: 3 sessions, 2h15m in all.",
        "bob: 2 sessions, 1h45m — alice 2 (1h45m), carol 0",
        "dave: 1 session, 30m — alice 1 (30m), erin 0",
    ]
    await bot.say("you", "!round close")
    assert (await bot.say("you", "!session totals"))[0].startswith("2027 Q1: 3 sessions, 2h15m in all.")  # kept after closing


async def test_totals_count_the_mentors_left_out_in_a_whole_phrase(bot, monkeypatch):
    """Issue 22 item 16: one mentor left out reads "1 more mentor", not "1 more mentors"."""
    monkeypatch.setattr(sessions, "TOTALS_MAX", 1)
    await cohort(bot)
    assert (await bot.say("you", "!session totals"))[0].split("\n")[-1] == "…and 1 more mentor"
    await bot.pair("frank", "gina")
    assert (await bot.say("you", "!session totals"))[0].split("\n")[-1] == "…and 2 more mentors"


async def test_session_date_is_the_mentors_local_date(bot):
    await bot.pair("alice", "bob")  # bob lives in New York
    bot.clock.set(datetime(2027, 1, 5, 3, 0, tzinfo=timezone.utc))  # 22:00 on the 4th in New York
    assert "45m on Mon 4 Jan" in (await bot.say("bob", "!session log alice 45m evening"))[0]


async def test_a_structured_invocation_is_checked_like_the_typed_line(bot):
    """What a Discord slash command delivers: the same arguments by name, the same checks."""
    await bot.pair("alice", "bob")
    bob = Identity("console", "bob", "bob")

    async def invoke(args: dict[str, str], event_id: str) -> list[str]:
        before = len(bot.said)
        await bot.handle(CommandInvoked(bob, Where("console"), ("session", "log"), args, event_id=event_id))
        return [s.text for s in bot.said[before:]]

    assert await invoke({"mentee": "alice", "duration": "0m", "topic": "testing"}, "i1") == [
        "duration: '0m' must be longer than zero minutes" + LOG_USAGE
    ]
    out = await invoke({"mentee": "alice", "duration": "1h30m", "topic": "code review | went well"}, "i2")
    assert out[0].startswith("Logged session 1: alice, 1h30m on Mon 4 Jan, code review.")


def test_the_declarations_become_discord_slash_commands():
    """Nothing Discord-specific is declared: /session log, /goal show and /goal step add come from the specs."""
    from adapters.discord.commands import build_app_commands
    from chatbot.features import all_features

    async def unused(*_: object) -> None:
        raise AssertionError("not invoked here")

    commands, mapping = build_app_commands([s for f in all_features() for s in f.commands], unused)
    top = {c.name: c for c in commands}
    log = top["session"].get_command("log")
    assert [(p.display_name, p.type.name, p.required) for p in log.parameters] == [
        ("mentee", "user", True), ("duration", "string", True), ("topic", "string", True)
    ]
    assert top["goal"].get_command("step").get_command("done").qualified_name == "goal step done"
    assert mapping.spec_path("goal step done") == ("goal", "step", "done") and mapping.spec_path("goal show") == ("goal",)
    assert sorted(c.name for c in top["away"].commands) == ["status", "until"] and "back" in top


async def test_1h30m_and_other_usual_durations_are_accepted_like_90(bot):
    """Issue 22: "!session log deepa 1h30m" was refused while "90" worked."""
    await bot.pair("alice", "bob")
    for typed in ("1h30m", "90", "90m", "90 min", "1h 30m", "1h30", "1.5h", "1:30"):
        out = await bot.say("bob", f"!session log alice {typed} review")
        assert out[0].startswith("Logged session") and ", 1h30m on Mon 4 Jan, review." in out[0], (typed, out)
    out = await bot.say("bob", "!session edit 1 duration 2 hours")
    assert "2h: review" in out[0]
    assert await bot.say("bob", "!session log alice 1h30x review") == [
        "duration: '1h30x' is not a duration like 45m or 1h30m" + LOG_USAGE
    ]


async def test_a_session_topic_of_several_words_is_kept_whole(bot):
    """Issue 22: "!session log deepa 45m Composer debugging" logged the topic "Composer"."""
    await bot.pair("alice", "bob")
    out = await bot.say("bob", "!session log alice 45m Composer debugging")
    assert out[0].startswith("Logged session 1: alice, 45m on Mon 4 Jan, Composer debugging.")
    await bot.say("bob", "!session log alice 30m Composer debugging | stuck on the autoloader")
    out = await bot.say("bob", "!session list")
    assert "1: Mon 4 Jan bob with alice, 45m: Composer debugging\n" in out[0] + "\n"
    assert "2: Mon 4 Jan bob with alice, 30m: Composer debugging — stuck on the autoloader" in out[0]
    assert "stuck" not in "".join(bot.dm("alice"))  # notes stay with the mentors
