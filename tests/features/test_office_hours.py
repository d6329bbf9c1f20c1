"""Office-hour queues, as whole conversations in a channel (and the DMs they cause)."""

from __future__ import annotations

import csv
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from adapters.base import Capabilities
from chatbot.cli import main
from chatbot.config import ConfigError, embedded_default, from_dict, load
from chatbot.events import Identity, TextReceived, Where
from chatbot.features.office_hours.commands import about, compact, expected_waits, percentile
from storage.office_hours import LineSummary, OfficeHoursRepo, OhDuty, OhEntry, OhNotice, OhScheduleRun, OfficeHour, Visit
from storage.tables import Member
from tests.harness import START, Bot, statements

OH = "#oh"
ROOT = Path(__file__).resolve().parents[2]


async def start(tmp_path: Path, **office_hours: Any) -> Bot:
    raw = embedded_default().model_dump()
    raw["office_hours"] = {**raw["office_hours"], **office_hours}
    return await Bot.start(tmp_path, config=raw)


@pytest.fixture
async def custom(tmp_path):
    """A factory for a bot with [office_hours] settings; stopped at the end."""
    bots: list[Bot] = []

    async def make(**office_hours: Any) -> Bot:
        bots.append(await start(tmp_path, **office_hours))
        return bots[-1]

    yield make
    for b in bots:
        await b.stop()


async def make_hosts(bot: Bot, *names: str) -> None:
    for name in names:
        await bot.say(name, "!whoami")
        assert (await bot.say("you", f"!role grant {name} host")) == [f"{name} is now host."]


async def open_with(bot: Bot, *hosts: str) -> None:
    """The first host opens office hours in #oh; the others come on duty."""
    await make_hosts(bot, *hosts)
    await say(bot, hosts[0], "!oh open")
    for host in hosts[1:]:
        await say(bot, host, "!oh duty on")


async def say(bot: Bot, who: str, text: str) -> list[str]:
    return await bot.say(who, text, channel=OH)


async def join(bot: Bot, *people: str) -> None:
    for person in people:
        out = await say(bot, person, "!q join")
        assert "in line" in out[0], out


async def anonymous(bot: Bot, nick: str, text: str, platform: str = "console") -> list[str]:
    """A visitor the platform cannot vouch for (an IRC nick without a services account)."""
    adapter = bot.adapters.get(platform) or await bot.simulate(platform)
    before = len(bot.said)
    assert adapter.sink is not None
    await adapter.sink(TextReceived(who=Identity(platform, None, nick), where=Where(platform, OH), text=text))
    await bot.settle()
    return [s.text for s in bot.said[before:]]


def rows(bot: Bot, table: type) -> list[Any]:
    with Session(bot.app.database) as s:
        return list(s.exec(select(table).order_by(table.id)))


def handles(bot: Bot) -> dict[int | None, str]:
    return {m.id: m.handle for m in rows(bot, Member)}


def snapshot(bot: Bot) -> list[tuple[Any, ...]]:
    """Everything a queue is, as plain values."""
    out: list[tuple[Any, ...]] = []
    for table in (OfficeHour, OhDuty, OhEntry, OhNotice):
        out += [tuple(r.model_dump().items()) for r in rows(bot, table)]
    return out


# ---------------------------------------------------------------------------- the everyday flow


async def test_a_visitor_joins_is_called_and_helped(bot):
    await open_with(bot, "bob")
    assert bot.channel(OH)[-1] == "Office hours are open with bob. !q join [TOPIC] gets you in line."
    out = await say(bot, "alice", "!q join how do I rebase?")
    assert out == [
        "alice: You're #1 in line: a host will call you any moment now.",
        "alice joined the line in #oh (#1, topic: how do I rebase?). !next there takes the first.",
    ]
    await bot.advance("3m")
    out = await say(bot, "bob", "!next")
    assert out == [
        "bob: You're with alice (waited 3 min; topic: how do I rebase?). Nobody else is waiting.",
        "alice: bob is ready for you now.",
        "bob is ready for you in #oh now.",
    ]
    assert bot.dm("alice") == ["bob is ready for you in #oh now."]
    await bot.advance("12m")
    assert await say(bot, "bob", "!done") == ["bob: Done with alice after 12 min. Nobody is waiting."]
    [entry] = rows(bot, OhEntry)
    assert (entry.outcome, entry.ended_at - entry.called_at) == ("helped", timedelta(minutes=12))


async def test_open_takes_a_topic_and_refuses_a_second_opening(bot):
    await make_hosts(bot, "bob", "carol")
    await say(bot, "bob", '!oh open "Gerrit   and\tpatches"')
    assert bot.channel(OH)[-1] == "Office hours are open with bob (topic: Gerrit and patches). !q join [TOPIC] gets you in line."
    assert await say(bot, "bob", "!oh open") == ["bob: Office hours are open here already, and you are on duty."]
    assert await say(bot, "carol", "!oh open") == ["carol: Office hours are open here already: !oh duty on joins the hosts."]
    assert len(rows(bot, OfficeHour)) == 1


async def test_joining_twice_keeps_the_place_and_may_update_the_topic(bot):
    await open_with(bot, "bob")
    await join(bot, "alice", "dave")
    assert await say(bot, "dave", "!q join") == ["dave: You're in line already: #2, about 10 min."]
    assert await say(bot, "dave", "!q join my CI fails") == ["dave: Topic updated; you're still #2 in line, about 10 min."]
    assert [(e.nick, e.topic) for e in rows(bot, OhEntry)] == [("alice", None), ("dave", "my CI fails")]
    await say(bot, "bob", "!next")
    assert await say(bot, "alice", "!q join") == ["alice: bob is with you now."]
    assert await say(bot, "bob", "!q join") == ["bob: You are on duty here: hosts take people with !next."]


async def test_leaving_when_not_in_line_and_leaving_while_called(bot):
    assert await say(bot, "alice", "!q leave") == ["alice: You are not in line here."]
    await open_with(bot, "bob")
    assert await say(bot, "alice", "!q leave") == ["alice: You are not in line here."]
    await join(bot, "alice", "dave")
    assert await say(bot, "dave", "!q leave") == ["dave: You've left the line. Come back any time."]
    assert await say(bot, "dave", "!q leave") == ["dave: You are not in line here."]
    await say(bot, "bob", "!next")
    assert await say(bot, "alice", "!q leave") == ["alice: You've left; bob is free for the next person."]
    assert await say(bot, "bob", "!done") == ["bob: You are not with anyone now: !next calls the next person."]
    assert [e.outcome for e in rows(bot, OhEntry)] == ["left", "left"]


async def test_next_on_an_empty_queue(bot):
    await open_with(bot, "bob")
    assert await say(bot, "bob", "!next") == ["bob: Nobody is waiting. I'll DM you when someone joins."]
    await join(bot, "alice")
    await say(bot, "bob", "!next")
    await bot.advance("5m")
    # !next with someone current ends that help first
    assert await say(bot, "bob", "!next") == ["bob: Done with alice (5 min). Nobody is waiting. I'll DM you when someone joins."]


async def test_host_commands_are_refused_to_non_hosts(bot):
    await open_with(bot, "bob")
    await join(bot, "alice")
    for command, needed in [
        ("!oh open", "host"), ("!oh close", "host or coordinator"), ("!oh duty on", "host"), ("!next", "host"),
        ("!done", "host"), ("!skip", "host"), ("!oh stats", "host or coordinator"),
    ]:
        assert await say(bot, "alice", command) == [f"alice: {command.split(' on')[0]} is for {needed} (you have: no role yet)."]
    await make_hosts(bot, "carol")  # a host, but not on duty
    assert await say(bot, "carol", "!next") == ["carol: You are not on duty here: !oh duty on first."]
    assert await say(bot, "carol", "!done") == ["carol: You are not with anyone now: !next calls the next person."]
    assert [e.status for e in rows(bot, OhEntry)] == ["waiting"]


async def test_bad_input_and_the_wrong_place(bot):
    await open_with(bot, "bob")
    assert await say(bot, "bob", "!oh duty maybe") == ["bob: state must be one of on, off, not 'maybe' — usage: !oh duty on|off"]
    assert await say(bot, "bob", "!oh stats #oh 0") == ["bob: days must be at least 1 — usage: !oh stats [CHANNEL] [DAYS]"]
    assert await say(bot, "bob", "!oh stats #oh many") == ["bob: days: 'many' is not a whole number — usage: !oh stats [CHANNEL] [DAYS]"]
    assert await say(bot, "alice", "!q notify later") == ["alice: off must be one of off, not 'later' — usage: !q notify [off]"]
    assert await say(bot, "alice", "!q everything") == ["alice: too many arguments: 'everything' — usage: !q"]
    assert await bot.say("bob", "!next") == ["!next works in a channel, not in a private message."]
    assert await bot.say("alice", "!q join") == ["!q join works in a channel, not in a private message."]
    long_topic = "x" * 300
    await say(bot, "alice", f"!q join {long_topic}")
    assert rows(bot, OhEntry)[0].topic == "x" * 119 + "…"


# ---------------------------------------------------------------------------- hosts


async def test_two_hosts_each_have_their_own_current_person(bot):
    await open_with(bot, "bob", "carol")
    await join(bot, "alice", "dave", "erin")
    assert (await say(bot, "bob", "!next"))[1] == "alice: bob is ready for you now."
    assert (await say(bot, "carol", "!next"))[1] == "dave: carol is ready for you now."
    assert await say(bot, "erin", "!oh hosts") == ["erin: On duty: bob (with alice), carol (with dave); 1 waiting."]
    await bot.advance("4m")
    assert await say(bot, "carol", "!done") == ["carol: Done with dave after 4 min. 1 waiting: !next when you're ready."]
    await bot.advance("4m")
    assert await say(bot, "bob", "!done") == ["bob: Done with alice after 8 min. 1 waiting: !next when you're ready."]
    assert (await say(bot, "carol", "!next"))[1] == "erin: carol is ready for you now."
    names = handles(bot)
    assert [(e.nick, names[e.host_id]) for e in rows(bot, OhEntry)] == [("alice", "bob"), ("dave", "carol"), ("erin", "carol")]


async def test_a_second_host_joins_and_leaves_duty(bot):
    await open_with(bot, "bob")
    await make_hosts(bot, "carol")
    await join(bot, "alice", "dave")
    assert await say(bot, "carol", "!oh duty on") == ["carol: You're on duty with bob (2 hosts). 2 waiting: !next takes the first."]
    assert await say(bot, "carol", "!oh duty on") == ["carol: You are on duty already."]
    await say(bot, "carol", "!next")
    await bot.advance("6m")
    assert await say(bot, "carol", "!oh duty off") == [
        "carol: You're off duty; bob carries on (1 waiting). Your help with alice ended (6 min)."
    ]
    assert await say(bot, "carol", "!oh duty off") == ["carol: You are not on duty here."]
    assert await say(bot, "dave", "!oh hosts") == ["dave: On duty: bob (free); 1 waiting."]


async def test_the_last_host_going_off_duty_closes_the_queue_and_tells_those_waiting(bot):
    await open_with(bot, "bob", "carol")
    await join(bot, "alice", "dave", "erin")
    await say(bot, "bob", "!next")
    await say(bot, "carol", "!oh duty off")
    await bot.advance("10m")
    out = await say(bot, "bob", "!oh duty off")
    assert out[0] == "bob: Your help with alice ended (10 min)."
    assert (
        "Office hours are closed: no host is on duty any more. 1 helped (median wait under a minute). "
        "Still waiting: dave, erin; sorry! !q notify gets you a DM when they open again."
    ) in out
    for person in ("dave", "erin"):
        assert bot.dm(person)[-1] == "Office hours in #oh closed before your turn, sorry. !q notify there gets you a DM when they open again."
    assert [e.outcome for e in rows(bot, OhEntry)] == ["helped", "closed", "closed"]
    assert await say(bot, "frank", "!q join") == ["frank: Office hours are closed here. !q notify gets you a DM when they open."]
    assert await say(bot, "bob", "!oh duty on") == ["bob: Office hours are closed here. !q notify gets you a DM when they open."]


async def test_close_summarises_and_tells_those_still_waiting(bot):
    await open_with(bot, "bob")
    await join(bot, "alice", "dave")
    await say(bot, "bob", "!next")
    await bot.advance("10m")
    await say(bot, "bob", "!done")
    await make_hosts(bot, "carol")
    out = await say(bot, "bob", "!oh close")
    assert out == [
        "Office hours are closed. 1 helped (median wait under a minute). Still waiting: dave; sorry! "
        "!q notify gets you a DM when they open again.",
        "Office hours in #oh closed before your turn, sorry. !q notify there gets you a DM when they open again.",
    ]
    assert await say(bot, "bob", "!oh close") == ["bob: Office hours are closed here. !q notify gets you a DM when they open."]
    [hour] = rows(bot, OfficeHour)
    assert (hour.close_reason, [d.ended_at is not None for d in rows(bot, OhDuty)]) == ("closed", [True])


async def test_away_hosts_cannot_go_on_duty(bot):
    await open_with(bot, "bob")
    await make_hosts(bot, "carol")
    with Session(bot.app.database) as s:
        carol = s.exec(select(Member).where(Member.handle == "carol")).one()
        carol.away_until = date(2027, 1, 10)
        s.add(carol)
        s.commit()
    assert await say(bot, "carol", "!oh duty on") == ["carol: You are away until 2027-01-10, so you cannot go on duty."]
    assert await bot.say("carol", "!oh open", channel="#other") == ["carol: You are away until 2027-01-10, so you cannot go on duty."]
    await bot.advance("7d")  # 2027-01-11: back
    assert "on duty with bob" in (await say(bot, "carol", "!oh duty on"))[0]


# ---------------------------------------------------------------------------- skips and notices


async def test_skip_puts_the_person_back_once_then_out(bot):
    await open_with(bot, "bob")
    await join(bot, "alice", "dave", "erin")
    await say(bot, "bob", "!next")
    out = await say(bot, "bob", "!skip")
    assert out[0] == "bob: alice did not answer: back in line at #2 (last chance). !next calls the next person."
    assert bot.dm("alice")[-1] == (
        "You missed your turn in #oh: you're back in line at #2. If you miss the next call too, you lose your place."
    )
    assert await say(bot, "frank", "!q") == ["frank: 3 waiting, 1 host: 1 dave now, 2 alice ~10m, 3 erin ~20m."]
    await say(bot, "bob", "!next")  # dave
    assert (await say(bot, "bob", "!next"))[1] == "alice: bob is ready for you now."
    assert (await say(bot, "bob", "!skip"))[0] == "bob: alice did not answer again and is out of the line; 1 waiting."
    assert bot.dm("alice")[-1] == (
        "You missed your turn in #oh again, so you are out of the line. !q join there gets you back in, at the end."
    )
    assert await say(bot, "alice", "!q leave") == ["alice: You are not in line here."]
    assert await say(bot, "bob", "!skip") == ["bob: You are not with anyone now: !next calls the next person."]
    assert [(e.nick, e.outcome, e.skips) for e in rows(bot, OhEntry)] == [
        ("alice", "no-show", 1), ("dave", "helped", 0), ("erin", None, 0)
    ]


async def test_the_person_who_becomes_second_is_told_once(bot):
    await open_with(bot, "bob")
    await join(bot, "alice", "dave", "erin", "frank")
    assert bot.dm("erin") == []  # joined third: not yet
    await say(bot, "bob", "!next")  # alice; erin is second now
    assert bot.dm("erin") == ["You're second in line in #oh (about 20 min): please be ready when a host calls you."]
    await say(bot, "dave", "!q leave")  # erin is first now; frank second
    assert len(bot.dm("erin")) == 1
    assert bot.dm("frank") == ["You're second in line in #oh (about 20 min): please be ready when a host calls you."]


async def test_where_there_are_no_dms_the_notice_is_said_in_the_channel(bot):
    irc = await bot.simulate("irc")
    irc.capabilities = Capabilities(direct_messages=False, channel_lines=4)
    await bot.say("bob", "!whoami", platform="irc")
    await bot.say("you", "!role grant irc:bob host")
    await bot.say("bob", "!oh open", channel=OH, platform="irc")
    for person in ("alice", "dave", "erin"):
        await bot.say(person, "!q join", channel=OH, platform="irc")
    out = await bot.say("bob", "!next", channel=OH, platform="irc")
    assert "erin: you're second in line (about 20 min): please be ready when a host calls you." in out
    assert bot.dm("erin@irc") == []


async def test_q_notify_sends_one_dm_when_office_hours_next_open(bot):
    await make_hosts(bot, "bob")
    assert await say(bot, "alice", "!q notify") == ["alice: I'll DM you once, when office hours next open here."]
    assert await say(bot, "alice", "!q notify") == ["alice: You're on the list already: one DM when office hours next open here."]
    await say(bot, "dave", "!q notify")
    assert await say(bot, "dave", "!q notify off") == ["dave: OK: no DM when office hours open here."]
    assert await say(bot, "dave", "!q notify off") == ["dave: You had not asked for a DM here."]
    await bot.say("erin", "!q notify", channel="#elsewhere")
    await say(bot, "bob", "!oh open")
    assert bot.dm("alice") == ["Office hours are open in #oh now, with bob: !q join there gets you in line."]
    assert bot.dm("dave") == [] and bot.dm("erin") == []
    assert await say(bot, "alice", "!q notify") == ["alice: Office hours are open now: !q join gets you in line."]
    await say(bot, "bob", "!oh close")
    await say(bot, "bob", "!oh open")
    assert len(bot.dm("alice")) == 1  # one notice, then it expires


@pytest.mark.parametrize(
    "mode,told",
    [("every", ["alice", "dave", "erin"]), ("first", ["alice", "erin"]), ("none", [])],
)
async def test_hosts_are_told_of_joins_as_configured(custom, mode, told):
    bot = await custom(notify_hosts=mode)
    await open_with(bot, "bob")
    await join(bot, "alice", "dave")
    await say(bot, "bob", "!next")
    await say(bot, "bob", "!next")  # the line is empty again
    await join(bot, "erin")
    assert [dm.split(" ")[0] for dm in bot.dm("bob") if "joined the line" in dm] == told


# ---------------------------------------------------------------------------- estimates and the list


async def test_wait_estimates_come_from_the_channel_history_and_the_hosts_on_duty(bot):
    await open_with(bot, "bob")
    await join(bot, "alice", "dave")
    assert (await say(bot, "erin", "!q join"))[0] == "erin: You're #3 in line, about 20 min (1 host on duty)."  # the default 10 min
    for _ in range(2):
        await say(bot, "bob", "!next")
        await bot.advance("30m")
    assert (await say(bot, "frank", "!q join"))[0] == "frank: You're #2 in line, about 10 min (1 host on duty)."  # 2 helps: no history yet
    await say(bot, "bob", "!next")
    await bot.advance("30m")
    await say(bot, "bob", "!done")  # three helps of 30 min now
    await say(bot, "bob", "!oh close")
    await say(bot, "bob", "!oh open")  # a new session: the history is the channel's
    await join(bot, "alice")
    assert (await say(bot, "dave", "!q join"))[0] == "dave: You're #2 in line, about 30 min (1 host on duty)."
    assert (await say(bot, "erin", "!q join"))[0] == "erin: You're #3 in line, about 1h00 (1 host on duty)."
    await make_hosts(bot, "carol")
    await say(bot, "carol", "!oh duty on")
    assert (await say(bot, "frank", "!q join"))[0] == "frank: You're #4 in line, about 30 min (2 hosts on duty)."
    assert await say(bot, "grace", "!q") == ["grace: 4 waiting, 2 hosts: 1 alice now, 2 dave now, 3 erin ~30m, 4 frank ~30m."]
    await say(bot, "bob", "!next")
    await bot.advance("10m")  # bob is likely free in 20 min, carol now
    assert await say(bot, "grace", "!q") == ["grace: 3 waiting, 2 hosts: 1 dave now, 2 erin ~20m, 3 frank ~30m."]


async def test_a_long_queue_is_summarised_in_one_line(bot):
    await open_with(bot, "bob")
    people = [f"p{n}" for n in range(1, 13)]
    await join(bot, *people)
    out = await say(bot, "p9", "!q")
    assert out == [
        "p9: 12 waiting, 1 host: 1 p1 now, 2 p2 ~10m, 3 p3 ~20m, 4 p4 ~30m, 5 p5 ~40m, +7 more (last ~1h50). You: #9 ~1h20."
    ]
    assert await say(bot, "p2", "!q") == [out[0].replace("p9: ", "p2: ").replace(" You: #9 ~1h20.", "")]


async def test_the_list_when_closed_or_empty(bot):
    assert await say(bot, "alice", "!q") == ["alice: Office hours are closed here. !q notify gets you a DM when they open."]
    assert await say(bot, "alice", "!oh hosts") == ["alice: Office hours are closed here. !q notify gets you a DM when they open."]
    await open_with(bot, "bob")
    assert await say(bot, "alice", "!q") == ["alice: Nobody is waiting (1 host on duty, 1 free). !q join [TOPIC] gets you in line."]


def test_estimate_arithmetic():
    assert expected_waits(3, 1, [], 10) == [0, 10, 20]
    assert expected_waits(3, 1, [4], 10) == [0, 4, 10]
    assert expected_waits(2, 0, [], 10) == [float("inf")] * 2
    assert [about(m) for m in (0.4, 3.2, 12, 58, 61, 130)] == [
        "any moment now", "about 3 min", "about 10 min", "about 1h00", "about 1h00", "about 2h10"
    ]
    assert [compact(m) for m in (0, 7, 23, 95)] == ["now", "~7m", "~25m", "~1h35"]
    assert percentile([5, 1, 3, 2, 4], 90) == 5 and percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9


# ---------------------------------------------------------------------------- restart


async def test_a_restart_keeps_the_queue_exactly_as_it_was(bot):
    await open_with(bot, "bob", "carol")
    for person, topic in [("alice", "rebase"), ("dave", "CI"), ("erin", ""), ("frank", "gerrit"), ("grace", "docs")]:
        await say(bot, person, f"!q join {topic}")
    await say(bot, "bob", "!next")
    await say(bot, "carol", "!next")
    await say(bot, "bob", "!skip")  # alice back at #2
    await say(bot, "hal", "!q notify")  # for another channel's opening
    await bot.advance("5m")
    before = snapshot(bot)
    listing, hosts = await say(bot, "frank", "!q"), await say(bot, "frank", "!oh hosts")
    dms = {p: list(bot.dm(p)) for p in ("erin", "alice", "frank", "grace")}
    await bot.restart()
    assert snapshot(bot) == before
    assert await say(bot, "frank", "!q") == listing
    assert await say(bot, "frank", "!oh hosts") == hosts
    # bob is free (he skipped alice), carol is likely free in 5 min
    assert listing == ["frank: 4 waiting, 2 hosts: 1 erin now, 2 alice ~5m, 3 frank ~10m, 4 grace ~15m."]
    assert {p: list(bot.dm(p)) for p in dms} == dms  # nothing was sent again
    assert await say(bot, "carol", "!done") == ["carol: Done with dave after 5 min. 4 waiting: !next when you're ready."]
    assert (await say(bot, "carol", "!next"))[1] == "erin: carol is ready for you now."


# ---------------------------------------------------------------------------- anonymous visitors


async def test_anonymous_visitors_are_refused_by_default(bot):
    await open_with(bot, "bob")
    assert await anonymous(bot, "guest42", "!q join") == [
        "guest42: Joining the queue needs you to be logged in to your account here (on IRC: identify to services first)."
    ]
    assert await anonymous(bot, "guest42", "!q leave") == [
        "guest42: Joining the queue needs you to be logged in to your account here (on IRC: identify to services first)."
    ]
    assert await anonymous(bot, "guest42", "!q") == ["guest42: Nobody is waiting (1 host on duty, 1 free). !q join [TOPIC] gets you in line."]
    assert await anonymous(bot, "guest42", "!q notify") == [
        "guest42: !q notify needs you to be logged in to your account (on IRC: identify to services first)."
    ]
    assert rows(bot, OhEntry) == []


async def test_closed_office_hours_offer_q_notify_only_to_those_who_can_use_it(bot):
    assert await say(bot, "alice", "!q") == ["alice: Office hours are closed here. !q notify gets you a DM when they open."]
    assert await anonymous(bot, "guest42", "!q") == ["guest42: Office hours are closed here."]


async def test_anonymous_visitors_may_queue_by_nick_where_allowed(custom):
    bot = await custom(allow_anonymous=True)
    await open_with(bot, "bob")
    await join(bot, "alice")
    assert (await anonymous(bot, "guest42", "!q join wikitext"))[0] == "guest42: You're #2 in line, about 10 min (1 host on duty)."
    assert await anonymous(bot, "Guest42", "!q join") == ["Guest42: You're in line already: #2, about 10 min."]
    assert (await anonymous(bot, "other", "!q join"))[0] == "other: You're #3 in line, about 20 min (1 host on duty)."
    assert await anonymous(bot, "other", "!q leave") == ["other: You've left the line. Come back any time."]
    assert await say(bot, "dave", "!q") == ["dave: 2 waiting, 1 host: 1 alice now, 2 guest42 ~10m."]
    await say(bot, "bob", "!next")
    out = await say(bot, "bob", "!next")
    assert out[:2] == ["bob: Done with alice (under a minute). You're with guest42 (waited under a minute; topic: wikitext). Nobody else is waiting.",
                       "guest42: bob is ready for you now."]
    assert len(out) == 2  # no DM: an anonymous visitor has none
    entry = rows(bot, OhEntry)[1]
    assert (entry.member_id, entry.account, entry.nick) == (None, None, "guest42")


# ---------------------------------------------------------------------------- schedules

SCHEDULE = {
    "channel": "console:#oh", "days": "tue", "time": "16:00", "timezone": "Europe/Berlin",
    "duration_minutes": 60, "hosts": ["bob"], "topic": "Gerrit",
}
TUESDAY = datetime(2027, 1, 5, 14, 0, tzinfo=timezone.utc)  # 15:00 in Berlin; office hours at 16:00


async def test_scheduled_office_hours_are_announced_and_hosts_reminded_once(custom):
    bot = await custom(schedule=[SCHEDULE])
    await make_hosts(bot, "bob")
    await bot.say("bob", "!profile set timezone America/New_York")
    bot.clock.set(TUESDAY)
    await bot.advance("20m")
    assert bot.dm("bob")[-1].startswith("Saved.")  # 14:20: nothing due yet
    await bot.advance("10m")  # 14:30 UTC: half an hour before
    assert bot.dm("bob")[-1] == (
        "Reminder: you host office hours in #oh at Tue 5 Jan 10:00 (America/New_York); say !oh open there when you're ready."
    )
    await bot.advance("15m")  # a quarter of an hour before
    assert bot.channel(OH) == [
        "Office hours here start at 16:00 (Europe/Berlin), in 15 min, with bob (topic: Gerrit). !q notify gets you a DM when they open."
    ]
    said = len(bot.said)
    await bot.advance("1m")
    await bot.restart()
    await bot.tick()
    assert len(bot.said) == said  # ticks and a restart send nothing twice
    await bot.advance("14m")
    assert (await say(bot, "alice", "!q"))[0] == "alice: Office hours are closed here. Next: Tue 5 Jan 16:00 (Europe/Berlin). !q notify gets you a DM when they open."
    await say(bot, "bob", "!oh open")
    assert bot.channel(OH)[-1] == "Office hours are open with bob (topic: Gerrit). !q join [TOPIC] gets you in line."
    await join(bot, "alice")
    await bot.advance("1h14m")  # 16:14 UTC, fourteen minutes after the scheduled end: not yet
    assert not bot.dm("bob")[-1].startswith("Office hours in #oh were to end")
    await bot.advance("1m")
    assert bot.dm("bob")[-1] == (
        "Office hours in #oh were to end at Tue 5 Jan 11:00 (America/New_York); 1 still waiting. Say !oh close there when you're done."
    )
    await bot.advance("1h")
    assert sum("were to end" in dm for dm in bot.dm("bob")) == 1
    [run] = rows(bot, OhScheduleRun)
    assert run.starts_at == datetime(2027, 1, 5, 15, 0, tzinfo=timezone.utc) and run.session_id == 1


async def test_scheduled_office_hours_open_by_themselves_with_auto_open(custom):
    bot = await custom(schedule=[{**SCHEDULE, "auto_open": True, "hosts": ["bob", "carol", "nobody"]}])
    await make_hosts(bot, "bob", "carol")
    with Session(bot.app.database) as s:
        carol = s.exec(select(Member).where(Member.handle == "carol")).one()
        carol.away_until = date(2027, 1, 6)
        s.add(carol)
        s.commit()
    await say(bot, "alice", "!q notify")
    bot.clock.set(TUESDAY)
    await bot.advance("30m")
    assert bot.dm("bob")[-1] == (
        "Reminder: you host office hours in #oh at Tue 5 Jan 16:00 (Europe/Berlin); they open by themselves then with you on duty "
        "(!oh duty off there if you can't make it)."
    )
    assert [dm for dm in bot.dm("carol") if "office hours" in dm] == []  # away: no prompts
    await bot.advance("30m")  # 15:00 UTC
    assert bot.channel(OH)[-1] == "Office hours are open with bob (topic: Gerrit). !q join [TOPIC] gets you in line."
    assert bot.dm("bob")[-1] == "Office hours in #oh are open, with you on duty: !next there takes the first person."
    assert bot.dm("alice") == ["Office hours are open in #oh now, with bob: !q join there gets you in line."]
    assert [handles(bot)[d.member_id] for d in rows(bot, OhDuty)] == ["bob"]  # carol is away
    await say(bot, "bob", "!oh close")
    await bot.advance("10m")
    assert len(rows(bot, OfficeHour)) == 1  # closed by a host: not opened again


async def test_auto_open_without_an_available_host_says_so(custom):
    bot = await custom(schedule=[{**SCHEDULE, "auto_open": True, "hosts": ["nobody"]}])
    bot.clock.set(TUESDAY + timedelta(hours=1))
    await bot.tick()
    assert bot.channel(OH) == [
        "Office hours here start now, with our hosts (topic: Gerrit). !q notify gets you a DM when they open.",
        "Office hours were due to open now, but no host is available, sorry.",
    ]
    assert rows(bot, OfficeHour) == []


def test_schedule_settings_are_checked_and_the_example_file_documents_them(tmp_path):
    with pytest.raises(ConfigError) as err:
        from_dict({"office_hours": {"schedule": [{**SCHEDULE, "channel": "#oh"}]}})
    assert "office_hours.schedule.0: channel '#oh' must look like platform:#channel" in str(err.value)
    with pytest.raises(ConfigError) as err:
        from_dict({"office_hours": {"schedule": [{**SCHEDULE, "time": "25:00"}]}})
    assert "'25:00' is not a time of day" in str(err.value)
    with pytest.raises(ConfigError) as err:
        from_dict({"office_hours": {"notify_hosts": "always", "schedule": [{**SCHEDULE, "hosts": []}]}})
    assert "office_hours.notify_hosts" in str(err.value) and "name at least one host" in str(err.value)
    example = (ROOT / "config.example.toml").read_text()
    block = example.split("# [[office_hours.schedule]]\n")[1].split("\n\n")[0]
    path = tmp_path / "c.toml"
    path.write_text("[[office_hours.schedule]]\n" + "\n".join(line.removeprefix("# ") for line in block.splitlines()))
    settings = load(path)
    [sched] = settings.office_hours.schedule
    assert (sched.where, sched.hosts, str(sched.weekly())) == (("irc", "#office-hours"), ["alice", "bob"], "Tue, Thu at 16:00 (Europe/Berlin)")


# ---------------------------------------------------------------------------- stats and export


async def known_history(bot: Bot) -> None:
    """One session on Monday 2027-01-04 from 09:00 UTC: five helps with waits of 0, 10, 20, 30
    and 40 minutes (10 min each), a no-show, one who left and one not reached."""
    await open_with(bot, "bob")
    await join(bot, "alice", "dave", "erin", "frank", "grace")
    for _ in range(5):
        await say(bot, "bob", "!next")
        await bot.advance("10m")
    await say(bot, "bob", "!done")
    await say(bot, "henry", "!q join =HYPERLINK(\"http://x\")")
    await say(bot, "bob", "!next")
    await say(bot, "bob", "!skip")
    await say(bot, "bob", "!next")
    await say(bot, "bob", "!skip")
    await join(bot, "ivy", "jack")
    await say(bot, "ivy", "!q leave")
    await say(bot, "bob", "!oh close")


# ---------------------------------------------------------------------------- channel names in texts

#: what an adapter's channel_label might answer for #oh: a name its users chose (line break, ping)
HOSTILE_LABEL = "Office <b>hours</b>\n  @everyone"
LABEL = "Office <b>hours</b> @everyone"  # as texts show it: one line


async def test_dms_name_the_channel_as_its_platform_labels_it(bot):
    """On Discord a channel is an id people never see: every DM about a queue names the channel
    as the adapter labels it (made one line), never the raw id."""
    bot.adapters["console"].channel_label = {OH: HOSTILE_LABEL}.get  # type: ignore[attr-defined]
    await make_hosts(bot, "bob")
    await say(bot, "alice", "!q notify")
    await say(bot, "bob", "!oh open")
    assert bot.dm("alice") == [f"Office hours are open in {LABEL} now, with bob: !q join there gets you in line."]
    await join(bot, "alice", "dave", "erin")
    assert bot.dm("bob")[-3] == f"alice joined the line in {LABEL} (#1). !next there takes the first."
    await say(bot, "bob", "!next")
    assert bot.dm("alice")[-1] == f"bob is ready for you in {LABEL} now."
    assert bot.dm("erin") == [f"You're second in line in {LABEL} (about 20 min): please be ready when a host calls you."]
    await say(bot, "bob", "!skip")
    assert bot.dm("alice")[-1].startswith(f"You missed your turn in {LABEL}: you're back in line at #2.")
    await say(bot, "bob", "!next")
    await say(bot, "bob", "!next")
    await say(bot, "bob", "!skip")
    assert bot.dm("alice")[-1].startswith(f"You missed your turn in {LABEL} again, so you are out of the line.")
    await say(bot, "bob", "!oh close")
    assert bot.dm("erin")[-1].startswith(f"Office hours in {LABEL} closed before your turn, sorry.")
    assert (await say(bot, "bob", "!oh stats"))[0].startswith(f"bob: Office hours in {LABEL}, last 30 days: 1 session")
    dms = [s.text for s in bot.said if s.target.startswith("dm ")]
    assert not [dm for dm in dms if OH in dm]  # the raw id nowhere
    assert all("\n" not in dm for dm in dms)
    assert "Office hours are open with bob. !q join [TOPIC] gets you in line." in bot.channel(OH)  # "here" stays


async def test_without_a_label_or_when_the_lookup_fails_the_channel_id_is_shown(bot):
    await make_hosts(bot, "bob")
    adapter = bot.adapters["console"]
    adapter.channel_label = lambda channel: None  # type: ignore[attr-defined]
    await say(bot, "bob", "!oh open")
    await join(bot, "alice")
    assert bot.dm("bob")[-1] == "alice joined the line in #oh (#1). !next there takes the first."

    def broken(channel: str) -> str:
        raise RuntimeError("cache gone")

    adapter.channel_label = broken  # type: ignore[attr-defined]
    await say(bot, "bob", "!next")
    assert bot.dm("alice") == ["bob is ready for you in #oh now."]  # the message still goes


async def test_schedule_reminders_name_the_channel_as_its_platform_labels_it(custom):
    bot = await custom(schedule=[{**SCHEDULE, "auto_open": True}])
    bot.adapters["console"].channel_label = {OH: HOSTILE_LABEL}.get  # type: ignore[attr-defined]
    await make_hosts(bot, "bob")
    bot.clock.set(TUESDAY)
    await bot.advance("30m")
    assert bot.dm("bob")[-1].startswith(f"Reminder: you host office hours in {LABEL} at Tue 5 Jan 16:00 (Europe/Berlin);")
    await bot.advance("30m")
    assert bot.dm("bob")[-1] == f"Office hours in {LABEL} are open, with you on duty: !next there takes the first person."
    await join(bot, "alice")
    await bot.advance("1h15m")
    assert bot.dm("bob")[-1].startswith(f"Office hours in {LABEL} were to end at Tue 5 Jan 17:00 (Europe/Berlin)")


async def test_stats_on_a_known_history(bot):
    await known_history(bot)
    await bot.say("bob", "!profile set timezone Europe/Berlin")
    out = await say(bot, "bob", "!oh stats")
    assert out == [
        "bob: Office hours in #oh, last 30 days: 1 session, 5 helps for 5 people; wait median 20 min, p90 40 min; "
        "1 no-show, 1 left, 1 not reached; busiest (Europe/Berlin): Mon 10:00 (8)."
    ]
    assert (await bot.say("bob", "!oh stats console:#oh 7"))[0].startswith("Office hours in #oh, last 7 days: 1 session")
    assert (await bot.say("bob", "!oh stats all"))[0].startswith("Office hours in all channels, last 30 days: 1 session")
    assert (await bot.say("bob", "!oh stats"))[0].startswith("Office hours in all channels")  # from a DM
    assert await bot.say("bob", "!oh stats #elsewhere") == ["No office hours in #elsewhere in the last 30 days."]
    await bot.advance("31d")
    assert await say(bot, "bob", "!oh stats") == ["bob: No office hours in #oh in the last 30 days."]
    assert (await say(bot, "bob", "!oh stats 40"))[0].startswith("bob: Office hours in #oh, last 40 days: 1 session")


async def test_stats_over_one_day_say_day(bot):
    """Issue 22 item 16: "!oh stats 1" said "in the last 1 days"."""
    await known_history(bot)
    assert await say(bot, "bob", "!oh stats 1") == ["bob: Office hours in #oh, last 1 day: 1 session, 5 helps for 5 people; "
                                                   "wait median 20 min, p90 40 min; 1 no-show, 1 left, 1 not reached; "
                                                   "busiest (UTC): Mon 09:00 (8)."]
    await bot.advance("2d")
    assert await say(bot, "bob", "!oh stats 1") == ["bob: No office hours in #oh in the last 1 day."]


async def test_the_csv_export_writes_the_help_log(bot, tmp_path, capsys):
    await known_history(bot)
    out = tmp_path / "log.csv"
    assert main(["export", "office-hours", "--csv", str(out), "--db", bot.settings.database.url]) == 0
    assert "wrote 8 rows" in capsys.readouterr().err
    with out.open(newline="") as f:
        log = list(csv.DictReader(f))
    assert list(log[0]) == [
        "channel", "opened_at", "joined_at", "called_at", "done_at", "wait_minutes", "help_minutes",
        "outcome", "skips", "host", "person", "topic",
    ]
    assert log[1] == {
        "channel": "console:#oh", "opened_at": "2027-01-04T09:00:00Z", "joined_at": "2027-01-04T09:00:00Z",
        "called_at": "2027-01-04T09:10:00Z", "done_at": "2027-01-04T09:20:00Z", "wait_minutes": "10.0",
        "help_minutes": "10.0", "outcome": "helped", "skips": "0", "host": "bob", "person": "dave", "topic": "",
    }
    assert [(r["person"], r["outcome"], r["wait_minutes"], r["help_minutes"]) for r in log[5:]] == [
        ("henry", "no-show", "0.0", ""), ("ivy", "left", "0.0", ""), ("jack", "closed", "0.0", ""),
    ]
    assert log[5]["skips"] == "1" and log[5]["topic"] == "'=HYPERLINK(\"http://x\")"  # never a formula
    assert log[7]["called_at"] == "" and log[7]["host"] == ""
    assert main(["export", "office-hours", "--csv", str(out), "--db", str(tmp_path / "missing.db")]) == 2
    assert "no database at" in capsys.readouterr().err


# ---------------------------------------------------------------------------- retention


async def test_purge_removes_closed_sessions_before_the_cutoff_only(bot):
    await known_history(bot)
    await bot.advance("2d")
    await open_with(bot, "carol")
    await join(bot, "alice")
    await say(bot, "dave", "!q notify")  # an open queue: not recorded
    await bot.say("dave", "!q notify", channel="#other")
    with Session(bot.app.database) as s:
        assert OfficeHoursRepo(s).purge_before(START + timedelta(days=1)) == 1
        s.commit()
    assert [hour.id for hour in rows(bot, OfficeHour)] == [2]
    assert [e.nick for e in rows(bot, OhEntry)] == ["alice"]
    assert len(rows(bot, OhNotice)) == 1


async def test_the_line_read_as_rows_keeps_a_loaded_entry_in_step(bot):
    """Issue 24: `!q join` and `!q leave` read the line's summary and its first two as plain rows
    and mark "told they are nearly up" with one UPDATE; an entry the session holds as an object
    is given the new value (neither stale nor owing a flush)."""
    await open_with(bot, "bob")
    await join(bot, "alice", "dave", "erin")
    hour = rows(bot, OfficeHour)[0].id
    with Session(bot.app.database) as s:
        repo = OfficeHoursRepo(s)
        erin = repo.waiting(hour)[2]
        assert not erin.nearly_told  # joined third
        mine, nobodys = repo.visit("console", OH, erin.member_id, "erin", line=True), repo.visit("console", OH, -1, "x", line=True)
        assert mine is not None and mine.line == LineSummary(count=3, last_seq=3, place=3)
        assert nobodys is not None and nobodys.line == LineSummary(count=3, last_seq=3, place=None)
        assert [w.nick for w in repo.head(hour, 2)] == ["alice", "dave"]
        repo.mark_nearly_told(erin.pk)
        assert erin.nearly_told and not s.dirty
        s.commit()
    assert [e.nearly_told for e in rows(bot, OhEntry)] == [True, True, True]


async def test_going_away_takes_a_host_off_duty_and_away_hosts_cannot_call_people(bot):
    """Issue 22: "!away until 2027-01-10 travel" promised no office-hour duty, yet "!oh duty on"
    said "You are on duty already." and !next still worked."""
    await open_with(bot, "hana", "ivan")
    await join(bot, "alice")
    out = await bot.say("hana", "!away until 2027-01-10 travel")
    assert out[0].endswith("no prompts, matching or office-hour duty. !back ends it early. You are off duty in #oh.")
    assert await say(bot, "hana", "!oh duty on") == ["hana: You are away until 2027-01-10, so you cannot go on duty."]
    assert await say(bot, "hana", "!next") == ["hana: You are not on duty here: !oh duty on first."]
    assert (await say(bot, "ivan", "!next"))[0].startswith("ivan: You're with alice")
    out = await bot.say("ivan", "!away until 2027-01-10")
    assert "You are off duty in #oh." in out[0]
    assert bot.channel(OH)[-1].startswith("Office hours are closed: no host is on duty any more.")


async def test_oh_say_reaches_everyone_in_line_by_dm_or_else_in_one_channel_line(custom):
    """Issue 22: hosts had no way to tell everyone waiting "running 10 minutes late"."""
    bot = await custom(allow_anonymous=True)
    await open_with(bot, "hana")
    await join(bot, "alice", "carol")
    assert "in line" in (await anonymous(bot, "visitor", "!q join"))[0]  # no account: no DM
    out = await say(bot, "hana", "!oh say running 10 minutes late, sorry")
    told = "From hana, host in #oh: running 10 minutes late, sorry"
    assert sorted(out) == sorted([
        "hana: Told 3 people in line (2 by DM and 1 here in the channel).",
        "visitor: from hana: running 10 minutes late, sorry",
        told, told,
    ])
    assert bot.dm("alice")[-1] == told and bot.dm("carol")[-1] == told
    assert (await say(bot, "alice", "!oh say hello"))[0].startswith("alice: !oh say is for host")
    assert await say(bot, "hana", "!oh say") == ["hana: text is missing — usage: !oh say TEXT…"]


async def test_oh_say_with_nobody_in_line(bot):
    await open_with(bot, "hana")
    assert await say(bot, "hana", "!oh say we close early today") == ["hana: Nobody is in line to tell."]


async def test_a_display_name_that_imitates_an_id_is_listed_in_line_by_handle(bot):
    """Issue 22, item 15: a Matrix display name "@coord:localhost" was listed publicly in the
    queue as "@coord:localhost", looking like the coordinator. Lists show the handle."""
    await open_with(bot, "hana")
    adapter = bot.adapters["console"]
    assert adapter.sink is not None
    imitation = Identity("console", "mallory", "@coord:localhost")
    await adapter.sink(TextReceived(who=imitation, where=Where("console", OH), text="!q join"))
    await bot.settle()
    await join(bot, "alice")
    listed = (await say(bot, "hana", "!q"))[0]
    assert "1 mallory" in listed and "2 alice" in listed and "@coord" not in listed, listed
    assert any(t.startswith("hana: You're with mallory (waited") for t in await say(bot, "hana", "!next"))
    assert [e.nick for e in rows(bot, OhEntry)] == ["mallory", "alice"]


async def test_the_prebuilt_writes_keep_loaded_objects_in_step(bot):
    """Issue 24: `!q join`, `!q leave` and closing write entries and sessions with prebuilt
    UPDATEs; an entry or a session the session holds as an object is given the new values (neither
    stale nor owing a flush), and the rows say the same."""
    await open_with(bot, "bob")
    await join(bot, "alice", "dave")
    hour_id = rows(bot, OfficeHour)[0].id
    with Session(bot.app.database) as s:
        repo = OfficeHoursRepo(s)
        alice, dave = repo.waiting(hour_id)
        hour = repo.get_hour(hour_id)
        assert hour is not None
        alice.left_at, alice.left_how = START, "part"
        repo.back(alice.pk)  # (alice's pending change is flushed first, then undone)
        repo.retopic(alice.pk, "rebasing")
        repo.end(dave.pk, "left", START)
        repo.close_hour(hour_id, "closed", START)
        assert (alice.left_at, alice.left_how, alice.topic) == (None, None, "rebasing")
        assert (dave.status, dave.outcome, dave.ended_at) == ("ended", "left", START)
        assert (hour.closed_at, hour.close_reason) == (START, "closed")
        assert all(loaded not in s.dirty for loaded in (alice, dave, hour))  # (the duties end through the ORM)
        s.commit()
    alice_row, dave_row = rows(bot, OhEntry)
    assert (alice_row.left_at, alice_row.topic, dave_row.status, dave_row.outcome) == (None, "rebasing", "ended", "left")
    assert rows(bot, OfficeHour)[0].close_reason == "closed"


async def test_a_visit_reads_the_open_hour_and_the_askers_place_in_one_statement(bot):
    """The open hour of a channel with the asker's waiting or called entry (a visitor without an
    account: test_anonymous_visitors_may_queue_by_nick_where_allowed), and the hosts on duty with
    whom they are with, as plain values."""
    await open_with(bot, "bob", "carol")
    await join(bot, "alice")
    await say(bot, "bob", "!next")
    await join(bot, "dave")
    ids = {handle: member_id for member_id, handle in handles(bot).items()}
    with Session(bot.app.database) as s:
        repo = OfficeHoursRepo(s)
        with statements(bot.app.database) as seen:
            found = repo.visit("console", "#oh", ids["alice"], "alice")
        assert found is not None and len(seen) == 1
        hour, place = found.hour, found.place
        assert (hour.platform, hour.channel, place and place.status, place and place.host_id) == ("console", "#oh", "called", ids["bob"])
        assert repo.visit("console", "#oh", -1, "nobody") == Visit(hour, None, None)
        assert repo.visit("console", "#other", ids["alice"], "alice") is None
        hosts = repo.hosts_now(hour.pk)
        assert hosts.hosts == [ids["bob"], ids["carol"]] and list(hosts.busy_since) == [ids["bob"]]
        assert [hosts.people[h].handle for h in hosts.hosts] == ["bob", "carol"]


async def test_the_person_called_is_read_once_for_their_dm(bot):
    """A DM to a person in line reads them once (their language and where to reach them), not
    once for the language and again for the message."""
    await open_with(bot, "bob")
    await join(bot, "alice")
    with statements(bot.app.database) as seen:
        out = await say(bot, "bob", "!next")
    assert "You're with alice" in out[0]
    by_id = [s for s in seen if re.search(r"FROM member\s+WHERE member\.id = ", s)]
    assert len(by_id) == 1, by_id


@pytest.mark.sqlite_only
def test_a_channels_latest_helps_are_found_by_index_not_by_reading_every_entry(tmp_path):
    """Every `!q join` that needs an estimate asks for the channel's latest helps: read every
    entry the channel ever had and sorted them (the query grew with the programme's history)."""
    from storage.db import open_database
    from storage.office_hours import _RECENT_HELPS

    engine = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    sql = str(_RECENT_HELPS.compile(dialect=engine.dialect))
    with engine.connect() as conn:
        plan = " / ".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, ("irc", "#oh", "helped", 10, 0)))
    engine.dispose()
    assert "ix_oh_entry_helped" in plan and "TEMP B-TREE" not in plan, plan
