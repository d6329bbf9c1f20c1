"""Check-in answers as people type them (numbered, one per line, separated by ``|``, one at a
time, "none" or "nothing so far" for no blocker) and as mentors read them (a line per answer,
one line per check-in, answer rate and streak). Pure text in, text out, apart from the history."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Iterable, Sequence

from chatbot.context import Context
from chatbot.features.away import named
from chatbot.features.checkin_time import clip, reminder_after, tz_of, when
from storage.checkins import ANSWERED, MISSED, PROMPTED, SKIPPED, Checkin
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


def parse_rating(text: str) -> int:
    m = _RATING.match(text)
    if m:
        return int(m.group(1))
    word = text.strip().lower().split(" ", 1)[0].strip(".!,")
    if word in _RATING_WORDS:
        return _RATING_WORDS[word]
    raise ValueError("Please answer with a number from 1 (badly) to 5 (great).")


_NO_THEN_MORE = re.compile(r"^(no|none|nope|nothing|no blockers?|n/?a)\s*[,.;:!\u2013\u2014-]+\s*(?!but\b)\S")


def blocker_of(text: str) -> str | None:
    """The blocker in an answer, or None for "none", "nothing so far", "-", "none, it got fixed"
    and the like ("no, but the server is down" is a blocker)."""
    lowered = " ".join(text.lower().split())
    flat = " ".join(re.sub(r"[.!,;:()]+", " ", lowered).split())
    if not flat or _NO_BLOCKER.match(flat) or _NO_THEN_MORE.match(lowered):
        return None
    return " ".join(text.split())


def check_answer(question: Sequence[str], text: str) -> str:
    """One answer, as it will be stored; ValueError says why it cannot be."""
    answer = text.strip()
    if not answer:
        raise ValueError("That answer is empty.")
    if len(answer) > ANSWER_MAX:
        raise ValueError(f"Please keep each answer under {ANSWER_MAX} characters.")
    if question[1] == "scale":
        parse_rating(answer)
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


def several(text: str, questions: Sequence[Sequence[str]], start: int) -> list[str] | None:
    """The answers to questions ``start``.. in one message, or None when it answers just one.

    Read, in order: number marks; ``|`` separators (IRC sends one line); one line per question.
    Lines are only taken as answers when a scale question's line reads as a rating, so a
    bulleted list answering one question is not split."""
    left = len(questions) - start
    found = numbered(text, len(questions))
    if found is not None:
        keys = sorted(found)
        if keys == list(range(start, len(questions))):
            return [check_answer(questions[i], found[i]) for i in keys]
        if keys == [start]:
            return None
        got = ", ".join(str(k + 1) for k in keys)
        raise ValueError(
            f"I read answers {got}; send all of {start + 1}-{len(questions)} in one message, or one answer at a time."
        )
    if left < 2:
        return None
    parts = [p.strip() for p in text.split("|")]
    if len(parts) > 1:
        if len(parts) != left:
            raise ValueError(f"I see {len(parts)} answers separated by |, but {left} questions are left.")
        return [check_answer(q, p) for q, p in zip(questions[start:], parts)]
    lines = [line.strip(" \t-*•") for line in text.splitlines() if line.strip(" \t-*•")]
    if len(lines) == left:
        try:
            return [check_answer(q, p) for q, p in zip(questions[start:], lines)]
        except ValueError:
            return None
    return None


def strip_mark(text: str, index: int, n: int) -> str:
    found = numbered(text, n)
    return found[index] if found and list(found) == [index] else text


def answer_lines(row: Checkin, changed: Iterable[int] = ()) -> list[str]:
    """One line per answer, labelled with the question's id; corrections say what they replace."""
    lines = []
    changed = set(changed)
    for i, (question, answer) in enumerate(zip(row.questions, row.answers)):
        text = f"{answer}"
        if question[1] == "scale":
            text = f"{parse_rating(answer)}/5" + (f" ({answer})" if answer.strip() not in (str(row.rating), f"{row.rating}/5") else "")
        if i in changed and row.original is not None and i < len(row.original):
            text += f" (corrected; was: {clip(row.original[i], 60)})"
        lines.append(f"{question[0]}: {text}")
    return lines


def summary(row: Checkin) -> str:
    """A check-in on one line, for histories and digests."""
    if row.status == MISSED:
        return "missed"
    if row.status == SKIPPED:
        return "skipped (the bot was down)"
    if row.status == PROMPTED:
        return "open, not answered yet"
    parts = []
    for question, answer in zip(row.questions, row.answers):
        if question[1] == "scale":
            parts.insert(0, f"{question[0]} {row.rating}/5")
        else:
            parts.append(f"{question[0]}: {clip(answer, 60)}")
    return " · ".join(parts) + (" (corrected)" if row.edited_at else "")


def timing(ctx: Context, row: Checkin) -> str:
    if row.answered_at is None:
        return ""
    if row.answered_at < row.due_at:
        return " (early)"
    if row.answered_at - row.due_at >= (reminder_after(ctx) or timedelta(hours=24)):
        return " (late)"
    return ""


@dataclass(frozen=True)
class Stats:
    answered: int
    counted: int
    streak: int

    def text(self) -> str:
        if not self.counted:
            return "no check-ins closed yet"
        rate = round(100 * self.answered / self.counted)
        return f"{self.answered} of {self.counted} answered ({rate}%), streak {self.streak}"


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
    assert mentee.id is not None
    rows = ctx.repos.checkins.history(mentee.id)
    whose = "Your check-ins" if viewer.id == mentee.id else f"{named(mentee)}'s check-ins"
    if not rows:
        return f"{whose}: none yet."
    lines = [f"{whose}: {stats(rows).text()}; times in {tz_of(viewer)}"]
    shown = rows[-last:]
    if len(rows) > len(shown):
        lines.append(f"(last {len(shown)} of {len(rows)})")
    lines += [f"{when(r.due_at, viewer)}: {summary(r)}{timing(ctx, r)}" for r in shown]
    return "\n".join(lines)
