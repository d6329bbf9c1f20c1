"""People who leave an office-hours line on IRC (issue 16), against the real InspIRCd + Atheme:
PART, QUIT and KICK while in line, back within the grace (same place) and after it (out, and
the host's next call says so in one line); a NICK keeps the place.

The bot runs on a FakeClock, so "twelve minutes later" is a clock step, while the people are
real clients whose PART/QUIT/KICK/JOIN/NICK the server relays to the bot. The rule itself is
covered in tests/features/test_office_hours_leavers.py; here it is what a person on IRC sees.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from storage.office_hours import OhEntry
from tests.irc_client import Client
from tests.irc_fixtures import (  # noqa: F401 - fixtures are found by name
    Account, channel, clients, irc_server, name, register,
)
from tests.servers import wait_until
from tests.e2e.test_e2e_irc import Running, ask, assert_every_bot_line_safe, bot_settings, hears, make_host, start_bot


@pytest.fixture(scope="module")
def people(irc_server) -> dict[str, Account]:
    return {who: register(who) for who in ("mbot", "admin", "host", "pia", "qin", "kim", "val")}


@pytest.fixture
async def op(clients, channel) -> Client:
    """A channel operator, there before the bot (the first to join a channel gets @), who kicks."""
    chanop = await clients(name("op"))
    await chanop.join(channel)
    return chanop


@pytest.fixture
async def ircbot(op, people, channel, tmp_path, monkeypatch) -> Any:
    bot = await start_bot(bot_settings(people, channel, tmp_path, monkeypatch), channel)
    yield bot
    await bot.app.stop()


def entries(bot: Running) -> dict[str, OhEntry]:
    """The line's entries by account (as stored: what the bot knows now)."""
    with Session(bot.app.database) as s:
        return {e.account or e.nick: e for e in s.exec(select(OhEntry).order_by(OhEntry.id))}


async def left(bot: Running, account: Account, away: bool = True) -> None:
    """Until the bot has recorded that ``account`` left (``away``) or came back."""
    await wait_until(lambda: (entries(bot)[account.name].left_at is not None) == away,
                     what=f"the bot records {account.name} as {'away' if away else 'back'}")


async def in_line(bot: Running, people: dict[str, Account], clients, channel: str, *stems: str) -> tuple[Client, list[Client]]:
    """The host opens office hours in ``channel``; each of ``stems`` joins the line, in order."""
    admin = await clients(name("adm"), account=people["admin"])
    host = await clients(name("hst"), account=people["host"])
    await host.join(channel)
    await make_host(bot, admin, host, people["host"])
    await ask(host, bot, "!oh open", r"Office hours are open", where=channel)
    visitors = []
    for stem in stems:
        person = await clients(name(stem[:3]), account=people[stem])
        await person.join(channel)
        await ask(person, bot, "!q join", r"in line", where=channel)
        visitors.append(person)
    return host, visitors


async def reconnect(clients, person: Client, account: Account, channel: str) -> Client:
    """``person`` comes back (a new connection, same account and nick) and joins ``channel``."""
    back = await clients(person.nick, account=account)
    await back.join(channel)
    return back


async def part_quit_kick(bot: Running, people: dict[str, Account], channel: str, op: Client, *who: Client) -> None:
    """The first of ``who`` PARTs, the second QUITs, the third is kicked by ``op``; returns
    once the bot recorded all three as away."""
    pia, qin, kim = who
    pia.send(f"PART {channel} :brb")
    await qin.quit("connection reset")
    op.send(f"KICK {channel} {kim.nick} :wrong channel, sorry")
    for stem in ("pia", "qin", "kim"):
        await left(bot, people[stem])


async def test_part_quit_and_kick_within_the_grace_keep_the_place(ircbot, people, clients, channel, op) -> None:
    host, (pia, qin, kim, val) = await in_line(ircbot, people, clients, channel, "pia", "qin", "kim", "val")
    await part_quit_kick(ircbot, people, channel, op, pia, qin, kim)
    ircbot.clock.advance(timedelta(minutes=4))

    # the host's call passes over the three who are away, in one line, and calls val
    assert await ask(host, ircbot, "!next", r"You're with", where=channel) == (
        f"{host.nick}: {pia.nick} left the channel 4 minutes ago and keeps their place for now; "
        f"{qin.nick} left the channel 4 minutes ago and keeps their place for now; "
        f"{kim.nick} left the channel 4 minutes ago and keeps their place for now; calling {val.nick}. "
        f"You're with {val.nick} (waited 4 min; no topic given). Nobody else is waiting."
    )
    # back within the grace: same places, first first
    await pia.join(channel)
    qin = await reconnect(clients, qin, people["qin"], channel)
    await kim.join(channel)
    for stem in ("pia", "qin", "kim"):
        await left(ircbot, people[stem], away=False)
    ircbot.clock.advance(timedelta(minutes=8))  # 12 minutes since they left: they are back, nothing expires
    await ircbot.app.engine.run_due()
    listing = await ask(val, ircbot, "!q", r"waiting", where=channel)
    assert re.fullmatch(rf"{val.nick}: 3 waiting, 1 host: 1 {pia.nick} \S+, 2 {qin.nick} \S+, 3 {kim.nick} \S+\.", listing), listing
    assert await ask(host, ircbot, "!next", r"You're with", where=channel) == (
        f"{host.nick}: Done with {val.nick} (8 min). You're with {pia.nick} (waited 12 min; no topic given). 2 still waiting."
    )
    assert assert_every_bot_line_safe(ircbot, host, pia, qin, kim, val) >= 10


async def test_after_the_grace_leavers_are_out_and_not_counted_as_helped(ircbot, people, clients, channel, op) -> None:
    host, (pia, qin, kim, val) = await in_line(ircbot, people, clients, channel, "pia", "qin", "kim", "val")
    await part_quit_kick(ircbot, people, channel, op, pia, qin, kim)
    ircbot.clock.advance(timedelta(minutes=12))
    mark = pia.mark()
    await ircbot.app.engine.run_due()  # the grace (10 min) is over: out of the line
    assert (await hears(pia, ircbot, r"your place in line", since=mark)) == (
        f"You left {channel} more than 10 minutes ago, so your place in line there has gone. "
        "!q join there gets you back in, at the end."
    )
    assert {k: e.outcome for k, e in entries(ircbot).items() if k != people["val"].name} == \
        {people[s].name: "left" for s in ("pia", "qin", "kim")}

    await kim.join(channel)  # too late: no place comes back
    assert await ask(host, ircbot, "!next", r"You're with", where=channel) == (
        f"{host.nick}: {pia.nick} left the channel 12 minutes ago; {qin.nick} left the channel 12 minutes ago; "
        f"{kim.nick} left the channel 12 minutes ago; calling {val.nick}. "
        f"You're with {val.nick} (waited 12 min; no topic given). Nobody else is waiting."
    )
    assert (await ask(kim, ircbot, "!q join", r"in line", where=channel)).startswith(f"{kim.nick}: You're #1 in line")
    await ask(host, ircbot, "!done", r"Done with", where=channel)
    assert await ask(host, ircbot, "!oh close", r"closed", where=channel) == (
        f"Office hours are closed. 1 helped (median wait 12 min), 3 left. Still waiting: {kim.nick}; "
        "sorry! !q notify gets you a DM when they open again."
    )


async def test_a_nick_change_keeps_the_place(ircbot, people, clients, channel) -> None:
    host, (pia, val) = await in_line(ircbot, people, clients, channel, "pia", "val")
    old = pia.nick
    await pia.change_nick(name("pia"))
    await wait_until(lambda: entries(ircbot)[people["pia"].name].nick == pia.nick, what="the line follows the nick")
    mark = val.mark()
    assert (await ask(host, ircbot, "!next", r"You're with", where=channel)).startswith(f"{host.nick}: You're with {pia.nick} (")
    assert await hears(val, ircbot, r"is ready for you", since=mark, where=channel) == f"{pia.nick}: {host.nick} is ready for you now."
    assert old != pia.nick
