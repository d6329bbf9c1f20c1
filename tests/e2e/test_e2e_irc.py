"""The whole bot on IRC: App + engine + every feature + a real SQLite file + the IRC adapter,
against the real InspIRCd + Atheme on 127.0.0.1, with people played by raw-socket clients.

What a person on IRC sees is what is asserted: the bot's lines as they arrive at their client.
The bot's clock is a FakeClock, so check-ins fall due when a test says so (``engine.run_due``),
while the network runs in real time.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
from sqlmodel import Session, select

from adapters.irc import IrcAdapter
from adapters.irc.text import GUARD
from chatbot.app import App
from chatbot.clock import FakeClock
from chatbot.config import from_dict
from storage.tables import OutboxMessage
from tests.irc_client import Client, Line
from tests.irc_fixtures import (  # noqa: F401 - fixtures are found by name
    PORT, Account, assert_safe, channel, clients, irc_server, name, register, server,
)
from tests.servers import wait_until

PASSWORD_ENV = "MENTORBOT_E2E_IRC_PASSWORD"
SUNDAY = datetime(2027, 1, 3, 12, 0, tzinfo=timezone.utc)
#: what the engine answers an anonymous visitor who tries a host command
LOG_IN = "needs you to be logged in to your account (on IRC: identify to services first)"
#: how long the bot may take to be back in its channel after the server restarts
REJOIN_WITHIN = 15.0


@pytest.fixture(scope="module")
def people(irc_server) -> dict[str, Account]:
    """Services accounts: the bot's, an admin's (listed in the config), a host's, and so on."""
    return {who: register(who) for who in ("mbot", "admin", "host", "vic", "val", "mentee", "mentor")}


@dataclass
class Running:
    """The bot as it runs in production, but on a FakeClock."""

    app: App
    clock: FakeClock
    adapter: IrcAdapter
    channel: str

    @property
    def nick(self) -> str:
        assert self.adapter.nick is not None, "the bot is not connected"
        return self.adapter.nick


@pytest.fixture
async def ircbot(people, channel, tmp_path, monkeypatch) -> Any:
    """The bot (App, every feature, a SQLite file) on IRC, logged in and in ``channel``."""
    bot = await start_bot(bot_settings(people, channel, tmp_path, monkeypatch), channel)
    yield bot
    await bot.app.stop()


def bot_settings(people: dict[str, Account], channel: str, tmp_path: Path, monkeypatch: Any) -> Any:
    """The settings of the bot on IRC: logged in as ``mbot``, ``admin`` its admin, in ``channel``."""
    monkeypatch.setenv(PASSWORD_ENV, people["mbot"].password)
    return from_dict({
        "admins": [f"irc:{people['admin'].name}"],
        "database": {"url": f"sqlite:///{tmp_path / 'bot.db'}", "synchronous": "normal"},
        "state_dir": str(tmp_path / "state"),
        "adapters": {"irc": {
            "enabled": True, "host": "127.0.0.1", "port": PORT, "nick": name("mbot"),
            "sasl_account": people["mbot"].name, "password_env": PASSWORD_ENV, "channels": [channel],
            "burst": 50, "rate": 500.0, "reconnect_min_delay": 0.05, "reconnect_max_delay": 0.4,
            "connect_timeout": 5,
        }},
    })


async def start_bot(settings: Any, channel: str) -> Running:
    """Start the App on a FakeClock at ``SUNDAY``, once the bot is in ``channel``."""
    clock = FakeClock(SUNDAY)
    app = App(settings, clock=clock)
    await app.start(schedule=False)
    adapter = app.engine.adapters["irc"]
    assert isinstance(adapter, IrcAdapter)
    await wait_until(lambda: adapter.joined_channels == [channel], what="the bot joins its channel")
    return Running(app, clock, adapter, channel)


# --------------------------------------------------------------------------- talking to the bot


def shown(line: Line) -> str:
    """A line as a person reads it (the invisible guard in front of ``!``/``(`` lines dropped)."""
    return line.text.removeprefix(GUARD)


def from_bot(bot: Running, to: str, pattern: str) -> Callable[[Line], bool]:
    """A PRIVMSG from the bot to ``to`` (a channel, or the person's nick for a DM) matching ``pattern``."""
    return lambda l: (l.command == "PRIVMSG" and l.nick == bot.nick and l.params[0].lower() == to.lower()
                      and re.search(pattern, shown(l)) is not None)


async def hears(person: Client, bot: Running, pattern: str, *, since: int, where: str | None = None) -> str:
    """Wait until ``person`` gets a line from the bot matching ``pattern`` (in ``where``, else in a DM)."""
    return shown(await person.wait_for(from_bot(bot, where or person.nick, pattern), since=since))


async def ask(person: Client, bot: Running, text: str, pattern: str, *, where: str | None = None) -> str:
    """``person`` says ``text`` to the bot (in the channel ``where``, else by DM) and gets ``pattern`` back."""
    mark = person.mark()
    person.say(where or bot.nick, text)
    return await hears(person, bot, pattern, since=mark, where=where)


def assert_every_bot_line_safe(bot: Running, *people: Client) -> int:
    lines = [l for p in people for l in p.lines if l.command in ("PRIVMSG", "NOTICE") and l.nick == bot.nick]
    for line in lines:
        assert_safe(line)
    return len(lines)


async def make_host(bot: Running, admin: Client, host: Client, account: Account) -> None:
    """The host becomes known to the bot, then the admin grants the host role by DM."""
    await ask(host, bot, "!whoami", rf"accounts: irc:{account.name}; roles: member")
    await ask(admin, bot, f"!role grant irc:{account.name} host", rf"^{host.nick} is now host\.$")


# --------------------------------------------------------------------------- office hours


async def test_an_office_hour_in_a_channel(ircbot, people, clients, channel) -> None:
    admin = await clients(name("adm"), account=people["admin"])
    host = await clients(name("hst"), account=people["host"])
    vic = await clients(name("vic"), account=people["vic"])
    val = await clients(name("val"), account=people["val"])
    anon = await clients(name("anon"))
    for person in (host, vic, val, anon):
        await person.join(channel)
    await make_host(ircbot, admin, host, people["host"])

    # anonymous: refused in the channel (addressed to them) and in a DM (which reaches their nick)
    await ask(anon, ircbot, "!oh open", rf"^{anon.nick}: !oh open {re.escape(LOG_IN)}\.$", where=channel)
    await ask(anon, ircbot, "!oh open", rf"^!oh open {re.escape(LOG_IN)}\.$")

    seen = val.mark()
    host.say(channel, "!oh open Gerrit and first patches")
    opened = await hears(val, ircbot, r"Office hours are open", since=seen, where=channel)
    assert opened == (f"Office hours are open with {host.nick} (topic: Gerrit and first patches). "
                      "!q join [TOPIC] gets you in line.")

    hosts_dms = host.mark()
    assert await ask(vic, ircbot, "!q join rebasing", r"in line", where=channel) == \
        f"{vic.nick}: You're #1 in line: a host will call you any moment now."
    assert await hears(host, ircbot, r"joined the line", since=hosts_dms) == \
        f"{vic.nick} joined the line in {channel} (#1, topic: rebasing). !next there takes the first."
    assert (await ask(val, ircbot, "!q join", r"in line", where=channel)).startswith(f"{val.nick}: You're #2 in line, about ")
    listing = await ask(vic, ircbot, "!q", r"waiting", where=channel)
    assert re.fullmatch(rf"{vic.nick}: 2 waiting, 1 host: 1 {vic.nick} now, 2 {val.nick} ~\d+m\.", listing), listing

    in_channel, vics_dms = val.mark(), vic.mark()
    assert await ask(host, ircbot, "!next", r"You're with", where=channel) == \
        f"{host.nick}: You're with {vic.nick} (waited under a minute; topic: rebasing). 1 still waiting."
    # the called person is pinged by nick in the channel, and told in private too
    assert await hears(val, ircbot, r"is ready for you", since=in_channel, where=channel) == \
        f"{vic.nick}: {host.nick} is ready for you now."
    assert await hears(vic, ircbot, r"is ready for you", since=vics_dms) == \
        f"{host.nick} is ready for you in {channel} now."

    assert await ask(host, ircbot, "!done", r"Done with", where=channel) == \
        f"{host.nick}: Done with {vic.nick} after under a minute. 1 waiting: !next when you're ready."
    in_channel, vals_dms = vic.mark(), val.mark()
    host.say(channel, "!oh close")
    closed = await hears(vic, ircbot, r"Office hours are closed", since=in_channel, where=channel)
    assert closed == (f"Office hours are closed. 1 helped (median wait under a minute). Still waiting: {val.nick}; "
                      "sorry! !q notify gets you a DM when they open again.")
    assert (await hears(val, ircbot, r"closed before your turn", since=vals_dms)).startswith(f"Office hours in {channel}")

    # nothing private reached the channel, and every line anybody got was one safe IRC line
    in_channel_lines = [shown(l) for l in anon.lines if from_bot(ircbot, channel, "")(l)]
    assert not any("joined the line" in t or "ready for you in" in t for t in in_channel_lines)
    assert assert_every_bot_line_safe(ircbot, admin, host, vic, val, anon) >= 15


async def test_someone_who_takes_a_hosts_nick_is_not_a_host(ircbot, people, clients, channel) -> None:
    admin = await clients(name("adm"), account=people["admin"])
    host = await clients(name("hst"), account=people["host"])
    await host.join(channel)
    await make_host(ircbot, admin, host, people["host"])
    nick = host.nick
    await host.quit()
    await wait_until(lambda: ircbot.adapter.roster.get(nick) is None, what="the bot sees the host quit")

    taker = await clients(nick)  # the same nick, not logged in to the host's account
    await taker.join(channel)
    await ask(taker, ircbot, "!oh open", rf"^{nick}: !oh open {re.escape(LOG_IN)}\.$", where=channel)
    await ask(taker, ircbot, "!next", rf"^{nick}: !next {re.escape(LOG_IN)}\.$", where=channel)
    assert (await ask(taker, ircbot, "!q", r"Office hours", where=channel)).startswith(f"{nick}: Office hours are closed here.")

    # the real host, back under another nick, still is one
    back = await clients(name("hst"), account=people["host"])
    await back.join(channel)
    seen = taker.mark()
    back.say(channel, "!oh open")
    assert await hears(taker, ircbot, r"Office hours are open", since=seen, where=channel) == \
        f"Office hours are open with {back.nick}. !q join [TOPIC] gets you in line."
    assert_every_bot_line_safe(ircbot, admin, taker, back)


# --------------------------------------------------------------------------- sign-up and check-ins


SIGNUP_ANSWERS = {
    "mentee": ["Europe/Berlin", "en, de", "3", "programming", "code review, testing", "Land my first patch in core"],
    "mentor": ["America/New_York", "en", "3", "all", "code review, testing", "3"],
}


async def sign_up(bot: Running, person: Client, kind: str) -> str:
    """The whole sign-up interview by private message; returns the closing answer's first line."""
    answers = SIGNUP_ANSWERS[kind]
    await ask(person, bot, f"!signup {kind}", rf"^\(1/{len(answers)}\) Which timezone")
    for n, answer in enumerate(answers[:-1], 2):
        await ask(person, bot, answer, rf"^\({n}/{len(answers)}\) ")
    return await ask(person, bot, answers[-1], r"^You're signed up")


def outbox_status(bot: Running, key_prefix: str) -> list[str]:
    with Session(bot.app.database) as s:
        return [r.status for r in s.exec(select(OutboxMessage).order_by(OutboxMessage.id)) if r.key.startswith(key_prefix)]


async def test_sign_up_by_private_message_and_a_check_in_waits_for_an_offline_mentee(ircbot, people, clients) -> None:
    admin = await clients(name("adm"), account=people["admin"])
    await ask(admin, ircbot, '!round open "2027 Q1" 2027-01-01 2027-03-31', r"^Round 2027 Q1 is open")
    mentee_nick = name("mtee")
    mentee = await clients(mentee_nick, account=people["mentee"])
    mentor = await clients(name("mtor"), account=people["mentor"])
    assert await sign_up(ircbot, mentee, "mentee") == "You're signed up as a mentee for 2027 Q1. Thank you!"
    profile = await hears(mentee, ircbot, r"goal: ", since=0)
    assert profile == "mentee in 2027 Q1; track programming; interests code review, testing; goal: Land my first patch in core"
    assert await sign_up(ircbot, mentor, "mentor") == "You're signed up as a mentor for 2027 Q1. Thank you!"
    await ask(admin, ircbot, f"!match assign irc:{people['mentee'].name} irc:{people['mentor'].name}",
              rf"^{mentor.nick} now mentors {mentee_nick}\.")

    # the mentee leaves IRC; Monday 10:00 in Berlin their first check-in falls due
    await mentee.quit()
    ircbot.clock.set(datetime(2027, 1, 4, 9, 30, tzinfo=timezone.utc))
    await ircbot.app.engine.run_due()
    assert await ircbot.app.engine.flush_outbox()  # the sender tried it
    assert outbox_status(ircbot, "checkin:") == ["offline"]  # kept for when they are seen again

    # back on IRC under the same nick, then identified to services: the prompt arrives
    back = await clients(mentee_nick)
    seen = back.mark()
    await back.identify(people["mentee"].name, people["mentee"].password)
    prompt = await hears(back, ircbot, r"^Time for your check-in", since=seen)
    assert prompt.startswith("Time for your check-in (Mon 4 Jan 10:00)! Reply here with all 4 answers at once")
    await hears(back, ircbot, r"^4\. How is it going", since=seen)
    assert await hears(back, ircbot, r"^\(reply: ", since=seen) == "(reply: !checkin)"
    assert outbox_status(ircbot, "checkin:") == ["sent"]

    mentors_dms = mentor.mark()
    thanks = await ask(back, ircbot, "1. fixed the flaky test 2. review the patch 3. none 4. 4 - good week", r"^Thanks")
    assert thanks == f"Thanks, saved! {mentor.nick} will see it. Next check-in: Thu 7 Jan 10:00 (Europe/Berlin)."
    assert await hears(mentor, ircbot, r"checked in", since=mentors_dms) == \
        f"{mentee_nick} checked in for Mon 4 Jan 04:00 (America/New_York):"
    assert await hears(mentor, ircbot, r"^mood: ", since=mentors_dms) == "mood: 4/5 (4 - good week)"
    assert_every_bot_line_safe(ircbot, admin, mentee, mentor, back)


# --------------------------------------------------------------------------- faults


async def test_the_queue_survives_an_irc_server_restart(ircbot, people, clients, channel) -> None:
    admin = await clients(name("adm"), account=people["admin"])
    host = await clients(name("hst"), account=people["host"])
    vic = await clients(name("vic"), account=people["vic"])
    val = await clients(name("val"), account=people["val"])
    for person in (host, vic, val):
        await person.join(channel)
    await make_host(ircbot, admin, host, people["host"])
    await ask(host, ircbot, "!oh open", r"Office hours are open", where=channel)
    await ask(vic, ircbot, "!q join rebasing", r"#1 in line", where=channel)
    await ask(val, ircbot, "!q join", r"#2 in line", where=channel)
    before = await ask(vic, ircbot, "!q", r"2 waiting", where=channel)

    registrations = ircbot.adapter.registrations
    await asyncio.to_thread(server, "stop")
    try:
        await wait_until(lambda: not ircbot.adapter.connected, timeout=5, what="the bot notices the server went away")
    finally:
        began = time.monotonic()
        await asyncio.to_thread(server)
    await wait_until(lambda: ircbot.adapter.registrations > registrations and ircbot.adapter.joined_channels == [channel],
                     timeout=REJOIN_WITHIN, what="the bot reconnects and rejoins")
    rejoined_after = time.monotonic() - began

    # everybody comes back (accounts survived the restart); the line is as it was
    host = await clients(host.nick, account=people["host"])
    vic = await clients(vic.nick, account=people["vic"])
    for person in (host, vic):
        await person.join(channel)
    assert await ask(vic, ircbot, "!q", r"2 waiting", where=channel) == before
    seen = vic.mark()
    await ask(host, ircbot, "!next", rf"You're with {vic.nick}", where=channel)
    assert await hears(vic, ircbot, r"is ready for you now", since=seen, where=channel) == \
        f"{vic.nick}: {host.nick} is ready for you now."
    assert rejoined_after < REJOIN_WITHIN
    assert_every_bot_line_safe(ircbot, admin, host, vic)


# --------------------------------------------------------------------------- the process


ROOT = Path(__file__).resolve().parents[2]


async def test_mentorbot_run_serves_irc_and_quits_on_sigterm(people, clients, channel, tmp_path) -> None:
    """``mentorbot run`` from a config file, the password from the environment only: it answers
    in the channel, logs at DEBUG without the password, and says QUIT when told to stop."""
    nick = name("mbot")
    password = people["mbot"].password
    config = tmp_path / "mentorbot.toml"
    admin, account, db = people["admin"].name, people["mbot"].name, tmp_path / "ircbot.db"
    config.write_text(
        f'admins = ["irc:{admin}"]\n[logging]\nlevel = "DEBUG"\n'
        f'[database]\nurl = "sqlite:///{db}"\nsynchronous = "normal"\n'
        f'[adapters.irc]\nenabled = true\nhost = "127.0.0.1"\nport = {PORT}\nnick = "{nick}"\n'
        f'sasl_account = "{account}"\npassword_env = "{PASSWORD_ENV}"\nchannels = ["{channel}"]\n'
    )
    assert password not in config.read_text()
    watcher = await clients(name("w"))
    await watcher.join(channel)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatbot", "--config", str(config), "run", cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), PASSWORD_ENV: password},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await watcher.wait_for(lambda l: l.command == "JOIN" and l.nick == nick, timeout=30)
        mark = watcher.mark()
        watcher.say(channel, "!help")
        answer = await watcher.wait_for(lambda l: l.nick == nick and l.command == "PRIVMSG", since=mark)
        assert answer.params[0] == channel and answer.text.startswith(f"{watcher.nick}: Commands: !certificate, !help")
        assert_safe(answer)
        mark = watcher.mark()
        proc.send_signal(signal.SIGTERM)
        quit_line = await watcher.wait_for(lambda l: l.command == "QUIT" and l.nick == nick, since=mark)
        assert quit_line.text.endswith("mentorbot")
        _out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = err.decode()
    assert proc.returncode == 0, log[-2000:]
    assert "IRC: registered as" in log and "Traceback" not in log
    assert password not in log
