"""Check-ins: twice a week (by default) every paired mentee answers a few questions in private.

How it holds together:

- **Local time.** A schedule is days and a time in the mentee's own timezone
  (:mod:`chatbot.domain.recurrence`), so daylight-saving changes never skip or double a prompt. The next
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

The parts: :mod:`checkin_time` (schedules, days off, dates), :mod:`checkin_answers` (reading and
showing answers), :mod:`prompts` (the scheduled job and digests); this module records
answers and declares the interviews and commands.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any, Sequence

from chatbot.access import COORDINATOR, MENTOR, SELF, Access
from chatbot.commands import ActionError, Arg, CommandSpec, Example, UsageError
from chatbot.context import Context, Feature, Job
from chatbot.i18n import N_, Language
from chatbot.wording import sentences
from chatbot.features.checkins.answers import (
    answer_lines,
    blocker_of,
    check_answer,
    history_text,
    numbered,
    parse_rating,
    several,
    stats,
    strip_mark,
    summary,
    remarked,
    timing,
)
from chatbot.features.checkins.prompts import (
    EDIT_FLOW,
    FLOW,
    digest_items,
    digest_text,
    next_digest,
    numbered_questions,
    open_interview,
    run_checkins,
    run_digests,
)
from chatbot.features.checkins.schedule import (
    current_questions,
    fresh_plan,
    next_asked,
    next_prompt,
    own_schedule,
    plan_of,
    question_in,
    schedule_of,
    schedule_text,
    weekly,
    when,
    when_zoned,
)
from chatbot.features.matchmaking import PAIRED
from chatbot.flows import Flow, Step
from chatbot.people import named, zone_name
from chatbot.wording import clip
from chatbot.domain.recurrence import (
    DAY_NAMES,
    WeeklySchedule,
    format_schedule,
    next_occurrence,
    parse_schedule,
)
from storage.checkins import ANSWERED, PROMPTED, AnyCheckin, Checkin, CheckinDigest, CheckinRow
from storage.tables import Member

MAX_QUESTIONS = 8
HISTORY_SHOWN = 5

# ---------------------------------------------------------------------------- answering


def _parse_at(index: int):  # noqa: ANN202 - a flow parser
    def parse(ctx: Context, text: str, data: dict[str, Any]) -> str:
        questions = data["questions"]
        whole = numbered(text, len(questions))
        if index and whole is not None and sorted(whole) == list(range(len(questions))):
            # every answer again (a form sent after answering one by one): the new ones count
            for offset, answer in whole.items():
                data[f"q{offset}"] = check_answer(questions[offset], answer, ctx.language)
            data["_done"] = True
            return data[f"q{index}"]
        many = several(text, questions, index, ctx.language)
        if many is None:
            return check_answer(questions[index], strip_mark(text, index, len(questions)), ctx.language)
        for offset, answer in enumerate(many[1:], index + 1):
            data[f"q{offset}"] = answer
        data["_done"] = True
        return many[0]

    return parse


def _asks(index: int):  # noqa: ANN202 - a flow condition
    return lambda data: index < len(data["questions"]) and not data.get("_done")


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
    open_interview(ctx, me.id, FLOW, ctx.who.platform, {"due": row.due_at.isoformat(), "questions": row.questions})
    return True


def _tell_mentors(ctx: Context, mentee: Member, row: AnyCheckin, changed: Sequence[int] | None, new_blocker: bool) -> list[Member]:
    """Each mentor gets the answer now (unless they read a digest); a blocker reaches all at once."""
    reading = ctx.repos.checkins.mentors_reading(mentee.pk)
    version = row.edited_at.isoformat() if row.edited_at else "first"
    for mentor, digest in reading:
        lang = ctx.language_of(mentor)
        due = when_zoned(row.due_at, mentor, lang)
        if not digest:
            if changed is None:
                flag = lang._("(with a blocker)") if row.blocker else ""
                checked = lang._("{name} checked in for {when}", name=named(mentee), when=due)
                head = f"{remarked(checked, timing(ctx, row, lang), flag)}:"
            else:
                head = lang._("CORRECTION: {name} corrected their check-in for {when}:", name=named(mentee), when=due)
            text = "\n".join([head, *answer_lines(row, changed or (), lang)])
            ctx.dm(mentor, text, key=f"checkin-answer:{row.pk}:{version}:{mentor.id}")
        elif new_blocker and row.blocker:
            ctx.dm(
                mentor,
                lang._(
                    "{name} is blocked: {blocker} (check-in for {when}). They may welcome a word from you.",
                    name=named(mentee), blocker=row.blocker, when=due,
                ),
                key=f"checkin-blocker:{row.pk}:{version}:{mentor.id}",
            )
    return [mentor for mentor, _ in reading]


def _read(questions: Sequence[Sequence[str]], answers: list[str], lang: Language) -> tuple[int | None, str | None]:
    """The rating and the blocker in the answers (in the words of ``lang``)."""
    rating = next((parse_rating(a) for q, a in zip(questions, answers) if q[1] == "scale"), None)
    blocker = next((blocker_of(a, lang) for q, a in zip(questions, answers) if q[1] == "blocker"), None)
    return rating, blocker


def _fill(row: Checkin, answers: list[str], lang: Language) -> None:
    """The answers, with the rating and the blocker read from them."""
    row.answers = list(answers)
    row.rating, row.blocker = _read(row.questions, answers, lang)


def _names(people: Sequence[Member], lang: Language) -> str:
    """"bob, dave and erin" in ``lang``."""
    return lang.join(m.handle for m in people)


def _will_see(ctx: Context, mentors: Sequence[Member], what: str) -> str:
    """"bob will see it." (or the correction), "" with no mentors: a sentence of its own, with
    the verb agreeing with the number of mentors in languages where it must."""
    if not mentors:
        return ""
    names = _names(mentors, ctx.language)
    if what == "correction":
        return ctx.ngettext("{names} will see the correction.", "{names} will see the correction.", len(mentors), names=names)
    return ctx.ngettext("{names} will see it.", "{names} will see it.", len(mentors), names=names)


def record_answer(ctx: Context, data: dict[str, Any], answers: list[str], *, checked: bool = False) -> str:
    """Store a complete answer (with the mentors' copies, in this transaction) and say so.
    ``checked``: the interview asked :func:`_closed` already in this transaction."""
    me = ctx.require_member()
    due = datetime.fromisoformat(data["due"])
    repo = ctx.repos.checkins
    found = repo.row_at(me.pk, due)
    closed = _closed(ctx, data, found) if found is not None and not checked else None
    if closed is not None:
        return closed
    questions = data["questions"] if found is None else found.questions
    row = repo.answered(found, me.pk, due, questions, answers, *_read(questions, answers, ctx.language), ctx.now)
    has_plan, own = repo.reset_misses(me.pk)
    schedule = own_schedule(ctx, own, me) if has_plan else schedule_of(ctx, plan_of(ctx, me), me)
    mentors = _tell_mentors(ctx, me, row, None, new_blocker=True)
    upcoming = next_asked(ctx, me, schedule, max(ctx.now, due))
    blocked = ctx._("Your blocker went to {names} straight away.", names=_names(mentors, ctx.language)) if row.blocker and mentors else ""
    nxt = ctx._("Next check-in: {when}.", when=when_zoned(upcoming, me, ctx.language))
    return sentences(ctx._("Thanks, saved!"), _will_see(ctx, mentors, "answer"), blocked, nxt)


async def _finish(ctx: Context, data: dict[str, Any]) -> str:
    n = len(data["questions"])
    return record_answer(ctx, data, [data[f"q{i}"] for i in range(n)], checked=True)  # the flow's ``closed`` did


def parse_edit(ctx: Context, text: str, data: dict[str, Any]) -> dict[str, str]:
    """A correction: numbered answers (any of them), or all of them in order."""
    questions = data["questions"]
    found = numbered(text, len(questions), gaps=True)
    if found is not None:
        return {str(i): check_answer(questions[i], a, ctx.language) for i, a in found.items()}
    if len(questions) == 1:
        return {"0": check_answer(questions[0], text, ctx.language)}
    many = several(text, questions, 0, ctx.language)
    if many is None:
        # "3 none at all": a number without its dot still says which answer is corrected
        bare = re.fullmatch(r"\s*(\d{1,2})\s+(\S.*)", text, re.DOTALL)
        if bare and 1 <= int(bare[1]) <= len(questions):
            i = int(bare[1]) - 1
            return {str(i): check_answer(questions[i], bare[2].strip(), ctx.language)}
        raise ValueError(ctx._("Number the answers you correct, e.g. '3. none now' (the others stay as they were)."))
    return {str(i): a for i, a in enumerate(many)}


def record_edit(ctx: Context, due: datetime, changes: dict[str, str]) -> str:
    me = ctx.require_member()
    row = ctx.repos.checkins.at(me.pk, due)
    if row is None or row.status != ANSWERED:
        return ctx._("That check-in has no answer to correct any more.")
    answers = list(row.answers)
    changed = [int(i) for i, a in sorted(changes.items()) if answers[int(i)] != a]
    if not changed:
        return ctx._("Those are the answers you gave already; nothing changed.")
    had_blocker = row.blocker
    if row.original is None:
        row.original = list(row.answers)
    for i in changed:
        answers[i] = changes[str(i)]
    _fill(row, answers, ctx.language)
    row.edited_at = ctx.now
    ctx.repos.checkins.save(row)
    mentors = _tell_mentors(ctx, me, row, changed, new_blocker=row.blocker is not None and row.blocker != had_blocker)
    done = ctx._("Corrected ({numbers}).", numbers=", ".join(str(i + 1) for i in changed))
    return sentences(done, _will_see(ctx, mentors, "correction"))


async def _finish_edit(ctx: Context, data: dict[str, Any]) -> str:
    return record_edit(ctx, datetime.fromisoformat(data["due"]), data["answers"])


CHECKIN = Flow(
    name=FLOW,
    steps=tuple(
        Step(f"q{i}", (lambda i: lambda ctx, d: question_in(ctx, d["questions"][i], ctx.language))(i), _parse_at(i), when=_asks(i))
        for i in range(MAX_QUESTIONS)
    ),
    finish=_finish,
    cancelled=N_("Stopped. Your check-in stays open until the next one; {prefix}checkin answers it."),
    title=N_("check-in"),
    expires=False,  # it closes at the next prompt instead, or when the mentee has no mentor any more
    closed=lambda ctx, data: _closed(ctx, data),
    reask=N_("This is check-in question {n} of {total}: {question} Answer it, or send {later} to answer later ({cancel} stops)."),
    later=lambda ctx, data: ctx._(
        "Put aside with your answers so far; {command} carries on where you stopped, and your check-in stays open until the next one.",
        command=ctx.command("checkin"),
    ),
)


def _closed(ctx: Context, data: dict[str, Any], row: CheckinRow | None = None) -> str | None:
    """Why a check-in interview no longer takes answers: "hello? is anyone there?", two weeks
    after the mentor withdrew, got "(2/4) What will you do next?". ``row``: the check-in, when
    the caller has read it already (the answer's hot path reads it once)."""
    me = ctx.require_member()
    due = datetime.fromisoformat(data["due"])
    if row is None:
        eligible, row = ctx.repos.checkins.answerable(me.pk, due)
    else:
        eligible = ctx.repos.checkins.is_eligible(me.pk)
    if not eligible:
        return ctx._("You have no mentor right now, so there is no check-in to answer.")
    if row is None or row.status == PROMPTED:
        return None
    at = when(due, me, ctx.language)
    if row.status == ANSWERED:
        return ctx._("You have answered the check-in for {when} already; {command} corrects it.", when=at, command=ctx.command("checkin", "edit"))
    return ctx._("The check-in for {when} closed when the next one began; {command} answers the open one.", when=at, command=ctx.command("checkin"))

CHECKIN_EDIT = Flow(
    name=EDIT_FLOW,
    steps=(
        Step(
            "answers",
            lambda ctx, d: ctx._("Send the corrected answers, numbered (e.g. '3. none now'); the others stay as they were."),
            parse_edit,
        ),
    ),
    finish=_finish_edit,
    cancelled=N_("Nothing was changed."),
    later=lambda ctx, data: ctx._("Nothing was changed; {command} corrects your check-in whenever you like.", command=ctx.command("checkin", "edit")),
)


# ---------------------------------------------------------------------------- commands


def _require_paired(ctx: Context) -> Member:
    me = ctx.require_member()
    if not ctx.repos.checkins.is_eligible(me.pk):
        raise ActionError(ctx._("You have no mentor right now, so there is no check-in to answer."))
    return me


async def checkin(ctx: Context, answer: str | None) -> str:
    me = _require_paired(ctx)
    assert ctx.who is not None
    row = ctx.repos.checkins.open_for(me.pk)
    lang = ctx.language
    if row is not None:
        if not answer and ctx.resume_aside(FLOW, due=row.due_at.isoformat()) is not None:  # put aside with !later
            return ctx._("Your check-in for {when}, where you left off:", when=when(row.due_at, me, lang))
        due, questions = row.due_at, row.questions
        intro = ctx._("Your check-in for {when}:", when=when(row.due_at, me, lang))
    else:
        plan = plan_of(ctx, me)
        due = next_prompt(ctx, schedule_of(ctx, plan, me), ctx.now)
        ahead = ctx.repos.checkins.at(me.pk, due)
        if ahead is not None and ahead.status == ANSWERED:
            raise ActionError(
                ctx._(
                    "You have answered your next check-in ({when}) already; {command} corrects it.",
                    when=when(due, me, lang), command=ctx.command("checkin", "edit"),
                )
            )
        questions = current_questions(ctx)
        intro = ctx._("Your next check-in is {when}; answering it now:", when=when_zoned(due, me, lang))
    data: dict[str, Any] = {"due": due.isoformat(), "questions": questions}
    if answer:
        try:
            many = several(answer, questions, 0, lang)
            if many is None and len(questions) == 1:
                many = [check_answer(questions[0], answer, lang)]
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if many is None:
            raise UsageError(
                ctx.ngettext(
                    "Give all {n} answers (numbered, or separated by |), or send {command} alone and I'll ask one at a time",
                    "Give all {n} answers (numbered, or separated by |), or send {command} alone and I'll ask one at a time",
                    len(questions), command=ctx.command("checkin"),
                )
            )
        return record_answer(ctx, data, many)
    open_interview(ctx, me.pk, FLOW, ctx.who.platform, data)
    lines = [intro, *numbered_questions(ctx, questions, ctx.language)]
    if len(questions) > 1:
        lines.append(ctx._("Reply with all the answers at once (numbered, one per line, or separated by |), or answer 1 and I'll ask the rest."))
    return "\n".join(lines)


async def checkin_edit(ctx: Context, answer: str | None) -> str:
    me = ctx.require_member()
    assert ctx.who is not None
    row = ctx.repos.checkins.last_answered(me.pk)
    if row is None:
        raise ActionError(ctx._("You have no answered check-in to correct yet."))
    data = {"due": row.due_at.isoformat(), "questions": row.questions}
    if answer:
        try:
            changes = parse_edit(ctx, answer, data)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return record_edit(ctx, row.due_at, changes)
    open_interview(ctx, me.pk, EDIT_FLOW, ctx.who.platform, data)
    lines = [ctx._("Your answers for {when}:", when=when(row.due_at, me, ctx.language))]
    lines += [f"{i}. {line}" for i, line in enumerate(answer_lines(row, (), ctx.language), 1)]
    lines.append(ctx._("Send the corrected ones, numbered (e.g. '3. none now'); the others stay as they were."))
    return "\n".join(lines)


def _normalise(schedule: WeeklySchedule) -> str:
    days = ",".join(DAY_NAMES[d][:3].lower() for d in schedule.days)
    return f"{days} {schedule.at:%H:%M}"


async def checkin_schedule(ctx: Context, days_and_time: str | None) -> str:
    me = ctx.require_member()
    plan = ctx.repos.checkins.plan(me.pk)
    lang = ctx.language
    if days_and_time is None:
        schedule = schedule_of(ctx, plan, me)
        fields = {"schedule": format_schedule(schedule, lang), "when": when_zoned(next_asked(ctx, me, schedule, ctx.now), me, lang)}
        if plan and plan.schedule:
            now = ctx._("Your check-ins: {schedule} (your own); next {when}.", **fields)
        else:
            now = ctx._("Your check-ins: {schedule} (the programme's); next {when}.", **fields)
        how = ctx._(
            "{change} changes it; {reset} resets it.",
            change=ctx.command("checkin", "schedule", "tue,fri", "18:30"), reset=ctx.command("checkin", "schedule", "default"),
        )
        return sentences(now, how)
    chosen: str | None = None
    if days_and_time.strip().lower() != "default":
        try:
            parsed = parse_schedule(days_and_time, zone_name(me))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if parsed.tz != zone_name(me):
            raise UsageError(
                ctx._("check-ins follow your own timezone ({zone}); {command} changes it", zone=zone_name(me), command=ctx.command("profile", "set", "timezone"))
            )
        if parsed.at.second:
            raise UsageError(ctx._("give the time in hours and minutes, like 18:30"))
        chosen = _normalise(parsed)
    if plan is None:
        plan = fresh_plan(ctx, me, chosen)
    else:
        plan.schedule = chosen
        plan.basis, plan.tz = schedule_text(ctx, plan), zone_name(me)
        plan.next_due_at = next_occurrence(weekly(plan.basis, plan.tz), ctx.now)
    ctx.repos.checkins.save(plan)
    schedule = schedule_of(ctx, plan, me)
    nxt = when_zoned(next_asked(ctx, me, schedule, ctx.now), me, lang)
    done = ctx._("Your check-ins are now {schedule}. The next one: {when}.", schedule=format_schedule(schedule, lang), when=nxt)
    paired = ctx.repos.checkins.is_eligible(me.pk)
    return sentences(done, "" if paired else ctx._("They start once you have a mentor."))


async def checkin_digest(ctx: Context, choice: str) -> str:
    me = ctx.require_member()
    repo = ctx.repos.checkins
    current = repo.digest(me.pk)
    at = f"{ctx.language.time(time.fromisoformat(ctx.settings.checkins.digest_time))} ({zone_name(me)})"
    if choice == "on":
        if current is not None:
            return ctx._("You get a daily digest at {time} already.", time=at)
        # ``since`` is exclusive: a microsecond back, so an answer recorded at this very instant
        # (a console script's clock stands still between lines) is not lost between the two modes
        since = ctx.now - timedelta(microseconds=1)
        repo.save(CheckinDigest(member_id=me.pk, next_at=next_digest(ctx, me, ctx.now), since=since))
        return ctx._(
            "Your mentees' check-ins now come in one digest a day at {time}. "
            "Blockers and two missed check-ins in a row still reach you at once.",
            time=at,
        )
    if current is None:
        return ctx._("You get each check-in as it comes already.")
    repo.stop_digest(me.pk)
    mentees = repo.mentees_of([me.pk]).get(me.pk, [])
    rows = repo.activity([m.id for m in mentees if m.id is not None], current.since) if mentees else []
    items = digest_items(ctx, mentees, rows, current.since)
    if items:
        ctx.dm(me, digest_text(ctx, me, items), key=f"checkin-digest:{me.pk}:off:{ctx.now.isoformat()}")
    done = ctx._("You'll get each check-in as it comes.")
    return sentences(done, ctx._("What came since the last digest is on its way.") if items else "")


def _query(ctx: Context, words: list[str]) -> tuple[Member | None, int]:
    """``[MENTEE] [last N]`` (or ``[MENTEE] [N]``)."""
    rest, last = list(words), HISTORY_SHOWN
    if rest and rest[-1].isdigit():
        last = int(rest.pop())
        if rest and rest[-1].lower() == "last":
            rest.pop()
        if not 1 <= last <= 50:
            raise UsageError(ctx._("show between 1 and 50 check-ins"))
    elif rest and rest[-1].lower() == "last":
        raise UsageError(ctx._("say how many, e.g. last 5"))
    if len(rest) > 1:
        raise UsageError(ctx._("name one mentee, not '{words}'", words=" ".join(rest)[:40]))
    who = ctx.find_member(rest[0], "mentee") if rest else None
    return who, last


async def checkins(ctx: Context, query: list[str]) -> str:
    me = ctx.require_member()
    who, last = _query(ctx, query)
    if who is None:
        mentees = ctx.repos.checkins.mentees_of([me.pk]).get(me.pk, [])
        if not mentees:
            return history_text(ctx, me, me, last)
        lang = ctx.language
        lines = [ctx._("Your mentees' check-ins ({command} for one in full):", command=ctx.command("checkins", "MENTEE"))]
        for mentee in mentees:
            rows = ctx.repos.checkins.history(mentee.pk)
            latest = next((r for r in reversed(rows) if r.status == ANSWERED), None)
            fields = {"name": mentee.handle, "stats": stats(rows).text(lang)}
            if latest:
                line = ctx._(
                    "{name}: {stats}; last answer {when}: {summary}", when=when(latest.due_at, me, lang), summary=summary(latest, lang), **fields
                )
            else:
                line = f"{mentee.handle}: {fields['stats']}"
            lines.append(clip(line, 300))
        return "\n".join(lines)
    return history_text(ctx, me, who, last)  # one the asker may name: CHECKINS_OF


# ---------------------------------------------------------------------------- declarations


#: alice (Europe/Berlin) paired with bob (America/New_York) on Monday 4 Jan 2027 09:00 UTC, and
#: alice's next check-in (Thursday's) answered early
ANSWERED_ONCE = (*PAIRED, "alice: !checkin 1. fixed a test 2. review a patch 3. none 4. 4")

#: whose check-ins: your own, your mentees' (now), anyone's (coordinators)
CHECKINS_OF = Access.of(
    SELF, MENTOR, COORDINATOR, person=lambda ctx, words: (_query(ctx, words)[0], None),
    refusal=N_("You can read your own check-ins and your mentees'; {name} is not your mentee."),
)
ANSWER = Arg("answer", kind="text", required=False, rest=True, help=N_("all answers at once: numbered, or separated by |"))

FEATURE = Feature(
    name="checkins",
    commands=(
        CommandSpec(
            ("checkin",),
            N_("answer your check-in now (before the prompt too), in private"),
            roles=("mentee",),
            handler=checkin,
            args=(ANSWER,),
            private=True,
            as_subcommand="answer",
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
            N_("correct your last check-in (your mentors see it marked as a correction)"),
            roles=("mentee",),
            handler=checkin_edit,
            args=(ANSWER,),
            private=True,
            examples=(Example("alice: !checkin edit 3. waiting for review", r"Corrected \(3\)\. bob will see", setup=ANSWERED_ONCE),),
        ),
        CommandSpec(
            ("checkin", "schedule"),
            N_("show or change when you are asked (in your own timezone)"),
            roles=("mentee",),
            handler=checkin_schedule,
            args=(Arg("days_and_time", kind="text", required=False, rest=True, help=N_("e.g. tue,fri 18:30, or default")),),
            private=True,
            examples=(
                Example("alice: !checkin schedule tue,fri 18:30", r"now Tue, Fri at 18:30 \(Europe/Berlin\)\. The next one: Tue 5 Jan 18:30", setup=PAIRED),
                Example("alice: !checkin schedule", r"Mon, Thu at 10:00 \(Europe/Berlin\) \(the programme's\)", setup=PAIRED),
            ),
        ),
        CommandSpec(
            ("checkin", "digest"),
            N_("read your mentees' check-ins in one daily digest (on) or as they come (off)"),
            roles=("mentor",),
            handler=checkin_digest,
            args=(Arg("choice", choices=("on", "off"), help=N_("on or off")),),
            private=True,
            examples=(Example("bob: !checkin digest on", r"one digest a day at 18:00 \(America/New_York\)", setup=PAIRED),),
        ),
        CommandSpec(
            ("checkins",),
            N_("check-in history with answer rate and streak: yours, or a mentee's"),
            roles=("mentee", "mentor", "coordinator"),
            handler=checkins,
            args=(Arg("query", many=True, required=False, help=N_("a mentee, and/or 'last N'"), access=CHECKINS_OF),),
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
