"""Every worked example in a command declaration is also a test (as Sopel's @example)."""

from __future__ import annotations

import re

import pytest

from chatbot.features import all_features
from tests.harness import Bot

EXAMPLES = [(spec.name, ex) for f in all_features() for spec in f.commands for ex in spec.examples]


def test_every_command_has_an_example():
    missing = [s.name for f in all_features() for s in f.commands if not s.examples]
    assert missing == []


def spoken(line: str) -> str:
    """A script line: said by ``you`` unless it names who says it."""
    return line if re.match(r"^[\w.@-]+( #\S+)?: ", line) else f"you: {line}"


async def play_setup(bot: Bot, setup: tuple[str, ...]) -> None:
    for line in setup:
        await bot.play(spoken(line))


@pytest.mark.parametrize("name,example", EXAMPLES, ids=[f"{n}:{e.line}" for n, e in EXAMPLES])
async def test_example(tmp_path, name, example):
    # Examples share a few setups (most of them a round and a pair through the interviews):
    # each is played once a process, and every example starts from a copy of where it left.
    setup = tuple(example.setup)
    bot = await Bot.prepared(tmp_path, ("example setup", setup), lambda b: play_setup(b, setup))
    try:
        said = await bot.play(spoken(example.line))
        output = "\n".join(s.text for s in said)
        assert re.search(example.expect, output), f"{example.line!r} answered {output!r}"
    finally:
        await bot.stop()
