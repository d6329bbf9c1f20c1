"""Office hours in French: a channel's texts in the channel's language, DMs in the reader's.

A small French catalog goes into a temporary ``[bot] locale_dir``; #oh is configured French and
#en English. The same command answers in French in #oh and in English in #en, while a host
who reads French gets their DMs in French from both.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from sqlmodel import Session, select

from chatbot.config import embedded_default
from storage.tables import Member
from tests.harness import Bot

OH, EN = "#oh", "#en"
TUESDAY = datetime(2027, 1, 5, 14, 0, tzinfo=timezone.utc)  # 15:00 in Berlin; office hours at 16:00

#: msgid -> French; a tuple for the plural forms (French has three: one, many, other)
FRENCH: dict[Any, Any] = {
    "I'll DM you once, when office hours next open here.": "Je vous écrirai une fois, à la prochaine ouverture ici.",
    "Next: {when}.": "Prochaine : {when}.",
    "Office hours here start at {time} ({zone}), in {wait}, with {hosts}.":
        "La permanence commence ici à {time} ({zone}), dans {wait}, avec {hosts}.",
    "{prefix}q notify gets you a DM when they open.": "{prefix}q notify vous prévient en privé à l'ouverture.",
    "Office hours are open with {hosts}.": "La permanence est ouverte avec {hosts}.",
    "{prefix}q join [TOPIC] gets you in line.": "{prefix}q join [SUJET] vous met dans la file.",
    "Office hours are open in {where} now, with {hosts}: {prefix}q join there gets you in line.":
        "La permanence est ouverte dans {where}, avec {hosts} : {prefix}q join là-bas vous met dans la file.",
    "You're #{position} in line: a host will call you any moment now.":
        "Vous êtes n°{position} dans la file : un hôte vous appelle d'un instant à l'autre.",
    "about {minutes} min": "environ {minutes} min",
    ("You're #{position} in line, {wait} ({n} host on duty).", "You're #{position} in line, {wait} ({n} hosts on duty)."): (
        "Vous êtes n°{position} dans la file, {wait} ({n} hôte de permanence).",
        "Vous êtes n°{position} dans la file, {wait} ({n} hôtes de permanence).",
        "Vous êtes n°{position} dans la file, {wait} ({n} hôtes de permanence).",
    ),
    "{nick} joined the line in {where} (#{position}). {prefix}next there takes the first.":
        "{nick} a rejoint la file dans {where} (n°{position}). {prefix}next là-bas appelle la première personne.",
}


def write_catalog(locale_dir: Path) -> None:
    catalog = Catalog(locale="fr", domain="mentorbot")
    for msgid, text in FRENCH.items():
        catalog.add(msgid, text)
    target = locale_dir / "fr" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "mentorbot.po").open("wb") as f:
        write_po(f, catalog)


async def start(tmp_path: Path) -> Bot:
    write_catalog(tmp_path / "locale")
    raw = embedded_default().model_dump()
    raw["bot"] = {**raw["bot"], "language": "en", "locale_dir": str(tmp_path / "locale")}
    raw["channels"] = [
        {"platform": "console", "channel": OH, "language": "fr"},
        {"platform": "console", "channel": EN, "language": "en"},
    ]
    raw["office_hours"] = {**raw["office_hours"], "schedule": [{
        "channel": f"console:{OH}", "days": "tue", "time": "16:00", "timezone": "Europe/Berlin",
        "duration_minutes": 60, "hosts": ["bob"],
    }]}
    return await Bot.start(tmp_path, config=raw)


def speaks(bot: Bot, handle: str, language: str) -> None:
    """What ``!profile set language`` records (not part of this branch yet)."""
    with Session(bot.app.database) as s:
        member = s.exec(select(Member).where(Member.handle == handle)).one()
        member.language = language
        s.add(member)
        s.commit()


async def test_office_hours_speak_the_channels_language_and_dm_in_the_readers(tmp_path):
    bot = await start(tmp_path)
    try:
        for name in ("bob", "alice", "dave"):
            await bot.say(name, "!whoami")
        assert await bot.say("you", "!role grant bob host") == ["bob is now host."]
        speaks(bot, "bob", "fr")
        speaks(bot, "alice", "fr")

        # An answer in #oh, with a date as French writes it.
        assert await bot.say("alice", "!q notify", channel=OH) == [
            "alice: Je vous écrirai une fois, à la prochaine ouverture ici. Prochaine : mar. 5 janv. 16:00 (Europe/Berlin)."
        ]
        # The scheduled announcement has no asker: it is in the channel's language.
        bot.clock.set(TUESDAY)
        await bot.advance("45m")
        assert bot.channel(OH)[-1] == (
            "La permanence commence ici à 16:00 (Europe/Berlin), dans 15 min, avec bob. "
            "!q notify vous prévient en privé à l'ouverture."
        )
        await bot.say("bob", "!oh open", channel=OH)
        assert bot.channel(OH)[-1] == "La permanence est ouverte avec bob. !q join [SUJET] vous met dans la file."
        assert bot.dm("alice")[-1] == "La permanence est ouverte dans #oh, avec bob : !q join là-bas vous met dans la file."

        assert await bot.say("alice", "!q join", channel=OH) == [
            "alice: Vous êtes n°1 dans la file : un hôte vous appelle d'un instant à l'autre.",
            "alice a rejoint la file dans #oh (n°1). !next là-bas appelle la première personne.",
        ]
        # dave chose no language: in #oh he still reads French, with the singular "1 hôte".
        out = await bot.say("dave", "!q join", channel=OH)
        assert out[0] == "dave: Vous êtes n°2 dans la file, environ 10 min (1 hôte de permanence)."

        # The same commands in the English channel answer in English; bob's DM stays French.
        await bot.say("bob", "!oh open", channel=EN)
        assert bot.channel(EN)[-1] == "Office hours are open with bob. !q join [TOPIC] gets you in line."
        assert await bot.say("alice", "!q join", channel=EN) == [
            "alice: You're #1 in line: a host will call you any moment now.",
            "alice a rejoint la file dans #en (n°1). !next là-bas appelle la première personne.",
        ]
        out = await bot.say("dave", "!q join", channel=EN)
        assert out[0] == "dave: You're #2 in line, about 10 min (1 host on duty)."
    finally:
        await bot.stop()


async def test_a_plural_form_in_french(tmp_path):
    """Two hosts on duty: French's "other" form ("2 hôtes"), where English says "2 hosts"."""
    bot = await start(tmp_path)
    try:
        for name in ("bob", "carol"):
            await bot.say(name, "!whoami")
            assert await bot.say("you", f"!role grant {name} host") == [f"{name} is now host."]
        await bot.say("bob", "!oh open", channel=OH)
        await bot.say("carol", "!oh duty on", channel=OH)
        for who in ("alice", "dave"):
            await bot.say(who, "!q join", channel=OH)
        out = await bot.say("erin", "!q join", channel=OH)
        assert out[0] == "erin: Vous êtes n°3 dans la file, environ 10 min (2 hôtes de permanence)."
    finally:
        await bot.stop()


async def test_a_scheduled_topic_is_announced_as_the_config_words_it_in_the_channels_language(tmp_path):
    raw = embedded_default().model_dump()
    raw["channels"] = [{"platform": "console", "channel": OH, "language": "fr"},
                       {"platform": "console", "channel": EN, "language": "en"}]
    raw["office_hours"] = {**raw["office_hours"], "schedule": [
        {"channel": f"console:{where}", "days": "tue", "time": "16:00", "timezone": "Europe/Berlin", "hosts": ["bob"],
         "topic": "Gerrit and your first patch", "topic_translations": {"fr": "Gerrit et votre premier patch"}}
        for where in (OH, EN)]}
    bot = await Bot.start(tmp_path, config=raw)
    try:
        await bot.say("bob", "!whoami")
        await bot.say("you", "!role grant bob host")
        bot.clock.set(TUESDAY)
        await bot.advance("45m")
        assert "Gerrit et votre premier patch" in bot.channel(OH)[-1]
        assert "Gerrit and your first patch" in bot.channel(EN)[-1]
        await bot.say("bob", "!oh open", channel=OH)  # opened by hand: the schedule's topic, in French
        assert "Gerrit et votre premier patch" in bot.channel(OH)[-1]
    finally:
        await bot.stop()
