"""The whole bot on a network without services (ircd-hybrid, ``IRC_SERVER=hybrid``).

``identity = "hostmask"``: a person is their ``nick!user@host``; an admin is vouched for by a
mask in ``role_masks``; the office hour and check-ins work as with accounts. And the default,
``identity = "services"``, refuses to run there with one line saying what to set.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from typing import Any

import pytest

from chatbot.app import App
from chatbot.config import from_dict
from tests.irc_client import Client
from tests.irc_fixtures import hybrid_server, name  # noqa: F401 - fixtures by name
from tests.e2e.test_e2e_irc import ask, assert_every_bot_line_safe, hears, sign_up, start_bot

ADMIN = name("adm")


def bot_settings(tmp_path, port: int, channel: str, **irc: Any) -> Any:
    return from_dict({
        "database": {"url": f"sqlite:///{tmp_path / 'bot.db'}", "synchronous": "normal"},
        "state_dir": str(tmp_path / "state"),
        "adapters": {"irc": {
            "enabled": True, "host": "127.0.0.1", "port": port, "nick": name("mbot"), "channels": [channel],
            "burst": 50, "rate": 500.0, "reconnect_min_delay": 0.05, "reconnect_max_delay": 0.4,
            "connect_timeout": 5, **irc,
        }},
    })


@pytest.fixture
async def people(hybrid_server) -> Any:
    made: list[Client] = []

    async def connect(nick: str) -> Client:
        made.append(await Client.connect(hybrid_server, nick, caps=()))
        return made[-1]

    yield connect
    for client in made:
        client.writer.close()
        if client.reader_task is not None:
            client.reader_task.cancel()


@pytest.fixture
async def hostbot(hybrid_server, tmp_path) -> Any:
    channel = "#" + name("oh")
    settings = bot_settings(tmp_path, hybrid_server, channel, identity="hostmask",
                            role_masks={"admin": [f"{ADMIN}!*@127.0.0.1"]})
    bot = await start_bot(settings, channel)
    yield bot
    await bot.app.stop()


def mask(person: Client) -> str:
    """The person's ``nick!user@host`` as the server told them in its welcome (001)."""
    welcome = next(line for line in person.lines if line.command == "001")
    return welcome.text.split()[-1]


async def test_services_mode_on_a_network_without_services_refuses_with_one_clear_line(
        hybrid_server, tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO)
    app = App(bot_settings(tmp_path, hybrid_server, "#" + name("oh")))  # identity defaults to "services"
    await app.start(schedule=False)
    try:
        health = app.supervisor.states()["irc"]
        assert health.phase == "stopped" and 'identity = "hostmask"' in (health.reason or "")
        said = [r.getMessage() for r in caplog.records]
        advice = [line for line in said if 'set identity = "hostmask"' in line]
        assert len(advice) == 1 and advice[0].startswith("irc cannot start"), said
        assert not any("running with irc" in line or "reconnecting" in line for line in said), said
    finally:
        await app.stop()


async def test_a_whole_office_hour_in_hostmask_mode(hostbot, people) -> None:
    channel = hostbot.channel
    admin, host, vic, val = await people(ADMIN), await people(name("hst")), await people(name("vic")), await people(name("val"))
    for person in (admin, host, vic, val):
        await person.join(channel)
    assert await ask(admin, hostbot, "!whoami", r"roles") == \
        f"You are {admin.nick} ({admin.nick}); accounts: irc:{mask(admin)}; roles: admin."
    await ask(host, hostbot, "!whoami", rf"accounts: irc:{re.escape(mask(host))}; roles: member")
    await ask(admin, hostbot, f"!role grant irc:{mask(host)} host", rf"^{host.nick} is now host\.$")
    assert re.fullmatch(r"irc: connected; connected \d+s ago", await ask(admin, hostbot, "!status", r"^irc: "))
    await ask(vic, hostbot, "!status", r"^!status is for admin")  # admins only

    seen = vic.mark()
    host.say(channel, "!oh open")
    assert await hears(vic, hostbot, r"Office hours are open", since=seen, where=channel) == \
        f"Office hours are open with {host.nick}. !q join [TOPIC] gets you in line."
    assert await ask(vic, hostbot, "!q join rebasing", r"in line", where=channel) == \
        f"{vic.nick}: You're #1 in line: a host will call you any moment now."
    assert (await ask(val, hostbot, "!q join", r"in line", where=channel)).startswith(f"{val.nick}: You're #2 in line")

    vics_dms = vic.mark()
    assert await ask(host, hostbot, "!next", r"You're with", where=channel) == \
        f"{host.nick}: You're with {vic.nick} (waited under a minute; topic: rebasing). 1 still waiting."
    assert await hears(vic, hostbot, r"is ready for you", since=vics_dms) == \
        f"{host.nick} is ready for you in {channel} now."  # a DM reaches the nick of the mask
    assert await ask(host, hostbot, "!done", r"Done with", where=channel) == \
        f"{host.nick}: Done with {vic.nick} after under a minute. 1 waiting: !next when you're ready."
    seen = vic.mark()
    host.say(channel, "!oh close")
    closed = await hears(vic, hostbot, r"Office hours are closed", since=seen, where=channel)
    assert closed.startswith(f"Office hours are closed. 1 helped (median wait under a minute). Still waiting: {val.nick}")
    assert assert_every_bot_line_safe(hostbot, admin, host, vic, val) >= 8


async def test_check_ins_by_private_message_in_hostmask_mode(hostbot, people) -> None:
    admin, mentee, mentor = await people(ADMIN), await people(name("mtee")), await people(name("mtor"))
    await admin.join(hostbot.channel)
    await ask(admin, hostbot, '!round open "2027 Q1" 2027-01-01 2027-03-31', r"^Round 2027 Q1 is open")
    assert await sign_up(hostbot, mentee, "mentee") == "You're signed up as a mentee for 2027 Q1. Thank you!"
    assert await sign_up(hostbot, mentor, "mentor") == "You're signed up as a mentor for 2027 Q1. Thank you!"
    await ask(admin, hostbot, f"!match assign irc:{mask(mentee)} irc:{mask(mentor)}",
              rf"^{mentor.nick} now mentors {mentee.nick}\.")

    seen = mentee.mark()
    hostbot.clock.set(datetime(2027, 1, 4, 9, 30, tzinfo=timezone.utc))  # Monday 10:30 in Berlin
    await hostbot.app.engine.run_due()
    assert (await hears(mentee, hostbot, r"^Time for your check-in", since=seen)).startswith(
        "Time for your check-in (Mon 4 Jan 10:00)!")
    mentors_dms = mentor.mark()
    thanks = await ask(mentee, hostbot, "1. fixed the flaky test 2. review the patch 3. none 4. 4 - good week", r"^Thanks")
    assert thanks.startswith(f"Thanks, saved! {mentor.nick} will see it.")
    assert await hears(mentor, hostbot, r"^mood: ", since=mentors_dms) == "mood: 4/5 (4 - good week)"
    assert_every_bot_line_safe(hostbot, admin, mentee, mentor)


async def test_a_nick_change_in_hostmask_mode_keeps_the_place_under_the_new_mask(hostbot, people) -> None:
    """The account is nick!user@host, so a NICK is a new account: the place in line follows it
    (issue 16), and the person's own commands under the new nick find it."""
    channel = hostbot.channel
    admin, host, vic, val = await people(ADMIN), await people(name("hst")), await people(name("vic")), await people(name("val"))
    for person in (admin, host, vic, val):
        await person.join(channel)
    await ask(host, hostbot, "!whoami", r"roles: member")
    await ask(admin, hostbot, f"!role grant irc:{mask(host)} host", rf"^{host.nick} is now host\.$")
    await ask(host, hostbot, "!oh open", r"Office hours are open", where=channel)
    await ask(vic, hostbot, "!q join", r"in line", where=channel)
    await ask(val, hostbot, "!q join", r"in line", where=channel)
    await vic.change_nick(name("vic"))
    assert await ask(vic, hostbot, "!q join", r"in line", where=channel) == \
        f"{vic.nick}: You're in line already: #1, any moment now."
    seen = val.mark()
    assert (await ask(host, hostbot, "!next", r"You're with", where=channel)).startswith(f"{host.nick}: You're with {vic.nick} (")
    assert await hears(val, hostbot, r"is ready for you", since=seen, where=channel) == f"{vic.nick}: {host.nick} is ready for you now."
