"""Check-in answers as people type them (numbered, one per line, separated by ``|``, one at a
time, "none" or "nothing so far" for no blocker) and as mentors read them (a line per answer,
one line per check-in, answer rate and streak). Pure text in, text out, apart from the history."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Iterable, Sequence

from chatbot.context import Context
from chatbot.i18n import ENGLISH, N_, Language
from chatbot.features.checkins.schedule import reminder_after, when
from chatbot.wording import clip
from chatbot.people import named, zone_name
from storage.checkins import ANSWERED, MISSED, PROMPTED, SKIPPED, AnyCheckin, Checkin
from storage.tables import Member

ANSWER_MAX = 1000

# ---------------------------------------------------------------------------- reading answers


_MARK = re.compile(r"(?:^|(?<=[\s|;]))\(?[qQ]?(\d{1,2})(?:[.:](?=\s)|\))\s*")
_NO_BLOCKER = re.compile(
    r"^(no|none|nope|nothing|nada|nil|n/?a|-+|not really|all good|all clear)"
    r"(\s+(blockers?|blocking|blocking me|so far|for now|now|right now|at the moment|currently|yet|anymore|any more|at all|all good|thanks|thank you|really))*$"
)
_RATING = re.compile(r"^\s*([1-5])(?:\s*/\s*5)?(?!\d|\.\d)")
_RATING_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def parse_rating(text: str, lang: Language = ENGLISH) -> int:
    m = _RATING.match(text)
    if m:
        return int(m.group(1))
    word = text.strip().lower().split(" ", 1)[0].strip(".!,")
    if word in _RATING_WORDS:
        return _RATING_WORDS[word]
    raise ValueError(lang._("Please answer with a number from 1 (badly) to 5 (great)."))


_NO_THEN_MORE = re.compile(r"^(no|none|nope|nothing|no blockers?|n/?a)\s*[,.;:!\u2013\u2014-]+\s*(?!but\b)\S")


#: TRANSLATORS: the answers that mean "no blocker" in your language, comma-separated, lower case
#: (English ones are always understood too)
NO_BLOCKER_WORDS = N_("none, nothing, no, nope, no blockers")


def blocker_of(text: str, lang: Language = ENGLISH) -> str | None:
    """The blocker in an answer, or None for "none", "nothing so far", "-", "none, it got fixed"
    and the like ("no, but the server is down" is a blocker), and for the reader's language's
    own words for none ("aucun", "nada")."""
    lowered = " ".join(text.lower().split())
    flat = " ".join(re.sub(r"[.!,;:()]+", " ", lowered).split())
    if not flat or _NO_BLOCKER.match(flat) or _NO_THEN_MORE.match(lowered):
        return None
    if flat in {" ".join(w.split()) for w in lang._(NO_BLOCKER_WORDS).lower().split(",")}:
        return None
    return " ".join(text.split())


#: TRANSLATORS: greetings in your language, comma-separated, lower case (a message that is only
#: a greeting is not taken as an answer; English ones are always understood too)
GREETING_WORDS = N_("hello, hi, hey, hiya, howdy, good morning, good afternoon, good evening, anyone there, is anyone there")
#: words that may follow a greeting and leave it a greeting ("hi there", "hello again")
_AFTER_GREETING = {"there", "again", "all", "everyone", "bot", "mentorbot", "anyone"}
_BARE_NUMBER = re.compile(r"^[\d\s.,/:+-]+$")
#: kinds of question answered in words, and those of them a number alone does not answer
WORDS = ("text", "done", "plan")
NOT_A_NUMBER = ("done", "plan")


def is_greeting(text: str, lang: Language = ENGLISH) -> bool:
    """Is ``text`` only a greeting ("hello?", "hi there", "bonjour", "olá")?"""
    words = re.sub(r"[^\w\s']+", " ", text.lower()).split()
    phrases = {p.strip() for p in f"{GREETING_WORDS},{lang._(GREETING_WORDS)}".lower().split(",") if p.strip()}
    for phrase in phrases:
        head = phrase.split()
        if words[: len(head)] == head and all(w in _AFTER_GREETING for w in words[len(head) :]):
            return True
    return False


def _fits(kind: str, answer: str, lang: Language) -> None:
    """ValueError when ``answer`` cannot answer a question of ``kind``: "I answered this
    already?" was taken as what a mentee had done, and "2.5" as their plan."""
    if kind not in WORDS:
        return
    if is_greeting(answer, lang):
        raise ValueError(lang._("Hello! That is a greeting, not an answer."))
    if answer.rstrip().endswith("?"):
        raise ValueError(lang._("That reads as a question, not an answer (your mentor is the one to ask)."))
    if kind in NOT_A_NUMBER and _BARE_NUMBER.match(answer):
        raise ValueError(lang._("A number alone does not say what you did or plan to do: a few words, please."))


def check_answer(question: Sequence[str], text: str, lang: Language = ENGLISH) -> str:
    """One answer, as it will be stored; ValueError says why it cannot be (in ``lang``: the
    text goes straight back to the person who typed the answer)."""
    answer = text.strip()
    if not answer:
        raise ValueError(lang._("That answer is empty."))
    if len(answer) > ANSWER_MAX:
        raise ValueError(lang._("Please keep each answer under {limit} characters.", limit=lang.number(ANSWER_MAX)))
    if question[1] == "scale":
        parse_rating(answer, lang)
    _fits(question[1], answer, lang)
    return answer


def numbered(text: str, n: int, gaps: bool = False) -> dict[int, str] | None:
    """``{question index: answer}`` from ``1. … 2) … 3: …`` (on one line or several), or None when
    the text does not start with a number mark. Numbers rise by one (``gaps`` lets a correction
    name only some), so "1. read ch. 3. then 2. …" is read as meant."""
    text = text.strip()
    marks = list(_MARK.finditer(text))
    if not marks or marks[0].start() != 0 or not 1 <= int(marks[0].group(1)) <= n:
        return None
    chosen = [marks[0]]
    for i, m in enumerate(marks[1:], 1):
        num, last = int(m.group(1)), int(chosen[-1].group(1))
        if num == last + 1 or (
            gaps and last < num <= n and not any(last < int(x.group(1)) < num for x in marks[i + 1 :])
        ):
            chosen.append(m)
        if int(chosen[-1].group(1)) == n:
            break
    out: dict[int, str] = {}
    for m, nxt in zip(chosen, [*chosen[1:], None]):
        out[int(m.group(1)) - 1] = text[m.end() : nxt.start() if nxt else len(text)].strip().rstrip("|;").strip()
    return out


def several(text: str, questions: Sequence[Sequence[str]], start: int, lang: Language = ENGLISH) -> list[str] | None:
    """The answers to questions ``start``.. in one message, or None when it answers just one.

    Read, in order: number marks; ``|`` separators (IRC sends one line); one line per question.
    Lines are only taken as answers when a scale question's line reads as a rating, so a
    bulleted list answering one question is not split."""
    left = len(questions) - start
    found = numbered(text, len(questions))
    if found is not None:
        keys = sorted(found)
        if keys == list(range(start, len(questions))):
            return [check_answer(questions[i], found[i], lang) for i in keys]
        if keys == [start]:
            return None
        got = ", ".join(str(k + 1) for k in keys)
        raise ValueError(
            lang._(
                "I read answers {got}; send all of {first}-{last} in one message, or one answer at a time.",
                got=got, first=start + 1, last=len(questions),
            )
        )
    if left < 2:
        return None
    parts = [p.strip() for p in text.split("|")]
    if len(parts) > 1:
        if len(parts) != left:
            raise ValueError(
                lang.ngettext(
                    "I see {parts} answers separated by |, but {n} question is left.",
                    "I see {parts} answers separated by |, but {n} questions are left.",
                    left, parts=lang.number(len(parts)),
                )
            )
        return [check_answer(q, p, lang) for q, p in zip(questions[start:], parts)]
    lines = [line.strip(" \t-*•") for line in text.splitlines() if line.strip(" \t-*•")]
    if len(lines) == left:
        try:
            return [check_answer(q, p, lang) for q, p in zip(questions[start:], lines)]
        except ValueError:
            return None
    return None


def strip_mark(text: str, index: int, n: int) -> str:
    found = numbered(text, n)
    return found[index] if found and list(found) == [index] else text


def answer_lines(row: AnyCheckin, changed: Iterable[int] = (), lang: Language = ENGLISH) -> list[str]:
    """One line per answer, labelled with the question's id (from the config, as it is);
    corrections say what they replace."""
    lines = []
    changed = set(changed)
    for i, (question, answer) in enumerate(zip(row.questions, row.answers)):
        text = f"{answer}"
        if question[1] == "scale":
            rating = _rating(parse_rating(answer), lang)
            said = answer.strip() not in (str(row.rating), f"{row.rating}/5")
            text = lang._("{rating} ({answer})", rating=rating, answer=answer) if said else rating
        if i in changed and row.original is not None and i < len(row.original):
            text = lang._("{answer} (corrected; was: {before})", answer=text, before=clip(row.original[i], 60))
        lines.append(f"{question[0]}: {text}")
    return lines


def _rating(n: int | None, lang: Language) -> str:
    return lang._("{rating}/5", rating=n)


def summary(row: AnyCheckin, lang: Language = ENGLISH) -> str:
    """A check-in on one line, for histories and digests."""
    if row.status == MISSED:
        return lang._("missed")
    if row.status == SKIPPED:
        return lang._("skipped (the bot was down)")
    if row.status == PROMPTED:
        return lang._("open, not answered yet")
    parts = []
    for question, answer in zip(row.questions, row.answers):
        if question[1] == "scale":
            parts.insert(0, f"{question[0]} {_rating(row.rating, lang)}")
        else:
            parts.append(f"{question[0]}: {clip(answer, 60)}")
    line = " · ".join(parts)
    return lang._("{answers} (corrected)", answers=line) if row.edited_at else line


def timing(ctx: Context, row: AnyCheckin, lang: Language = ENGLISH) -> str:
    """"(early)" or "(late)" for an answer so marked, else "": a remark that stands on its own
    after a check-in's date, so it translates whole."""
    if row.answered_at is None:
        return ""
    if row.answered_at < row.due_at:
        return lang._("(early)")
    if row.answered_at - row.due_at >= (reminder_after(ctx) or timedelta(hours=24)):
        return lang._("(late)")
    return ""


def remarked(text: str, *remarks: str) -> str:
    """``text`` followed by the remarks that apply ("(early)", "(with a blocker)"), space apart."""
    return " ".join([text, *(r for r in remarks if r)])


@dataclass(frozen=True)
class Stats:
    answered: int
    counted: int
    streak: int

    def text(self, lang: Language = ENGLISH) -> str:
        if not self.counted:
            return lang._("no check-ins closed yet")
        rate = round(100 * self.answered / self.counted)
        return lang.ngettext(
            "{answered} of {n} answered ({rate}%), streak {streak}",
            "{answered} of {n} answered ({rate}%), streak {streak}",
            self.counted, answered=lang.number(self.answered), rate=lang.number(rate), streak=lang.number(self.streak),
        )


def stats(rows: Sequence[Checkin]) -> Stats:
    """Answer rate over check-ins that are closed (answered or missed; open and skipped ones do
    not count) and the streak: answers in a row up to the latest closed one."""
    closed = [r for r in rows if r.status in (ANSWERED, MISSED)]
    streak = 0
    for row in reversed(closed):
        if row.status != ANSWERED:
            break
        streak += 1
    return Stats(sum(r.status == ANSWERED for r in closed), len(closed), streak)


def history_text(ctx: Context, viewer: Member, mentee: Member, last: int) -> str:
    """A mentee's check-ins for ``viewer`` (the asker: in the language of this answer)."""
    rows = ctx.repos.checkins.history(mentee.pk)
    own, who = viewer.id == mentee.pk, named(mentee)
    if not rows:
        return ctx._("Your check-ins: none yet.") if own else ctx._("{name}'s check-ins: none yet.", name=who)
    fields = {"stats": stats(rows).text(ctx.language), "zone": zone_name(viewer), "name": who}
    if own:
        lines = [ctx._("Your check-ins: {stats}; times in {zone}", **fields)]
    else:
        lines = [ctx._("{name}'s check-ins: {stats}; times in {zone}", **fields)]
    shown = rows[-last:]
    if len(rows) > len(shown):
        lines.append(ctx.ngettext("(last {n} of {total})", "(last {n} of {total})", len(shown), total=ctx.language.number(len(rows))))
    lines += [dated_line(ctx, r, viewer, ctx.language) for r in shown]
    return "\n".join(lines)


def dated_line(ctx: Context, row: Checkin, viewer: Member, lang: Language, who: str | None = None) -> str:
    """One check-in on one line for ``viewer``: "Thu 7 Jan 04:00: mood 4/5 · done: … (early)",
    after the mentee's handle in a digest."""
    at = when(row.due_at, viewer, lang)
    head = f"{who}, {at}" if who else at
    return remarked(f"{head}: {summary(row, lang)}", timing(ctx, row, lang))
