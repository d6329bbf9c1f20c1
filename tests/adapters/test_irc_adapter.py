"""The IRC adapter against a real InspIRCd + Atheme (``../shared/servers/irc-server.sh``).

People are played by raw-socket clients (``tests/irc_client.py``); the engine is played by a
recording sink. The text-safety rules are also property-tested as pure functions.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import pytest
from hypothesis import given, settings, strategies as st

from adapters.irc import text as irc_text
from adapters.base import AdapterContext
from adapters.irc import IrcAdapter, IrcLoginError, alternative_nick, create
from adapters.pacing import TokenBucket, backoff_delay
from chatbot.events import (
    Announce, Button, Delivery, DirectMessage, Identity, Inbound, Reply, Seen, TextReceived, Where,
)
from tests.irc_client import Client, wait_in
from tests.irc_fixtures import (  # noqa: F401 - fixtures are found by name
    PORT, Account, assert_safe, channel, clients, irc_server, name, privmsg_to, register, server, untagged,
)
from tests.servers import MemoryKV, wait_until

PASSWORD_ENV = "MENTORBOT_TEST_IRC_PASSWORD"


@pytest.fixture(scope="session")
def accounts(irc_server) -> dict[str, Account]:
    return {who: register(who) for who in ("bot", "ann", "ben", "cat", "dora", "eve")}


@dataclass
class Recorder:
    """The engine's stand-in: records inbound events; ``react`` runs on each, like a handler."""

    events: list[Inbound] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    react: Callable[[Inbound], Awaitable[None]] | None = None

    async def __call__(self, event: Inbound) -> None:
        if self.react is not None:
            await self.react(event)
        async with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    async def wait_for(self, pred: Callable[[Inbound], bool], timeout: float = 10) -> Inbound:
        return await wait_in(self.events, self.changed, pred, timeout=timeout,
                             describe=lambda: f"the last events: {self.events[-6:]}")

    def texts(self, text: str) -> Callable[[Inbound], bool]:
        return lambda e: isinstance(e, TextReceived) and e.text == text


@pytest.fixture
async def bots(accounts, monkeypatch, tmp_path):
    """Start bots (adapter + recorder) logged in to the bot account; all stopped at the end."""
    monkeypatch.setenv(PASSWORD_ENV, accounts["bot"].password)
    made: list[IrcAdapter] = []

    async def start(channels: list[str], **overrides: Any) -> tuple[IrcAdapter, Recorder]:
        settings = {
            "host": "127.0.0.1", "port": PORT, "nick": name("mbot"), "sasl_account": accounts["bot"].name,
            "password_env": PASSWORD_ENV, "channels": channels, "burst": 50, "rate": 500.0,
            "reconnect_min_delay": 0.05, "reconnect_max_delay": 0.4, "connect_timeout": 5, **overrides,
        }
        adapter = create(settings, AdapterContext(state_dir=tmp_path, kv=MemoryKV()))
        recorder = Recorder()
        made.append(adapter)
        await adapter.start(recorder, [])
        if channels:
            await wait_until(lambda: len(adapter.joined_channels) == len(channels), what="bot joins")
        return adapter, recorder

    yield start
    for adapter in made:
        await adapter.stop()


# =========================================================================== pure functions

TARGETS = st.from_regex(r"\A[#&]?[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}\-]{0,40}\Z")


@settings(max_examples=200, deadline=None)
@given(body=st.text(), target=TARGETS, mask_len=st.integers(5, 200))
def test_every_rendered_line_is_one_safe_irc_line_within_512_bytes(body: str, target: str, mask_len: int) -> None:
    budget = irc_text.text_budget(mask_len, target)
    lines = irc_text.render_lines(body, budget)
    mask = "n!u@" + "h" * (mask_len - 4)
    for line in lines:
        wire = irc_text.relayed_line(mask, target, line)
        assert len(wire) <= 512
        assert wire.count(b"\r") == 1 and wire.count(b"\n") == 1 and wire.endswith(b"\r\n")
        assert not any(c in line for c in "\x00\x01\x02\x03\x0f\x16\x1d\x1e\x1f")
        assert not any(ord(c) < 32 or c == "\x7f" for c in line)
        assert line.strip(), "no blank lines (IRC has no empty message)"
        if line.startswith(irc_text.GUARD):  # guarded exactly when it would look like a command
            assert irc_text.needs_guard(line[1:])
        else:
            assert not irc_text.needs_guard(line)


@settings(max_examples=300, deadline=None)
@given(body=st.text(), budget=st.integers(8, 480))
def test_rendering_loses_only_controls_and_whitespace(body: str, budget: int) -> None:
    def essence(s: str) -> str:
        return "".join(s.replace(irc_text.GUARD, "").split())

    expected = essence("".join(irc_text.strip_controls(part) for part in irc_text.split_lines(body)))
    assert essence("".join(irc_text.render_lines(body, budget))) == expected


@given(st.text())
def test_clean_param_leaves_no_line_breaks_nul_or_ctcp(value: str) -> None:
    cleaned = irc_text.clean_param(value)
    assert not set(cleaned) & set("\r\n\x00\x01")


def test_formatting_is_stripped_with_colour_digits_and_long_words_split_on_utf8() -> None:
    assert irc_text.strip_controls("\x02bold\x02 \x0304,12red\x03 \x1ditalic\x0f \x0412ab34x") == "bold red italic x"
    assert irc_text.strip_controls("a\tb\x07") == "a b"
    assert irc_text.render_lines("!op me\n  .kick x\nplain\n\n", 100) == [
        "\u200b!op me", "\u200b  .kick x", "plain"]
    pieces = irc_text.render_lines("é" * 30, 11)  # 2-byte characters, odd budget
    assert pieces == ["é" * 5] * 6
    assert irc_text.render_lines("aaa bbb ccc ddd", 9) == ["aaa bbb", "ccc ddd"]
    assert irc_text.clean_inbound("\u200b\x02!help\x02 me ") == "!help me"


def test_names_fold_by_casemapping_and_isupport_keeps_valueless_tokens() -> None:
    assert irc_text.irc_lower("Nick[A]^", "rfc1459") == "nick{a}~"
    assert irc_text.irc_lower("Nick[A]^", "ascii") == "nick[a]^"
    tokens = ["CASEMAPPING=ascii", "WHOX", "MONITOR=30", "are supported by this server"]
    assert irc_text.parse_isupport(tokens) == {"CASEMAPPING": "ascii", "WHOX": "", "MONITOR": "30"}
    assert "WHOX" not in irc_text.parse_isupport(["-WHOX", "x y"], {"WHOX": ""})
    assert irc_text.strip_prefixes("@+ann!a@host") == "ann"
    assert [alternative_nick("bot", n) for n in (1, 2)] == ["bot_", "bot__"]
    assert len(alternative_nick("averylongnick", 3)) == 9


@settings(deadline=None)
@given(rate=st.floats(0.5, 100), burst=st.integers(1, 10), n=st.integers(1, 40))
def test_token_bucket_never_exceeds_burst_then_rate(rate: float, burst: int, n: int) -> None:
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    async def run() -> list[float]:
        bucket = TokenBucket(rate, burst, clock=lambda: now[0], sleep=fake_sleep)
        stamps = []
        for _ in range(n):
            await bucket.acquire()
            stamps.append(now[0])
        return stamps

    stamps = asyncio.run(run())
    for i, stamp in enumerate(stamps):  # the i-th line (0-based) goes out no sooner than the bucket allows
        assert stamp >= max(0, i + 1 - burst) / rate - 1e-9
    assert stamps[-1] == pytest.approx(max(0, n - burst) / rate, abs=1e-6)


@given(attempt=st.integers(0, 100), low=st.floats(0.01, 10), spread=st.floats(1, 100), r=st.floats(0, 1))
def test_backoff_grows_is_capped_and_jittered(attempt: int, low: float, spread: float, r: float) -> None:
    high = low * spread
    delay = backoff_delay(attempt, low, high, rand=lambda: r)
    cap = min(high, low * 2**attempt)
    assert cap / 2 - 1e-9 <= delay <= cap + 1e-9


def test_settings_are_validated_and_the_password_comes_from_the_environment(monkeypatch, tmp_path) -> None:
    context = AdapterContext(state_dir=tmp_path, kv=MemoryKV())
    base = {"host": "127.0.0.1", "nick": "mentorbot"}
    for bad in ({"channels": ["nochan"]}, {"channels": ["#a,#b"]}, {"nick": "bad nick"}, {"prefix": ""},
                {"reconnect_min_delay": 5, "reconnect_max_delay": 1}, {"rate": 0}, {"unknown": 1},
                {"realname": "x\r\nQUIT"}):
        with pytest.raises(ValueError):
            create({**base, **bad}, context)
    monkeypatch.delenv("MENTORBOT_IRC_PASSWORD", raising=False)
    with pytest.raises(ValueError, match="MENTORBOT_IRC_PASSWORD"):
        create({**base, "sasl_account": "mentorbot"}, context)
    monkeypatch.setenv("MENTORBOT_IRC_PASSWORD", "s3cret")
    adapter = create({**base, "sasl_account": "mentorbot", "tls": True}, context)
    assert adapter.settings.effective_port == 6697 and adapter.settings.burst == 5
    caps = adapter.capabilities
    assert (caps.direct_messages, caps.ephemeral_replies, caps.channel_lines) == (True, False, 4)
    assert "s3cret" not in repr(adapter.settings)


class _Transport:
    """A server connection whose reads can be paused, as asyncio's transports are."""

    def __init__(self) -> None:
        self.reading = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_closing(self) -> bool:
        return False


async def test_an_engine_that_falls_behind_slows_reading_from_the_server_and_loses_nothing(monkeypatch, tmp_path) -> None:
    """Issue 24: the inbound queue is bounded by pausing the reads, never by dropping."""
    monkeypatch.setattr("adapters.irc.inbound.INBOUND_QUEUE", 4)
    adapter = create({"host": "127.0.0.1", "nick": "mentorbot"}, AdapterContext(state_dir=tmp_path, kv=MemoryKV()))
    transport = _Transport()
    adapter._link = type("FakeLink", (), {"conn": type("FakeConn", (), {"transport": transport})()})()  # type: ignore[assignment]
    gate, handled = asyncio.Event(), []

    async def slow_engine(event: Any) -> None:
        await gate.wait()
        handled.append(event.text)

    adapter._sink = slow_engine
    said = [TextReceived(Identity("irc", None, "vic"), Where("irc", None), f"!help {n}") for n in range(40)]
    for event in said[:5]:
        adapter._emit(event)
    assert not transport.reading  # past the high-water mark the bot stops reading
    for event in said[5:]:  # what the library had read already still comes in
        adapter._emit(event)
    dispatcher = asyncio.create_task(adapter._dispatch())
    try:
        gate.set()
        await wait_until(lambda: len(handled) == 40, what="every event handed to the engine")
        assert handled == [e.text for e in said]  # none dropped, in the order said
        assert transport.reading  # reading resumed once the engine caught up
    finally:
        dispatcher.cancel()
        await asyncio.gather(dispatcher, *adapter._tasks, return_exceptions=True)


# =========================================================================== against the server


async def test_bot_logs_in_with_sasl_and_joins_its_channels(bots, clients, channel, accounts) -> None:
    watcher = await clients(name("w"))
    await watcher.join(channel)
    mark = watcher.mark()
    bot, _ = await bots([channel])
    join = await watcher.wait_for(lambda l: l.command == "JOIN" and l.nick == bot.nick, since=mark)
    assert join.params[:2] == (channel, accounts["bot"].name)  # extended-join: the bot is logged in
    assert bot.connected and bot.nick == bot.settings.nick and bot.joined_channels == [channel]


async def test_channel_commands_carry_the_services_account_or_none(bots, clients, channel, accounts) -> None:
    bot, rec = await bots([channel])
    ann = await clients(name("ann"), account=accounts["ann"])
    bob = await clients(name("bob"))
    await ann.join(channel)
    await bob.join(channel)
    ann.say(channel, "!help me")
    bob.say(channel, "!help")
    got = await rec.wait_for(rec.texts("!help me"))
    assert got.who == Identity("irc", accounts["ann"].name, ann.nick)
    assert got.where == Where("irc", channel) and got.prefix == "!" and got.event_id  # msgid tag
    anon = await rec.wait_for(rec.texts("!help"))
    assert anon.who == Identity("irc", None, bob.nick)
    # ann was announced as reachable when she joined, before she spoke; bob never
    seen = [e for e in rec.events if isinstance(e, Seen)]
    assert seen[0].who == Identity("irc", accounts["ann"].name, ann.nick)
    assert rec.events.index(seen[0]) < rec.events.index(got)
    assert not any(e.who.display == bob.nick for e in seen)


async def test_private_messages_arrive_as_direct(bots, clients, accounts) -> None:
    bot, rec = await bots([])
    ann = await clients(name("ann"), account=accounts["ann"])
    ann.say(bot.nick, "!signup mentee")
    got = await rec.wait_for(rec.texts("!signup mentee"))
    assert got.where == Where("irc", None) and got.where.is_direct
    assert got.who == Identity("irc", accounts["ann"].name, ann.nick)


async def test_someone_taking_a_departed_users_nick_is_anonymous(bots, clients, channel, accounts) -> None:
    bot, rec = await bots([channel])
    nick = name("ann")
    ann = await clients(nick, account=accounts["ann"])
    await ann.join(channel)
    ann.say(channel, "it is me")
    assert (await rec.wait_for(rec.texts("it is me"))).who.account == accounts["ann"].name
    await ann.quit()
    await wait_until(lambda: nick not in bot.roster, timeout=5, what="the bot sees ann quit")
    gone = await bot.send(DirectMessage(Identity("irc", accounts["ann"].name, nick), "are you there?"))
    assert gone.status == "offline"
    mallory = await clients(nick)  # same nick, no account
    await mallory.join(channel)
    mallory.say(channel, "it is me, honest")
    impostor = await rec.wait_for(rec.texts("it is me, honest"))
    assert impostor.who == Identity("irc", None, nick)
    # and a DM for ann does not go to the impostor
    mark = mallory.mark()
    delivery = await bot.send(DirectMessage(Identity("irc", accounts["ann"].name, nick), "for ann only"))
    assert delivery == Delivery("offline", delivery.detail)
    mallory.say(channel, "sync")
    await rec.wait_for(rec.texts("sync"))
    assert not [l for l in mallory.lines[mark:] if l.command == "PRIVMSG" and l.nick == bot.nick]


async def test_a_nick_change_keeps_the_person(bots, clients, channel, accounts) -> None:
    bot, rec = await bots([channel])
    ann = await clients(name("ann"), account=accounts["ann"])
    await ann.join(channel)
    old = ann.nick
    await ann.change_nick(name("annie"))
    ann.say(channel, "!whoami")
    got = await rec.wait_for(rec.texts("!whoami"))
    assert got.who == Identity("irc", accounts["ann"].name, ann.nick)
    mark = ann.mark()
    # the engine still knows her by the old nick: the DM follows the account to the new one
    assert (await bot.send(DirectMessage(Identity("irc", accounts["ann"].name, old), "found you"))).ok
    (dm,) = await ann.privmsgs_from(bot.nick, 1, since=mark)
    assert dm.params == (ann.nick, "found you")


async def ann_bob_and_a_watcher(clients, channel: str, accounts: dict[str, Account]) -> tuple[Client, Client, Client]:
    """In ``channel``: ann (logged in), bob (no account) and a watcher who only listens."""
    people = (await clients(name("ann"), account=accounts["ann"]), await clients(name("bob")),
              await clients(name("w")))
    for client in people:
        await client.join(channel)
    return people


async def test_replies_reach_the_channel_and_dms_reach_the_right_nick(bots, clients, channel, accounts) -> None:
    bot, rec = await bots([channel])
    ann, bob, watcher = await ann_bob_and_a_watcher(clients, channel, accounts)
    mark = watcher.mark()
    ann_id = Identity("irc", accounts["ann"].name, "stale-nick")
    assert (await bot.send(Reply(Where("irc", channel), "you are signed up", mention=ann_id))).ok
    assert (await bot.send(Announce(Where("irc", channel), "office hours are open"))).ok
    lines = await watcher.privmsgs_from(bot.nick, 2, target=channel, since=mark)
    assert [l.text for l in lines] == [f"{ann.nick}: you are signed up", "office hours are open"]

    ann_mark, bob_mark = ann.mark(), bob.mark()
    dm = DirectMessage(ann_id, "time to check in", buttons=(Button("Check in", "!checkin"), Button("Skip", "!skip")))
    assert (await bot.send(dm)).ok
    assert (await bot.send(Reply(Where("irc", None), "help is on its way", to=Identity("irc", None, bob.nick)))).ok
    got = await ann.privmsgs_from(bot.nick, 2, target=ann.nick, since=ann_mark)
    assert [l.text for l in got] == ["time to check in", "\u200b(reply: !checkin, !skip)"]
    (to_bob,) = await bob.privmsgs_from(bot.nick, 1, target=bob.nick, since=bob_mark)
    assert to_bob.text == "help is on its way"
    # nothing private leaked into the channel
    assert len(await watcher.privmsgs_from(bot.nick, 2, since=mark)) == 2
    assert all(l.params[0] == channel for l in watcher.lines[mark:] if l.command == "PRIVMSG")


async def test_a_channel_reply_is_addressed_to_the_asker_never_to_a_nick_taker(bots, clients, channel, accounts) -> None:
    bot, rec = await bots([channel])
    ann, bob, watcher = await ann_bob_and_a_watcher(clients, channel, accounts)
    ann.say(channel, "!q")
    asked = await rec.wait_for(rec.texts("!q"))
    old_nick = ann.nick
    await ann.change_nick(name("annie"))
    await wait_until(lambda: bot.roster.get(ann.nick) is not None, what="the bot sees the nick change")
    mark = watcher.mark()
    here = Where("irc", channel)
    # the engine answers with to=the asker as she asked (her old nick): the account finds her
    assert (await bot.send(Reply(here, "2 waiting", to=asked.who))).ok
    assert (await bot.send(Reply(here, "!oh open needs an account", to=Identity("irc", None, bob.nick)))).ok
    await ann.quit()
    await wait_until(lambda: bot.roster.get(ann.nick) is None, what="the bot sees ann quit")
    taker = await clients(old_nick)  # not logged in: her old nick must not be pinged for her
    await taker.join(channel)
    await wait_until(lambda: bot.roster.get(old_nick) is not None, what="the bot sees the taker")
    assert (await bot.send(Reply(here, "your turn", to=asked.who))).ok
    lines = await watcher.privmsgs_from(bot.nick, 3, target=channel, since=mark)
    assert [l.text for l in lines] == [f"{ann.nick}: 2 waiting", f"{bob.nick}: !oh open needs an account", "your turn"]


async def test_dm_reaches_a_logged_in_user_who_shares_no_channel(bots, clients, accounts) -> None:
    bot, _ = await bots([])
    dora = await clients(name("dora"), account=accounts["dora"])
    mark = dora.mark()
    assert (await bot.send(DirectMessage(Identity("irc", accounts["dora"].name, dora.nick), "hello dora"))).ok
    (got,) = await dora.privmsgs_from(bot.nick, 1, since=mark)
    assert got.text == "hello dora"


async def test_dm_to_a_logged_out_account_is_offline(bots, clients, channel, accounts) -> None:
    bot, rec = await bots([channel])
    never = await bot.send(DirectMessage(Identity("irc", accounts["cat"].name, "cat"), "anyone?"))
    assert never.status == "offline"
    ben = await clients(name("ben"), account=accounts["ben"])
    await ben.join(channel)
    await rec.wait_for(lambda e: isinstance(e, Seen) and e.who.display == ben.nick)
    mark = ben.mark()
    ben.say("NickServ", "LOGOUT")
    await ben.wait_for(lambda l: l.command == "901" or (l.command == "ACCOUNT" and l.text == "*"), since=mark)
    ben.say(channel, "logged out now")
    assert (await rec.wait_for(rec.texts("logged out now"))).who.account is None
    gone = await bot.send(DirectMessage(Identity("irc", accounts["ben"].name, ben.nick), "still there?"))
    assert gone.status == "offline"


async def test_seen_on_login_lets_a_waiting_dm_through(bots, clients, channel, accounts) -> None:
    bot, rec = await bots([channel])
    ben_id = Identity("irc", accounts["ben"].name, "ben")
    deliveries: list[Delivery] = []

    async def engine(event: Inbound) -> None:  # what the engine does: retry on Seen
        if isinstance(event, Seen) and event.who.account == ben_id.account:
            deliveries.append(await bot.send(DirectMessage(event.who, "your match is waiting")))

    rec.react = engine
    ben = await clients(name("ben"))
    await ben.join(channel)
    assert (await bot.send(DirectMessage(ben_id, "your match is waiting"))).status == "offline"
    mark = ben.mark()
    await ben.identify(accounts["ben"].name, accounts["ben"].password)
    seen = await rec.wait_for(lambda e: isinstance(e, Seen) and e.who.account == ben_id.account)
    assert seen.who.display == ben.nick
    (dm,) = await ben.privmsgs_from(bot.nick, 1, target=ben.nick, since=mark)
    assert dm.text == "your match is waiting" and deliveries == [Delivery("sent")]


async def test_seen_for_someone_outside_the_channels_comes_from_monitor(bots, clients, accounts) -> None:
    bot, rec = await bots([])
    eve_nick = name("eve")
    eve_id = Identity("irc", accounts["eve"].name, eve_nick)
    assert (await bot.send(DirectMessage(eve_id, "welcome back"))).status == "offline"
    eve = await clients(eve_nick, account=accounts["eve"])
    seen = await rec.wait_for(lambda e: isinstance(e, Seen) and e.who.account == eve_id.account)
    assert seen.who == eve_id
    mark = eve.mark()
    assert (await bot.send(DirectMessage(seen.who, "welcome back"))).ok
    await eve.privmsgs_from(bot.nick, 1, since=mark)


async def test_what_arrives_at_a_client_is_safe(bots, clients, channel) -> None:
    bot, _ = await bots([channel])
    watcher = await clients(name("w"))
    await watcher.join(channel)
    mark = watcher.mark()
    long_word = "é" * 400  # 800 bytes, no space to split at
    prose = " ".join(["word"] * 150)
    nasty = (f"first\r\nsecond\x00 half\x01ACTION waves\x01\n!op me\n/quit\n\x02bold\x02 \x0304,12red\x03\n"
             f"{long_word}\n{prose}\nEND")
    assert (await bot.send(Reply(Where("irc", channel), nasty))).ok
    await watcher.wait_for(lambda l: privmsg_to(channel)(l) and l.text == "END", since=mark)
    got = [l for l in watcher.lines[mark:] if privmsg_to(channel)(l) and l.nick == bot.nick]
    for line in got:
        assert_safe(line)
    assert max(len(untagged(line)) for line in got) >= 505  # the bot learnt its real nick!user@host, not the conservative guess
    texts = [l.text for l in got]
    assert texts[:5] == ["first", "second halfACTION waves", "\u200b!op me", "\u200b/quit", "bold red"]
    assert "".join(t for t in texts if t.startswith("é")) == long_word and len([t for t in texts if "é" in t]) >= 2
    assert " ".join(t for t in texts if t.startswith("word")) == prose
    assert texts[-1] == "END"


async def test_pacing_spreads_a_burst_keeps_each_target_in_order_and_lets_a_new_message_start(bots, clients, channel) -> None:
    burst, rate = 2, 10.0
    other = "#" + name("mb")
    bot, _ = await bots([channel, other], burst=burst, rate=rate)
    watcher = await clients(name("w"))
    await watcher.join(channel)
    await watcher.join(other)
    mark = watcher.mark()
    first = "\n".join(f"a{i:02}" for i in range(6))
    second = "\n".join(f"b{i:02}" for i in range(6))
    began = time.monotonic()
    sending = asyncio.create_task(bot.send(Reply(Where("irc", channel), first)))
    await watcher.privmsgs_from(bot.nick, 3, target=channel, since=mark)  # the long answer is under way
    results = [await bot.send(Reply(Where("irc", other), second)), await sending]
    a_lines = [l.text for l in await watcher.privmsgs_from(bot.nick, 6, target=channel, since=mark)]
    b_lines = [l.text for l in await watcher.privmsgs_from(bot.nick, 6, target=other, since=mark)]
    elapsed = time.monotonic() - began
    assert all(r.ok for r in results)
    assert a_lines == [f"a{i:02}" for i in range(6)] and b_lines == [f"b{i:02}" for i in range(6)]
    both = [l.text for l in watcher.lines[mark:] if l.command == "PRIVMSG" and l.nick == bot.nick]
    assert both.index("b00") < both.index("a05")  # a new message started beside the long one, not after it
    assert elapsed >= (12 - burst) / rate  # the bucket cannot do it faster


async def test_stop_quits_and_cancels_every_task(bots, clients, channel) -> None:
    watcher = await clients(name("w"))
    await watcher.join(channel)
    before = asyncio.all_tasks()
    bot, _ = await bots([channel], ping_interval=0.2)
    mark = watcher.mark()
    nick = bot.nick
    await bot.stop()
    await watcher.wait_for(lambda l: l.command == "QUIT" and l.nick == nick, since=mark)
    leftover = asyncio.all_tasks() - before - {asyncio.current_task()}
    assert not leftover, leftover
    assert (await bot.send(Announce(Where("irc", channel), "anyone?"))).status == "failed"
    await bot.stop()  # idempotent


async def test_wrong_sasl_password_fails_start(accounts, monkeypatch, tmp_path, irc_server) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    adapter = create({"host": "127.0.0.1", "port": PORT, "nick": name("mbot"), "sasl_account": accounts["bot"].name,
                      "password_env": PASSWORD_ENV}, AdapterContext(state_dir=tmp_path, kv=MemoryKV()))
    with pytest.raises(IrcLoginError, match="SASL"):
        await adapter.start(Recorder(), [])
    assert not adapter.connected


# --------------------------------------------------------------------------- faults


async def test_nick_collision_picks_another_and_regains_it(bots, clients, channel) -> None:
    wanted = name("mbot")
    squatter = await clients(wanted)
    watcher = await clients(name("w"))
    await watcher.join(channel)
    bot, _ = await bots([channel], nick=wanted)
    assert bot.nick == wanted + "_"
    mark = watcher.mark()
    await squatter.quit()
    await wait_until(lambda: bot.nick == wanted, timeout=5, what="the bot regains its nick")
    change = await watcher.wait_for(lambda l: l.command == "NICK" and l.nick == wanted + "_", since=mark)
    assert change.text == wanted


async def test_reconnects_and_rejoins_after_a_server_restart(bots, clients, channel, accounts) -> None:
    bot, rec = await bots([channel])
    await asyncio.to_thread(server, "stop")
    try:
        await wait_until(lambda: not bot.connected, timeout=5, what="the bot notices the server went away")
        began = time.monotonic()
        assert (await bot.send(DirectMessage(Identity("irc", "x", "x"), "hi"))).status == "failed"
        assert time.monotonic() - began < 0.5
    finally:
        await asyncio.to_thread(server)
    await wait_until(lambda: bot.registrations >= 2 and bot.joined_channels == [channel], timeout=15,
                     what="reconnect and rejoin")
    ann = await clients(name("ann"), account=accounts["ann"])
    await ann.join(channel)
    ann.say(channel, "!back")
    assert (await rec.wait_for(rec.texts("!back"))).who.account == accounts["ann"].name


class FreezableProxy:
    """A TCP (optionally TLS-terminating) proxy to the IRC server that can go silent.

    ``freeze()`` makes existing connections a black hole toward the bot (nothing forwarded,
    nothing closed on the bot's side) and closes them toward the server, as a dead NAT would.
    """

    def __init__(self, ssl_context=None):
        self.ssl_context = ssl_context
        self.pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self.frozen: set[asyncio.StreamWriter] = set()
        self.connections = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ssl_context)
        return self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", PORT)
        self.pairs.append((writer, up_writer))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, bot_side: asyncio.StreamWriter):
            while data := await src.read(65536):
                if bot_side in self.frozen:
                    continue
                dst.write(data)
            if bot_side not in self.frozen:
                dst.close()

        await asyncio.gather(pump(reader, up_writer, writer), pump(up_reader, writer, writer),
                             return_exceptions=True)

    def freeze(self) -> None:
        for bot_side, server_side in self.pairs:
            self.frozen.add(bot_side)
            server_side.close()

    async def close(self) -> None:
        for bot_side, server_side in self.pairs:
            bot_side.close()
            server_side.close()
        self.server.close()


async def test_a_dead_link_is_detected_by_ping_and_replaced(bots, clients, channel) -> None:
    proxy = FreezableProxy()
    port = await proxy.start()
    try:
        bot, _ = await bots([channel], port=port, ping_interval=0.3, ping_timeout=0.4)
        nick = bot.nick
        proxy.freeze()  # the bot's socket stays open and silent: only the PING keepalive can tell
        await wait_until(lambda: not bot.connected, timeout=5, what="the dead link is noticed")
        await wait_until(lambda: bot.registrations == 2 and bot.joined_channels == [channel], timeout=5,
                         what="a new connection")
        assert proxy.connections == 2 and bot.nick == nick
    finally:
        await proxy.close()


async def test_tls_connection(bots, channel, tmp_path) -> None:
    import ssl

    import trustme  # a throwaway CA in pure Python: no openssl binary needed on the machine

    ca = trustme.CA()
    cert = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    proxy = FreezableProxy(context)
    port = await proxy.start()
    try:
        bot, _ = await bots([channel], port=port, tls=True, tls_ca_file=str(cert))
        assert bot.connected and bot.joined_channels == [channel]
    finally:
        await proxy.close()
