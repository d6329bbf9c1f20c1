"""The translation layer: who hears which language, catalogs a community adds without code,
plural rules and dates by the language's own conventions."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from sqlmodel import Session

from chatbot.config import ConfigError, embedded_default, from_dict
from chatbot.i18n import Languages
from storage.repos import Repos
from tests.harness import Bot

#: French for a few of the core's own texts (a community's catalog, as a translator writes it)
FRENCH = {
    "Unknown command {prefix}{name}. Try {prefix}help.": "Commande inconnue : {prefix}{name}. Essayez {prefix}help.",
    "{command} is for {needed} (you have: no role yet).": "{command} est réservé à : {needed} (vous n'avez encore aucun rôle).",
    "'{text}' is not a whole number": "« {text} » n'est pas un nombre entier",
    "{error} — usage: {usage}": "{error} — utilisation : {usage}",
}


def write_catalog(root: Path, code: str, messages: dict[str, str], plurals: dict[tuple[str, str], tuple[str, ...]] = {}) -> Path:
    catalog = Catalog(locale=code, domain="mentorbot")
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    for ids, strs in plurals.items():
        catalog.add(ids, strs)
    target = root / code / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with (target / "mentorbot.po").open("wb") as f:
        write_po(f, catalog)
    return root


def config(locale_dir: Path, **extra: object) -> dict:
    raw = embedded_default().model_dump()
    raw["bot"] = {**raw["bot"], "locale_dir": str(locale_dir)}
    raw.update(extra)
    return raw


def set_language(bot: Bot, handle: str, code: str | None) -> None:
    with Session(bot.engine.database) as db:
        member = Repos(db).members.by_handle(handle)
        assert member is not None
        member.language = code
        db.add(member)
        db.commit()


async def test_a_member_who_chose_french_is_answered_in_french_in_private(tmp_path):
    locales = write_catalog(tmp_path / "locales", "fr", FRENCH)
    bot = await Bot.start(tmp_path, config(locales))
    try:
        await bot.say("zoe", "!help")  # first contact makes zoe known
        set_language(bot, "zoe", "fr")
        assert await bot.say("zoe", "!frobnicate") == ["Commande inconnue : !frobnicate. Essayez !help."]
        # someone who chose nothing hears the bot's language
        assert await bot.say("yann", "!frobnicate") == ["Unknown command !frobnicate. Try !help."]
    finally:
        await bot.stop()


async def test_a_channel_speaks_its_own_language_whoever_asks(tmp_path):
    locales = write_catalog(tmp_path / "locales", "fr", FRENCH)
    channels = [{"platform": "console", "channel": "#accueil", "language": "fr"}]
    bot = await Bot.start(tmp_path, config(locales, channels=channels))
    try:
        await bot.say("zoe", "!help")
        set_language(bot, "zoe", "fr")
        # a French speaker in an English channel is answered in English, for everyone there
        assert await bot.say("zoe", "!frobnicate", channel="#general") == ["zoe: Unknown command !frobnicate. Try !help."]
        # an English speaker in the French channel is answered in French
        assert await bot.say("yann", "!frobnicate", channel="#accueil") == ["yann: Commande inconnue : !frobnicate. Essayez !help."]
    finally:
        await bot.stop()


async def test_refusals_and_usage_errors_are_translated_with_their_parts(tmp_path):
    locales = write_catalog(tmp_path / "locales", "fr", FRENCH)
    bot = await Bot.start(tmp_path, config(locales))
    try:
        await bot.say("zoe", "!help")
        set_language(bot, "zoe", "fr")
        refused = await bot.say("zoe", "!role list admin")
        assert refused == ["!role list est réservé à : coordinator (vous n'avez encore aucun rôle)."]
        # a converter's refusal inside the usage answer: both parts in French, the usage as typed
        (answer,) = await bot.say("zoe", "!session edit deux topic x")
        assert answer.startswith("id: « deux » n'est pas un nombre entier — utilisation : !session edit ID")
    finally:
        await bot.stop()


def test_plural_forms_follow_each_languages_rules(tmp_path):
    # French has three forms in CLDR: one (0 and 1), many (whole millions), other
    forms = {("{n} session", "{n} sessions"): ("{n} séance", "{n} de séances", "{n} séances")}
    languages = Languages("en", write_catalog(tmp_path, "fr", {}, forms))
    en, fr = languages.get("en"), languages.get("fr")
    assert [en.ngettext("{n} session", "{n} sessions", n) for n in (0, 1, 2)] == ["0 sessions", "1 session", "2 sessions"]
    # French counts zero as singular, and writes thousands with a narrow no-break space
    assert [fr.ngettext("{n} session", "{n} sessions", n) for n in (0, 1, 2)] == ["0 séance", "1 séance", "2 séances"]
    assert fr.ngettext("{n} session", "{n} sessions", 1200) == "1\u202f200 séances"
    assert fr.ngettext("{n} session", "{n} sessions", 2_000_000) == "2\u202f000\u202f000 de séances"


def test_dates_and_times_read_as_each_language_writes_them():
    languages = Languages()
    en = languages.get("en")
    assert en.short_date(date(2027, 1, 4)) == "Mon 4 Jan"
    assert en.time(time(14, 30)) == "14:30"
    assert en.join(["ana", "ben", "chidi"]) == "ana, ben and chidi"


def test_a_translation_with_broken_fields_falls_back_to_english(tmp_path):
    languages = Languages("en", write_catalog(tmp_path, "fr", {"Hello {name}": "Bonjour {name"}))
    assert languages.get("fr")._("Hello {name}", name="zoe") == "Hello zoe"
    # a misspelt field shows as itself instead of losing the message
    languages = Languages("en", write_catalog(tmp_path / "b", "fr", {"Hello {name}": "Bonjour {nom}"}))
    assert languages.get("fr")._("Hello {name}", name="zoe") == "Bonjour {nom}"


def test_the_config_refuses_a_language_it_has_no_catalog_for(tmp_path):
    with pytest.raises(ConfigError, match="bot.language: no catalog for 'sw'"):
        from_dict({"bot": {"language": "sw"}})
    locales = write_catalog(tmp_path, "sw", {"Stopped.": "Imesimamishwa."})  # a community adds Swahili
    settings = from_dict({"bot": {"language": "sw", "locale_dir": str(locales)}})
    assert settings.bot.language == "sw"
    with pytest.raises(ConfigError, match="'xx-nope' is not a language code"):
        from_dict({"checkins": {"questions": [{"id": "done", "text": "What?", "translations": {"xx-nope": "?"}}]}})


def test_programme_texts_in_the_config_can_be_given_per_language(tmp_path):
    locales = write_catalog(tmp_path, "fr", {})
    settings = from_dict({
        "bot": {"locale_dir": str(locales)},
        "checkins": {"questions": [{"id": "done", "text": "What did you ship?", "translations": {"fr": "Qu'avez-vous livré ?"}}]},
        "programme": {"track_names": {"fr": {"programming": "programmation"}}},
    })
    languages = Languages("en", locales)
    question = settings.checkins.questions[0]
    assert question.text_in(languages.get("fr")) == "Qu'avez-vous livré ?"
    assert question.text_in(languages.get("en")) == "What did you ship?"
    assert settings.programme.track_name("programming", languages.get("fr")) == "programmation"
    assert settings.programme.track_name("documentation", languages.get("fr")) == "documentation"


def test_a_community_catalog_overrides_some_texts_of_a_shipped_language_and_keeps_the_rest(tmp_path):
    shipped = Languages().get("fr")
    ours = Languages("en", write_catalog(tmp_path, "fr", {"Stopped.": "On arrête là."})).get("fr")
    assert ours._("Stopped.") == "On arrête là."
    nothing = "There is nothing to cancel."
    assert ours._(nothing) == shipped._(nothing) != nothing  # as shipped, in French
