"""The whole bot on Discord: App + engine + every feature + a SQLite file + the Discord adapter,
against the fake Discord on 127.0.0.1, with people played through the fake's control API (their
messages, slash commands, button clicks and modal submissions reach the bot as Discord sends them).

The clock is a FakeClock, so schedules (check-ins) are driven with ``engine.run_due``; everything
else is real network I/O, and every wait is on something the bot does (the fake's ``/wait``).
Every interaction a test makes is checked to have been acknowledged within Discord's 3 s.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from sqlmodel import Session, select

from adapters.discord.commands import payload_problems
from chatbot.app import App
from chatbot.clock import FakeClock
from chatbot.config import Settings, from_dict
from storage.checkins import ANSWERED, Checkin
from storage.office_hours import OhEntry
from storage.progress import MentoringSession
from storage.tables import Member, OutboxMessage
from tests.discord_fixtures import EPHEMERAL, Fake, discord_env, fake  # noqa: F401 (fixtures)
from tests.servers import wait_until

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)  # a Monday
MENTEE_ANSWERS = ["Europe/Berlin", "en", "3", "programming", "testing, code review", "Land my first patch in core"]
MENTOR_ANSWERS = ["America/New_York", "en", "3", "all", "testing, code review", "3"]
USER, STRING, INTEGER, SUB, GROUP = 6, 3, 4, 1, 2


@dataclass
class Scene:
    """One guild with a channel, four people (dana is the admin) and the bot running on it."""

    fake: Fake
    settings: Settings
    clock: FakeClock
    guild: str
    channel: str
    role: str
    people: dict[str, dict[str, Any]]
    app: App | None = None
    interactions: list[str] = field(default_factory=list)
    dms: dict[str, str] = field(default_factory=dict)
    round_open: bool = False

    @property
    def bot(self) -> App:
        assert self.app is not None
        return self.app

    def id(self, name: str) -> str:
        return self.people[name]["id"]

    async def start(self) -> None:
        self.app = App(self.settings, clock=self.clock)
        await self.app.start(schedule=False, wait=20)
        adapter = self.app.engine.adapters["discord"]
        assert adapter._ready.is_set(), "the Discord adapter did not connect"  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.stop()
            self.app = None

    async def dm_channel(self, name: str) -> str:
        if name not in self.dms:
            self.dms[name] = await self.fake.dm_channel(self.people[name])
        return self.dms[name]

    async def dm(self, name: str, text: str, match: str = "") -> dict[str, Any]:
        """``name`` writes to the bot in private; returns the bot's answer there."""
        channel = await self.dm_channel(name)
        said = await self.fake.say(self.people[name], channel, text)
        return await self.fake.wait(channel=channel, author="bot", after=said["id"], match=match)

    async def say(self, name: str, text: str, match: str) -> dict[str, Any]:
        """``name`` writes in the channel; returns the bot's message there matching ``match``."""
        said = await self.fake.say(self.people[name], self.channel, text)
        return await self.fake.wait(channel=self.channel, author="bot", after=said["id"], match=match)

    async def slash(self, name: str, command: str, **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """A slash command in the channel; returns (interaction state, the response message)."""
        it = await self.fake.interact(self.people[name], self.channel, command, **options)
        self.interactions.append(it["id"])
        state = await self.fake.wait("/interaction", id=it["id"])
        assert state["response_type"] == 4, state  # answered at once, not deferred
        return state, await self.message(self.channel, state["message_id"])

    async def complete(self, name: str, command: str, focused: str, partial: str) -> list[str]:
        it = await self.fake("POST", "/interactions", {"kind": "autocomplete", "user_id": self.id(name),
                                                       "channel_id": self.channel, "command": command,
                                                       "options": {focused: partial}, "focused": focused})
        self.interactions.append(it["id"])
        state = await self.fake.wait("/interaction", id=it["id"])
        assert state["response_type"] == 8, state
        return [c["value"] for c in state["choices"]]

    async def message(self, channel: str, message_id: str) -> dict[str, Any]:
        return next(m for m in await self.fake("GET", f"/channels/{channel}/messages") if m["id"] == message_id)

    async def bot_messages(self, channel: str, pattern: str) -> list[dict[str, Any]]:
        return [m for m in await self.fake("GET", f"/channels/{channel}/messages")
                if m["author"].get("bot") and re.search(pattern, m["content"])]

    async def pair(self, mentee: str = "alice", mentor: str = "bob") -> None:
        """The real way in: a round, both sign-up interviews in DMs, and the admin's assignment."""
        if not self.round_open:
            await self.dm("dana", '!round open "2027 Q1" 2027-01-01 2027-03-31', match="2027 Q1")
            self.round_open = True
        for name, kind, answers in ((mentee, "mentee", MENTEE_ANSWERS), (mentor, "mentor", MENTOR_ANSWERS)):
            await self.dm(name, f"!signup {kind}")
            for answer in answers:
                await self.dm(name, answer)
        assigned = await self.dm("dana", f"!match assign {mentee} {mentor}", match="now mentors")
        assert mentee in assigned["content"]
        for name, intro in ((mentee, "^Meet your mentor"), (mentor, "^You are now mentor of")):  # sent after the answer
            await self.fake.wait(channel=await self.dm_channel(name), author="bot", match=intro)

    async def open_form(self, name: str, message: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        """``name`` clicks "Answer in a form" under ``message``: (the click's id, the modal's fields)."""
        buttons = {b["label"]: b["custom_id"] for row in message["components"] for b in row["components"]}
        click = await self.fake("POST", "/interactions", {"kind": "component", "user_id": self.id(name),
                                                          "message_id": message["id"], "custom_id": buttons["Answer in a form"]})
        self.interactions.append(click["id"])
        opened = await self.fake.wait("/interaction", id=click["id"])
        assert opened["response_type"] == 9
        return click["id"], opened["modal"]["components"]

    async def submit_form(self, click: str, values: dict[str, str], channel: str) -> dict[str, Any]:
        """Send the form opened by ``click``; returns the bot's answer in ``channel``."""
        submit = await self.fake("POST", "/interactions", {"kind": "modal", "interaction_id": click, "values": values})
        self.interactions.append(submit["id"])
        done = await self.fake.wait("/interaction", id=submit["id"])
        return await self.message(channel, done["message_id"])

    def db(self) -> Session:
        return Session(self.bot.database)

    def member(self, name: str) -> Member:
        with self.db() as s:
            found = s.exec(select(Member).where(Member.handle == name)).one()
            return found


@pytest.fixture
async def scene(fake: Fake, discord_env: dict[str, str], tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Scene]:
    monkeypatch.setenv("MENTORBOT_DISCORD_TOKEN", discord_env["DISCORD_TOKEN"])
    run = secrets.token_hex(2)
    people = {name: await fake.user(name, run) for name in ("dana", "alice", "bob", "carol")}
    guild = (await fake("POST", "/guilds", {"name": f"Mentorship {run}"}))["id"]
    channel = (await fake("POST", f"/guilds/{guild}/channels", {"name": "office-hours"}))["id"]
    role = (await fake("POST", f"/guilds/{guild}/roles", {"name": "Mentors"}))["id"]
    for user in people.values():
        await fake("POST", f"/guilds/{guild}/members", {"user_id": user["id"]})
    settings = from_dict({
        "admins": [f"discord:{people['dana']['id']}"],
        "state_dir": str(tmp_path / "state"),
        "database": {"url": f"sqlite:///{tmp_path / 'bot.db'}", "synchronous": "normal"},
        "adapters": {"discord": {
            "enabled": True, "api_base": discord_env["DISCORD_API_BASE"], "gateway_url": discord_env["DISCORD_GATEWAY_URL"],
            "guilds": [int(guild)], "guild_ready_timeout": 0.1, "message_content": True, "start_timeout": 20,
        }},
    })
    scene = Scene(fake, settings, FakeClock(START), guild, channel, role, people)
    await scene.start()
    try:
        yield scene
        await fake.acked_in_time(scene.interactions)
    finally:
        await scene.stop()


def _options(command: dict[str, Any], *path: str) -> dict[str, dict[str, Any]]:
    node = command
    for name in path:
        node = next(o for o in node["options"] if o["name"] == name)
    return {o["name"]: o for o in node.get("options", [])}


# --------------------------------------------------------------------------- commands


async def test_the_real_declarations_sync_within_discords_limits_and_only_once(scene: Scene) -> None:
    fake, specs = scene.fake, scene.bot.engine.specs
    synced = {c["name"]: c for c in await fake("GET", "/commands", guild_id=scene.guild)}
    assert set(synced) == {s.path[0] for s in specs}  # every top-level word, nothing else
    assert [p for c in synced.values() for p in payload_problems(c)] == []

    log = _options(synced["session"], "log")
    assert [(n, o["type"], o.get("required", False), o.get("autocomplete", False)) for n, o in log.items()] == [
        ("mentee", STRING, True, True),  # "my-mentees": a string the engine completes
        ("duration", STRING, True, False), ("topic", STRING, True, False)]  # notes follow the topic after "|"
    assign = _options(synced["match"], "assign")
    assert [(n, o["type"]) for n, o in assign.items()] == [("mentee", USER), ("mentor", USER), ("override", STRING)]
    assert _options(synced["oh"], "stats")["days"]["type"] == INTEGER
    assert [c["value"] for c in _options(synced["checkin"], "digest")["choice"]["choices"]] == ["on", "off"]
    assert {n: o["type"] for n, o in _options(synced["q"]).items()} == {"show": SUB, "join": SUB, "leave": SUB, "notify": SUB}
    assert _options(synced["goal"])["step"]["type"] == GROUP and set(_options(synced["goal"], "step")) == {"add", "done"}
    assert _options(synced["checkin"])["answer"]["description"].startswith("answer your check-in")  # "/checkin" itself

    await scene.stop()
    before = await fake.seq()
    await scene.start()  # the same declarations and database: compared, not synced again
    put = f"/applications/.*/guilds/{scene.guild}/commands$"
    assert await fake("GET", "/log", method="PUT", path=put, after=before) == []
    assert len(await fake("GET", "/log", method="GET", path=put, after=before)) == 1


async def test_session_log_by_slash_command_with_the_mentee_offered_while_typing(scene: Scene) -> None:
    await scene.pair("alice", "bob")
    assert await scene.complete("bob", "session log", "mentee", "") == ["alice"]
    assert await scene.complete("bob", "session log", "mentee", "AL") == ["alice"]
    assert await scene.complete("bob", "session log", "mentee", "c") == []
    assert await scene.complete("alice", "session log", "mentee", "") == []  # not a mentor: nothing to offer

    state, answer = await scene.slash("bob", "session log", mentee="alice", duration="45m",
                                      topic="testing | Wrote the first unit test")
    assert answer["content"].startswith("Logged session 1: alice, 45m on Mon 4 Jan, testing.")
    assert answer["flags"] & EPHEMERAL  # a private command: only bob sees it
    with scene.db() as s:
        logs = s.exec(select(MentoringSession)).all()
    bob, alice = scene.member("bob"), scene.member("alice")
    assert [(x.mentor_id, x.mentee_id, x.minutes, x.topic, x.notes) for x in logs] == [
        (bob.id, alice.id, 45, "testing", "Wrote the first unit test")]
    told = await scene.fake.wait(channel=await scene.dm_channel("alice"), author="bot", match="logged a 45m session")
    assert told["content"].startswith("bob logged a 45m session with you on Mon 4 Jan: testing.")
    assert "Wrote the first" not in told["content"]  # notes are for mentors

    _, refused = await scene.slash("bob", "session log", mentee="carol", duration="1h", topic="intro")
    assert refused["content"].startswith("I don't know anyone called 'carol'")  # never seen by the bot
    assert refused["flags"] & EPHEMERAL


async def test_checkin_prompt_in_a_dm_answered_through_its_form(scene: Scene) -> None:
    await scene.pair("alice", "bob")
    await scene.bot.engine.run_due()  # the new pair gets a check-in plan
    scene.clock.set(datetime(2027, 1, 7, 9, 0, tzinfo=timezone.utc))  # Thursday 10:00 in Berlin
    await scene.bot.engine.run_due()
    dm = await scene.dm_channel("alice")
    prompt = await scene.fake.wait(channel=dm, author="bot", match=r"^Time for your check-in \(Thu 7 Jan 10:00\)")
    buttons = {b["label"]: b["custom_id"] for row in prompt["components"] for b in row["components"]}
    assert set(buttons) == {"Answer", "Answer in a form"} and buttons["Answer"] == "mentorbot:cmd:!checkin"

    click, labels = await scene.open_form("alice", prompt)
    assert [c["label"] for c in labels] == ["What did you do since last time?", "What will you do next?",
                                           "Is anything blocking you? (or: none)",
                                           "How is it going, from 1 (badly) to 5 (great)?"]  # 45: Discord's limit
    assert [c["component"]["placeholder"] for c in labels] == [c["label"] for c in labels]

    thanks = await scene.submit_form(click, {"q0": "Fixed a flaky test", "q1": "Review a patch\nand write docs", "q2": "", "q3": "4"}, dm)
    assert thanks["content"].startswith("Thanks, saved! bob will see it. Next check-in: Mon 11 Jan 10:00 (Europe/Berlin).")
    with scene.db() as s:
        row = s.exec(select(Checkin)).one()
    assert (row.status, row.answers, row.rating, row.blocker) == (
        ANSWERED, ["Fixed a flaky test", "Review a patch and write docs", "-", "4"], 4, None)
    copy = await scene.fake.wait(channel=await scene.dm_channel("bob"), author="bot", match="checked in")
    assert "done: Fixed a flaky test" in copy["content"] and "mood: 4/5" in copy["content"]


async def test_office_hour_queue_by_text_and_slash_commands_pings_only_the_called(scene: Scene) -> None:
    fake, role = scene.fake, scene.role
    said = f"@everyone <@&{role}>"
    shout = f"@\u200beveryone <@\u200b&{role}>"  # as the bot writes it back: inert text, even without allowed_mentions
    opened = await scene.say("dana", f"!oh open Pairing {said} welcome", match="^Office hours are open")
    assert shout in opened["content"]  # the topic is shown as written...
    assert (opened["mentions"], opened["mention_roles"], opened["mention_everyone"]) == ([], [], False)  # ...pinging nobody

    joined = await scene.say("alice", f"!q join stuck on {said} tests", match="^You're #1 in line")
    assert joined["message_reference"]["message_id"] and joined["mentions"] == []
    host = await fake.wait(channel=await scene.dm_channel("dana"), author="bot", match="^Alice joined the line")
    assert shout in host["content"] and (host["mention_roles"], host["mention_everyone"]) == ([], False)
    _, second = await scene.slash("carol", "q join", topic="flaky CI")
    assert second["content"].startswith("You're #2 in line") and not second["flags"] & EPHEMERAL
    line = await scene.say("alice", "!q", match="waiting")
    assert line["content"].startswith("2 waiting, 1 host: 1 Alice") and "2 Carol" in line["content"]

    before = await fake.seq()
    _, called = await scene.slash("dana", "next")
    assert called["content"].startswith(f"You're with Alice (waited under a minute; topic: stuck on {shout} tests).")
    assert (called["mentions"], called["mention_roles"], called["mention_everyone"]) == ([], [], False)
    ping = await fake.wait(channel=scene.channel, author="bot", match="is ready for you now")
    assert ping["content"] == f"<@{scene.id('alice')}> Dana is ready for you now."
    assert [u["id"] for u in ping["mentions"]] == [scene.id("alice")] and not ping["mention_everyone"]

    _, called = await scene.slash("dana", "next")
    assert called["content"].startswith("Done with Alice") and "You're with Carol" in called["content"]
    pings = await fake.wait(channel=scene.channel, author="bot", match=f"^<@{scene.id('carol')}> Dana is ready")
    assert [u["id"] for u in pings["mentions"]] == [scene.id("carol")]
    posts = await fake("GET", "/log", method="POST", path=f"/channels/{scene.channel}/messages$", after=before)
    pinged = [p["body"]["allowed_mentions"] for p in posts]
    assert pinged == [{"parse": [], "users": [int(scene.id("alice"))]}, {"parse": [], "users": [int(scene.id("carol"))]}]


async def test_office_hour_dms_name_the_channel_as_people_see_it_not_by_its_id(scene: Scene) -> None:
    await scene.say("dana", "!oh open", match="^Office hours are open")
    await scene.say("alice", "!q join rebasing", match="^You're #1 in line")
    host = await scene.fake.wait(channel=await scene.dm_channel("dana"), author="bot", match="joined the line")
    assert host["content"] == "Alice joined the line in #office-hours (#1, topic: rebasing). !next there takes the first."
    await scene.say("dana", "!next", match="^You're with Alice")
    ready = await scene.fake.wait(channel=await scene.dm_channel("alice"), author="bot", match="is ready for you in")
    assert ready["content"] == "Dana is ready for you in #office-hours now."
    assert ready["mentions"] == [] and host["mentions"] == []


async def test_a_mentee_with_closed_dms_is_undeliverable_never_retried_and_their_mentor_told_once(scene: Scene) -> None:
    fake = scene.fake
    await scene.pair("carol", "bob")
    await fake("PATCH", f"/users/{scene.id('carol')}", {"accepts_dms": False})
    carol_dm = await scene.dm_channel("carol")
    before = await fake.seq()

    _, logged = await scene.slash("bob", "session log", mentee="carol", duration="30m", topic="intro")
    assert logged["content"].startswith("Logged session 1: carol, 30m")
    told = await fake.wait(channel=await scene.dm_channel("bob"), author="bot", match="cannot send private messages")
    assert "your mentee carol on discord" in told["content"]
    with scene.db() as s:
        to_carol = s.exec(select(OutboxMessage).where(OutboxMessage.member_id == scene.member("carol").id,
                                                      OutboxMessage.status != "sent")).all()
    assert [(m.key, m.status, m.attempts, m.last_error) for m in to_carol] == [
        ("session-logged:1", "undeliverable", 1, "50007")]

    scene.clock.advance(timedelta(days=1))  # past every retry delay, and another day: nothing is tried again
    await scene.bot.engine.run_due()
    mid = await fake.seq()
    _, again = await scene.slash("bob", "session log", mentee="carol", duration="15m", topic="follow-up")
    assert again["content"].startswith("Logged session 2")
    await fake.wait("/log", method="POST", path=f"/channels/{carol_dm}/messages$", after=mid, status=403)
    assert await scene.bot.engine.flush_outbox()  # the refused DM is done with, and what it caused
    posts = await fake("GET", "/log", method="POST", path=f"/channels/{carol_dm}/messages$", after=before)
    assert [(p["status"], p["error"]["code"]) for p in posts] == [(403, 50007)] * 2  # one try per message
    notices = await scene.bot_messages(await scene.dm_channel("bob"), "cannot send private messages")
    assert len(notices) == 1  # told once, not at every refused message


# --------------------------------------------------------------------------- the process


async def test_the_bot_process_answers_on_discord_and_after_kill_9_starts_without_syncing_again(
        fake: Fake, discord_env: dict[str, str], tmp_path: Path) -> None:
    run = secrets.token_hex(2)
    alice = await fake.user("alice", run)
    guild = (await fake("POST", "/guilds", {"name": f"Process {run}"}))["id"]
    await fake("POST", f"/guilds/{guild}/members", {"user_id": alice["id"]})
    config = tmp_path / "bot.toml"
    config.write_text(
        f'admins = ["discord:{alice["id"]}"]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "bot.db"}"\nsynchronous = "normal"\n'
        "[adapters.console]\nenabled = false\n"
        f'[adapters.discord]\nenabled = true\napi_base = "{discord_env["DISCORD_API_BASE"]}"\n'
        f'gateway_url = "{discord_env["DISCORD_GATEWAY_URL"]}"\nguilds = [{guild}]\nguild_ready_timeout = 0.1\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MENTORBOT_DISCORD_TOKEN": discord_env["DISCORD_TOKEN"]}
    dm = await fake.dm_channel(alice)
    put = f"/applications/.*/guilds/{guild}/commands$"
    for attempt in (1, 2):
        before = await fake.seq()
        log_file = tmp_path / f"run{attempt}.log"
        with log_file.open("w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "chatbot", "--config", str(config), "run"],
                                    cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            await wait_until(lambda: "running with discord" in log_file.read_text() or proc.poll() is not None,
                             timeout=30, what="the bot process starting")
            assert proc.poll() is None, log_file.read_text()
            said = await fake.say(alice, dm, "!whoami")
            answer = await fake.wait(channel=dm, author="bot", after=said["id"], timeout=20)
            assert answer["content"].startswith("You are alice") and "admin" in answer["content"]
        finally:
            proc.kill()  # SIGKILL: no clean shutdown
            proc.wait(timeout=10)
        synced = await fake("GET", "/log", method="PUT", path=put, after=before)
        assert len(synced) == (1 if attempt == 1 else 0), synced  # the digest survived the kill
    assert discord_env["DISCORD_TOKEN"] not in log_file.read_text()  # a secret is never logged


async def test_slash_commands_carry_their_descriptions_in_each_language_the_bot_has(scene: Scene, tmp_path: Path) -> None:
    """Discord shows each user the descriptions in their client's language; names stay as typed."""
    from tests.features.test_i18n import write_catalog

    help_text = next(s.help for s in scene.bot.engine.specs if s.path == ("help",))
    days_help = next(a.help for s in scene.bot.engine.specs if s.path == ("oh", "stats") for a in s.args if a.name == "days")
    locales = write_catalog(tmp_path / "locales", "pt_BR", {help_text: "Mostra os comandos que você pode usar",
                                                           days_help: "quantos dias para trás (padrão 30)"})
    write_catalog(locales, "fr", {help_text: "Montre les commandes que vous pouvez utiliser"})
    await scene.stop()
    scene.settings = scene.settings.model_copy(update={"bot": scene.settings.bot.model_copy(update={"locale_dir": str(locales)})})
    before = await scene.fake.seq()
    await scene.start()
    synced = {c["name"]: c for c in await scene.fake("GET", "/commands", guild_id=scene.guild)}
    shipped = scene.bot.engine.languages
    # a community's catalogs override the shipped ones where they say something, Spanish as shipped
    assert synced["help"]["description_localizations"] == {
        "pt-BR": "Mostra os comandos que você pode usar", "fr": "Montre les commandes que vous pouvez utiliser",
        "es-ES": shipped.translation("es", help_text), "es-419": shipped.translation("es", help_text)}
    assert _options(synced["oh"], "stats")["days"]["description_localizations"] == {
        "pt-BR": "quantos dias para trás (padrão 30)", "fr": shipped.translation("fr", days_help),
        "es-ES": shipped.translation("es", days_help), "es-419": shipped.translation("es", days_help)}
    assert not synced["help"].get("name_localizations")  # /help is /help in every language
    # a new catalog changed the payload: synced once more, although the declarations did not change
    assert len(await scene.fake("GET", "/log", method="PUT", path=f"/applications/.*/guilds/{scene.guild}/commands$", after=before)) == 1


async def test_leaving_the_server_counts_as_leaving_the_office_hours_line(scene: Scene) -> None:
    """Issue 16 on Discord: with the members intent, leaving the guild keeps the place in line for
    the grace period; back in time, same place."""
    await scene.stop()
    discord_settings = {**scene.settings.adapters["discord"], "members_intent": True}
    scene.settings = scene.settings.model_copy(update={"adapters": {**scene.settings.adapters, "discord": discord_settings}})
    await scene.start()
    await scene.say("dana", "!oh open", match="^Office hours are open")
    await scene.say("alice", "!q join", match="^You're #1 in line")
    await scene.say("carol", "!q join", match="^You're #2 in line")
    alice = scene.people["alice"]

    await scene.fake("POST", "/dispatch", {"t": "GUILD_MEMBER_REMOVE", "d": {"guild_id": scene.guild, "user": alice}})
    await wait_until(lambda: _alice_away(scene), what="the bot records that Alice left the server")
    scene.clock.advance(timedelta(minutes=2))
    called = await scene.say("dana", "!next", match="You're with")
    assert called["content"].startswith(
        "Alice left the channel 2 minutes ago and keeps their place for now; calling Carol. You're with Carol")

    member = {"guild_id": scene.guild, "user": alice, "roles": [], "nick": None, "avatar": None, "flags": 0,
              "joined_at": START.isoformat(), "deaf": False, "mute": False, "pending": False}  # as the fake sends one
    await scene.fake("POST", "/dispatch", {"t": "GUILD_MEMBER_ADD", "d": member})
    await wait_until(lambda: not _alice_away(scene), what="the bot records that Alice is back")
    called = await scene.say("dana", "!next", match="You're with")
    assert called["content"].startswith("Done with Carol (under a minute). You're with Alice (waited 2 min")


def _alice_away(scene: Scene) -> bool:
    with scene.db() as s:
        entry = s.exec(select(OhEntry).where(OhEntry.account == scene.id("alice"))).one()
        return entry.left_at is not None


# --------------------------------------------------------------------------- charts as images


async def test_a_chart_arrives_as_an_image_in_the_channel_and_as_a_slash_commands_answer(scene: Scene) -> None:
    await scene.dm("dana", '!round open "2027 Q1" 2027-01-01 2027-03-31', match="2027 Q1")
    before = await scene.fake.seq()
    said = await scene.say("dana", "!round chart sessions", match="^Sessions in 2027 Q1")
    assert "0 sessions logged" in said["content"]
    [image] = said["attachments"]
    assert image["filename"] == "sessions-2027-Q1.png" and image["size"] > 5000
    [upload] = [e for e in await scene.fake("GET", "/log", method="POST", after=before) if e.get("files")]
    assert upload["files"][0]["filename"] == "sessions-2027-Q1.png"  # multipart: payload_json + files[0]
    assert upload["files"][0]["size"] == image["size"]

    state, answer = await scene.slash("dana", "round chart", chart="skills")
    assert answer["content"].startswith("Skills in 2027 Q1:")
    assert [a["filename"] for a in answer["attachments"]] == ["skills-2027-Q1.png"]
