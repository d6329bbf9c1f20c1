"""Feedback answers as people type them, checked one question at a time, and as coordinators
read them. Pure text in, values out: no database.

Each parser raises ValueError with the re-ask in the reader's language; an answer must fit its
question, so "hi" or a bare "?" is neither a date, a choice, a risk nor a note."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from chatbot.features.checkins.answers import ANSWER_MAX, blocker_of, numbered, parse_rating
from chatbot.wording import clip
from chatbot.i18n import ENGLISH, N_, Language

#: TRANSLATORS: what people type for "today" as a last contact (comma-separated, lower case);
#: the first one is shown in the question. English words are always understood too.
TODAY = N_("today")
#: TRANSLATORS: as "today", for "yesterday"
YESTERDAY = N_("yesterday")
#: TRANSLATORS: as "today", for "this week"
THIS_WEEK = N_("this week")
#: TRANSLATORS: answers meaning "we have had no contact yet", comma-separated, lower case; the
#: first one is shown in the question
NO_CONTACT = N_("none, never, no contact, not yet")

#: how often a pair meets: (stored code, label shown and typed); the number typed is the position
FREQUENCIES = (
    ("weekly", N_("weekly")),
    ("biweekly", N_("every two weeks")),
    ("monthly", N_("monthly")),
    ("less", N_("less often")),
    ("not-yet", N_("not yet")),
)
#: more ways to say each (English; the translated label is understood too)
_FREQUENCY_WORDS = {
    "weekly": re.compile(r"^(every|once a) week|week$"),
    "biweekly": re.compile(r"^biweekly|fortnightly|every (2|other) weeks?|two weeks$"),
    "monthly": re.compile(r"^(every|once a) month|month$"),
    "less": re.compile(r"^less|rarely|seldom$"),
    "not-yet": re.compile(r"^never|not at all|none$"),
}
#: TRANSLATORS: answers meaning "nothing to add" to the last, free question, comma-separated,
#: lower case (English ones, and "skip", are always understood too)
SKIP_WORDS = N_("skip, nothing, no, none")
_GREETINGS = {"hi", "hello", "hey", "hallo", "bonjour", "salut", "hola", "olá", "ola", "oi", "yo", "coucou"}
_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


def _flat(text: str) -> str:
    """Lower case, one space apart, without the punctuation around words."""
    return " ".join(re.sub(r"[.!,;:()?¿¡]+", " ", text.lower()).split())


def _words(lang: Language, msgid: str) -> set[str]:
    """A comma-separated word list in English and in ``lang``."""
    return {_flat(w) for text in (ENGLISH._(msgid), lang._(msgid)) for w in text.split(",") if w.strip()}


def first_word(lang: Language, msgid: str) -> str:
    """The word a question shows for a list (the first of the reader's language)."""
    return lang._(msgid).split(",")[0].strip()


def meaningful(text: str) -> bool:
    """Words, not a greeting or a bare "?": at least two letters or digits, and not just "hi"."""
    flat = _flat(text)
    return sum(ch.isalnum() for ch in flat) >= 2 and flat not in _GREETINGS


def _checked(text: str, lang: Language) -> str:
    answer = text.strip()
    if not answer:
        raise ValueError(lang._("That answer is empty."))
    if len(answer) > ANSWER_MAX:
        raise ValueError(lang._("Please keep each answer under {limit} characters.", limit=lang.number(ANSWER_MAX)))
    return answer


# ---------------------------------------------------------------------------- the questions


def parse_contact(text: str, lang: Language, today: date) -> list[Any]:
    """``[ISO date or None, word said or None]``: when the pair was last in touch (``today`` is
    the respondent's local date; "this week" counts from its Monday)."""
    flat = _flat(_checked(text, lang))
    if _ISO.match(text.strip().rstrip(".")):
        try:
            day = date(*(int(p) for p in text.strip().rstrip(".").split("-")))
        except ValueError:
            raise ValueError(lang._("{text} is not a date in the calendar.", text=text.strip())) from None
        if day > today:
            raise ValueError(lang._("That date is still to come; when were you last in touch?"))
        return [day.isoformat(), None]
    for msgid, day_of in (
        (TODAY, lambda: today), (YESTERDAY, lambda: today - timedelta(days=1)),
        (THIS_WEEK, lambda: today - timedelta(days=today.weekday())),
    ):
        if flat in _words(lang, msgid):
            return [day_of().isoformat(), _CODES[msgid]]
    if flat in _words(lang, NO_CONTACT):
        return [None, "none"]
    raise ValueError(contact_help(lang))


_CODES = {TODAY: "today", YESTERDAY: "yesterday", THIS_WEEK: "this-week"}


def contact_help(lang: Language) -> str:
    return lang._(
        "Please answer with a date like 2027-02-03, or {today}, {yesterday}, {this_week} or {none}.",
        today=first_word(lang, TODAY), yesterday=first_word(lang, YESTERDAY),
        this_week=first_word(lang, THIS_WEEK), none=first_word(lang, NO_CONTACT),
    )


def frequency_choices(lang: Language) -> str:
    """"1 weekly, 2 every two weeks, …" in the reader's language."""
    return ", ".join(f"{n} {lang._(label)}" for n, (_code, label) in enumerate(FREQUENCIES, 1))


def parse_frequency(text: str, lang: Language) -> str:
    """A frequency's code, from its number (1-5), its label (English or ``lang``) or a synonym."""
    flat = _flat(_checked(text, lang))
    if flat.isdigit() and 1 <= int(flat) <= len(FREQUENCIES):
        return FREQUENCIES[int(flat) - 1][0]
    for code, label in FREQUENCIES:
        if flat in {_flat(ENGLISH._(label)), _flat(lang._(label))} or _FREQUENCY_WORDS[code].fullmatch(flat):
            return code
    raise ValueError(lang._("Please answer with one of: {choices}.", choices=frequency_choices(lang)))


def frequency_label(code: str, lang: Language) -> str:
    return next((lang._(label) for c, label in FREQUENCIES if c == code), code)


def parse_progress(text: str, lang: Language) -> int:
    return parse_rating(_checked(text, lang), lang)


def parse_risk(text: str, lang: Language) -> str | None:
    """None for "none" (and the like), else what puts the pair at risk, in words."""
    answer = _checked(text, lang)
    bare = not any(ch.isalnum() for ch in answer) and set(answer) - set("-–— ")  # "?!" is no answer; "-" is none
    risk = blocker_of(answer, lang)
    if bare or (risk is not None and not meaningful(risk)):
        raise ValueError(lang._("Please say in a few words what puts the pair at risk, or answer none."))
    return risk


def parse_notes(text: str, lang: Language) -> str | None:
    """Anything else for the coordinators, or None for "skip"."""
    answer = _checked(text, lang)
    if _flat(answer) in _words(lang, SKIP_WORDS) | {"skip"} or not answer.strip("-–— "):  # "-": an empty form field
        return None
    if not meaningful(answer):
        raise ValueError(lang._("Please write a few words, or skip."))
    return " ".join(answer.split())


def parse_all(text: str, lang: Language, today: date) -> dict[str, Any] | None:
    """All five answers at once, numbered (a Discord form sends them so), or None when the text
    is not that. ValueError names the first answer that does not fit."""
    found = numbered(text, len(STEP_NAMES))
    if found is None or sorted(found) != list(range(len(STEP_NAMES))):
        return None
    out: dict[str, Any] = {}
    for i, name in enumerate(STEP_NAMES):
        try:
            out[name] = parse_step(name, found[i], lang, today)
        except ValueError as exc:
            raise ValueError(lang._("Answer {n}: {problem}", n=i + 1, problem=str(exc))) from None
    return out


STEP_NAMES = ("contact", "often", "progress", "risk", "notes")


def parse_step(name: str, text: str, lang: Language, today: date) -> Any:
    if name == "contact":
        return parse_contact(text, lang, today)
    if name == "often":
        return parse_frequency(text, lang)
    if name == "progress":
        return parse_progress(text, lang)
    if name == "risk":
        return parse_risk(text, lang)
    return parse_notes(text, lang)


# ---------------------------------------------------------------------------- for coordinators


@dataclass(frozen=True)
class Flags:
    """What in an answer the coordinators should hear of at once."""

    no_contact: bool
    days_since: int | None
    stale: bool
    risk: str | None

    @property
    def any(self) -> bool:
        return self.no_contact or self.stale or self.risk is not None


def flags_of(last_contact: date | None, risk: str | None, today: date, stale_days: int) -> Flags:
    days = (today - last_contact).days if last_contact is not None else None
    stale = days is not None and days >= stale_days
    return Flags(no_contact=last_contact is None, days_since=days, stale=stale, risk=risk)


def contact_text(last_contact: date | None, said: str | None, lang: Language) -> str:
    if last_contact is None:
        return lang._("no contact yet")
    day = lang.short_date(last_contact)
    if said == "this-week":
        return lang._("this week (since {date})", date=day)
    return day


def answer_line(last_contact: date | None, said: str | None, frequency: str, progress: int, risk: str | None,
                notes: str | None, lang: Language) -> str:
    """An answer on one line: "last contact Wed 3 Feb · weekly · progress 4/5 · risk: none"."""
    parts = [
        lang._("last contact {when}", when=contact_text(last_contact, said, lang)),
        frequency_label(frequency, lang),
        lang._("progress {rating}/5", rating=progress),
        lang._("risk: {risk}", risk=clip(risk, 200)) if risk else lang._("no risk"),
    ]
    if notes:
        parts.append(lang._("notes: {notes}", notes=clip(notes, 300)))
    return " · ".join(parts)
