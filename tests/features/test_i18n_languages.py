"""The same conversations in every shipped language: a sign-up, a check-in, sessions, an office
hour and an assessment, played with the catalogs that ship (not a test catalog), for a mentee
who reads that language and a channel that speaks it.

"No English slips through" is checked against the code's own texts: every stretch of three or
more words of an English text (between its ``{fields}``) is looked for in what the mentee and the
channel were sent. Names, commands and the programme's own data (skill titles, the goal she typed)
are fields, so they may appear; a sentence the layer forgot would not.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path

import pytest
from babel.dates import format_skeleton
from babel.messages.extract import extract_from_dir

from chatbot.config import embedded_default
from chatbot.i18n import Languages
from tests.harness import Bot

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [code for code in Languages().codes if code != "en"]
#: what "2 sessions" reads in each shipped language
TWO_SESSIONS = {"fr": "2 séances", "es": "2 sesiones", "pt": "2 sessões"}


#: the code's texts and the dashboard's pages
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]


@lru_cache(maxsize=1)
def english_stretches() -> frozenset[str]:
    """Runs of 3+ words from the code's English texts, fields and command words left out."""
    found: set[str] = set()
    for package in ("chatbot", "adapters"):
        for _f, _l, message, _c, _x in extract_from_dir(str(ROOT / package), METHODS):
            for text in message if isinstance(message, tuple) else (message,):
                for chunk in re.split(r"\{\w+\}|\n|[()\[\]:;.!?\"'«»,]", text):
                    words = [w for w in chunk.split() if re.fullmatch(r"[A-Za-z][a-z]+", w)]
                    if len(words) >= 3 and len(words) == len(chunk.split()):
                        found.add(" ".join(words))
    return frozenset(found)


@lru_cache(maxsize=1)
def english_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each stretch and its whole-words pattern, compiled once: there are more stretches than
    ``re`` keeps compiled, so searching by text compiled every pattern again for every text."""
    return tuple((s, re.compile(rf"(?<![\w-]){re.escape(s)}(?![\w-])")) for s in sorted(english_stretches()))


def english_in(text: str) -> list[str]:
    flat = " ".join(re.sub(r"[()\[\]:;.!?\"'«»,]", " ", text).split())
    return sorted(s for s, pattern in english_patterns() if s in flat and pattern.search(flat))


def script(code: str) -> str:
    return f"""
@time 2027-01-03 12:00 Europe/Paris
you: !round open "2027 Q1" 2027-01-01 2027-03-31
zoe: !profile set language {code}
zoe: !signup mentee
zoe: Europe/Paris
zoe: {code}, en
zoe: 3
zoe: programming
zoe: testing
zoe: Contribuer au cœur
bob: !signup mentor
bob: America/New_York
bob: en
bob: 3
bob: all
bob: testing
bob: 3
you: !match assign zoe bob
you: !role grant bob host
zoe: !checkin schedule
@time 2027-01-04 10:00 Europe/Paris
zoe: 1. tests 2. revue 3. none 4. 4
bob: !session log zoe 45m tests
bob: !session log zoe 1h revue
zoe: !session list
zoe: !goal
bob #oh: !oh open
zoe #oh: !q join rebase
bob #oh: !next
bob #oh: !done
bob #oh: !oh close
zoe: !assess
zoe: 1
zoe: 2
zoe: stop
zoe: !frobnicate
"""


@pytest.mark.parametrize("code", SHIPPED)
async def test_a_mentee_and_a_channel_hear_only_their_language(tmp_path, code):
    raw = embedded_default().model_dump()
    raw["channels"] = [{"platform": "console", "channel": "#oh", "language": code}]
    bot = await Bot.start(tmp_path, raw)
    try:
        said = await bot.play(script(code))
    finally:
        await bot.stop()
    heard = [s.text for s in said if s.target in ("dm zoe", "#oh")]
    assert len(heard) > 15, heard
    slipped = {text[:80]: english_in(text) for text in heard if english_in(text)}
    assert not slipped, f"English in {code}: {slipped}"
    everything = "\n".join(heard)
    # the plural form of her language, and dates as her language writes them
    assert TWO_SESSIONS[code] in everything
    assert format_skeleton("MMMEd", date(2027, 1, 4), locale=code) in everything
    # the office hour in the channel: opened, her call, closed, all in the channel's language
    in_channel = [s.text for s in said if s.target == "#oh"]
    assert len(in_channel) >= 5 and not any("!oh open" in t or "!next" in t for t in in_channel), in_channel


def test_the_english_check_finds_an_untranslated_sentence():
    """The check itself: an English sentence of the code is found, a translated one is not."""
    assert english_in("Merci ! Which timezone are you in? (Europe/Paris)") == ["Which timezone are you in"]
    assert not english_in("Dans quel fuseau horaire êtes-vous ? (Europe/Paris)")
