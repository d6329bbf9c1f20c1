"""The README's tour is a real conversation: every line a newcomer copies is accepted, and the bot
answers exactly what the README shows."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def tour() -> list[tuple[str, str, list[str]]]:
    """(who, what they type, the messages the README shows in answer) for each typed line."""
    block = re.search(r"## A short tour\n\n```\n(.*?)```", README.read_text(), re.S)
    assert block, "the tour is missing from README.md"
    steps: list[tuple[str, str, list[str]]] = []
    for line in block.group(1).splitlines():
        typed = re.match(r"(\w+)> (.*)$", line)
        if typed:
            text = re.sub(r"\s{2,}#.*$", "", typed.group(2))  # "!link   # a comment" types "!link"
            steps.append((typed.group(1), text, []))
        elif line.startswith("[dm "):
            steps[-1][2].append(line.split("] ", 1)[1])
        elif line.startswith("  "):
            steps[-1][2][-1] += "\n" + line[2:]
    return steps


async def test_the_readme_tour_shows_the_whole_sign_up_and_every_answer_is_accepted(bot):
    """Issue 22: the tour showed only the first question, and a newcomer guessing the focus
    answer got "'Weekday evenings' is not one of the role focuses" three times."""
    me = "you"
    steps = tour()
    assert any("(6/6)" in "".join(shown) for _, _, shown in steps), "the tour stops before the sign-up ends"
    for who, text, shown in steps:
        if text.startswith("/as "):
            me = text.split()[1]
            continue
        out = await bot.say(me, text)
        assert not any("is not" in t for t in out), (text, out)
        if shown:
            assert out == shown, (text, out)
