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


@pytest.mark.parametrize("name,example", EXAMPLES, ids=[f"{n}:{e.line}" for n, e in EXAMPLES])
async def test_example(tmp_path, name, example):
    bot = await Bot.start(tmp_path)
    try:
        for line in example.setup:
            await bot.play(line if re.match(r"^[\w.@-]+( #\S+)?: ", line) else f"you: {line}")
        line = example.line if re.match(r"^[\w.@-]+( #\S+)?: ", example.line) else f"you: {example.line}"
        said = await bot.play(line)
        output = "\n".join(s.text for s in said)
        assert re.search(example.expect, output), f"{example.line!r} answered {output!r}"
    finally:
        await bot.stop()
