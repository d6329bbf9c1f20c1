"""Check-ins and sessions speak each reader's language: a member who chose French gets French
answers in private (plural forms by the French rule, dates and day names as the French write
them), their mentor's copy comes in the mentor's own language, and a channel configured in
English answers the same command in English.

The catalog is a community's own: a ``.po`` file in ``[bot] locale_dir``, as the README tells a
community to add a language."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from sqlmodel import Session

from chatbot.config import embedded_default
from storage.repos import Repos
from tests.harness import Bot

SCHEDULE = "Your check-ins: {schedule} (the programme's); next {when}."
RESETS = "{change} changes it; {reset} resets it."
GIVE_ALL = "Give all {n} answers (numbered, or separated by |), or send {command} alone and I'll ask one at a time"
def plural(one: str, other: str) -> tuple[str, ...]:
    """French plural forms as Babel's CLDR data counts them: one (0 and 1), many (whole
    millions) and other; a catalog with only two forms leaves 2, 3, ... untranslated."""
    return (one, other, other)


PROMPT = (
    "Time for your check-in ({when})! Reply here with all {n} answers at once "
    "(numbered, one per line, or separated by |), or answer 1 and I'll ask the rest:"
)
FRENCH = {
    (PROMPT, PROMPT): plural(
        "C'est l'heure de votre check-in ({when}) ! Répondez ici :",
        "C'est l'heure de votre check-in ({when}) ! Répondez ici aux {n} questions d'un coup "
        "(numérotées, une par ligne, ou séparées par |), ou répondez à la 1 et je poserai les suivantes :",
    ),
    "Answers are welcome until your next check-in, {when}.": "Vos réponses sont les bienvenues jusqu'au prochain check-in, {when}.",
    SCHEDULE: "Vos check-ins : {schedule} (ceux du programme) ; le prochain : {when}.",
    RESETS: "{change} le change ; {reset} revient à celui du programme.",
    "{days} at {time} ({zone})": "{days} à {time} ({zone})",
    "Thanks, saved!": "Merci, c'est noté !",
    "Next check-in: {when}.": "Prochain check-in : {when}.",
    ("{names} will see it.", "{names} will see it."): plural("{names} le verra.", "{names} le verront."),
    (GIVE_ALL, GIVE_ALL): plural(
        "Donnez votre {n} réponse, ou envoyez {command} seul et je vous poserai les questions une à une",
        "Donnez les {n} réponses (numérotées, ou séparées par |), ou envoyez {command} seul et je vous poserai les questions une à une",
    ),
    ("{n} session, {time}", "{n} sessions, {time}"): plural("{n} séance, {time}", "{n} séances, {time}"),
}


def write_catalog(root: Path) -> Path:
    catalog = Catalog(locale="fr")  # Babel writes the French plural rule: nplurals=2; plural=(n > 1)
    for msgid, msgstr in FRENCH.items():
        catalog.add(msgid, msgstr)
    po = root / "fr" / "LC_MESSAGES" / "mentorbot.po"
    po.parent.mkdir(parents=True)
    with po.open("wb") as f:
        write_po(f, catalog)
    return root


async def french_bot(tmp_path: Path) -> Bot:
    raw = embedded_default().model_dump()
    raw["bot"] = {**raw["bot"], "locale_dir": str(write_catalog(tmp_path / "locale"))}
    raw["channels"] = [{"platform": "console", "channel": "#mentoring", "language": "en"}]
    bot = await Bot.start(tmp_path, raw)
    await bot.pair("alice", "bob")
    with Session(bot.engine.database) as db:  # what !profile set language fr records
        alice = Repos(db).members.by_handle("alice")
        assert alice is not None
        alice.language = "fr"
        db.add(alice)
        db.commit()
    return bot


async def test_a_french_mentee_gets_french_answers_and_her_mentor_his_english_copy(tmp_path):
    bot = await french_bot(tmp_path)
    try:
        # day names from Babel's French data, a French date, the sentence from the catalog
        assert await bot.say("alice", "!checkin schedule") == [
            "Vos check-ins : lun., jeu. à 10:00 (Europe/Berlin) (ceux du programme) ; le prochain : jeu. 7 janv. 10:00 (Europe/Berlin). "
            "!checkin schedule tue,fri 18:30 le change ; !checkin schedule default revient à celui du programme."
        ]
        # the plural form for 4 (French: n > 1), the usage line is the engine's
        out = await bot.say("alice", "!checkin tout va bien")
        assert out[0].startswith(
            "Donnez les 4 réponses (numérotées, ou séparées par |), ou envoyez !checkin seul et je vous poserai les questions une à une"
        ), out
        # the singular form for one mentor, and the next date in French
        out = await bot.say("alice", "!checkin fixed a test | review a patch | none | 4")
        assert out[0] == "Merci, c'est noté ! bob le verra. Prochain check-in : lun. 11 janv. 10:00 (Europe/Berlin).", out
        assert bot.dm("bob")[-1].startswith("alice checked in for Thu 7 Jan 04:00 (America/New_York) (early):")
    finally:
        await bot.stop()


async def test_in_an_english_channel_the_room_hears_english_and_a_private_answer_her_language(tmp_path):
    """``!checkin schedule`` is answered privately: the note in the room is in the room's
    language, the answer itself (a DM, to her alone) in hers."""
    bot = await french_bot(tmp_path)
    try:
        out = await bot.say("alice", "!checkin schedule", channel="#mentoring")
        assert out[0] == "alice: I've sent you the answer in a private message.", out
        assert out[1].startswith("Vos check-ins : lun., jeu. à 10:00 (Europe/Berlin)"), out
        assert bot.dm("alice")[-1] == out[1]
        out = await bot.say("alice", "!frobnicate", channel="#mentoring")  # an answer for the room
        assert out == ["alice: Unknown command !frobnicate. Try !help."], out
    finally:
        await bot.stop()


async def test_a_french_mentee_is_told_of_a_session_in_french(tmp_path):
    """A DM to another person is in their language: bob (English) logs, alice reads French."""
    bot = await french_bot(tmp_path)
    try:
        out = await bot.say("bob", "!session log alice 45m testing")
        assert out[0].endswith("With alice in 2027 Q1: 1 session, 45m. alice has been told."), out
        await bot.say("bob", "!session log alice 1h review")
        out = await bot.say("alice", "!session list")
        assert out[0].split("\n")[-1] == "Avec vos mentors : 2 séances, 1h45m", out  # the shipped catalog's
    finally:
        await bot.stop()


async def test_the_scheduled_prompt_is_in_the_mentees_language(tmp_path):
    """A job has no asker: the prompt goes out in the language of the person it is for."""
    bot = await french_bot(tmp_path)
    try:
        bot.clock.set(datetime(2027, 1, 7, 9, 30, tzinfo=timezone.utc))  # Thursday, 10:30 in Berlin
        await bot.tick()
        prompt = bot.dm("alice")[-1].splitlines()
        assert prompt[0] == (
            "C'est l'heure de votre check-in (jeu. 7 janv. 10:00) ! Répondez ici aux 4 questions d'un coup "
            "(numérotées, une par ligne, ou séparées par |), ou répondez à la 1 et je poserai les suivantes :"
        ), prompt
        assert prompt[-1] == "Vos réponses sont les bienvenues jusqu'au prochain check-in, lun. 11 janv. 10:00 (Europe/Berlin)."
    finally:
        await bot.stop()
