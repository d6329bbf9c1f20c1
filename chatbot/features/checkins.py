"""Check-ins: twice a week (by default) every paired mentee answers a few questions in private.

How it holds together:

- **Local time.** A schedule is days and a time in the mentee's own timezone
  (:mod:`chatbot.recurrence`), so daylight-saving changes never skip or double a prompt. The next
  due instant is cached per mentee (``CheckinPlan.next_due_at``, indexed): a tick asks one
  question of the store whatever the number of mentees, and loads what it needs for the due ones
  in a handful of bulk queries.
- **Exactly once.** A prompt is a ``Checkin`` row, unique per (mentee, due instant), written in
  the job's transaction with its outbox message (keyed the same way); the engine sends it after
  the commit. A second tick at the same instant, or a restart before or after the send, finds the
  row and the advanced plan and does nothing more. A prompt the bot was down for is sent on
  start-up if it is less than ``grace`` late, and recorded as skipped otherwise.
- **Answers in a private message.** The prompt opens the ``checkin`` interview
  (:mod:`chatbot.flows`) in the DM it went to, so the mentee's next plain message answers it:
  all questions at once (numbered, one per line, or separated by ``|``) or one at a time. An
  answer is stored in the same transaction as the acknowledgement and the mentors' copies.
- **Closing.** A check-in stays open until the next prompt; then it is *missed*. Two misses in a
  row tell the mentors once; a blocker reaches them at once; mentors read each answer as it
  comes or in a daily digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Iterable, Sequence

from chatbot.commands import ActionError, Arg, CommandSpec, Example, UsageError
from chatbot.config import parse_day_off, parse_span_setting
from chatbot.engine import Context, Feature, Job, choose_identity
from chatbot.events import Button, DirectMessage, Form, Identity
from chatbot.features.away import away_now, named, zone_of
from chatbot.features.matchmaking import PAIRED
from chatbot.flows import Flow, Step
from chatbot.recurrence import (
    DAY_NAMES,
    WeeklySchedule,
    format_schedule,
    next_occurrence,
    occurrences,
    parse_schedule,
    previous_occurrence,
)
from storage.checkins import ANSWERED, MISSED, PROMPTED, SKIPPED, Checkin, CheckinDigest, CheckinPlan
from storage.tables import Conversation, Member, PlatformIdentity

FLOW, EDIT_FLOW = "checkin", "checkin-edit"
MAX_QUESTIONS = 8
ANSWER_MAX = 1000
#: after a long downtime, at most this many past occurrences per mentee are recorded as skipped
CATCH_UP = 14
HISTORY_SHOWN = 5
#: how often plans are compared with their mentees' timezones, so that a mentee who moved gets the
#: next prompt at the new local time (one UPDATE, but a scan of every plan: not at every tick)
ZONE_CHECK_EVERY = timedelta(minutes=10)
_TICK = timedelta(microseconds=1)


# ---------------------------------------------------------------------------- time and text


def tz_of(member: Member) -> str:
    """The member's timezone name, or UTC until they give one the tz database knows."""
    return getattr(zone_of(member), "key", "UTC")


def when(instant: datetime, viewer: Member) -> str:
    """``Mon 4 Jan 10:00`` in the viewer's own timezone."""
    local = instant.astimezone(zone_of(viewer))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def when_zoned(instant: datetime, viewer: Member) -> str:
    return f"{when(instant, viewer)} ({tz_of(viewer)})"


def clip(text: str, n: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


@lru_cache(maxsize=8)
def _days_off(items: tuple[str, ...]) -> dict[date, str]:
    out: dict[date, str] = {}
    for item in items:
        first, last, label = parse_day_off(item)
        for n in range((last - first).days + 1):
            out[first + timedelta(days=n)] = label
    return out


def days_off(ctx: Context) -> dict[date, str]:
    """Programme days off (local dates) with their labels."""
    return _days_off(tuple(ctx.settings.checkins.days_off))


def schedule_text(ctx: Context, plan: CheckinPlan | None) -> str:
    return (plan.schedule if plan else None) or ctx.settings.checkins.schedule


@lru_cache(maxsize=4096)
def weekly(text: str, tz: str) -> WeeklySchedule:
    """A stored schedule (checked when it was set), parsed once per process."""
    return parse_schedule(text, tz)


def schedule_of(ctx: Context, plan: CheckinPlan | None, member: Member) -> WeeklySchedule:
    return weekly(schedule_text(ctx, plan), tz_of(member))


def next_prompt(ctx: Context, schedule: WeeklySchedule, after: datetime) -> datetime:
    """The next occurrence that is not a day off: when a prompt will really be sent."""
    return next_occurrence(schedule, after, days_off(ctx).keys())


def fresh_plan(ctx: Context, member: Member, schedule: str | None = None, since: datetime | None = None) -> CheckinPlan:
    """A plan whose first prompt is the first occurrence after ``since`` (the pairing)."""
    assert member.id is not None
    text = schedule or ctx.settings.checkins.schedule
    tz = tz_of(member)
    return CheckinPlan(
        member_id=member.id, schedule=schedule, basis=text, tz=tz,
        next_due_at=next_occurrence(weekly(text, tz), min(since or ctx.now, ctx.now)), created_at=ctx.now,
    )


def plan_of(ctx: Context, member: Member) -> CheckinPlan:
    assert member.id is not None
    plan = ctx.repos.checkins.plan(member.id)
    if plan is None:
        plan = fresh_plan(ctx, member)
        ctx.repos.checkins.save(plan)
    return plan


def current_questions(ctx: Context) -> list[list[str]]:
    return [[q.id, q.kind, q.text] for q in ctx.settings.checkins.questions]


def reminder_after(ctx: Context) -> timedelta:
    return parse_span_setting(ctx.settings.checkins.reminder_after)


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


def _strip_mark(text: str, index: int, n: int) -> str:
    found = numbered(text, n)
    return found[index] if found and list(found) == [index] else text


def _parse_at(index: int):  # noqa: ANN202 - a flow parser
    def parse(ctx: Context, text: str, data: dict[str, Any]) -> str:
        questions = data["questions"]
        whole = numbered(text, len(questions))
        if index and whole is not None and sorted(whole) == list(range(len(questions))):
            # every answer again (a form sent after answering one by one): the new ones count
            for offset, answer in whole.items():
                data[f"q{offset}"] = check_answer(questions[offset], answer)
            data["_done"] = True
            return data[f"q{index}"]
        many = several(text, questions, index)
        if many is None:
            return check_answer(questions[index], _strip_mark(text, index, len(questions)))
        for offset, answer in enumerate(many[1:], index + 1):
            data[f"q{offset}"] = answer
        data["_done"] = True
        return many[0]

    return parse


def _asks(index: int):  # noqa: ANN202 - a flow condition
    return lambda data: index < len(data["questions"]) and not data.get("_done")


# ---------------------------------------------------------------------------- showing check-ins


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


# ---------------------------------------------------------------------------- telling people


def _pick(ctx: Context, member: Member, idents: Sequence[PlatformIdentity]) -> Identity | None:
    """The identity a prompt goes to, chosen from bulk-loaded rows by the engine's one rule."""
    return choose_identity(member, idents, ctx.engine.adapters)


def resume_checkin(ctx: Context, text: str) -> bool:
    """A plain DM that holds every answer of the open check-in answers it, even with no
    interview running (after a !cancel, or when another interview took its place). Anything
    less is not taken for an answer: "hello?" is not a check-in."""
    me = ctx.member
    if me is None or me.id is None or ctx.who is None:
        return False
    row = ctx.repos.checkins.open_for(me.id)
    if row is None:
        return False
    try:
        if several(text, row.questions, 0) is None:
            return False
    except ValueError:
        return False
    _open_interview(ctx, me.id, FLOW, ctx.who.platform, {"due": row.due_at.isoformat(), "questions": row.questions})
    return True


def _open_interview(
    ctx: Context, member_id: int, flow: str, platform: str, data: dict[str, Any], batch: "_Batch | None" = None
) -> None:
    step = "q0" if flow == FLOW else "answers"
    if batch is None:
        ctx.repos.checkins.open_conversation(member_id, flow, step, platform, data, ctx.now)
    elif member_id in batch.conversations:
        ctx.repos.checkins.open_conversation(member_id, flow, step, platform, data, ctx.now, batch.conversations[member_id], known=True)
    else:
        batch.new_conversations.append(
            dict(member_id=member_id, flow=flow, step=step, data=data, platform=platform, started_at=ctx.now, updated_at=ctx.now)
        )


def prompt_text(ctx: Context, member: Member, questions: Sequence[Sequence[str]], due: datetime, until: datetime | None) -> str:
    n = len(questions)
    if n == 1:
        lines = [f"Time for your check-in ({when(due, member)})! Reply here with your answer:"]
    else:
        lines = [
            f"Time for your check-in ({when(due, member)})! Reply here with all {n} answers at once "
            "(numbered, one per line, or separated by |), or answer 1 and I'll ask the rest:"
        ]
    lines += [f"{i}. {q[2]}" for i, q in enumerate(questions, 1)]
    if until is not None:
        lines.append(f"Answers are welcome until your next check-in, {when_zoned(until, member)}.")
    return "\n".join(lines)


def _answer_button(ctx: Context) -> tuple[Button, ...]:
    return (Button("Answer", f"{ctx.prefix}checkin"),)


def _form(questions: Sequence[Sequence[str]]) -> Form:
    """All the questions at once where the platform has forms; the answers come back numbered."""
    return Form(title="Check-in", questions=tuple(q[2] for q in questions), label="Answer in a form")


def _tell_mentors(ctx: Context, mentee: Member, row: Checkin, changed: Sequence[int] | None, new_blocker: bool) -> list[Member]:
    """Each mentor gets the answer now (unless they read a digest); a blocker reaches all at once."""
    assert mentee.id is not None and row.id is not None
    mentors = ctx.repos.pairs.mentors_of(mentee.id)
    digest = ctx.repos.checkins.digest_readers([m.id for m in mentors if m.id is not None])
    version = row.edited_at.isoformat() if row.edited_at else "first"
    for mentor in mentors:
        due = when_zoned(row.due_at, mentor)
        if mentor.id not in digest:
            if changed is None:
                flag = " (with a blocker)" if row.blocker else ""
                head = f"{named(mentee)} checked in for {due}{timing(ctx, row)}{flag}:"
            else:
                head = f"CORRECTION: {named(mentee)} corrected their check-in for {due}:"
            text = "\n".join([head, *answer_lines(row, changed or ())])
            ctx.dm(mentor, text, key=f"checkin-answer:{row.id}:{version}:{mentor.id}")
        elif new_blocker and row.blocker:
            ctx.dm(
                mentor,
                f"{named(mentee)} is blocked: {row.blocker} (check-in for {due}). They may welcome a word from you.",
                key=f"checkin-blocker:{row.id}:{version}:{mentor.id}",
            )
    return mentors


def _fill(row: Checkin, answers: list[str]) -> None:
    row.answers = list(answers)
    row.rating = next((parse_rating(a) for q, a in zip(row.questions, answers) if q[1] == "scale"), None)
    row.blocker = next((blocker_of(a) for q, a in zip(row.questions, answers) if q[1] == "blocker"), None)


def _names(people: Sequence[Member]) -> str:
    names = [m.handle for m in people]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def record_answer(ctx: Context, data: dict[str, Any], answers: list[str]) -> str:
    """Store a complete answer (with the mentors' copies, in this transaction) and say so."""
    me = ctx.require_member()
    assert me.id is not None
    due = datetime.fromisoformat(data["due"])
    row = ctx.repos.checkins.at(me.id, due)
    if row is not None and row.status == ANSWERED:
        return f"You have answered the check-in for {when(due, me)} already; {ctx.prefix}checkin edit corrects it."
    if row is not None and row.status != PROMPTED:
        return f"The check-in for {when(due, me)} closed when the next one began; {ctx.prefix}checkin answers the open one."
    if row is None:
        row = ctx.repos.checkins.add(Checkin(mentee_id=me.id, due_at=due, questions=data["questions"]))
    _fill(row, answers)
    row.status, row.answered_at, row.closed_at = ANSWERED, ctx.now, ctx.now
    ctx.repos.checkins.flush()
    plan = plan_of(ctx, me)
    plan.misses_in_row = 0
    ctx.repos.checkins.save(plan)
    mentors = _tell_mentors(ctx, me, row, None, new_blocker=True)
    upcoming = next_prompt(ctx, schedule_of(ctx, plan, me), max(ctx.now, due))
    told = f" {_names(mentors)} will see it." if mentors else ""
    blocked = f" Your blocker went to {_names(mentors)} straight away." if row.blocker and mentors else ""
    return f"Thanks, saved!{told}{blocked} Next check-in: {when_zoned(upcoming, me)}."


async def _finish(ctx: Context, data: dict[str, Any]) -> str:
    n = len(data["questions"])
    return record_answer(ctx, data, [data[f"q{i}"] for i in range(n)])


def parse_edit(ctx: Context, text: str, data: dict[str, Any]) -> dict[str, str]:
    """A correction: numbered answers (any of them), or all of them in order."""
    questions = data["questions"]
    found = numbered(text, len(questions), gaps=True)
    if found is not None:
        return {str(i): check_answer(questions[i], a) for i, a in found.items()}
    if len(questions) == 1:
        return {"0": check_answer(questions[0], text)}
    many = several(text, questions, 0)
    if many is None:
        raise ValueError("Number the answers you correct, e.g. '3. none now' (the others stay as they were).")
    return {str(i): a for i, a in enumerate(many)}


def record_edit(ctx: Context, due: datetime, changes: dict[str, str]) -> str:
    me = ctx.require_member()
    assert me.id is not None
    row = ctx.repos.checkins.at(me.id, due)
    if row is None or row.status != ANSWERED:
        return "That check-in has no answer to correct any more."
    answers = list(row.answers)
    changed = [int(i) for i, a in sorted(changes.items()) if answers[int(i)] != a]
    if not changed:
        return "Those are the answers you gave already; nothing changed."
    had_blocker = row.blocker
    if row.original is None:
        row.original = list(row.answers)
    for i in changed:
        answers[i] = changes[str(i)]
    _fill(row, answers)
    row.edited_at = ctx.now
    ctx.repos.checkins.save(row)
    mentors = _tell_mentors(ctx, me, row, changed, new_blocker=row.blocker is not None and row.blocker != had_blocker)
    told = f" {_names(mentors)} will see the correction." if mentors else ""
    return f"Corrected ({', '.join(str(i + 1) for i in changed)}).{told}"


async def _finish_edit(ctx: Context, data: dict[str, Any]) -> str:
    return record_edit(ctx, datetime.fromisoformat(data["due"]), data["answers"])


CHECKIN = Flow(
    name=FLOW,
    steps=tuple(
        Step(f"q{i}", (lambda i: lambda ctx, d: d["questions"][i][2])(i), _parse_at(i), when=_asks(i))
        for i in range(MAX_QUESTIONS)
    ),
    finish=_finish,
    cancelled="Stopped. Your check-in stays open until the next one; !checkin answers it.",
)

CHECKIN_EDIT = Flow(
    name=EDIT_FLOW,
    steps=(
        Step(
            "answers",
            lambda ctx, d: "Send the corrected answers, numbered (e.g. '3. none now'); the others stay as they were.",
            parse_edit,
        ),
    ),
    finish=_finish_edit,
    cancelled="Nothing was changed.",
)


# ---------------------------------------------------------------------------- the scheduled job


@dataclass
class _Batch:
    """What a tick loaded in bulk for the mentees it handles."""

    eligible: set[int]
    idents: dict[int, list[PlatformIdentity]]
    conversations: dict[int, Conversation]
    rows: dict[int, list[Checkin]]
    mentors: dict[int, list[Member]] | None = None
    #: rows to insert in bulk at the end (building ORM objects costs ~1 ms each)
    new_checkins: list[dict[str, Any]] = field(default_factory=list)
    new_conversations: list[dict[str, Any]] = field(default_factory=list)

    def write(self, ctx: Context) -> None:
        ctx.repos.checkins.insert_many(self.new_checkins, self.new_conversations)


def _load(ctx: Context, ids: list[int], since: datetime | None) -> _Batch:
    """Who takes part, how to reach them, their interviews and (from ``since``) their check-ins."""
    repo = ctx.repos.checkins
    rows = repo.rows_of(ids, since) if since is not None else {}
    return _Batch(repo.eligible(ids), repo.identities_of(ids), repo.conversations_of(ids), rows)


async def run_checkins(ctx: Context) -> bool:
    """Plans for new pairs, then the prompts that are due, then the reminders, at most a batch
    of each; True when a batch was full, so the engine runs the job again."""
    cfg, repo = ctx.settings.checkins, ctx.repos.checkins
    marks = repo.marks()
    _follow_config(ctx, marks.get("default"))
    if ctx.due_every("checkins-timezones", ZONE_CHECK_EVERY):
        ctx.repos.checkins.follow_new_timezones(ctx.now)
    planned = _plan_new_pairs(ctx, int(marks.get("pair_mark", 0)))
    due = repo.due_plans(ctx.now, cfg.batch)
    if due:
        ids = [m.id for _, m in due if m.id is not None]
        # a day earlier: a mentee who moved east may have had a check-in before the cached time
        batch = _load(ctx, ids, min(p.next_due_at for p, _ in due) - timedelta(days=1))
        for plan, member in due:
            _advance(ctx, plan, member, batch)
            repo.save(plan)
        batch.write(ctx)
    reminded = _remind(ctx)
    return cfg.batch in (planned, len(due), reminded)


def _follow_config(ctx: Context, seen: str | None) -> None:
    """A new default schedule in the config reaches the plans that follow it (one UPDATE)."""
    default = ctx.settings.checkins.schedule
    if seen != default:
        if seen is not None:
            ctx.repos.checkins.follow_new_default(ctx.now)
        ctx.repos.kv.set("checkins", "default", default)


def _plan_new_pairs(ctx: Context, mark: int) -> int:
    """A plan for each newly paired mentee, its first prompt the first occurrence after pairing.
    Returns how many new pairs it looked at."""
    repo, kv = ctx.repos.checkins, ctx.repos.kv
    new = repo.new_pairs(mark, ctx.settings.checkins.batch)
    if not new:
        return 0
    planned = set(repo.plans_of({m.id for _, m in new if m.id is not None}))
    for pair, mentee in new:
        if pair.ended_at is None and mentee.id not in planned:
            repo.save(fresh_plan(ctx, mentee, since=pair.created_at))
            planned.add(mentee.id)  # type: ignore[arg-type]
    kv.set("checkins", "pair_mark", str(new[-1][0].id))
    return len(new)


def _advance(ctx: Context, plan: CheckinPlan, member: Member, batch: _Batch) -> None:
    """Deal with every occurrence of this mentee's schedule up to now, then cache the next one."""
    assert member.id is not None
    text, tz = schedule_text(ctx, plan), tz_of(member)
    schedule = weekly(text, tz)
    grace = parse_span_setting(ctx.settings.checkins.grace)
    off = days_off(ctx)
    rows = batch.rows.get(member.id, [])
    existing = {r.due_at for r in rows}
    asked = [r.due_at for r in rows if r.status != SKIPPED and r.due_at <= ctx.now]
    start, last = plan.next_due_at, max(asked, default=None)
    if plan.tz != tz:  # moved east: today's check-in in the new zone may be past the cached time already
        start = max(start - timedelta(days=1), last + _TICK if last else start)
    past = occurrences(schedule, start, ctx.now + _TICK)[-CATCH_UP:]
    if plan.tz != tz and last is not None:  # moved west: never twice on one local day
        past = [d for d in past if not _same_day(member, d, last)]
    active = member.id in batch.eligible and not away_now(member, ctx.now)
    for n, due in enumerate(past):
        current = n == len(past) - 1 and ctx.now - due <= grace
        local = due.astimezone(zone_of(member)).date()
        if local in off:
            if current and active:
                _day_off_notice(ctx, member, schedule, due, off[local], batch)
        elif not active or due in existing:
            continue  # no prompt for this mentee now, or answered early / recorded before
        elif not current:
            batch.new_checkins.append(
                dict(mentee_id=member.id, due_at=due, status=SKIPPED, questions=current_questions(ctx), answers=[], closed_at=ctx.now)
            )
        else:
            _prompt(ctx, plan, member, schedule, due, batch)
            last = due
    upcoming = next_occurrence(schedule, ctx.now)
    if last is not None and _same_day(member, upcoming, last):  # a new zone: not twice on one local day
        upcoming = next_occurrence(schedule, upcoming)
    plan.next_due_at, plan.tz, plan.basis = upcoming, tz, text


def _same_day(member: Member, a: datetime, b: datetime) -> bool:
    zone = zone_of(member)
    return a.astimezone(zone).date() == b.astimezone(zone).date()


def _day_off_notice(ctx: Context, member: Member, schedule: WeeklySchedule, due: datetime, label: str, batch: _Batch) -> None:
    """Told at the first prompt of a break, with the date of the next one, rather than silence."""
    assert member.id is not None
    before = previous_occurrence(schedule, due - _TICK)
    if before.astimezone(zone_of(member)).date() in days_off(ctx):
        return  # told at the start of this break already
    ident = _pick(ctx, member, batch.idents.get(member.id, []))
    if ident is None:
        return
    why = f" ({label})" if label else ": it's a programme day off"
    text = f"No check-in today{why}. Your next one is {when_zoned(next_prompt(ctx, schedule, due), member)}."
    ctx.queue_dm(member.id, DirectMessage(to=ident, text=text, key=f"checkin-off:{member.id}:{due.isoformat()}"))


def _prompt(ctx: Context, plan: CheckinPlan, member: Member, schedule: WeeklySchedule, due: datetime, batch: _Batch) -> None:
    assert member.id is not None
    for row in batch.rows.get(member.id, []):
        if row.status == PROMPTED and row.due_at < due:
            row.status, row.closed_at = MISSED, ctx.now
            ctx.repos.checkins.save(row)
            plan.misses_in_row += 1
            if plan.misses_in_row == 2:
                _two_misses(ctx, member, row, batch)
    questions = current_questions(ctx)
    batch.new_checkins.append(
        dict(mentee_id=member.id, due_at=due, status=PROMPTED, questions=questions, answers=[], prompted_at=ctx.now)
    )
    ident = _pick(ctx, member, batch.idents.get(member.id, []))
    if ident is None:
        return  # no running platform reaches them; !checkin still answers it
    data = {"due": due.isoformat(), "questions": questions}
    conv = batch.conversations.get(member.id)
    busy = conv is not None and conv.flow != FLOW
    if conv is None or (conv.flow == FLOW and conv.data.get("due") != data["due"]):
        _open_interview(ctx, member.id, FLOW, ident.platform, data, batch)
    text = prompt_text(ctx, member, questions, due, next_prompt(ctx, schedule, due))
    if busy:
        text += f"\n(You're answering other questions of mine first: send {ctx.prefix}checkin when you're done.)"
    ctx.queue_dm(
        member.id,
        DirectMessage(
            to=ident, text=text, key=f"checkin:{member.id}:{due.isoformat()}", buttons=_answer_button(ctx), form=_form(questions)
        )
    )


def _two_misses(ctx: Context, member: Member, row: Checkin, batch: _Batch) -> None:
    """Once per run of misses: the mentors (lead and co-mentors) are told in private."""
    if batch.mentors is None:
        batch.mentors = ctx.repos.checkins.mentors_of(batch.eligible)
    for mentor in batch.mentors.get(member.id, []) if member.id is not None else []:
        ctx.dm(
            mentor,
            f"{named(member)} has missed two check-ins in a row (the last one was for {when_zoned(row.due_at, mentor)}). "
            "A friendly private word may help.",
            key=f"checkin-missed:{member.id}:{row.due_at.isoformat()}:{mentor.id}",
        )


def _remind(ctx: Context) -> int:
    """Once per check-in, ``reminder_after`` the prompt, while it is open and the mentee takes part.
    Returns how many open check-ins it dealt with."""
    after = reminder_after(ctx)
    if not after:
        return 0
    repo = ctx.repos.checkins
    due = repo.reminders_due(ctx.now - after, ctx.settings.checkins.batch)
    if not due:
        return 0
    ids = [m.id for _, m in due if m.id is not None]
    batch = _load(ctx, ids, None)
    plans = repo.plans_of(ids)
    for row, member in due:
        row.reminded_at = ctx.now
        repo.save(row)
        assert member.id is not None
        ident = _pick(ctx, member, batch.idents.get(member.id, []))
        if member.id not in batch.eligible or away_now(member, ctx.now) or ident is None:
            continue
        schedule = schedule_of(ctx, plans.get(member.id), member)
        until = next_prompt(ctx, schedule, row.due_at)
        conv = batch.conversations.get(member.id)
        lines = [f"Reminder: your check-in for {when(row.due_at, member)} is still open; answers count until {when_zoned(until, member)}."]
        if conv is None or (conv.flow == FLOW and conv.data.get("due") != row.due_at.isoformat()):
            _open_interview(ctx, member.id, FLOW, ident.platform, {"due": row.due_at.isoformat(), "questions": row.questions}, batch)
            lines.append("Reply here with your answers:")
            lines += [f"{i}. {q[2]}" for i, q in enumerate(row.questions, 1)]
        elif conv.flow == FLOW:
            lines.append(f"Reply here; I'm waiting for your answer to: {row.questions[int(conv.step[1:])][2]}")
        else:
            lines.append(f"Send {ctx.prefix}checkin to answer it.")
        ctx.queue_dm(
            member.id,
            DirectMessage(
                to=ident, text="\n".join(lines), key=f"checkin-remind:{row.id}", buttons=_answer_button(ctx), form=_form(row.questions)
            )
        )
    batch.write(ctx)
    return len(due)


# ---------------------------------------------------------------------------- digests


def _next_digest(ctx: Context, mentor: Member, after: datetime) -> datetime:
    at = time.fromisoformat(ctx.settings.checkins.digest_time)
    return next_occurrence(WeeklySchedule(tuple(range(7)), at, tz_of(mentor)), after)


def digest_text(ctx: Context, mentor: Member, items: Sequence[tuple[Member, Checkin]]) -> str:
    lines = [f"Check-in digest (times in {tz_of(mentor)}):"]
    for mentee, row in items[:30]:
        lines.append(f"{mentee.handle}, {when(row.due_at, mentor)}: {summary(row)}{timing(ctx, row)}")
    if len(items) > 30:
        lines.append(f"… and {len(items) - 30} more: {ctx.prefix}checkins MENTEE shows them.")
    return "\n".join(lines)


def _digest_items(ctx: Context, mentees: Sequence[Member], rows: Sequence[Checkin], since: datetime) -> list[tuple[Member, Checkin]]:
    by_id = {m.id: m for m in mentees}
    fresh = [
        r for r in rows
        if r.mentee_id in by_id
        and any(t is not None and t > since for t in (r.answered_at, r.edited_at, r.closed_at if r.status == MISSED else None))
    ]
    return [(by_id[r.mentee_id], r) for r in fresh]


async def run_digests(ctx: Context) -> None:
    """Each digest reader, at their local digest time, gets what their mentees did since the last one."""
    repo = ctx.repos.checkins
    due = repo.digests_due(ctx.now, ctx.settings.checkins.batch)
    if not due:
        return
    mentees = repo.mentees_of([m.id for _, m in due if m.id is not None])
    ids = {x.id for group in mentees.values() for x in group if x.id is not None}
    rows = repo.activity(ids, min(d.since for d, _ in due)) if ids else []
    for digest, mentor in due:
        items = _digest_items(ctx, mentees.get(digest.member_id, []), rows, digest.since)
        if items:
            ctx.dm(mentor, digest_text(ctx, mentor, items), key=f"checkin-digest:{mentor.id}:{digest.next_at.isoformat()}")
        digest.since, digest.next_at = ctx.now, _next_digest(ctx, mentor, ctx.now)
        repo.save(digest)


# ---------------------------------------------------------------------------- commands


def _require_paired(ctx: Context) -> Member:
    me = ctx.require_member()
    assert me.id is not None
    if me.id not in ctx.repos.checkins.eligible([me.id]):
        raise ActionError("You have no mentor right now, so there is no check-in to answer.")
    return me


async def checkin(ctx: Context, answer: str | None) -> str:
    me = _require_paired(ctx)
    assert me.id is not None and ctx.who is not None
    row = ctx.repos.checkins.open_for(me.id)
    if row is not None:
        due, questions, intro = row.due_at, row.questions, f"Your check-in for {when(row.due_at, me)}:"
    else:
        plan = plan_of(ctx, me)
        due = next_prompt(ctx, schedule_of(ctx, plan, me), ctx.now)
        ahead = ctx.repos.checkins.at(me.id, due)
        if ahead is not None and ahead.status == ANSWERED:
            raise ActionError(
                f"You have answered your next check-in ({when(due, me)}) already; {ctx.prefix}checkin edit corrects it."
            )
        questions = current_questions(ctx)
        intro = f"Your next check-in is {when_zoned(due, me)}; answering it now:"
    data: dict[str, Any] = {"due": due.isoformat(), "questions": questions}
    if answer:
        try:
            many = several(answer, questions, 0)
            if many is None and len(questions) == 1:
                many = [check_answer(questions[0], answer)]
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if many is None:
            raise UsageError(
                f"Give all {len(questions)} answers (numbered, or separated by |), "
                f"or send {ctx.prefix}checkin alone and I'll ask one at a time"
            )
        return record_answer(ctx, data, many)
    _open_interview(ctx, me.id, FLOW, ctx.who.platform, data)
    lines = [intro, *(f"{i}. {q[2]}" for i, q in enumerate(questions, 1))]
    if len(questions) > 1:
        lines.append("Reply with all the answers at once (numbered, one per line, or separated by |), or answer 1 and I'll ask the rest.")
    return "\n".join(lines)


async def checkin_edit(ctx: Context, answer: str | None) -> str:
    me = ctx.require_member()
    assert me.id is not None and ctx.who is not None
    row = ctx.repos.checkins.last_answered(me.id)
    if row is None:
        raise ActionError("You have no answered check-in to correct yet.")
    data = {"due": row.due_at.isoformat(), "questions": row.questions}
    if answer:
        try:
            changes = parse_edit(ctx, answer, data)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return record_edit(ctx, row.due_at, changes)
    _open_interview(ctx, me.id, EDIT_FLOW, ctx.who.platform, data)
    lines = [f"Your answers for {when(row.due_at, me)}:"]
    lines += [f"{i}. {line}" for i, line in enumerate(answer_lines(row), 1)]
    lines.append("Send the corrected ones, numbered (e.g. '3. none now'); the others stay as they were.")
    return "\n".join(lines)


def _normalise(schedule: WeeklySchedule) -> str:
    days = ",".join(DAY_NAMES[d][:3].lower() for d in schedule.days)
    return f"{days} {schedule.at:%H:%M}"


async def checkin_schedule(ctx: Context, days_and_time: str | None) -> str:
    me = ctx.require_member()
    assert me.id is not None
    plan = ctx.repos.checkins.plan(me.id)
    if days_and_time is None:
        schedule = schedule_of(ctx, plan, me)
        whose = "your own" if plan and plan.schedule else "the programme's"
        nxt = when_zoned(next_prompt(ctx, schedule, ctx.now), me)
        return (
            f"Your check-ins: {format_schedule(schedule)} ({whose}); next {nxt}. "
            f"{ctx.prefix}checkin schedule tue,fri 18:30 changes it; {ctx.prefix}checkin schedule default resets it."
        )
    chosen: str | None = None
    if days_and_time.strip().lower() != "default":
        try:
            parsed = parse_schedule(days_and_time, tz_of(me))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if parsed.tz != tz_of(me):
            raise UsageError(
                f"check-ins follow your own timezone ({tz_of(me)}); {ctx.prefix}profile set timezone changes it"
            )
        if parsed.at.second:
            raise UsageError("give the time in hours and minutes, like 18:30")
        chosen = _normalise(parsed)
    if plan is None:
        plan = fresh_plan(ctx, me, chosen)
    else:
        plan.schedule = chosen
        plan.basis, plan.tz = schedule_text(ctx, plan), tz_of(me)
        plan.next_due_at = next_occurrence(weekly(plan.basis, plan.tz), ctx.now)
    ctx.repos.checkins.save(plan)
    schedule = schedule_of(ctx, plan, me)
    nxt = when_zoned(next_prompt(ctx, schedule, ctx.now), me)
    paired = me.id in ctx.repos.checkins.eligible([me.id])
    tail = "" if paired else " They start once you have a mentor."
    return f"Your check-ins are now {format_schedule(schedule)}. The next one: {nxt}.{tail}"


async def checkin_digest(ctx: Context, choice: str) -> str:
    me = ctx.require_member()
    assert me.id is not None
    repo = ctx.repos.checkins
    current = repo.digest(me.id)
    at = f"{ctx.settings.checkins.digest_time} ({tz_of(me)})"
    if choice == "on":
        if current is not None:
            return f"You get a daily digest at {at} already."
        repo.save(CheckinDigest(member_id=me.id, next_at=_next_digest(ctx, me, ctx.now), since=ctx.now))
        return (
            f"Your mentees' check-ins now come in one digest a day at {at}. "
            "Blockers and two missed check-ins in a row still reach you at once."
        )
    if current is None:
        return "You get each check-in as it comes already."
    repo.stop_digest(me.id)
    mentees = repo.mentees_of([me.id]).get(me.id, [])
    rows = repo.activity([m.id for m in mentees if m.id is not None], current.since) if mentees else []
    items = _digest_items(ctx, mentees, rows, current.since)
    if items:
        ctx.dm(me, digest_text(ctx, me, items), key=f"checkin-digest:{me.id}:off:{ctx.now.isoformat()}")
    return "You'll get each check-in as it comes." + (" What came since the last digest is on its way." if items else "")


def _query(ctx: Context, words: list[str]) -> tuple[Member | None, int]:
    """``[MENTEE] [last N]`` (or ``[MENTEE] [N]``)."""
    rest, last = list(words), HISTORY_SHOWN
    if rest and rest[-1].isdigit():
        last = int(rest.pop())
        if rest and rest[-1].lower() == "last":
            rest.pop()
        if not 1 <= last <= 50:
            raise UsageError("show between 1 and 50 check-ins")
    elif rest and rest[-1].lower() == "last":
        raise UsageError("say how many, e.g. last 5")
    if len(rest) > 1:
        raise UsageError(f"name one mentee, not '{' '.join(rest)[:40]}'")
    who = ctx.engine.find_member(ctx, rest[0], "mentee", ctx.spec) if rest else None
    return who, last


async def checkins(ctx: Context, query: list[str]) -> str:
    me = ctx.require_member()
    assert me.id is not None
    who, last = _query(ctx, query)
    if who is None:
        mentees = ctx.repos.checkins.mentees_of([me.id]).get(me.id, [])
        if not mentees:
            return history_text(ctx, me, me, last)
        lines = [f"Your mentees' check-ins ({ctx.prefix}checkins MENTEE for one in full):"]
        for mentee in mentees:
            assert mentee.id is not None
            rows = ctx.repos.checkins.history(mentee.id)
            latest = next((r for r in reversed(rows) if r.status == ANSWERED), None)
            tail = f"; last answer {when(latest.due_at, me)}: {summary(latest)}" if latest else ""
            lines.append(clip(f"{mentee.handle}: {stats(rows).text()}{tail}", 300))
        return "\n".join(lines)
    assert who.id is not None
    if who.id != me.id and not ctx.repos.pairs.mentors(me.id, who.id) and not ctx.has_role("coordinator"):
        raise ActionError(f"You can read your own check-ins and your mentees'; {who.handle} is not your mentee.")
    return history_text(ctx, me, who, last)


# ---------------------------------------------------------------------------- declarations

#: alice (Europe/Berlin) paired with bob (America/New_York) on Monday 4 Jan 2027 09:00 UTC, and
#: alice's next check-in (Thursday's) answered early
ANSWERED_ONCE = (*PAIRED, "alice: !checkin 1. fixed a test 2. review a patch 3. none 4. 4")

ANSWER = Arg("answer", kind="text", required=False, rest=True, help="all answers at once: numbered, or separated by |")

FEATURE = Feature(
    name="checkins",
    commands=(
        CommandSpec(
            ("checkin",),
            "answer your check-in now (before the prompt too), in private",
            roles=("mentee",),
            handler=checkin,
            args=(ANSWER,),
            private=True,
            examples=(
                Example("alice: !checkin", r"Your next check-in is Thu 7 Jan 10:00 \(Europe/Berlin\); answering it now", setup=PAIRED),
                Example(
                    "alice: !checkin fixed a test | review a patch | none | 4",
                    r"Thanks, saved! bob will see it\. Next check-in: Mon 11 Jan 10:00 \(Europe/Berlin\)",
                    setup=PAIRED,
                ),
            ),
        ),
        CommandSpec(
            ("checkin", "edit"),
            "correct your last check-in (your mentors see it marked as a correction)",
            roles=("mentee",),
            handler=checkin_edit,
            args=(ANSWER,),
            private=True,
            examples=(Example("alice: !checkin edit 3. waiting for review", r"Corrected \(3\)\. bob will see", setup=ANSWERED_ONCE),),
        ),
        CommandSpec(
            ("checkin", "schedule"),
            "show or change when you are asked (in your own timezone)",
            roles=("mentee",),
            handler=checkin_schedule,
            args=(Arg("days_and_time", kind="text", required=False, rest=True, help="e.g. tue,fri 18:30, or default"),),
            private=True,
            examples=(
                Example("alice: !checkin schedule tue,fri 18:30", r"now Tue, Fri at 18:30 \(Europe/Berlin\)\. The next one: Tue 5 Jan 18:30", setup=PAIRED),
                Example("alice: !checkin schedule", r"Mon, Thu at 10:00 \(Europe/Berlin\) \(the programme's\)", setup=PAIRED),
            ),
        ),
        CommandSpec(
            ("checkin", "digest"),
            "read your mentees' check-ins in one daily digest (on) or as they come (off)",
            roles=("mentor",),
            handler=checkin_digest,
            args=(Arg("choice", choices=("on", "off"), help="on or off"),),
            private=True,
            examples=(Example("bob: !checkin digest on", r"one digest a day at 18:00 \(America/New_York\)", setup=PAIRED),),
        ),
        CommandSpec(
            ("checkins",),
            "check-in history with answer rate and streak: yours, or a mentee's",
            roles=("mentee", "mentor", "coordinator"),
            handler=checkins,
            args=(Arg("query", many=True, required=False, help="a mentee, and/or 'last N'"),),
            private=True,
            examples=(
                Example("bob: !checkins alice last 3", r"alice's check-ins: 1 of 1 answered \(100%\), streak 1; times in America/New_York\nThu 7 Jan 04:00: mood 4/5 · done: fixed a test", setup=ANSWERED_ONCE),
                Example("alice: !checkins", r"Your check-ins", setup=ANSWERED_ONCE),
            ),
        ),
    ),
    flows=(CHECKIN, CHECKIN_EDIT),
    jobs=(Job("checkins", run_checkins), Job("checkin-digest", run_digests)),
    purge=lambda ctx, cutoff: ctx.repos.checkins.purge_before(cutoff),
    resume=resume_checkin,
)
