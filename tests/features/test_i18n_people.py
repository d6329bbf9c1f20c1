"""Sign-up, profile, rounds, goals, away and privacy through the translation layer: a member who
reads French gets French answers (plural forms, language names, dates), the people told about
it read their own language, and a channel configured in English answers in English."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from sqlmodel import Session, select

from chatbot.config import embedded_default
from storage.tables import Member
from tests.harness import Bot

#: a handful of this feature set's texts, translated as a community's catalog would have them
#: (French has three plural forms in Babel's CLDR data: one, many (millions) and other)
FRENCH: dict[str | tuple[str, str], str | tuple[str, ...]] = {
    "Round {name} ({start} → {end}), {state}: {mentees}, {mentors} signed up, {withdrawn} withdrawn.": (
        "Le cycle {name} ({start} → {end}), {state} : {mentees} et {mentors} inscrits, {withdrawn} retrait(s)."
    ),
    ("{n} mentee", "{n} mentees"): ("{n} mentoré", "{n} de mentorés", "{n} mentorés"),
    ("{n} mentor", "{n} mentors"): ("{n} mentor", "{n} de mentors", "{n} mentors"),
    "Your goal for {round}: {goal}": "Votre objectif pour {round} : {goal}",
    ("Status: open; {done} of {n} step done", "Status: open; {done} of {n} steps done"): (
        "Statut : ouvert ; {done} étape faite sur {n}",
        "Statut : ouvert ; {done} étapes faites sur {n}",
        "Statut : ouvert ; {done} étapes faites sur {n}",
    ),
    "{handle}: timezone {timezone}; languages {languages}; focus {focus}": (
        "{handle} : fuseau horaire {timezone} ; langues {languages} ; domaine {focus}"
    ),
    "You are away until {date} (inclusive, {zone}): no prompts, matching or office-hour duty. {back} ends it early.": (
        "Vous êtes absent jusqu'au {date} inclus ({zone}) : ni rappels, ni appariement, ni permanence. "
        "{back} y met fin plus tôt."
    ),
    "Told: {people}.": "Prévenus : {people}.",
    "Saved. {profile}": "Enregistré. {profile}",
    "I write to you in {language}.": "Je vous écris en {language}.",
    "I'll write to you in {language} from now on; {command} changes it.": (
        "Je vous écrirai désormais en {language} ; {command} permet d'en changer."
    ),
    "the open round and how many have signed up": "le cycle ouvert et le nombre d'inscrits",
    "e.g. {example}": "p. ex. {example}",
    "Unknown command {prefix}{name}. Try {prefix}help.": "Commande inconnue : {prefix}{name}. Essayez {prefix}help.",
    "Your mentee {name} is away until {until}. You'll hear when they are back.": (
        "Votre mentoré {name} est absent jusqu'au {until}. Vous serez prévenu de son retour."
    ),
    "{date} is in the past (today is {today} in {zone})": "le {date} est passé (nous sommes le {today} à {zone})",
    "Done: everything stored about {handle} is erased. If you write again you start as a new member.": (
        "C'est fait : tout ce qui concernait {handle} est effacé. Si vous écrivez à nouveau, vous repartez de zéro."
    ),
    "{handle} has left the programme.": (
        "{handle} a quitté le programme."
    ),
}


def write_catalog(root: Path) -> Path:
    catalog = Catalog(locale="fr", domain="mentorbot")
    for msgid, msgstr in FRENCH.items():
        catalog.add(msgid, msgstr)
    target = root / "fr" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "mentorbot.po").open("wb") as f:
        write_po(f, catalog)
    return root


async def start(tmp_path: Path) -> Bot:
    raw = embedded_default().model_dump()
    raw["bot"] = {**raw["bot"], "locale_dir": str(write_catalog(tmp_path / "locale"))}
    raw["channels"] = [{"platform": "console", "channel": "#general", "language": "en"}]
    raw["programme"] = {**raw["programme"], "track_names": {"fr": {"programming": "programmation"}}}
    return await Bot.start(tmp_path, raw)


def speaks(bot: Bot, handle: str, code: str) -> None:
    with Session(bot.app.database) as s:
        member = s.exec(select(Member).where(Member.handle == handle)).one()
        member.language = code
        s.add(member)
        s.commit()


async def test_a_french_reader_gets_french_answers_and_an_english_channel_english_ones(tmp_path):
    bot = await start(tmp_path)
    try:
        await bot.pair("alice", "bob")  # alice is bob's mentee; bob reads English (no language chosen)
        speaks(bot, "alice", "fr")

        assert (await bot.say("alice", "!round status")) == [
            "Le cycle 2027 Q1 (ven. 1 janv. 2027 → mer. 31 mars 2027), en cours, inscriptions jusqu'au mer. 31 mars 2027 : "
            "1 mentoré et 1 mentor inscrits, 0 retrait(s)."
        ]
        assert (await bot.say("alice", "!round status", channel="#general")) == [
            "alice: Round 2027 Q1 (Fri, 1 Jan 2027 → Wed, 31 Mar 2027), running, taking sign-ups until Wed, 31 Mar 2027: "
            "1 mentee, 1 mentor signed up, 0 withdrawn."
        ]
        # help texts are declared in English (N_) and translated where !help shows them
        assert (await bot.say("alice", "!help round status")) == [
            "!round status [ROUND…] — l'état d'un cycle et le nombre d'inscrits (ceux du prochain cycle aussi)\n  p. ex. !round status"
        ]
        assert (await bot.say("alice", "!help frobnicate")) == ["Commande inconnue : !frobnicate. Essayez !help."]
        # language names come from Babel in the reader's language: "en" is "anglais"
        assert (await bot.say("alice", "!profile"))[0].splitlines()[0] == (
            "alice : fuseau horaire Europe/Berlin ; langues anglais ; domaine Generalist"
        )

        # a track as the config names it in French, in the profile and as an answer
        assert "programmation" in (await bot.say("alice", "!profile"))[0].splitlines()[1]
        assert (await bot.say("alice", "!profile set tracks documentation"))[0].startswith("Enregistré.")
        assert (await bot.say("alice", "!profile set tracks programmation"))[0].startswith("Enregistré.")
        assert (await bot.say("you", "!profile alice"))[0].splitlines()[1].startswith("mentee in 2027 Q1; track programming;")

        # the plural form follows French rules: 0 and 1 take the singular, 2 the plural
        await bot.say("alice", "!goal step add Set up a local wiki")
        goal = (await bot.say("alice", "!goal"))[0].splitlines()
        assert goal[:2] == ["Votre objectif pour 2027 Q1 : Land my first patch in core", "Statut : ouvert ; 0 étape faite sur 1"]
        await bot.say("alice", "!goal step add Pick a good first bug")
        await bot.say("alice", "!goal step done 1")
        await bot.say("alice", "!goal step done 2")
        assert (await bot.say("alice", "!goal"))[0].splitlines()[1] == "Statut : ouvert ; 2 étapes faites sur 2"

        # an answer to alice in French, with its date; the news to bob in bob's language
        assert (await bot.say("alice", "!away until 2027-01-15"))[0] == (
            "Vous êtes absent jusqu'au 2027-01-15 inclus (Europe/Berlin) : ni rappels, ni appariement, ni permanence. "
            "!back y met fin plus tôt. Prévenus : bob."
        )
        assert bot.dm("bob")[-1] == "Your mentee alice is away until 2027-01-15. You'll hear when they are back."
        assert (await bot.say("alice", "!away until 2026-12-31"))[0].startswith(
            "le 2026-12-31 est passé (nous sommes le 2027-01-04 à Europe/Berlin)"
        )
    finally:
        await bot.stop()


async def test_people_told_of_an_erasure_read_their_language_and_the_asker_still_reads_theirs(tmp_path):
    """After the erase there is no member left to ask the language of: the answer keeps the
    asker's, and bob, who reads French, is told in French."""
    bot = await start(tmp_path)
    try:
        await bot.pair("alice", "bob")
        speaks(bot, "alice", "fr")
        speaks(bot, "bob", "fr")
        asked = (await bot.say("alice", "!mydata delete"))[0]
        code = re.search(r"!mydata delete ([A-Z2-9]{6})", asked)
        assert code is not None, asked
        assert (await bot.say("alice", f"!mydata delete {code.group(1)}"))[0] == (
            "C'est fait : tout ce qui concernait alice est effacé. Si vous écrivez à nouveau, vous repartez de zéro."
        )
        assert bot.dm("bob")[-1] == "alice a quitté le programme."
    finally:
        await bot.stop()


async def test_a_member_picks_their_language_and_a_sign_up_offers_the_first_of_theirs_the_bot_speaks(tmp_path):
    bot = await start(tmp_path)
    try:
        await bot.say("you", '!round open "2027 Q1" 2027-01-01 2027-03-31')
        assert (await bot.say("bob", "!profile set language Swahili")) == [
            "I can't write in Swahili yet; I write in English, Spanish (español), French (français), Portuguese (português)."
        ]
        # a French reader reads the languages' French names, with each one's own name beside it
        await bot.say("erin", "!profile set language fr")
        assert (await bot.say("erin", "!profile set language Deutsch")) == [
            "Je ne sais pas encore écrire en allemand ; j'écris en anglais (English), espagnol (español), français, "
            "portugais (português)."
        ]
        saved = (await bot.say("bob", "!profile set language français"))[0].splitlines()
        assert saved[0].startswith("Enregistré. bob : fuseau horaire ?") and saved[-1] == "Je vous écris en français."
        assert (await bot.say("you", "!profile bob"))[0].splitlines()[-1] == "I write to bob in French."

        for answer in ("!signup mentee", "Europe/Paris", "fr, en", "1", "programming", "testing", "Land my first patch"):
            out = await bot.say("carol", answer)
        assert out[0].splitlines()[-1] == "Je vous écrirai désormais en français ; !profile set language permet d'en changer."
        assert (await bot.say("carol", "!round status"))[0].startswith("Le cycle 2027 Q1")
        # English first: nothing to offer, nothing set (a later change of the bot's language applies)
        for answer in ("!signup mentee", "Europe/Paris", "en, fr", "1", "programming", "testing", "Land my first patch"):
            out = await bot.say("dora", answer)
        assert out[0].splitlines()[0] == "You're signed up as a mentee for 2027 Q1. Thank you!" and len(out[0].splitlines()) == 3
    finally:
        await bot.stop()
