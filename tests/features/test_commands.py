"""The one parser for `!name args`, and a fuzz of every command's argument parsing."""

from __future__ import annotations

import asyncio
from datetime import date, time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.commands import (
    Arg,
    CommandRegistry,
    CommandSpec,
    Example,
    UsageError,
    parse_duration,
    parse_time,
    parse_timezone,
    tokenize,
)
from chatbot.features import all_features
from chatbot.events import Identity, TextReceived, Where
from tests.harness import Bot


async def _noop(ctx, **kw):  # noqa: ANN001, ANN003
    return None


def registry() -> CommandRegistry:
    reg = CommandRegistry()
    for f in all_features():
        reg.add(f.commands)
    return reg


def test_quotes_group_words_and_apostrophes_are_letters():
    assert [t.text for t in tokenize('open "2027 Q1" it\'s  fine')] == ["open", "2027 Q1", "it's", "fine"]
    assert [t.text for t in tokenize("“smart quotes” too")] == ["smart quotes", "too"]
    with pytest.raises(UsageError, match="a quote is not closed"):
        tokenize('open "2027 Q1')


def test_longest_path_wins_and_case_is_ignored():
    parsed = registry().parse('!ROUND Open "2027 Q1" 2027-01-01 2027-03-31')
    assert parsed is not None and parsed.spec.name == "round open"
    assert parsed.args == {"name": "2027 Q1", "start": date(2027, 1, 1), "end": date(2027, 3, 31), "options": []}


def test_rest_argument_keeps_the_text_verbatim():
    parsed = registry().parse("!profile set goal Ship   it, \"properly\" ok")
    assert parsed is not None and parsed.args["value"] == 'Ship   it, "properly" ok'


def test_too_many_and_missing_arguments_are_usage_errors():
    with pytest.raises(UsageError, match="too many arguments: 'extra'"):
        registry().parse("!mentor open extra")
    with pytest.raises(UsageError, match="start is missing"):
        registry().parse("!round open Q1")


def test_not_a_command():
    assert registry().parse("hello") is None
    assert registry().parse("!") is None
    assert registry().parse("!?") is None


@pytest.mark.parametrize(
    "text,minutes", [("45m", 45), ("1h30m", 90), ("2h", 120), ("90", 90), ("1h", 60), ("10min", 10)]
)
def test_durations(text, minutes):
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["0m", "-5m", "", "h", "1.5h", "25h", "abc", "0"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_times_and_timezones():
    assert parse_time("9:05") == time(9, 5)
    for bad in ("24:00", "12:60", "noon", "9"):
        with pytest.raises(ValueError):
            parse_time(bad)
    assert parse_timezone("europe/berlin") == "Europe/Berlin"
    with pytest.raises(ValueError, match="did you mean Europe/Berlin"):
        parse_timezone("Europe/Berln")
    for bad in ("../../etc/passwd", "", "Mars/Olympus", "/UTC"):
        with pytest.raises(ValueError):
            parse_timezone(bad)


def test_specs_are_validated_when_declared():
    with pytest.raises(ValueError, match="roles must be chosen"):
        CommandSpec(("x",), "x", roles=("wizard",), handler=_noop)
    with pytest.raises(ValueError, match="roles must be chosen"):
        CommandSpec(("x",), "x", roles=(), handler=_noop)  # default deny: a role is required
    with pytest.raises(ValueError, match="required argument after an optional"):
        CommandSpec(("x",), "x", roles=("member",), handler=_noop, args=(Arg("a", required=False), Arg("b")))
    with pytest.raises(ValueError, match="declared twice"):
        reg = registry()
        reg.add([CommandSpec(("help",), "again", roles=("anyone",), handler=_noop, examples=(Example("!help", ""),))])


COMMAND_WORDS = sorted({w for s in registry() for w in s.path})
fuzz_text = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda words, tail: "!" + " ".join(words) + " " + tail,
        st.lists(st.sampled_from(COMMAND_WORDS), min_size=1, max_size=3),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
    ),
)


@pytest.fixture(scope="module")
def fuzz_bot(tmp_path_factory):
    """One bot on one loop of its own for every example (hypothesis drives a sync test)."""
    loop = asyncio.new_event_loop()
    bot = loop.run_until_complete(Bot.start(tmp_path_factory.mktemp("fuzz")))
    yield loop, bot
    loop.run_until_complete(bot.stop())
    loop.close()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=fuzz_text, channel=st.sampled_from([None, "#general"]))
def test_any_text_gets_a_reply_or_silence_never_a_crash(fuzz_bot, text, channel):
    """Any text: a reply, a usage message or (channel chatter) silence; never a bug reply."""
    loop, bot = fuzz_bot
    out = loop.run_until_complete(bot.say("fuzzer", text, channel=channel))
    assert not any("something went wrong" in o for o in out), (text, out)
    if channel is None and text.strip():
        assert out, f"no answer to {text!r}"
