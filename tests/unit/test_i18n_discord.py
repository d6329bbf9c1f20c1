"""Discord's slash commands are described in each user's language from the shipped catalogs, for
every command the bot declares: a new command's description is localised as soon as its text is
in the catalogs (which ``test_i18n_coverage`` requires), with no list to keep up to date."""

from __future__ import annotations

import discord
import pytest
from discord import app_commands

from adapters.discord.commands import CatalogTranslator, described
from chatbot.features import all_features
from chatbot.i18n import Languages

LOCATION = app_commands.TranslationContextLocation
#: Discord's locales for the shipped catalogs
LOCALES = {"fr": discord.Locale.french, "es": discord.Locale.spain_spanish, "pt": discord.Locale.brazil_portuguese}
SPECS = [spec for feature in all_features() for spec in feature.commands]


def described_texts() -> list[tuple[str, str, app_commands.TranslationContextLocation]]:
    """(what, English text, where Discord shows it) for every command's and option's description."""
    out = []
    for spec in SPECS:
        out.append((f"/{spec.name}", spec.help, LOCATION.command_description))
        out += [(f"/{spec.name} {a.name}", a.help, LOCATION.parameter_description) for a in spec.args if a.help]
    return out


@pytest.mark.parametrize("code", sorted(LOCALES))
async def test_every_command_and_option_is_described_in_each_shipped_language(code):
    languages = Languages()
    translator = CatalogTranslator(languages.translation)
    untranslated = []
    for what, text, location in described_texts():
        shown = await translator.translate(described(text, what), LOCALES[code], app_commands.TranslationContext(location, None))
        if not shown or shown == described(text, what).message:
            untranslated.append(what)
        elif "{prefix}" in shown:
            untranslated.append(f"{what} (a raw field)")
    assert len(described_texts()) > 60
    assert not untranslated, f"descriptions Discord would show in English to {code} users: {untranslated}"


async def test_a_command_in_a_description_is_written_as_discord_users_type_it():
    translator = CatalogTranslator(Languages().translation)
    goal = next(s for s in SPECS if s.path == ("goal", "step", "done"))
    shown = await translator.translate(described(goal.help, "x"), discord.Locale.french,
                                       app_commands.TranslationContext(LOCATION.command_description, None))
    assert shown is not None and "/goal" in shown and "!goal" not in shown
