"""The Discord adapter keeps going when Discord (here: the fake) misbehaves.

Each test makes the fake fail the way issue 20 saw a Discord-compatible server fail (its
control API's ``/fail`` gives 5xx and 4xx answers, also after the request was carried out;
``/dispatch`` sends raw gateway events), or points the bot at a closed port, and checks what a
person would notice: an answer, no duplicate, nothing deleted, no long wait.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlparse

import discord
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from adapters import discord as discord_adapter
from adapters.base import AdapterContext
from adapters.discord.text import split_message
from chatbot.app import App
from chatbot.config import from_dict
from chatbot.events import SENT, Announce, Delivery, Identity, Where
from chatbot.supervisor import Supervisor
from tests.discord_fixtures import Fake, discord_env, fake  # noqa: F401 (fixtures)
from tests.door import Door
from tests.servers import MemoryKV, wait_until
from tests.adapters.test_discord_adapter import SPECS, Engine, World, start, world  # noqa: F401 (fixtures)

COMMANDS_PUT = "PUT /applications/{application_id}/guilds/{guild_id}/commands"
CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"


@pytest.fixture(autouse=True)
async def _forget_failures(fake: Fake) -> Any:
    """No ``/fail`` rule outlives its test."""
    yield
    await fake("DELETE", "/fail")


@pytest.fixture
async def supervised(world: World, discord_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``supervised(**settings)`` -> (adapter, stand-in engine, supervisor), the adapter started
    under a supervisor with fast backoff (as ``App`` does it); all stopped at the end."""
    monkeypatch.setenv("MENTORBOT_DISCORD_TOKEN", discord_env["DISCORD_TOKEN"])
    made: list[tuple[Supervisor, Any]] = []

    async def go(**overrides: Any) -> tuple[Any, Engine, Supervisor]:
        settings = {"api_base": discord_env["DISCORD_API_BASE"], "gateway_url": discord_env["DISCORD_GATEWAY_URL"],
                    "guilds": [int(world.guild)], "guild_ready_timeout": 0.1, "message_content": True,
                    "start_timeout": 20, **overrides}
        adapter = discord_adapter.create(settings, AdapterContext(state_dir=tmp_path, kv=MemoryKV()))
        engine = Engine(adapter)
        sup = Supervisor(engine, SPECS, store=MemoryKV(), first_delay=0.2, max_delay=1.0)
        made.append((sup, adapter))
        await asyncio.wait_for(sup.supervise(adapter), 20)
        return adapter, engine, sup

    yield go
    for sup, adapter in made:
        await sup.stop()
        await adapter.stop()


async def _answered(world: World, channel: str, text: str, answer: str, timeout: float = 10) -> dict[str, Any]:
    said = await world.fake.say(world.alice, channel, text)
    return await world.fake.wait(channel=channel, author="bot", after=said["id"], match=f"^{re.escape(answer)}$",
                                 timeout=timeout)


# --------------------------------------------------------------------------- staying up


async def test_a_first_start_with_the_api_unreachable_is_retried_and_the_bot_answers_help_once_it_is_back(
        fake: Fake, discord_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("MENTORBOT_DISCORD_TOKEN", discord_env["DISCORD_TOKEN"])
    run = secrets.token_hex(2)
    alice = await fake.user("alice", run)
    guild = (await fake("POST", "/guilds", {"name": f"Outage {run}"}))["id"]
    await fake("POST", f"/guilds/{guild}/members", {"user_id": alice["id"]})
    door = Door()  # the REST API's address, closed: ClientConnectorError at login
    settings = from_dict({
        "admins": [f"discord:{alice['id']}"], "state_dir": str(tmp_path / "state"),
        "database": {"url": f"sqlite:///{tmp_path / 'bot.db'}", "synchronous": "normal"},
        "adapters": {"discord": {"enabled": True, "api_base": f"http://127.0.0.1:{door.port}/api/v10",
                                 "gateway_url": discord_env["DISCORD_GATEWAY_URL"], "guilds": [int(guild)],
                                 "guild_ready_timeout": 0.1}},
    })
    app = App(settings, retry_first_delay=0.2, retry_max_delay=1.0)
    try:
        await app.start(schedule=False, wait=0.5)
        assert app.supervisor is not None
        down = app.supervisor.states()["discord"]
        assert down.phase == "starting" and "ClientConnectorError" in (down.reason or "")
        assert not any("running with discord" in r.getMessage() for r in caplog.records)

        await door.open(urlparse(discord_env["DISCORD_API_BASE"]).port or 80)  # the API comes back
        await wait_until(lambda: app.supervisor.states()["discord"].up, timeout=10, what="discord connected")
        dm = await fake.dm_channel(alice)
        said = await fake.say(alice, dm, "!help")
        answer = await fake.wait(channel=dm, author="bot", after=said["id"], timeout=10)
        assert answer["content"].startswith("Commands:")
        said = [r.getMessage() for r in caplog.records]
        failed = [i for i, m in enumerate(said) if m.startswith("discord could not start")]
        assert failed and said.index("running with discord") > failed[0]  # said once it was true
    finally:
        if app.supervisor is not None:
            await app.supervisor.stop()
        await app.stop()
        await door.close()


async def test_a_command_sync_refused_with_400_leaves_text_commands_working_and_is_retried(
        supervised: Any, world: World, discord_env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    fake = world.fake
    before = await fake.seq()
    await fake("POST", "/fail", {"route": COMMANDS_PUT, "count": 2, "status": 400, "code": 50035,
                                 "message": "Invalid Form Body"})
    adapter, engine, sup = await supervised(sync_retry_delay=0.5, sync_retry_max_delay=1.0)
    state = sup.states()["discord"]
    assert state.phase == "degraded" and "400 50035: Invalid Form Body" in (state.reason or "")

    reply = await _answered(world, world.channel, "!q join", "heard: !q join")  # text commands go on
    put = f"/applications/.*/guilds/{world.guild}/commands$"
    synced = await fake.wait("/log", method="PUT", path=put, status=200, after=before, timeout=15)
    refused = await fake("GET", "/log", method="PUT", path=put, status=400, after=before)
    assert len(refused) == 2  # tried again after the first refusal, and again
    posted = await fake("GET", "/log", method="POST", path=f"/channels/{world.channel}/messages$", after=before)
    assert [p["seq"] for p in posted if p["body"]["content"] == reply["content"]][0] < synced["seq"]  # meanwhile
    assert {c["name"] for c in await fake("GET", "/commands", guild_id=world.guild)} >= {"q", "echo"}
    await wait_until(lambda: sup.states()["discord"].phase == "connected", what="connected once synced")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
                and r.name == "adapters.discord" and "not synced" in r.getMessage()]
    assert len(warnings) == 1 and "400 50035: Invalid Form Body" in warnings[0]  # logged once


async def test_a_client_ended_by_an_event_it_could_not_handle_is_restarted_and_answers_again(
        supervised: Any, world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    adapter, engine, sup = await supervised()
    await _answered(world, world.channel, "!echo before", "before")
    first = adapter._client
    # a READY without session_id: discord.py's gateway loop raises KeyError and client.start ends
    await world.fake("POST", "/dispatch", {"t": "READY", "d": {"v": 10}})
    await wait_until(lambda: sup.states()["discord"].restarts == 1 and sup.states()["discord"].up, timeout=10,
                     what="the supervisor restarting the client")
    assert adapter._client is not first  # a new client, not the dead one
    await _answered(world, world.channel, "!echo after", "after")
    said = [r.getMessage() for r in caplog.records if r.name == "chatbot.supervisor"]
    assert any(m.startswith("discord stopped working (the Discord client ended: KeyError") for m in said)
    assert any(m.startswith("discord is back after") for m in said)


async def test_a_malformed_gateway_event_is_logged_and_dropped_and_the_client_stays_up(
        start: Any, world: World, caplog: pytest.LogCaptureFixture) -> None:
    adapter, _ = await start()
    said = await world.fake.say(world.alice, world.channel, "!echo one")
    await world.fake.wait(channel=world.channel, author="bot", after=said["id"], match="^one$")
    runner = adapter._runner
    # a DM-style MESSAGE_CREATE with "guild_id": null for a guild channel: int(None) in discord.py
    await world.fake("POST", "/dispatch", {"t": "MESSAGE_CREATE", "d": {**said, "guild_id": None}})
    await _answered(world, world.channel, "!echo two", "two")
    assert adapter._runner is runner and not runner.done()  # the same client, still connected
    dropped = [r.getMessage() for r in caplog.records if r.name == "adapters.discord" and "dropped" in r.getMessage()]
    assert len(dropped) == 1 and dropped[0].startswith(f"dropped a Discord MESSAGE_CREATE event (id {said['id']})")


# --------------------------------------------------------------------------- sends whose outcome is unknown


async def test_a_5xx_on_one_message_fails_it_at_once_while_others_go_and_the_retry_keeps_its_nonce(
        start: Any, world: World) -> None:
    adapter, _ = await start()
    fake = world.fake
    other = (await fake("POST", f"/guilds/{world.guild}/channels", {"name": "other"}))["id"]
    before = await fake.seq()
    await fake("POST", "/fail", {"route": f"POST /channels/{world.channel}/messages", "count": 1, "status": 500})
    t0 = time.monotonic()
    blocked, meanwhile = await asyncio.gather(
        adapter.send(Announce(Where("discord", world.channel), "office hours open", key="oh:1")),
        adapter.send(Announce(Where("discord", other), "meanwhile", key="oh:2")))
    elapsed = time.monotonic() - t0
    assert blocked.status == "failed" and "500" in blocked.detail
    assert meanwhile == SENT
    assert elapsed < 0.9, elapsed  # discord.py alone waits 1 s, then 3, 5, 7 before giving up
    assert not [m for m in await fake("GET", f"/channels/{world.channel}/messages") if m["content"] == "office hours open"]

    assert await adapter.send(Announce(Where("discord", world.channel), "office hours open", key="oh:1")) == SENT
    posts = await fake("GET", "/log", method="POST", path=f"/channels/{world.channel}/messages$", after=before)
    assert [(p["status"], p["body"]["nonce"]) for p in posts] == [(500, discord_adapter.nonce_of("oh:1", 0)),
                                                                   (200, discord_adapter.nonce_of("oh:1", 0))]


@pytest.mark.parametrize("status", [500, 400])
async def test_a_send_that_failed_after_the_message_was_made_counts_as_sent_and_is_not_repeated(
        start: Any, world: World, status: int) -> None:
    adapter, _ = await start()
    fake = world.fake
    text = f"made anyway {status}"
    await fake("POST", "/fail", {"route": f"POST /channels/{world.channel}/messages", "count": 1, "status": status,
                                 "code": 50035 if status == 400 else 0, "after": True})
    assert await adapter.send(Announce(Where("discord", world.channel), text, key=f"after:{status}")) == SENT
    made = [m for m in await fake("GET", f"/channels/{world.channel}/messages") if m["content"] == text]
    assert len(made) == 1 and not made[0]["_fake"]["deleted"]
    # without a nonce (or its echo) the channel's recent history is what tells
    channel = adapter._client.get_partial_messageable(int(world.channel))
    began = discord.utils.snowflake_time(int(made[0]["id"]))
    assert await adapter._posted(channel, text, None, began)
    assert not await adapter._posted(channel, "never said", None, began)

    await fake("POST", "/fail", {"route": f"POST /channels/{world.channel}/messages", "count": 1, "status": 503})
    lost = await adapter.send(Announce(Where("discord", world.channel), "not made", key=f"before:{status}"))
    assert lost.status == "failed"  # nothing there: the outbox retries it
    assert not [m for m in await fake("GET", f"/channels/{world.channel}/messages") if m["content"] == "not made"]


async def test_a_slash_answer_that_raised_after_it_was_posted_is_kept_and_not_sent_again(
        start: Any, world: World) -> None:
    adapter, engine = await start()
    fake = world.fake
    await fake("POST", "/fail", {"route": CALLBACK, "count": 1, "status": 500, "after": True})
    before = await fake.seq()
    it = await fake.interact(world.alice, world.channel, "echo", text="see you at 5")
    await engine.until(lambda: engine.deliveries)
    assert engine.deliveries == [SENT]  # the engine will not send it again through the channel
    state = await fake("GET", f"/interactions/{it['id']}")
    assert (state["status"], state["response_type"]) == ("acknowledged", 4)
    shown = [m for m in await fake("GET", f"/channels/{world.channel}/messages") if m["content"] == "see you at 5"]
    assert len(shown) == 1 and not shown[0]["_fake"]["deleted"]  # the answer the person saw stays
    assert await fake("GET", "/log", method="DELETE", path="/messages/@original$", after=before) == []


def test_an_interaction_without_a_channel_id_is_no_channel_not_the_string_none(tmp_path: Path) -> None:
    adapter = discord_adapter.create({}, AdapterContext(state_dir=tmp_path, kv=MemoryKV()))
    odd = SimpleNamespace(guild_id=123, channel_id=None)
    assert adapter._where(odd) == Where("discord", None)  # type: ignore[arg-type]
    assert adapter._where(SimpleNamespace(guild_id=123, channel_id=456)) == Where("discord", "456")  # type: ignore[arg-type]


async def test_an_announcement_with_no_channel_is_undeliverable_not_an_error(start: Any) -> None:
    adapter, _ = await start()
    delivery = await adapter.send(Announce(Where("discord", None), "where to?"))
    assert delivery == Delivery("undeliverable", "no channel to send to")


# --------------------------------------------------------------------------- mentions


#: what Discord turns into a ping (case-insensitive here, to be strict)
LIVE = re.compile(r"@(everyone|here)|<@[!&]?\d+>", re.IGNORECASE)
PIECES = st.sampled_from(["@everyone", "@here", "@EveryOne", "<@123456789012345678>", "<@!42>", "<@&77>", "<@", "@",
                          "&", "!", "<", ">", "1", "\u200b", "\n", "@@here", "<<@&1>>", " "])
TEXTS = st.lists(st.one_of(st.text(max_size=8), PIECES), max_size=40).map("".join)
MENTIONS = st.one_of(st.none(), st.builds(lambda n: Identity("discord", str(n), "Bob"), st.integers(1, 10**19)),
                     st.just(Identity("irc", "bob", "bob")))


@hsettings(max_examples=400, deadline=None)
@given(text=TEXTS, mention=MENTIONS)
def test_echoed_text_never_carries_a_live_mention_but_the_one_the_adapter_builds(text: str,
                                                                                mention: Identity | None) -> None:
    out = discord_adapter.outgoing_text(text, mention)
    built = f"<@{mention.account}> " if mention is not None and mention.platform == "discord" else ""
    assert out.startswith(built)
    assert not LIVE.search(out[len(built):]), out
    for chunk in split_message(out, limit=50):  # split messages cannot make one either
        assert not LIVE.search(chunk[len(built):] if chunk.startswith(built) else chunk), chunk
    assert out[len(built):].replace("\u200b", "") == text.replace("\u200b", "")  # otherwise as written
