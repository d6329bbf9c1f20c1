"""People who leave while in an office-hours line: the rule, as whole conversations (issue 16).

The platform's side (an IRC PART, QUIT or KICK, a NICK) is played here as the events the
adapters send (``Left``, ``Returned``, ``Renamed``); tests/e2e/test_e2e_irc_leavers.py plays the
same through InspIRCd.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chatbot.context import Feature
from chatbot.events import Identity, Left, Renamed, Returned, TextReceived, Where
from storage.office_hours import OhEntry
from tests.harness import Bot
from tests.features.test_office_hours import OH, anonymous, custom, join, open_with, rows, say  # noqa: F401 - custom is a fixture


def person(name: str, account: str | None = "") -> Identity:
    """A console person as the console adapter names them (account = name)."""
    return Identity("console", name if account == "" else account, name)


async def leaves(bot: Bot, name: str, how: str = "part", channel: str | None = OH, **kw: Any) -> list[Any]:
    return await bot.handle(Left(person(name, **kw), Where("console", channel), how)) or []


async def returns(bot: Bot, name: str, channel: str | None = OH, **kw: Any) -> None:
    await bot.handle(Returned(person(name, **kw), Where("console", channel)))


def outcomes(bot: Bot) -> dict[str, str | None]:
    return {e.nick: e.outcome for e in rows(bot, OhEntry)}


async def test_a_leaver_keeps_their_place_while_away_and_is_called_when_back(bot):
    await open_with(bot, "bob")
    await join(bot, "ana", "ben")
    before = len(bot.said)
    await leaves(bot, "ana")
    assert bot.said[before:] == []  # leaving says nothing to anybody
    await bot.advance("3m")
    out = await say(bot, "bob", "!next")
    assert out[0] == (
        "bob: ana left the channel 3 minutes ago and keeps their place for now; calling ben. "
        "You're with ben (waited 3 min; no topic given). Nobody else is waiting."
    )
    assert out[1] == "ben: bob is ready for you now."
    await returns(bot, "ana")
    assert await say(bot, "carol", "!q") == ["carol: 1 waiting, 1 host: 1 ana ~10m."]  # same place, first
    await bot.advance("9m")  # past the grace since she left, but she is back: nothing happens
    out = await say(bot, "bob", "!next")
    assert out[0].startswith("bob: Done with ben (9 min). You're with ana (waited 12 min")
    await say(bot, "bob", "!done")
    await say(bot, "bob", "!oh close")
    assert bot.channel(OH)[-1] == "Office hours are closed. 2 helped (median wait 8 min). Thanks, everyone!"


async def test_after_the_grace_a_leaver_is_out_and_the_next_call_says_so_in_one_line(bot):
    await open_with(bot, "bob")
    await join(bot, "ana", "ben", "cat")
    await leaves(bot, "ana", "quit", channel=None)  # a QUIT: every channel on the platform
    await bot.advance("10m")  # the grace (10 minutes by default) is over: the job takes her out
    assert bot.dm("ana")[-1] == (
        "You left #oh more than 10 minutes ago, so your place in line there has gone. "
        "!q join there gets you back in, at the end."
    )
    assert bot.dm("cat")[-1].startswith("You're second in line in #oh")  # moved up, and told
    assert await say(bot, "dave", "!q") == ["dave: 2 waiting, 1 host: 1 ben now, 2 cat ~10m."]
    await bot.advance("2m")
    out = await say(bot, "bob", "!next")
    assert out[0] == (
        "bob: ana left the channel 12 minutes ago; calling ben. "
        "You're with ben (waited 12 min; no topic given). 1 still waiting."
    )
    out = await say(bot, "bob", "!next")  # said once: the next call is a plain one
    assert out[0].startswith("bob: Done with ben (under a minute). You're with cat")
    await returns(bot, "ana")  # too late: no place comes back
    await say(bot, "bob", "!oh close")
    assert bot.channel(OH)[-1] == "Office hours are closed. 2 helped (median wait 12 min), 1 left. Thanks, everyone!"
    assert outcomes(bot) == {"ana": "left", "ben": "helped", "cat": "helped"}


async def test_the_grace_is_checked_when_the_host_calls_even_before_a_tick(custom):
    bot = await custom(leave_grace_minutes=5)
    await open_with(bot, "bob")
    await join(bot, "ana", "ben")
    await leaves(bot, "ana", "kick")
    bot.clock.advance(timedelta(minutes=6))  # no tick: the clock moves and no job runs
    out = await say(bot, "bob", "!next")
    assert out[0] == "bob: ana left the channel 6 minutes ago; calling ben. You're with ben (waited 6 min; no topic given). Nobody else is waiting."
    assert outcomes(bot)["ana"] == "left"


async def test_when_everyone_waiting_is_away_nobody_is_called(bot):
    await open_with(bot, "bob")
    await join(bot, "ana")
    await leaves(bot, "ana")
    await bot.advance("1m")
    out = await say(bot, "bob", "!next")
    assert out == [
        "bob: ana left the channel 1 minute ago and keeps their place for now. "
        "Nobody is waiting. I'll DM you when someone joins."
    ]
    assert [e.status for e in rows(bot, OhEntry)] == ["waiting"]


async def test_leaving_another_channel_keeps_the_place_here(bot):
    await open_with(bot, "bob")
    await join(bot, "ana", "ben")
    await leaves(bot, "ana", channel="#elsewhere")
    await leaves(bot, "zed")  # somebody the bot never met: nothing to do
    await bot.advance("15m")
    out = await say(bot, "bob", "!next")
    assert out[0].startswith("bob: You're with ana (waited 15 min")


async def test_a_nick_change_keeps_the_place_for_an_anonymous_visitor(custom):
    bot = await custom(allow_anonymous=True)
    await open_with(bot, "bob")
    assert (await anonymous(bot, "guest42", "!q join"))[0].startswith("guest42: You're #1 in line")
    await bot.handle(Renamed(person("guest42", None), person("guest_42", None)))
    assert await anonymous(bot, "guest_42", "!q join") == ["guest_42: You're in line already: #1, any moment now."]
    out = await say(bot, "bob", "!next")
    assert out[1] == "guest_42: bob is ready for you now."


async def test_a_nick_change_that_changes_the_account_moves_the_place(bot):
    """IRC hostmask mode: the account is nick!user@host, so a NICK brings a new account."""
    await open_with(bot, "bob")
    await join(bot, "ana")  # console account "ana"
    await bot.handle(Renamed(person("ana"), person("anna", "anna!a@host")))
    assert await anonymous_as(bot, person("anna", "anna!a@host"), "!q leave") == ["anna: You've left the line. Come back any time."]


async def anonymous_as(bot: Bot, who: Identity, text: str) -> list[str]:
    """``who`` (any identity) says ``text`` in #oh."""
    before = len(bot.said)
    await bot.handle(TextReceived(who=who, where=Where("console", OH), text=text))
    return [s.text for s in bot.said[before:]]


async def test_someone_called_who_leaves_is_not_counted_as_helped(bot):
    await open_with(bot, "bob")
    await join(bot, "ana")
    await say(bot, "bob", "!next")
    await leaves(bot, "ana", "quit", channel=None)
    await bot.advance("2m")
    assert (await say(bot, "bob", "!done"))[0] == "bob: Done with ana after 2 min. Nobody is waiting."
    await say(bot, "bob", "!oh close")
    assert bot.channel(OH)[-1] == "Office hours are closed. 0 helped, 1 left. Thanks, everyone!"


async def test_leavers_past_the_grace_at_closing_count_as_left_not_closed(bot):
    await open_with(bot, "bob")
    await join(bot, "ana", "ben")
    await leaves(bot, "ana")
    bot.clock.advance(timedelta(minutes=11))  # no tick
    await say(bot, "bob", "!oh close")
    assert bot.channel(OH)[-1] == "Office hours are closed. 0 helped, 1 left. Still waiting: ben; sorry! !q notify gets you a DM when they open again."


def test_every_text_of_the_rule_goes_through_the_translation_layer():
    from tests.unit.test_i18n_coverage import ROOT, _spoken_literals

    assert _spoken_literals(ROOT / "chatbot" / "features" / "office_hours" / "leavers.py") == []


async def test_someone_away_who_speaks_to_the_queue_is_back(bot):
    """The bot may miss a return (it was reconnecting): asking the queue anything says you're here."""
    await open_with(bot, "bob")
    await join(bot, "ana", "ben")
    await leaves(bot, "ana")
    await bot.advance("5m")
    assert await say(bot, "ana", "!q join") == ["ana: You're in line already: #1, any moment now."]
    await bot.advance("6m")  # past the grace since she left: she is back, so nothing expires
    assert (await say(bot, "bob", "!next"))[0].startswith("bob: You're with ana (waited 11 min")


async def test_a_feature_failing_on_a_leave_rolls_back_alone(tmp_path):
    """Another feature's bug costs nobody their place, and the engine goes on."""

    def broken(ctx: Any, event: Any) -> None:
        raise RuntimeError("a bug in another feature")

    bot = await Bot.start(tmp_path, extra_features=(Feature(name="broken", on_presence=broken),))
    try:
        await open_with(bot, "bob")
        await join(bot, "ana", "ben")
        await leaves(bot, "ana")
        assert rows(bot, OhEntry)[0].left_at is not None
        assert (await say(bot, "bob", "!next"))[0].startswith("bob: ana left the channel 1 minute ago")
    finally:
        await bot.stop()
