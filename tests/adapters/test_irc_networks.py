"""IRC as networks really are (issue 16): lines the server cuts, long replies, identity modes.

Against the real servers of ``../shared/servers/irc-server.sh``: InspIRCd + Atheme (services)
and ircd-hybrid (no services, ``IRC_SERVER=hybrid``). People are raw-socket clients.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings, strategies as st

from adapters.base import AdapterContext, AdapterState
from adapters.irc import IrcSettings, create
from adapters.irc import text as irc_text
from chatbot.events import TextReceived
from tests.irc_fixtures import PORT
from tests.servers import MemoryKV
from tests.irc_fixtures import channel, clients, irc_server, name  # noqa: F401 - fixtures by name
from tests.adapters.test_irc_adapter import accounts, bots  # noqa: F401 - fixtures by name

EMOJI = "\U0001F600"


def no_controls(text: str) -> bool:
    return not any(unicodedata.category(c) == "Cc" for c in text)


# --------------------------------------------------------------------------- text hygiene inbound


def test_a_line_cut_inside_a_character_loses_that_character_only() -> None:
    data = ("topic: caf\u00e9 " + EMOJI * 3).encode()
    assert irc_text.decode_line(data[:-2]) == "topic: caf\u00e9 " + EMOJI * 2
    assert irc_text.decode_line(b"caf\xe9 ok") == "caf\ufffd ok"  # a Latin-1 byte: replaced, the rest kept
    assert irc_text.clean_inbound("a\x85b\x9bc\x07d") == "abcd"  # C1 controls (NEL, CSI) too


async def test_a_line_the_server_cuts_mid_character_arrives_as_valid_text(bots, clients, channel) -> None:
    """InspIRCd relays at most 512 bytes: a 115-emoji topic ends inside an emoji on the way."""
    bot, seen = await bots([channel])
    ann, ben = await clients(name("ann"), caps=()), await clients(name("ben"), caps=())
    await ann.join(channel)
    await ben.join(channel)
    mark = ben.mark()
    ann.say(channel, "x")  # how long the server's prefix to ann's lines is, as relayed
    probe = await ben.wait_for(lambda l: l.command == "PRIVMSG", since=mark)
    room = irc_text.MAX_LINE - (len(probe.raw) - len(b"x\r\n")) - 2
    head = "!q join "
    pad = "a" * ((room - len(head) - 2) % 4)  # the 512th byte falls two bytes into an emoji
    sent = head + pad + EMOJI * 125
    mark = ben.mark()
    ann.say(channel, sent)
    relayed = await ben.wait_for(lambda l: l.command == "PRIVMSG" and l.text.startswith(head), since=mark)
    assert len(relayed.raw) == irc_text.MAX_LINE and relayed.raw.endswith(b"\xf0\x9f\r\n")  # cut mid-emoji
    event = await seen.wait_for(lambda e: isinstance(e, TextReceived) and e.text.startswith(head))
    assert no_controls(event.text) and "\ufffd" not in event.text
    assert event.text == head + pad + EMOJI * ((room - len(head) - len(pad)) // 4)  # only the cut one dropped


# --------------------------------------------------------------------------- splitting

USAGES = ("!q join [TOPIC]", "!help COMMAND", "!oh open [HOSTS...]", "!checkin", "!goal add <text>")
words = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=12)
names = st.from_regex(r"[A-Za-z][A-Za-z0-9_\-\[\]\\^{}|]{0,15}", fullmatch=True)
pieces = st.lists(st.one_of(words, names, st.sampled_from(USAGES)), min_size=1, max_size=80)


@settings(max_examples=300, deadline=None)
@given(pieces, st.integers(min_value=20, max_value=450))
def test_split_parts_fit_the_budget_and_keep_usages_and_names_whole(parts: list[str], budget: int) -> None:
    body = " ".join(parts)
    lines = irc_text.render_lines(body, budget)
    assert all(irc_text.utf8_len(line) <= budget for line in lines)
    bare = [line.removeprefix(irc_text.GUARD) for line in lines]
    tokens = [token for line in bare for token in line.split(" ")]
    for part in parts:
        if irc_text.utf8_len(part) + irc_text.utf8_len(irc_text.GUARD) <= budget:
            if part in USAGES:
                assert any(part in line for line in bare), (part, bare)
            elif " " not in part:
                assert part in tokens, (part, bare)  # a word or a name is never cut


def test_a_long_help_line_breaks_before_a_usage_not_inside_it() -> None:
    body = "You are not in line here. " + "Waiting is fine " * 3 + "and !q join [TOPIC] gets you in."
    lines = irc_text.render_lines(body, 80)
    assert any("!q join [TOPIC]" in line for line in lines), lines
    assert all(irc_text.utf8_len(line) <= 80 for line in lines)


# --------------------------------------------------------------------------- identity modes and connection state


def test_identity_and_role_masks_are_validated_and_backoff_is_capped_at_30_s() -> None:
    base = {"host": "127.0.0.1", "nick": "mentorbot"}
    assert IrcSettings.model_validate(base).identity == "services"
    assert IrcSettings.model_validate(base).reconnect_max_delay <= 30
    for bad in ({"identity": "nick"}, {"reconnect_max_delay": 300},
                {"identity": "hostmask", "role_masks": {"wizard": ["*!*@*"]}},
                {"identity": "hostmask", "role_masks": {"admin": ["ann"]}},
                {"role_masks": {"admin": ["*!*@staff.example.org"]}}):  # masks need hostmask mode
        with pytest.raises(ValueError):
            IrcSettings.model_validate({**base, **bad})
    assert irc_text.mask_matches("*!*@Staff.example.org", "Ann[1]!~ann@staff.EXAMPLE.org")
    assert irc_text.mask_matches("ann?1]!*@*", "ann[1]!u@h")
    assert not irc_text.mask_matches("*!*@staff.example.org", "ann!u@evil-staff.example.org.evil")


async def test_connected_is_reported_only_once_the_channels_are_joined(irc_server, tmp_path, channel) -> None:
    other = "#" + name("mb")
    adapter = create({"host": "127.0.0.1", "port": PORT, "nick": name("mbot"), "channels": [channel, other],
                      "identity": "hostmask", "connect_timeout": 5},
                     AdapterContext(state_dir=tmp_path, kv=MemoryKV()))
    reports: list[tuple[AdapterState, list[str]]] = []
    adapter.bind_reporter(lambda state: reports.append((state, sorted(adapter.joined_channels))))
    await adapter.start(lambda event: _nothing(), [])
    try:
        assert reports[0] == (AdapterState("connected"), sorted([channel, other]))
        assert adapter.registrations == 1
    finally:
        await adapter.stop()


async def _nothing() -> None:
    return None
