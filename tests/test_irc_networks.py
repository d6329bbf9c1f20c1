"""IRC as networks really are (issue 16): lines the server cuts, long replies, identity modes.

Against the real servers of ``../shared/servers/irc-server.sh``: InspIRCd + Atheme (services)
and ircd-hybrid (no services, ``IRC_SERVER=hybrid``). People are raw-socket clients.
"""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings, strategies as st

from adapters.irc import text as irc_text
from chatbot.events import TextReceived
from tests.irc_fixtures import channel, clients, irc_server, name  # noqa: F401 - fixtures by name
from tests.test_irc_adapter import accounts, bots  # noqa: F401 - fixtures by name

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
