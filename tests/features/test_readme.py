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


def test_running_it_names_every_adapters_secret_variables_and_the_example_config_runs_no_console():
    """Issue 22, item 18: the README's run example named only the IRC variable, and
    config.example.toml (copied as a server's config, and into the image) enabled the console."""
    import tomllib

    from chatbot.app import adapter_factory

    section = re.search(r"## Running it for a community\n(.*?)\n## ", README.read_text(), re.S)
    assert section, "the README has no 'Running it for a community' section"
    for name in ("irc", "matrix", "discord"):
        model = adapter_factory(name).settings_model  # type: ignore[attr-defined]  # every adapter class declares it; the factory's type does not say so
        variables = [f.default for key, f in model.model_fields.items() if key.endswith("_env")]
        assert variables, name
        for variable in variables:
            assert f"`{variable}`" in section.group(1), f"{name}: {variable} is not named where the README says how to run"
    example = tomllib.loads((README.parent / "config.example.toml").read_text())
    assert example["adapters"]["console"]["enabled"] is False
