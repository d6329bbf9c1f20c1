"""A community's own command prefix (``[bot] prefix``) in every text: a command inside a text is
a field (``{prefix}``, ``{command}`` from ``ctx.command(...)``), never a hard-coded ``!``."""

from __future__ import annotations

import re

from adapters.discord.commands import describe
from chatbot.config import embedded_default
from tests.harness import Bot
from tests.unit.test_i18n_coverage import _texts
from tests.features.test_i18n_languages import script

#: a command written into a text ("!signup"), not an exclamation ("Thank you!")
HARD_CODED = re.compile(r"(?<![\w{}])![a-z]")


def test_no_text_hard_codes_the_prefix():
    found = sorted(t for t in _texts() if HARD_CODED.search(t))
    assert not found, f"texts that write '!' where the community's prefix belongs: {found}"


async def test_a_community_with_its_own_prefix_reads_it_in_cancels_and_help(tmp_path):
    raw = embedded_default().model_dump()
    raw["bot"]["prefix"] = "?"
    bot = await Bot.start(tmp_path, raw)
    try:
        said = await bot.play("""
you: ?round open "2027 Q1" 2027-01-01 2027-03-31
alice: ?signup mentee
alice: ?cancel
alice: ?help goal step done
alice: ?help session edit
alice: ?help match confirm
alice: ?frobnicate
""")
    finally:
        await bot.stop()
    text = "\n".join(s.text for s in said)
    assert "Start again any time with ?signup." in text
    assert "(by its number in ?goal)" in text
    assert not HARD_CODED.search(text), text


def test_discord_describes_a_command_in_a_help_text_as_its_users_type_it():
    assert describe("mark a milestone done (by its number in {prefix}goal)", "x") == \
        "mark a milestone done (by its number in /goal)"


async def test_a_whole_programme_with_another_prefix_never_shows_a_bang(tmp_path):
    """The conversations of ``test_i18n_languages`` (sign-ups, a match, check-ins, sessions, an
    office hour, an assessment), typed with ``?``: no answer names a command with ``!``."""
    raw = embedded_default().model_dump()
    raw["bot"]["prefix"] = "?"
    raw["channels"] = [{"platform": "console", "channel": "#oh", "language": "en"}]
    bot = await Bot.start(tmp_path, raw)
    try:
        said = await bot.play(re.sub(r"(?m)^(\w+( #\w+)?): !", r"\1: ?", script("en")))
    finally:
        await bot.stop()
    text = "\n".join(s.text for s in said)
    assert len(said) > 20 and "?checkin" in text, text
    assert not HARD_CODED.search(text), [line for line in text.splitlines() if HARD_CODED.search(line)]
