"""The Discord adapter against the fake Discord (a real discord.py client over real HTTP/websocket).

The fake (``../shared/servers/discord-server.sh``, see ``tests/discord_fixtures.py``) is started
once per session. Each test builds
its own guild, channel and users through the fake's control API, starts an adapter with a
recording sink that answers the way the engine does (``adapter.send(Reply(...))`` from inside the
sink), and checks what Discord saw through the control API's log and ``/wait`` endpoints.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pydantic
import pytest

from tests.discord_fixtures import EPHEMERAL, LOADING, Fake, discord_env, fake  # noqa: F401 (fixtures)
from tests.servers import MemoryKV, wait_until
from adapters import discord as discord_adapter
from adapters.base import AdapterContext
from adapters.discord.commands import build_app_commands, map_paths
from adapters.discord.forms import FORM_ID, form_digest
from chatbot.commands import Arg, CommandSpec
from chatbot.events import (
    Announce,
    Button,
    CommandInvoked,
    CompletionRequested,
    Delivery,
    DirectMessage,
    Form,
    Identity,
    Inbound,
    Reply,
    TextReceived,
    Where,
)

SLOW_S = 3.3  # longer than Discord's 3-second deadline


async def _unused(*args: Any, **kwargs: Any) -> None:
    return None


LONG_HELP = "Log a mentoring session you held, with whom, how long it took and how it went. " * 3
SPECS = (
    CommandSpec(("q",), "Show the help queue", ("anyone",), _unused),
    CommandSpec(("q", "join"), "Join the help queue", ("member",), _unused,
                args=(Arg("topic", kind="text", help="What you need help with", required=False, rest=True),)),
    CommandSpec(("session", "log"), LONG_HELP, ("mentor",), _unused, args=(
        Arg("mentee", kind="member", help="Who you met"),
        Arg("duration", kind="duration"),
        Arg("rating", kind="int", help="1 to 5", required=False, minimum=1, maximum=5),
        Arg("mood", help="How it went", required=False, choices=("good", "ok", "bad")),
        Arg("note", kind="text", required=False, rest=True),
    )),
    CommandSpec(("whoami",), "Show your roles", ("anyone",), _unused, private=True),
    CommandSpec(("report",), "A slow private report", ("coordinator",), _unused, private=True),
    CommandSpec(("quiet",), "Does something and says nothing", ("anyone",), _unused),
    CommandSpec(("stats",), "Public command whose answer may be private", ("anyone",), _unused),
    CommandSpec(("echo",), "Say it back", ("anyone",), _unused, args=(Arg("text", kind="text", rest=True),)),
    CommandSpec(("goal", "comment"), "Comment on a mentee's goal", ("mentor",), _unused, args=(
        Arg("mentee", kind="member", help="your mentee", complete="my-mentees"),
        Arg("text", kind="text", rest=True),
    )),
)
PRIVATE = {s.path for s in SPECS if s.private}


# --------------------------------------------------------------------------- the fake Discord


@dataclass
class World:
    fake: Fake
    guild: str
    channel: str
    mentors: str  # role id
    alice: dict
    bob: dict  # has the Mentors role
    carol: dict  # does not accept DMs

    def who(self, user: dict) -> Identity:
        return Identity("discord", user["id"], user.get("global_name") or user["username"])

    async def dm_channel(self, user: dict) -> str:
        return await self.fake.dm_channel(user)


@pytest.fixture
async def world(fake: Fake) -> Any:
    run = secrets.token_hex(2)
    users = [await fake.user(name, run, **extra)
             for name, extra in (("alice", {}), ("bob", {}), ("carol", {"accepts_dms": False}))]
    guild = (await fake("POST", "/guilds", {"name": f"Mentorship {run}"}))["id"]
    channel = (await fake("POST", f"/guilds/{guild}/channels", {"name": "general"}))["id"]
    mentors = (await fake("POST", f"/guilds/{guild}/roles", {"name": "Mentors"}))["id"]
    for user, roles in zip(users, ([], [mentors], [])):
        await fake("POST", f"/guilds/{guild}/members", {"user_id": user["id"], "roles": roles})
    return World(fake, guild, channel, mentors, *users)


# --------------------------------------------------------------------------- a stand-in engine





@dataclass
class Engine:
    """Records inbound events and answers them as the engine would, through adapter.send."""

    adapter: Any = None
    events: list[Inbound] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    #: command paths whose answer waits until the test opens the gate
    gates: dict[tuple[str, ...], asyncio.Event] = field(default_factory=dict)

    async def __call__(self, event: Inbound) -> Any:
        self.events.append(event)
        self.changed.set()
        if isinstance(event, CompletionRequested):  # the engine answers with values, not messages
            if event.partial == "boom":
                raise RuntimeError("a completion source failed")
            return [f"{event.partial}ice", f"{event.partial}bert", "x" * 150]
        reply = await self.answer(event)
        if reply is not None:
            self.deliveries.append(await self.adapter.send(reply))
            self.changed.set()

    async def answer(self, event: Inbound) -> Reply | None:
        if isinstance(event, CommandInvoked):
            if event.path == ("quiet",):
                return None
            if event.path == ("report",):
                await asyncio.sleep(SLOW_S)  # the slow handler itself, not a wait for something
            if event.path in self.gates:
                await self.gates[event.path].wait()
            text = event.args["text"] if event.path == ("echo",) else f"/{' '.join(event.path)} done"
            private = event.path in PRIVATE or event.path == ("stats",)  # e.g. an error only the asker sees
            return Reply(event.where, text, in_reply_to=event.event_id, private=private, to=event.who)
        assert isinstance(event, TextReceived)
        text = event.text[len("!echo "):] if event.text.startswith("!echo ") else f"heard: {event.text}"
        return Reply(event.where, text, in_reply_to=event.event_id, private=event.text == "!whoami", to=event.who)

    async def until(self, cond: Callable[[], Any], timeout: float = 10) -> Any:
        """cond()'s first truthy value, re-checked whenever an event or a delivery is recorded."""
        deadline = time.monotonic() + timeout
        while not (found := cond()):
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(0.01, deadline - time.monotonic()))
        return found

    async def next(self, pred: Callable[[Inbound], bool], timeout: float = 10) -> Any:
        return await self.until(lambda: next((e for e in self.events if pred(e)), None), timeout)


@pytest.fixture
async def start(world: World, discord_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """start(**settings) -> (adapter, engine); every adapter started is stopped afterwards."""
    monkeypatch.setenv("MENTORBOT_DISCORD_TOKEN", discord_env["DISCORD_TOKEN"])
    started: list[Any] = []

    async def go(kv: MemoryKV | None = None, specs: tuple[CommandSpec, ...] = SPECS, **overrides: Any) -> Any:
        settings = {"api_base": discord_env["DISCORD_API_BASE"], "gateway_url": discord_env["DISCORD_GATEWAY_URL"],
                    "guilds": [int(world.guild)], "guild_ready_timeout": 0.1, "message_content": True,
                    "role_map": {"Mentors": "mentor"}, "start_timeout": 20, **overrides}
        adapter = discord_adapter.create(settings, AdapterContext(state_dir=tmp_path, kv=kv if kv is not None else MemoryKV()))
        engine = Engine(adapter)
        started.append(adapter)
        await adapter.start(engine, specs)
        return adapter, engine

    yield go
    for adapter in started:
        await adapter.stop()


# --------------------------------------------------------------------------- commands as slash commands


def test_show_rule_maps_bare_group_commands_and_back() -> None:
    mapping = map_paths(SPECS)
    assert mapping.to_discord[("q",)] == ("q", "show")
    named = map_paths([CommandSpec(("checkin",), "Answer", ("mentee",), _unused, as_subcommand="answer"),
                       CommandSpec(("checkin", "edit"), "Correct", ("mentee",), _unused)])
    assert named.to_discord[("checkin",)] == ("checkin", "answer") and named.spec_path("checkin answer") == ("checkin",)
    assert mapping.to_discord[("q", "join")] == ("q", "join")
    assert mapping.spec_path("q show") == ("q",) and mapping.spec_path("session log") == ("session", "log")
    assert mapping.spec_path("q nothing") is None
    taken = SPECS + (CommandSpec(("q", "show"), "Clashes with the bare /q", ("anyone",), _unused),)
    with pytest.raises(ValueError, match="taken"):
        build_app_commands(taken, _unused)
    with pytest.raises(ValueError, match="three words"):
        map_paths([CommandSpec(("a", "b", "c", "d"), "Too deep", ("anyone",), _unused)])


async def test_commands_synced_with_types_and_not_resynced_when_unchanged(start: Any, world: World) -> None:
    kv = MemoryKV()
    first, _ = await start(kv)
    commands = {c["name"]: c for c in await world.fake("GET", "/commands", guild_id=world.guild)}
    assert sorted(commands) == ["echo", "goal", "q", "quiet", "report", "session", "stats", "whoami"]
    q = {o["name"]: o for o in commands["q"]["options"]}
    assert {name: o["type"] for name, o in q.items()} == {"show": 1, "join": 1}
    assert q["show"]["description"] == "Show the help queue"
    log = {o["name"]: o for o in commands["session"]["options"]}["log"]
    options = [(o["name"], o["type"], o["required"]) for o in log["options"]]
    assert options == [("mentee", 6, True), ("duration", 3, True), ("rating", 4, False), ("mood", 3, False),
                       ("note", 3, False)]
    by_name = {o["name"]: o for o in log["options"]}
    assert (by_name["rating"]["min_value"], by_name["rating"]["max_value"]) == (1, 5)
    assert [c["value"] for c in by_name["mood"]["choices"]] == ["good", "ok", "bad"]
    assert len(log["description"]) == 100 and log["description"].endswith("…")
    assert by_name["duration"]["description"] == "A duration like 45m or 1h30m"  # derived: no help given
    await first.stop()

    put = f"/applications/.*/guilds/{world.guild}/commands$"
    before = await world.fake.seq()
    await start(kv)  # same specs, same kv: nothing to sync
    assert await world.fake("GET", "/log", method="PUT", path=put, after=before) == []
    assert len(await world.fake("GET", "/log", method="GET", path=put, after=before)) == 1  # only compared

    changed = SPECS + (CommandSpec(("ping",), "Are you there?", ("anyone",), _unused),)
    await start(kv, specs=changed)
    puts = await world.fake("GET", "/log", method="PUT", path=put, after=before)
    assert len(puts) == 1 and "ping" in [c["name"] for c in puts[0]["body"]]


# --------------------------------------------------------------------------- interactions


async def test_slash_command_gives_command_invoked_and_ephemeral_reply(start: Any, world: World) -> None:
    _, engine = await start()
    fake = world.fake
    it = await fake("POST", "/interactions", {"kind": "command", "user_id": world.bob["id"], "channel_id": world.channel,
                                              "command": "session log",
                                              "options": {"mentee": world.alice["id"], "duration": "45m",
                                                          "mood": "good"}})
    event = await engine.next(lambda e: e.event_id == it["id"])
    assert event == CommandInvoked(who=world.who(world.bob), where=Where("discord", world.channel),
                                   path=("session", "log"),
                                   args={"mentee": f"discord:{world.alice['id']}", "duration": "45m", "mood": "good"},
                                   event_id=it["id"], platform_roles=frozenset({"mentor"}))
    done = await fake.wait("/interaction", id=it["id"])
    assert done["response_type"] == 4
    public = await fake.wait(channel=world.channel, match="^/session log done$", author="bot")
    assert not public["flags"] & EPHEMERAL

    it = await fake("POST", "/interactions", {"kind": "command", "user_id": world.alice["id"],
                                              "channel_id": world.channel, "command": "whoami"})
    done = await fake.wait("/interaction", id=it["id"])
    answer = await fake.wait(channel=world.channel, match="^/whoami done$", author="bot")
    assert done["response_type"] == 4 and answer["flags"] & EPHEMERAL and answer["id"] == done["message_id"]
    event = await engine.next(lambda e: e.event_id == it["id"])
    assert event.platform_roles == frozenset()
    assert await engine.until(lambda: engine.deliveries[1:]) == [Delivery("sent")]  # both replies were sent

    it = await fake("POST", "/interactions", {"kind": "command", "user_id": world.alice["id"],
                                              "channel_id": world.channel, "command": "q show"})
    assert (await engine.next(lambda e: e.event_id == it["id"])).path == ("q",)
    assert (await fake.wait("/interaction", id=it["id"]))["response_type"] == 4


async def test_slow_handler_is_deferred_in_time_and_answered_by_follow_up(start: Any, world: World) -> None:
    await start()
    fake = world.fake
    it = await fake("POST", "/interactions", {"kind": "command", "user_id": world.alice["id"],
                                              "channel_id": world.channel, "command": "report"})
    done = await fake.wait("/interaction", id=it["id"], followups=1, timeout=15)
    assert done["status"] == "acknowledged" and done["response_type"] == 5
    assert done["acked_after_ms"] < 3000 and done["late_callbacks"] == 0
    filled = await fake.wait(channel=world.channel, match="^/report done$", author="bot")
    assert filled["id"] == done["message_id"]  # the "thinking…" message, filled in
    assert filled["flags"] & EPHEMERAL and not filled["flags"] & LOADING  # deferred privately: private spec

    before = await fake.seq()
    it = await fake("POST", "/interactions", {"kind": "command", "user_id": world.alice["id"],
                                              "channel_id": world.channel, "command": "quiet"})
    done = await fake.wait("/interaction", id=it["id"])
    await fake.wait("/log", method="DELETE", path="/webhooks/.*/messages/@original$", status=204, after=before)
    placeholder = next(m for m in await fake("GET", f"/channels/{world.channel}/messages")
                       if m["id"] == done["message_id"])
    assert placeholder["_fake"]["deleted"] and placeholder["flags"] & EPHEMERAL  # nobody saw a thing


async def test_private_answer_after_a_public_defer_stays_private(start: Any, world: World) -> None:
    _, engine = await start(defer_after=0.2)
    fake, gate = world.fake, asyncio.Event()
    engine.gates[("stats",)] = gate
    it = await fake("POST", "/interactions", {"kind": "command", "user_id": world.alice["id"],
                                              "channel_id": world.channel, "command": "stats"})
    deferred = await fake.wait("/interaction", id=it["id"], response_type=5)
    before = await fake.seq()
    gate.set()  # the engine answers only now, privately, though the placeholder is public
    await fake.wait("/interaction", id=it["id"], followups=1)
    await fake.wait("/log", method="DELETE", path="/webhooks/.*/messages/@original$", after=before)
    log = {m["id"]: m for m in await fake("GET", f"/channels/{world.channel}/messages")}
    placeholder = log[deferred["message_id"]]
    answer = [m for m in log.values() if m["content"] == "/stats done"]
    assert placeholder["_fake"]["deleted"] and not placeholder["flags"] & EPHEMERAL
    assert len(answer) == 1 and answer[0]["flags"] & EPHEMERAL and not answer[0]["_fake"]["deleted"]


# --------------------------------------------------------------------------- DMs and buttons


async def test_dm_with_button_and_click_reaches_engine_as_text(start: Any, world: World) -> None:
    adapter, engine = await start()
    fake = world.fake
    delivery = await adapter.send(DirectMessage(to=world.who(world.alice), text="Time for your weekly check-in",
                                                buttons=(Button("Check in", "!checkin"),)))
    assert delivery == Delivery("sent")
    dm = await world.dm_channel(world.alice)
    prompt = await fake.wait(channel=dm, match="weekly check-in", author="bot")
    button = prompt["components"][0]["components"][0]
    assert (button["label"], button["custom_id"]) == ("Check in", "mentorbot:cmd:!checkin")
    assert prompt["_fake"]["allowed_mentions"]["parse"] == []

    click = await fake("POST", "/interactions", {"kind": "component", "user_id": world.alice["id"],
                                                 "message_id": prompt["id"], "custom_id": button["custom_id"]})
    event = await engine.next(lambda e: e.event_id == click["id"])
    assert event == TextReceived(who=world.who(world.alice), where=Where("discord", None), text="!checkin",
                                 event_id=click["id"], prefix="!")
    done = await fake.wait("/interaction", id=click["id"])
    assert done["response_type"] == 4
    assert (await fake.wait(channel=dm, match="^heard: !checkin$", author="bot"))["id"] == done["message_id"]

    said = await fake("POST", f"/channels/{dm}/messages", {"author_id": world.alice["id"], "content": "all good"})
    event = await engine.next(lambda e: e.event_id == said["id"])
    assert event.where == Where("discord", None) and event.text == "all good"
    reply = await fake.wait(channel=dm, match="^heard: all good$", author="bot")
    assert reply["message_reference"]["message_id"] == said["id"]


async def test_closed_dms_are_undeliverable_and_not_retried(start: Any, world: World) -> None:
    adapter, _ = await start()
    before = await world.fake.seq()
    delivery = await adapter.send(DirectMessage(to=world.who(world.carol), text="hello?"))
    assert delivery == Delivery("undeliverable", "50007")
    dm = await world.dm_channel(world.carol)
    posts = await world.fake("GET", "/log", method="POST", path=f"/channels/{dm}/messages$", after=before)
    assert [(p["status"], p["error"]["code"]) for p in posts] == [(403, 50007)]


async def test_dm_fan_out_is_paced_and_dm_channel_cached(start: Any, world: World) -> None:
    kv = MemoryKV()
    adapter, _ = await start(kv, dm_rate=20, dm_burst=2)
    before = await world.fake.seq()
    t0 = time.monotonic()
    results = await asyncio.gather(*(adapter.send(DirectMessage(to=world.who(world.alice), text=f"reminder {i}"))
                                     for i in range(6)))
    elapsed = time.monotonic() - t0
    assert results == [Delivery("sent")] * 6
    assert elapsed >= (6 - 2) / 20 * 0.95  # 2 at once, then 20 per second
    opened = await world.fake("GET", "/log", method="POST", path="/users/@me/channels$", after=before)
    assert len(opened) == 1
    await adapter.stop()

    again, _ = await start(kv)  # a restart: the DM channel id comes from kv
    before = await world.fake.seq()
    assert await again.send(DirectMessage(to=world.who(world.alice), text="after restart")) == Delivery("sent")
    assert await world.fake("GET", "/log", method="POST", path="/users/@me/channels$", after=before) == []


async def test_a_reply_in_a_dm_is_not_held_behind_a_fan_out(start: Any, world: World) -> None:
    adapter, _ = await start(dm_rate=1, dm_burst=1)  # after the first, one DM a second
    fan_out = asyncio.gather(*(adapter.send(DirectMessage(to=world.who(world.bob), text=f"announcement {i}"))
                               for i in range(2)))
    dm = await world.dm_channel(world.alice)
    await world.fake.wait(channel=await world.dm_channel(world.bob), match="^announcement", author="bot")
    said = await world.fake("POST", f"/channels/{dm}/messages", {"author_id": world.alice["id"], "content": "hi"})
    await world.fake.wait(channel=dm, match="^heard: hi$", author="bot", after=said["id"])
    assert not fan_out.done()  # alice was answered while the second announcement still waits its turn
    assert await fan_out == [Delivery("sent")] * 2


# --------------------------------------------------------------------------- text commands and mentions


async def test_text_command_in_channel(start: Any, world: World) -> None:
    _, engine = await start()
    fake, channel = world.fake, world.channel
    await fake("POST", f"/channels/{channel}/messages", {"author_id": world.alice["id"], "content": "just chatting"})
    said = await fake("POST", f"/channels/{channel}/messages", {"author_id": world.alice["id"], "content": "!q join"})
    event = await engine.next(lambda e: e.event_id == said["id"])
    assert event == TextReceived(who=world.who(world.alice), where=Where("discord", channel), text="!q join",
                                 event_id=said["id"], prefix="!")
    reply = await fake.wait(channel=channel, match="^heard: !q join$", author="bot")
    assert reply["message_reference"]["message_id"] == said["id"] and reply["mentions"] == []

    said = await fake("POST", f"/channels/{channel}/messages", {"author_id": world.alice["id"], "content": "!echo !q"})
    await fake.wait(channel=channel, match="^!q$", author="bot", after=said["id"])  # the bot says a command
    said = await fake("POST", f"/channels/{channel}/messages",
                      {"author_id": world.bob["id"], "content": f"!session log <@{world.alice['id']}> 45m"})
    event = await engine.next(lambda e: e.event_id == said["id"])
    assert event.text == f"!session log discord:{world.alice['id']} 45m"  # the core reads no platform syntax
    assert event.platform_roles == frozenset({"mentor"})
    # neither the chatter nor the bot's own command-like message reached the engine
    assert [e.text for e in engine.events] == ["!q join", "!echo !q", event.text]

    said = await fake("POST", f"/channels/{channel}/messages", {"author_id": world.alice["id"], "content": "!whoami"})
    private = await fake.wait(channel=await world.dm_channel(world.alice), match="^heard: !whoami$", author="bot")
    assert "message_reference" not in private  # the question is in another channel
    assert not [m for m in await fake("GET", f"/channels/{channel}/messages") if m["content"] == "heard: !whoami"]


async def _flood_a_slow_engine(start: Any, world: World, said: list[str]) -> tuple[Any, asyncio.Event, list[str]]:
    """An adapter whose engine holds every event until the gate opens, with ``said`` sent to it."""
    adapter, _ = await start()
    gate, handled = asyncio.Event(), []

    async def slow_engine(event: Any) -> None:
        await gate.wait()
        handled.append(event.text)

    adapter._sink = slow_engine
    for text in said:
        await world.fake("POST", f"/channels/{world.channel}/messages",
                         {"author_id": world.alice["id"], "content": text})
    return adapter, gate, handled


async def test_an_engine_that_falls_behind_slows_reading_from_the_gateway_and_loses_nothing(
        start: Any, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24: past the limit of events the engine holds the gateway is not read (no more tasks
    pile up), until half of them are answered; every message is then handled, once."""
    monkeypatch.setattr("adapters.discord.backlog.INBOUND_LIMIT", 4)
    said = [f"!n {n}" for n in range(20)]
    adapter, gate, handled = await _flood_a_slow_engine(start, world, said)
    read = lambda: [m.content for m in adapter._client.cached_messages if m.content in said]  # noqa: E731
    await wait_until(lambda: adapter._backlog.count == 4, what="the engine holding 4 events")
    with pytest.raises(AssertionError):  # the 16 others wait unread; without the pause they come in ms
        await wait_until(lambda: len(read()) > 4, timeout=1.0, what="a fifth message read")
    assert adapter._backlog.paused and adapter._backlog.count == 4 and read() == said[:4]
    gate.set()
    await wait_until(lambda: len(handled) == 20, what="every message handed to the engine")
    assert sorted(handled) == sorted(said)  # each once, none dropped
    assert not adapter._backlog.paused and adapter._backlog.count == 0


async def test_a_client_paused_for_a_slow_engine_still_stops(start: Any, world: World,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("adapters.discord.backlog.INBOUND_LIMIT", 2)
    adapter, gate, _ = await _flood_a_slow_engine(start, world, ["!a", "!b", "!c"])
    await wait_until(lambda: adapter._backlog.paused, what="reading paused")
    runner = adapter._runner
    try:
        await adapter.stop()
        assert runner.done()  # the reading loop saw the close instead of waiting for the engine
    finally:
        gate.set()


async def test_mentions_in_echoed_text_ping_nobody_except_the_named_one(start: Any, world: World) -> None:
    adapter, engine = await start()
    fake, channel = world.fake, world.channel
    text = f"!echo @everyone <@&{world.mentors}> look"
    said = await fake("POST", f"/channels/{channel}/messages", {"author_id": world.alice["id"], "content": text})
    echoed = await fake.wait(channel=channel, match="^@\u200beveryone", author="bot", after=said["id"])
    assert echoed["content"] == discord_adapter.defuse_mentions(f"@everyone <@&{world.mentors}> look")
    assert echoed["content"] == f"@\u200beveryone <@\u200b&{world.mentors}> look"  # inert even without allowed_mentions
    assert echoed["_fake"]["allowed_mentions"]["parse"] == []
    assert echoed["mention_everyone"] is False and echoed["mention_roles"] == [] and echoed["mentions"] == []

    bob = world.who(world.bob)
    assert await adapter.send(Announce(Where("discord", channel), "you are next @everyone", mention=bob)) == Delivery("sent")
    turn = await fake.wait(channel=channel, match="you are next", author="bot")
    assert turn["content"] == f"<@{world.bob['id']}> you are next @\u200beveryone"
    assert [u["id"] for u in turn["mentions"]] == [world.bob["id"]] and turn["mention_everyone"] is False


async def test_a_channel_is_labelled_by_its_name_from_the_clients_cache(start: Any, world: World) -> None:
    adapter, _ = await start()
    assert adapter.channel_label(world.channel) == "#general"
    assert adapter.channel_label("1234567890") is None and adapter.channel_label("#general") is None
    before = await world.fake.seq()
    later = (await world.fake("POST", f"/guilds/{world.guild}/channels", {"name": "office-hours"}))["id"]
    label = await wait_until(lambda: adapter.channel_label(later), what="CHANNEL_CREATE reaching the cache")
    assert label == "#office-hours"
    assert await world.fake("GET", "/log", after=before) == []  # the bot asked Discord nothing


async def test_long_text_is_split_at_discords_limit(start: Any, world: World) -> None:
    adapter, _ = await start()
    lines = [f"line {i:04d} " + "x" * 40 for i in range(90)]  # 90 lines of 50 characters
    assert await adapter.send(Announce(Where("discord", world.channel), "\n".join(lines))) == Delivery("sent")
    last = await world.fake.wait(channel=world.channel, match="line 0089", author="bot")
    sent = [m["content"] for m in await world.fake("GET", f"/channels/{world.channel}/messages")
            if m["content"].startswith("line ")]
    assert last["content"] == sent[-1] and len(sent) == 3 and all(len(c) <= 2000 for c in sent)
    assert "\n".join(sent) == "\n".join(lines)


async def test_a_resent_outbox_message_carries_the_same_enforced_nonce(start: Any, world: World) -> None:
    """After a kill between the send and the "sent" mark, the outbox sends the message again with
    the same key: Discord drops the second one when its nonce repeats with enforce_nonce (the
    fake records the request but does not deduplicate, so this shows the bot's half)."""
    adapter, _ = await start()
    long = "\n".join(f"line {i:04d} " + "x" * 40 for i in range(60))  # two messages
    before = await world.fake.seq()
    for _ in range(2):
        assert await adapter.send(DirectMessage(to=world.who(world.alice), text=long, key="checkin:7:2027-01-04")) == Delivery("sent")
    assert await adapter.send(Announce(Where("discord", world.channel), "hello", key="oh-open:3")) == Delivery("sent")
    posts = [p["body"] for p in await world.fake("GET", "/log", method="POST", path="/messages$", after=before)]
    nonces = [(p.get("nonce"), p.get("enforce_nonce")) for p in posts]
    first = [(discord_adapter.nonce_of("checkin:7:2027-01-04", part), True) for part in (0, 1)]
    assert nonces == first + first + [(discord_adapter.nonce_of("oh-open:3", 0), True)]
    assert len({n for n, _ in nonces}) == 3 and all(len(n) <= 25 for n, _ in nonces)


async def test_role_map_gives_platform_roles_in_dms_too(start: Any, world: World) -> None:
    _, engine = await start()
    for user, roles in ((world.bob, {"mentor"}), (world.alice, set())):
        dm = await world.dm_channel(user)
        said = await world.fake("POST", f"/channels/{dm}/messages", {"author_id": user["id"], "content": "hi"})
        event = await engine.next(lambda e: e.event_id == said["id"])
        assert event.where.is_direct and event.platform_roles == frozenset(roles)
        await world.fake.wait(channel=dm, match="^heard: hi$", author="bot")


# --------------------------------------------------------------------------- autocomplete


async def test_autocomplete_offers_the_engines_values_for_a_member_arg_with_a_source(start: Any, world: World) -> None:
    _, engine = await start()
    fake = world.fake
    goal = {c["name"]: c for c in await fake("GET", "/commands", guild_id=world.guild)}["goal"]
    comment = {o["name"]: o for o in goal["options"]}["comment"]
    mentee = {o["name"]: o for o in comment["options"]}["mentee"]
    # a string option (a user option cannot autocomplete); a member arg without a source stays a user
    assert (mentee["type"], mentee.get("autocomplete")) == (3, True) and "choices" not in mentee

    it = await fake("POST", "/interactions", {"kind": "autocomplete", "user_id": world.bob["id"],
                                              "channel_id": world.channel, "command": "goal comment",
                                              "options": {"mentee": "al"}, "focused": "mentee"})
    done = await fake.wait("/interaction", id=it["id"])
    assert done["response_type"] == 8 and done["acked_after_ms"] < 3000
    assert [c["value"] for c in done["choices"]] == ["alice", "albert", "x" * 100]  # Discord's 100 characters
    event = await engine.next(lambda e: isinstance(e, CompletionRequested))
    assert event == CompletionRequested(who=world.who(world.bob), where=Where("discord", world.channel),
                                        path=("goal", "comment"), arg="mentee", partial="al",
                                        platform_roles=frozenset({"mentor"}))

    it = await fake("POST", "/interactions", {"kind": "autocomplete", "user_id": world.bob["id"],
                                              "channel_id": world.channel, "command": "goal comment",
                                              "options": {"mentee": "boom"}, "focused": "mentee"})
    done = await fake.wait("/interaction", id=it["id"])
    assert (done["response_type"], done["choices"]) == (8, [])  # a failing source offers nothing, in time

    it = await fake("POST", "/interactions", {"kind": "command", "user_id": world.bob["id"], "channel_id": world.channel,
                                              "command": "goal comment",
                                              "options": {"mentee": "alice", "text": "nice progress"}})
    event = await engine.next(lambda e: getattr(e, "event_id", None) == it["id"])
    assert event.args == {"mentee": "alice", "text": "nice progress"}  # the handle, resolved by the engine


def test_payload_problems_name_what_discord_would_refuse() -> None:
    from adapters.discord.commands import payload_problems

    fine = {"name": "q", "description": "Queue", "options": [
        {"name": "join", "type": 1, "description": "Join", "options": [{"name": "topic", "type": 3, "description": "x"}]}]}
    assert payload_problems(fine) == []
    huge = {"name": "pick", "description": "Pick one", "options": [
        {"name": "what", "type": 3, "description": "d",
         "choices": [{"name": f"{i:02d}" + "n" * 98, "value": f"{i:02d}" + "v" * 98} for i in range(20)]}]}
    assert payload_problems(huge) == ["/pick: 4017 characters in names, descriptions and values (Discord allows 4000)"]
    deep = {"name": "a", "description": "d", "options": [{"name": "b", "type": 2, "description": "d", "options": [
        {"name": "c", "type": 2, "description": "d", "options": [{"name": "e", "type": 1, "description": "d"}]}]}]}
    assert "more than three levels" in " ".join(payload_problems(deep))


async def test_a_command_discord_would_refuse_fails_start_with_a_sentence(start: Any) -> None:
    many = tuple(f"{i:02d}" + "c" * 98 for i in range(26))  # more than 25: autocompleted, not listed
    fine = SPECS + (CommandSpec(("pick",), "Pick one of many", ("anyone",), _unused, args=(Arg("what", choices=many),)),)
    adapter, _ = await start(specs=fine)
    assert adapter.commands.spec_path("pick") == ("pick",)
    await adapter.stop()
    too_big = SPECS + (CommandSpec(("pick",), "d" * 100, ("anyone",), _unused, args=tuple(
        Arg(f"a{i}", help="h" * 100, choices=tuple(f"{i}{j:02d}" + "c" * 90 for j in range(2))) for i in range(20))),)
    with pytest.raises(ValueError, match="/pick: .* characters"):
        await start(specs=too_big)


# --------------------------------------------------------------------------- forms


async def test_form_button_opens_a_modal_whose_submission_is_numbered_text(start: Any, world: World) -> None:
    kv = MemoryKV()
    adapter, engine = await start(kv)
    fake = world.fake
    long_q = "What did you work on since the last check-in, and what are you proud of?"
    form = Form(title="Check-in", questions=("How did it go (1-5)?", long_q, "Anything blocking you?"),
                label="Answer in a form")
    sent = await adapter.send(DirectMessage(to=world.who(world.alice), text="Time for your check-in",
                                            buttons=(Button("Answer", "!checkin"),), form=form))
    assert sent == Delivery("sent")
    dm = await world.dm_channel(world.alice)
    prompt = await fake.wait(channel=dm, match="^Time for your check-in$", author="bot")
    buttons = [c for row in prompt["components"] for c in row["components"]]
    assert [b["label"] for b in buttons] == ["Answer", "Answer in a form"]
    form_id = buttons[1]["custom_id"]
    assert form_id == FORM_ID + form_digest(form)

    click = await fake("POST", "/interactions", {"kind": "component", "user_id": world.alice["id"],
                                                 "message_id": prompt["id"], "custom_id": form_id})
    opened = await fake.wait("/interaction", id=click["id"])
    assert opened["response_type"] == 9 and opened["acked_after_ms"] < 3000
    modal = opened["modal"]
    assert (modal["title"], modal["custom_id"]) == ("Check-in", form_id)
    labels = [c for c in modal["components"]]
    assert [c["type"] for c in labels] == [18, 18, 18]  # a label around each text input
    assert [c["label"] for c in labels] == ["How did it go (1-5)?", "What did you work on since the last…",
                                           "Anything blocking you?"]
    assert all(len(c["label"]) <= 45 for c in labels)
    inputs = [c["component"] for c in labels]
    assert [(i["type"], i["style"], i["required"]) for i in inputs] == [(4, 2, False)] * 3  # paragraphs, optional
    assert inputs[1]["placeholder"] == long_q and labels[1]["description"] == long_q
    assert "description" not in labels[0]
    assert not any(e.event_id == click["id"] for e in engine.events)  # opening the form is no message

    submit = await fake("POST", "/interactions", {"kind": "modal", "interaction_id": click["id"],
                                                  "values": {"q0": "4", "q1": "fixed a test\nand a doc", "q2": ""}})
    event = await engine.next(lambda e: e.event_id == submit["id"])
    assert event == TextReceived(who=world.who(world.alice), where=Where("discord", None),
                                 text="1. 4\n2. fixed a test and a doc\n3. -", event_id=submit["id"], prefix="!")
    done = await fake.wait("/interaction", id=submit["id"])
    assert done["response_type"] == 4
    answer = await fake.wait(channel=dm, match="^heard: 1\\. 4", author="bot")
    assert answer["id"] == done["message_id"]
    await adapter.stop()

    again, engine = await start(kv)  # a restart: the old message's button still opens its form
    click = await fake("POST", "/interactions", {"kind": "component", "user_id": world.alice["id"],
                                                 "message_id": prompt["id"], "custom_id": form_id})
    assert (await fake.wait("/interaction", id=click["id"]))["modal"]["custom_id"] == form_id
    submit = await fake("POST", "/interactions", {"kind": "modal", "interaction_id": click["id"],
                                                  "values": {"q0": "5", "q1": "more", "q2": "none"}})
    assert (await engine.next(lambda e: e.event_id == submit["id"])).text == "1. 5\n2. more\n3. none"

    six = Form(title="Long", questions=tuple(f"Question {i}?" for i in range(6)))
    await again.send(DirectMessage(to=world.who(world.alice), text="Six questions", form=six))
    plain = await fake.wait(channel=dm, match="^Six questions$", author="bot")
    assert not plain.get("components")  # more than a modal holds: answered by message, as on IRC


async def test_a_form_of_later_questions_numbers_its_answers_from_its_first(start: Any, world: World) -> None:
    """Skills 6-7 of an assessment in a modal come back as "6. ...\n7. ...", not as skills 1-2."""
    adapter, engine = await start(MemoryKV())
    form = Form(title="Self-assessment", questions=("Log Interpretation", "Caching & CDN Layers"), first=6)
    await adapter.send(DirectMessage(to=world.who(world.alice), text="Skills 6-7 in a form", form=form))
    dm = await world.dm_channel(world.alice)
    prompt = await world.fake.wait(channel=dm, match="^Skills 6-7 in a form$", author="bot")
    [button] = [c for row in prompt["components"] for c in row["components"]]
    click = await world.fake("POST", "/interactions", {"kind": "component", "user_id": world.alice["id"],
                                                       "message_id": prompt["id"], "custom_id": button["custom_id"]})
    await world.fake.wait("/interaction", id=click["id"])
    submit = await world.fake("POST", "/interactions", {"kind": "modal", "interaction_id": click["id"],
                                                        "values": {"q0": "2", "q1": "N/A"}})
    assert (await engine.next(lambda e: e.event_id == submit["id"])).text == "6. 2\n7. N/A"
    await adapter.stop()


# --------------------------------------------------------------------------- settings and lifecycle


def test_settings_are_validated(tmp_path: Path) -> None:
    context = AdapterContext(state_dir=tmp_path, kv=MemoryKV())
    for bad in ({"role_map": {"Mentors": "overlord"}}, {"api_base": "discord.com"}, {"prefix": ""},
                {"tokn_env": "X"}, {"defer_after": 5}):
        with pytest.raises(pydantic.ValidationError):
            discord_adapter.create(bad, context)
    adapter = discord_adapter.create({}, context)
    assert adapter.settings.token_env == "MENTORBOT_DISCORD_TOKEN" and adapter.settings.prefix == "!"
    caps = adapter.capabilities
    assert (caps.ephemeral_replies, caps.direct_messages, caps.parallel_sends) == (True, True, 4)


async def test_configuration_errors_fail_start(start: Any, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTORBOT_TEST_WRONG_TOKEN", "MTIz.wrong.token")
    with pytest.raises(RuntimeError, match="LoginFailure"):
        await start(token_env="MENTORBOT_TEST_WRONG_TOKEN")
    everything = (1 << 1) | (1 << 8) | (1 << 15)  # the fake's default: all privileged intents allowed
    await world.fake("POST", "/gateway/privileged", {"allowed": 0})
    try:
        with pytest.raises(RuntimeError, match="PrivilegedIntentsRequired"):
            await start(message_content=True)
    finally:
        await world.fake("POST", "/gateway/privileged", {"allowed": everything})


async def test_missing_token_is_a_start_error_and_stop_is_idempotent(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MENTORBOT_DISCORD_TOKEN", raising=False)
    adapter = discord_adapter.create({}, AdapterContext(state_dir=tmp_path, kv=MemoryKV()))
    with pytest.raises(RuntimeError, match="MENTORBOT_DISCORD_TOKEN"):
        await adapter.start(Engine(), SPECS)
    await adapter.stop()
    await adapter.stop()
    assert (await adapter.send(DirectMessage(Identity("discord", "1", "x"), "hi"))).status == "failed"
