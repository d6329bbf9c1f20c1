"""The Matrix adapter against a real Synapse (``../shared/servers/matrix-server.sh``).

The server, its accounts and the people (real matrix-nio clients) come from
``tests.matrix_fixtures``. The adapter gets a recording sink and a dict-backed kv, so a test can
restart "the bot" with the same kv and see what a restart delivers. Nothing is mocked, and
nothing sleeps to wait: helpers sync or poll until a deadline.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
from nio import (
    AsyncClient,
    InviteMemberEvent,
    LoginResponse,
    RoomMessageNotice,
    RoomMessageText,
)

from adapters.matrix import formatting as fmt
from adapters.base import AdapterContext
from adapters.matrix import (
    KEY_DEVICE_ID,
    KEY_SYNC_TOKEN,
    MatrixAdapter,
    MatrixConfigError,
    create,
    dm_key,
)
from chatbot.events import Announce, DirectMessage, Identity, Inbound, Reply, Seen, TextReceived, Where
from tests.matrix_fixtures import BOT, PASSWORD, bot_password, homeserver, people, server, uid, wait_for  # noqa: F401
from tests.servers import MemoryKV

# --------------------------------------------------------------------------- helpers


class Recorder:
    """A sink that records what the engine would have been handed."""

    def __init__(self) -> None:
        self.events: list[Inbound] = []

    async def __call__(self, event: Inbound) -> None:
        self.events.append(event)

    def texts(self, channel: str | None | type = ..., ) -> list[TextReceived]:
        return [e for e in self.events if isinstance(e, TextReceived)
                and (channel is ... or e.where.channel == channel)]

    async def text(self, body: str, timeout: float = 20.0) -> TextReceived:
        return await wait_for(lambda: next((e for e in self.texts() if e.text == body), None),
                              timeout, f"the bot to receive {body!r}")


class CountingKV(MemoryKV):
    """The kv, counting reads per key: in production each is a session and a SELECT."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: Counter[str] = Counter()

    def get(self, key: str, default: Any = None) -> Any:
        self.reads[key] += 1
        return super().get(key, default)


@pytest.fixture
async def bot(homeserver: str, tmp_path: Path, bot_password: None):
    """``await bot(kv, **settings)`` -> (adapter, recorder); every adapter is stopped at the end."""
    made: list[MatrixAdapter] = []

    async def start(kv: MemoryKV | None = None, sink: Callable[[Inbound], Awaitable[None]] | None = None,
                    **settings: Any) -> tuple[MatrixAdapter, Recorder]:
        raw = {"homeserver": homeserver, "user_id": BOT, "sync_timeout_ms": 5000,
               "reconnect_min_delay": 0.05, "reconnect_max_delay": 0.5, "stop_grace": 0.2, **settings}
        adapter = create(raw, AdapterContext(state_dir=tmp_path / "state", kv=MemoryKV() if kv is None else kv))
        recorder = Recorder()
        made.append(adapter)
        await adapter.start(sink or recorder, [])
        return adapter, recorder

    yield start
    for adapter in made:
        await adapter.stop()


# --------------------------------------------------------------------------- pure parts


def test_settings_are_validated_and_secrets_come_from_the_environment(tmp_path, monkeypatch):
    context = AdapterContext(state_dir=tmp_path, kv=MemoryKV())
    base = {"homeserver": "http://127.0.0.1:1", "user_id": "@bot:localhost"}
    monkeypatch.delenv("MENTORBOT_MATRIX_TOKEN", raising=False)
    monkeypatch.delenv("MENTORBOT_MATRIX_PASSWORD", raising=False)
    with pytest.raises(MatrixConfigError, match="MENTORBOT_MATRIX_TOKEN"):
        create(base, context)
    monkeypatch.setenv("BOT_PW", "x")
    with pytest.raises(ValueError, match="unknown roles"):
        create({**base, "password_env": "BOT_PW", "power_roles": {"wizard": 50}}, context)
    with pytest.raises(ValueError):
        create({**base, "password_env": "BOT_PW", "user_id": "bot"}, context)
    with pytest.raises(MatrixConfigError, match="pickle key"):
        create({**base, "password_env": "BOT_PW", "e2e": True}, context)
    adapter = create({**base, "password_env": "BOT_PW"}, context)
    caps = adapter.capabilities
    assert (caps.direct_messages, caps.ephemeral_replies) == (True, False)
    assert adapter.e2e is False  # no pickle key in the environment: no E2E


def test_content_is_escaped_and_mentions_are_explicit():
    c = fmt.message_content('<b>hi</b> & "you"\n@room', mention=None)
    assert c["msgtype"] == "m.notice" and c["body"] == '<b>hi</b> & "you"\n@room'
    assert c["formatted_body"] == "&lt;b&gt;hi&lt;/b&gt; &amp; &quot;you&quot;<br>@room"
    assert c["m.mentions"] == {}
    a = fmt.Mention("@a:b", "<A>")
    assert fmt.message_content("x", mention=a)["m.mentions"] == {"user_ids": ["@a:b"]}
    called = fmt.message_content("x", a, addressed=True, msgtype=fmt.ALERT_MSGTYPE)
    assert (called["msgtype"], called["body"]) == ("m.text", "<A>: x")
    assert called["formatted_body"] == '<a href="https://matrix.to/#/@a:b">&lt;A&gt;</a>: x'
    assert [fmt.reaction_digit(k) for k in ("1\ufe0f\u20e3", "5\u20e3", "3", "6\ufe0f\u20e3", "👍", "12")] == [
        "1", "5", "3", None, None, None]
    assert fmt.txn_id("checkin-42") == "checkin-42" and fmt.txn_id(None) is None
    assert fmt.txn_id("dm:@a:b/x") == fmt.txn_id("dm:@a:b/x") != fmt.txn_id("dm:@a:b/y")
    assert fmt.split_text("aaa\nbbb\nccc", 8) == ["aaa\nbbb", "ccc"]
    assert fmt.strip_reply_fallback("> <@a:b> earlier\n> more\n\n!help") == "!help"
    assert fmt.roles_for_level(50, {"host": 50, "coordinator": 100}) == {"host"}


def test_a_user_id_in_a_command_reaches_the_core_as_platform_and_account():
    """The core parses no platform's syntax (issue 24): the adapter names the person."""
    mentions = fmt.command_mentions
    assert mentions("!session log @bob:example.org 45m", "!") == "!session log matrix:@bob:example.org 45m"
    assert mentions("!role grant @dana:hs.test:8448 host", "!") == "!role grant matrix:@dana:hs.test:8448 host"
    assert mentions("!session log matrix:@bob:example.org", "!") == "!session log matrix:@bob:example.org"  # once
    assert mentions("mail bob@example.org or @bob:example.org", "!") == "mail bob@example.org or @bob:example.org"  # not a command
    assert mentions("!goal add mail bob@example.org", "!") == "!goal add mail bob@example.org"  # an address is no user id


def test_direct_rooms_are_kept_per_person_newest_first():
    dms = fmt.DirectRooms()
    assert dms.merge({"@a:x": ["!1", "!2"], "@b:x": "not a list"})
    assert not dms.merge({"@a:x": ["!1"]})  # nothing new: no m.direct update needed
    assert dms.candidates("@a:x") == ["!2", "!1"] and dms.user_of["!1"] == "@a:x"
    dms.created.add("!2")
    dms.forget("!2")  # the person left
    assert dms.candidates("@a:x") == ["!1"] and "!2" not in dms.user_of and not dms.created


# --------------------------------------------------------------------------- inbound


async def test_room_command_arrives_with_identity_and_event_id_and_bots_are_ignored(bot, people):
    alice = await people("alice", "Alice A.")
    bob = await people("bob", "Bob")
    room = await alice.room()
    adapter, rec = await bot(rooms=[room])
    await alice.bot_joined(room)
    await bob.join(room)

    help_id = await alice.say(room, "!help")
    got = await rec.text("!help")
    assert got == TextReceived(Identity("matrix", alice.user_id, "Alice A."), Where("matrix", room), "!help",
                               event_id=help_id, prefix="!", platform_roles=frozenset())

    assert (await adapter.send(Reply(Where("matrix", room), "!help from the bot"))).ok  # its own: ignored
    await bob.say(room, "!help I am another bot", msgtype="m.notice")  # a notice: ignored
    await bob.say(room, "!ping")
    await rec.text("!ping")
    assert [e.text for e in rec.texts()] == ["!help", "!ping"]
    assert Seen(Identity("matrix", bob.user_id, "Bob")) in rec.events  # bob joined while it listened


async def test_invites_are_accepted_from_allowed_servers_only(bot, people):
    carol = await people("carol", "Carol")
    room = await carol.room()
    adapter, rec = await bot(rooms=[room], invite_servers=["example.org"])
    stranger = await carol.room(invite_bot=True)
    await carol.say(room, "done inviting")
    await rec.text("done inviting")  # the invite came in the same or an earlier sync
    assert stranger not in adapter.client.rooms
    await adapter.stop()

    adapter, rec = await bot(rooms=[room])  # default: the bot's own server (localhost)
    await carol.bot_joined(stranger)
    await carol.say(stranger, "welcome")
    assert (await rec.text("welcome")).where == Where("matrix", stranger)


async def test_a_dm_arrives_as_direct_and_the_reply_goes_back_there(bot, people):
    dave = await people("dave", "Dave")
    adapter, rec = await bot()
    dm = await dave.room(invite_bot=True, direct=True)
    await dave.bot_joined(dm)
    hello_id = await dave.say(dm, "hello bot")
    got = await rec.text("hello bot")
    assert got.where == Where("matrix", None) and got.event_id == hello_id
    assert got.who == Identity("matrix", dave.user_id, "Dave")

    assert (await adapter.send(Reply(Where("matrix", None), "hello Dave", in_reply_to=hello_id, to=got.who))).ok
    answer = await dave.wait(lambda r, e: r == dm and isinstance(e, RoomMessageNotice) and e.body == "hello Dave")
    assert answer.source["content"]["m.relates_to"] == {"m.in_reply_to": {"event_id": hello_id}}


async def test_a_conversation_reads_the_dm_room_from_kv_once_and_a_restart_replies_in_the_same_room(bot, people):
    dave = await people("dave", "Dave")
    kv = CountingKV()
    adapter, rec = await bot(kv)
    dm = await dave.room(invite_bot=True, direct=True)
    await dave.bot_joined(dm)
    for i in range(3):
        asked = await dave.say(dm, f"question {i}")
        got = await rec.text(f"question {i}")
        assert (await adapter.send(Reply(Where("matrix", None), f"answer {i}", in_reply_to=asked, to=got.who))).ok
    assert kv[dm_key(dave.user_id)] == dm  # written through to the durable store
    assert kv.reads[dm_key(dave.user_id)] == 1  # three messages and three replies: one read
    await adapter.stop()

    adapter, rec = await bot(kv)
    asked = await dave.say(dm, "after the restart")
    got = await rec.text("after the restart")
    assert (await adapter.send(Reply(Where("matrix", None), "still here", in_reply_to=asked, to=got.who))).ok
    await dave.bot_said(dm, lambda e: e.body == "still here")
    assert [e.body for e in dave.bot_says(dm)] == ["answer 0", "answer 1", "answer 2", "still here"]
    assert len(dave.invites) == 0  # no second direct room


async def test_a_room_is_labelled_by_its_name_else_its_alias_from_the_cache(bot, people):
    alice = await people("alice")
    named = await alice.room(name="Office hours")
    alias = f"#oh-{secrets.token_hex(3)}:localhost"
    unnamed = await alice.room(name=None, alias=alias[1:].split(":")[0])
    adapter, _ = await bot(rooms=[named, alias])
    assert adapter.channel_label(named) == "Office hours"
    assert adapter.channel_label(unnamed) == alias  # no name: the canonical alias
    assert adapter.channel_label(alias) == alias  # a configured alias, resolved through the cache
    assert adapter.channel_label("!unknown:localhost") is None  # not in the cache: no request made


async def test_a_reply_sent_by_a_later_process_still_answers_its_question_in_a_room_only(bot, people):
    """The outbox may send a reply after a restart (a send failed, the batch was acknowledged):
    this process never saw the question. In its room the reply still relates to it; in a DM,
    which may be another room than the one asked in, it does not."""
    erin = await people("erin", "Erin")
    room = await erin.room()
    dm = await erin.room(invite_bot=True, direct=True)
    asked_here = await erin.say(room, "!round status")
    asked_privately = await erin.say(dm, "!whoami")
    adapter, _ = await bot(rooms=[room])  # a first start: both questions are history to it
    await erin.bot_joined(dm)
    who = Identity("matrix", erin.user_id, "Erin")
    assert (await adapter.send(Reply(Where("matrix", room), "No round is open.", in_reply_to=asked_here))).ok
    assert (await adapter.send(Reply(Where("matrix", None), "You are erin", in_reply_to=asked_privately, to=who))).ok
    public = await erin.bot_said(room, lambda e: e.body == "No round is open.")
    private = await erin.bot_said(dm, lambda e: e.body == "You are erin")
    assert public.source["content"]["m.relates_to"] == {"m.in_reply_to": {"event_id": asked_here}}
    assert "m.relates_to" not in private.source["content"]


async def test_power_levels_map_to_roles_in_configured_rooms_only(bot, people):
    alice, bob, carol = await people("alice"), await people("bob"), await people("carol")
    # Synapse makes v12 rooms: the creator (alice) outranks any level and is not in "users"
    room = await alice.room(power_level_override={"users": {bob.user_id: 50}})
    await bob.join(room)
    await carol.join(room)
    own = await carol.room(invite_bot=True)  # carol is admin there, but it is not configured
    lead = await alice.room(invite_bot=True)  # configured by room: only its own thresholds
    adapter, rec = await bot(rooms=[room], power_roles={"host": 50, "coordinator": 100},
                             room_power_roles={lead: {"mentor": 100}})
    await carol.bot_joined(own)
    await alice.bot_joined(lead)
    for person in (alice, bob, carol):
        await person.say(room, f"I am {person.user_id}")
    await carol.say(own, "my own room")
    await alice.say(lead, "lead room")
    for text in ("my own room", "lead room", f"I am {carol.user_id}"):
        await rec.text(text)
    roles = {e.who.account: e.platform_roles for e in rec.texts(room)}
    assert roles == {alice.user_id: {"host", "coordinator"}, bob.user_id: {"host"}, carol.user_id: frozenset()}
    assert [e.platform_roles for e in rec.texts(own)] == [frozenset()]
    assert [e.platform_roles for e in rec.texts(lead)] == [{"mentor"}]


# --------------------------------------------------------------------------- outbound


async def test_replies_are_notices_with_escaped_html_and_only_the_chosen_mention(bot, people):
    alice = await people("alice", "Alice")
    bob = await people("bob", '<img src=x onerror=alert(1)> @room **Bob**')
    room = await alice.room()
    await bob.join(room)
    adapter, rec = await bot(rooms=[room])
    await alice.bot_joined(room)

    await bob.say(room, "@room <script>alert(1)</script> [click](http://evil.example) **now**")
    said = (await wait_for(lambda: rec.texts(room), what="bob's message"))[0]
    assert said.who.display == '<img src=x onerror=alert(1)> @room **Bob**'  # raw in, escaped out
    echo = f"{said.who.display} said:\n{said.text}"
    assert (await adapter.send(Reply(Where("matrix", room), echo, in_reply_to=said.event_id))).ok
    assert (await adapter.send(Announce(Where("matrix", room), "Alice is next", mention=Identity(
        "matrix", alice.user_id, "Alice")))).ok

    out = await alice.wait(lambda r, e: r == room and isinstance(e, RoomMessageNotice) and e.body == echo)
    content = out.source["content"]
    assert content["msgtype"] == "m.notice" and content["format"] == "org.matrix.custom.html"
    assert content["formatted_body"] == (
        "&lt;img src=x onerror=alert(1)&gt; @room **Bob** said:<br>@room &lt;script&gt;alert(1)&lt;/script&gt; "
        "[click](http://evil.example) **now**")
    assert content["m.mentions"] == {}
    nxt = await alice.bot_said(room, lambda e: e.body == "Alice: Alice is next")
    assert nxt.source["content"]["m.mentions"] == {"user_ids": [alice.user_id]}
    assert nxt.source["content"]["msgtype"] == "m.text"  # a notice would not ring (default push rules)


async def test_an_outbox_key_is_the_transaction_id_so_a_resend_posts_once(bot, people):
    alice = await people("alice")
    alias = f"#mentoring-{secrets.token_hex(3)}:localhost"
    room = await alice.room(alias=alias[1:].split(":")[0])
    kv = MemoryKV()
    adapter, _ = await bot(kv, rooms=[alias], max_limit_exceeded=2)
    assert adapter.client.config.max_limit_exceeded == 2  # bounded 429 retries (nio's default: forever)
    device = kv[KEY_DEVICE_ID]
    first = Announce(Where("matrix", alias), "reminder: session at 10:00", key="outbox-17")
    assert (await adapter.send(first)).ok
    assert (await adapter.send(first)).ok
    await adapter.stop()
    await adapter.stop()  # idempotent
    adapter, _ = await bot(kv, rooms=[alias])  # after a crash: same device, same key
    assert adapter.client.device_id == device
    assert (await adapter.send(first)).ok
    assert (await adapter.send(Reply(Where("matrix", room), "end", key="outbox-18"))).ok
    await alice.wait(lambda r, e: r == room and isinstance(e, RoomMessageNotice) and e.body == "end")
    assert [e.body for e in alice.bot_notices(room)] == ["reminder: session at 10:00", "end"]


async def test_a_direct_message_opens_one_direct_room_and_reuses_it(bot, people):
    frank = await people("frank")
    kv = MemoryKV()
    adapter, _ = await bot(kv)
    to = Identity("matrix", frank.user_id, "Frank")
    results = await asyncio.gather(*(adapter.send(DirectMessage(to, f"hello {i}")) for i in range(3)))
    assert all(d.ok for d in results), results
    dm = await frank.wait_invite()
    assert len(frank.invites) == 1
    mine = [e for e in frank.invites[dm] if isinstance(e, InviteMemberEvent) and e.state_key == frank.user_id]
    assert mine and mine[-1].content.get("is_direct") is True
    await frank.join(dm)
    assert kv.get(dm_key(frank.user_id)) == dm
    assert dm in (await adapter.client.list_direct_rooms()).rooms[frank.user_id]  # m.direct set too
    await adapter.stop()

    adapter, _ = await bot(kv)
    assert (await adapter.send(DirectMessage(to, "hello again"))).ok
    await frank.bot_said(dm, lambda e: e.body == "hello again")
    assert sorted(e.body for e in frank.bot_says(dm)) == ["hello 0", "hello 1", "hello 2", "hello again"]
    assert len(frank.invites) == 1

    nobody = await adapter.send(DirectMessage(Identity("matrix", uid("nobody"), "x"), "hi"))
    assert nobody.status == "undeliverable"
    assert (await adapter.send(DirectMessage(Identity("irc", "frank", "frank"), "hi"))).status == "undeliverable"


async def test_a_keycap_reaction_to_the_bots_dm_is_a_digit_answer(bot, people):
    gina = await people("gina")
    adapter, rec = await bot()
    assert (await adapter.send(DirectMessage(Identity("matrix", gina.user_id, "Gina"), "Mood today? 1-5"))).ok
    dm = await gina.wait_invite()
    await gina.join(dm)
    question = await gina.bot_said(dm, lambda e: True)
    own = await gina.say(dm, "thinking")
    await gina.react(dm, question.event_id, "👍")  # not a digit
    await gina.react(dm, own, "2\ufe0f\u20e3")  # not on the bot's message
    answer_id = await gina.react(dm, question.event_id, "4\ufe0f\u20e3")
    got = await rec.text("4")
    assert got.where == Where("matrix", None) and got.event_id == answer_id
    assert [e.text for e in rec.texts()] == ["thinking", "4"]


# --------------------------------------------------------------------------- exactly once


async def test_first_start_skips_history_and_a_restart_delivers_only_new_messages_once(bot, people):
    alice = await people("alice")
    room = await alice.room()
    await alice.say(room, "old history")
    kv = MemoryKV()
    adapter, first = await bot(kv, rooms=[room], sync_timeline_limit=3)
    await alice.say(room, "new 1")
    await first.text("new 1")
    await adapter.stop()

    down = [await alice.say(room, f"while down {i}") for i in range(7)]  # more than one sync's 3
    adapter, second = await bot(kv, rooms=[room], sync_timeline_limit=3)
    after = await alice.say(room, "after")
    await second.text("after")
    assert [e.text for e in first.texts()] == ["new 1"]
    assert [e.event_id for e in second.texts()] == [*down, after]


async def three_while_down(bot: Any, people: Any) -> tuple[MemoryKV, str, list[str]]:
    """The bot has started once (token saved); then m1, m2, m3 come: one batch for the next start."""
    alice = await people("alice")
    room = await alice.room()
    kv = MemoryKV()
    adapter, _ = await bot(kv, rooms=[room])
    await adapter.stop()
    return kv, room, [await alice.say(room, f"m{i}") for i in (1, 2, 3)]


async def test_a_batch_abandoned_mid_way_is_delivered_again_to_the_next_adapter(bot, people):
    kv, room, ids = await three_while_down(bot, people)
    saved = kv[KEY_SYNC_TOKEN]

    seen: list[str] = []
    stuck = asyncio.Event()

    async def dies_on_m2(event: Inbound) -> None:
        if isinstance(event, TextReceived):
            seen.append(event.event_id)
            if event.text == "m2":
                stuck.set()
                await asyncio.Future()  # the engine never returns: a kill mid-batch

    adapter, _ = await bot(kv, sink=dies_on_m2, rooms=[room])
    await asyncio.wait_for(stuck.wait(), 20)
    await adapter.stop()  # cancels the stuck handler after stop_grace
    assert seen == ids[:2] and kv[KEY_SYNC_TOKEN] == saved  # the batch was not acknowledged

    adapter, rec = await bot(kv, rooms=[room])
    await rec.text("m3")
    assert [e.event_id for e in rec.texts()] == ids  # m1, m2 again: the engine dedupes by id
    await wait_for(lambda: kv[KEY_SYNC_TOKEN] != saved, what="the token to be saved")


async def test_a_failing_handler_makes_the_adapter_retry_the_batch(bot, people):
    kv, room, ids = await three_while_down(bot, people)
    seen: list[str] = []

    async def fails_once_on_m2(event: Inbound) -> None:
        if isinstance(event, TextReceived):
            seen.append(event.event_id)
            if event.text == "m2" and seen.count(event.event_id) == 1:
                raise RuntimeError("database is locked")

    adapter, _ = await bot(kv, sink=fails_once_on_m2, rooms=[room])
    await wait_for(lambda: seen.count(ids[2]), what="m3 after the retry")
    assert seen == [ids[0], ids[1], ids[0], ids[1], ids[2]]


async def test_the_bot_survives_a_homeserver_restart(bot, people):
    alice = await people("alice")
    room = await alice.room()
    adapter, rec = await bot(rooms=[room])
    await alice.say(room, "before")
    await rec.text("before")
    server("stop")
    down = await adapter.send(Reply(Where("matrix", room), "anyone there?"))
    assert down.status == "failed" and "unreachable" in down.detail  # the outbox may retry it
    server()  # same data directory: tokens and rooms survive
    await alice.say(room, "after the restart")
    await rec.text("after the restart", timeout=30)
    assert [e.text for e in rec.texts()] == ["before", "after the restart"]
    assert (await adapter.send(Reply(Where("matrix", room), "still here"))).ok


async def test_a_wrong_password_fails_start(bot, monkeypatch):
    monkeypatch.setenv("WRONG_PW", "not it")
    with pytest.raises(MatrixConfigError, match="refused"):
        await bot(password_env="WRONG_PW")


async def test_an_access_token_logs_in_on_its_own_device(bot, homeserver, monkeypatch):
    other = AsyncClient(homeserver, BOT)
    login = await other.login(PASSWORD, device_name="deployed with a token")
    await other.close()
    assert isinstance(login, LoginResponse)
    monkeypatch.delenv("MENTORBOT_MATRIX_PASSWORD")
    monkeypatch.setenv("MENTORBOT_MATRIX_TOKEN", login.access_token)
    with pytest.raises(MatrixConfigError, match="device"):
        await bot(device_id="SOMEOTHERDEVICE")
    adapter, _ = await bot()
    assert adapter.client.device_id == login.device_id
    monkeypatch.setenv("MENTORBOT_MATRIX_TOKEN", "syt_revoked_or_mistyped")
    with pytest.raises(MatrixConfigError, match="refused"):
        await bot()


# --------------------------------------------------------------------------- encryption


async def test_without_e2e_an_encrypted_room_gets_one_notice_and_is_not_read(bot, people):
    erin = await people("erin")
    plain = await erin.room()
    kv = MemoryKV()
    adapter, rec = await bot(kv, rooms=[plain], e2e=False)
    secret = await erin.room(invite_bot=True, encrypted=True)
    await erin.bot_joined(secret)
    fake = {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgA", "sender_key": "k", "session_id": "s",
            "device_id": "D"}
    await erin.c.room_send(secret, "m.room.encrypted", fake)
    await erin.say(secret, "!help in plain text")  # still an encrypted room: not read
    await erin.say(plain, "marker 1")
    await rec.text("marker 1")
    await adapter.stop()
    adapter, rec = await bot(kv, rooms=[plain], e2e=False)
    await erin.c.room_send(secret, "m.room.encrypted", fake)
    await erin.say(plain, "marker 2")
    await rec.text("marker 2")
    await erin.wait(lambda r, e: r == secret and isinstance(e, RoomMessageNotice) and e.sender == BOT)
    assert [e.body for e in erin.bot_notices(secret)] == [adapter.settings.encrypted_room_notice]
    assert rec.texts(secret) == []


async def test_with_e2e_encrypted_rooms_and_dms_work_across_a_restart(bot, people, tmp_path, monkeypatch):
    monkeypatch.setenv("MENTORBOT_MATRIX_PICKLE_KEY", "a real secret from the environment")
    hank = await people("hank", "Hank", store=tmp_path / "hank-store")
    kv = MemoryKV()
    adapter, rec = await bot(kv)
    assert adapter.e2e and adapter.client.olm is not None
    room = await hank.room(invite_bot=True, encrypted=True)
    await hank.bot_joined(room)
    ping = await hank.say(room, "!ping")
    assert (await rec.text("!ping")).event_id == ping
    assert (await adapter.send(Reply(Where("matrix", room), "pong"))).ok
    pong = await hank.wait(lambda r, e: r == room and isinstance(e, RoomMessageNotice) and e.body == "pong")
    assert pong.decrypted  # it travelled as m.room.encrypted and hank's device could read it
    on_server = await adapter.client.room_messages(room, start=adapter.client.next_batch or "", limit=10)
    assert all(e.decrypted for e in on_server.chunk if isinstance(e, (RoomMessageText, RoomMessageNotice)))

    assert (await adapter.send(DirectMessage(Identity("matrix", hank.user_id, "Hank"), "private hello"))).ok
    dm = await hank.wait_invite()
    await hank.join(dm)
    hello = await hank.bot_said(dm, lambda e: True)
    assert hello.body == "private hello" and hello.decrypted
    await adapter.stop()

    adapter, rec = await bot(kv)  # same kv (device id) and state_dir (keys): still reads
    again = await hank.say(dm, "1")
    got = await rec.text("1")
    assert got.event_id == again and got.where == Where("matrix", None)
