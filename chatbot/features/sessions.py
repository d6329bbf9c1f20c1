"""Session logs: mentors record the time they spend with their mentees, with totals per round.

A mentor (lead or co-mentor) logs only sessions with their own mentees, and edits or deletes
only sessions they logged; the mentee is told when one is logged. Everyone who mentors a mentee
sees all of that mentee's sessions, coordinators see every session. Notes are the mentors' and
coordinators' working notes: the mentee sees date, duration and topic, not the notes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable

from chatbot.commands import ActionError, Arg, CommandSpec, Example, UsageError, format_minutes, parse_date, parse_duration
from chatbot.context import Context, Feature
from chatbot.features.away import local_date, named
from chatbot.features.matchmaking import MY_MENTEE, PAIRED
from chatbot.features.rounds import current_round
from storage.progress import PairTotal, SessionLog
from storage.tables import Member

TOPIC_MAX = 80
NOTES_MAX = 500
#: the newest sessions a list shows; older ones are counted, not listed
LIST_MAX = 10
#: mentors shown by !session totals before the rest are summarised
TOTALS_MAX = 15


def _count(sessions: int, minutes: int) -> str:
    return f"{sessions} session{'s' if sessions != 1 else ''}, {format_minutes(minutes)}"


def _sum(logs: Iterable[SessionLog]) -> str:
    logs = list(logs)
    return _count(len(logs), sum(log.minutes for log in logs))


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _topic(text: str) -> str:
    topic = " ".join(text.split())
    if not topic:
        raise UsageError("topic is empty")
    if len(topic) > TOPIC_MAX:
        raise UsageError(f"keep the topic under {TOPIC_MAX} characters (details go in the notes)")
    return topic


_HOURS = r"(?:h|hr|hrs|hour|hours)"
_MINUTES = r"(?:m|min|mins|minute|minutes)"
#: the shapes a duration is typed in: 90, 90m, 1h30m, 1h30, 1h 30m, 1.5h, 1:30, 2 hours
_DURATIONS = (
    (re.compile(r"(\d{1,2}):(\d{2})"), lambda m: int(m[1]) * 60 + int(m[2])),
    (re.compile(rf"(\d+(?:[.,]\d+)?){_HOURS}"), lambda m: round(float(m[1].replace(",", ".")) * 60)),
    (re.compile(rf"(\d+){_HOURS}(\d+){_MINUTES}?"), lambda m: int(m[1]) * 60 + int(m[2])),
    (re.compile(rf"(\d+){_MINUTES}?"), lambda m: int(m[1])),
)
#: a word that continues a duration typed with a space: "1h 30m", "2 hours", "90 min"
_CONTINUES = re.compile(rf"(?:\d+{_MINUTES}|{_HOURS}|{_MINUTES})", re.IGNORECASE)


def read_duration(text: str) -> int:
    """Minutes in a duration typed any usual way (``1h30m``, ``1h 30m``, ``90``, ``1.5h``,
    ``1:30``); the same limits as everywhere (more than zero, at most a day)."""
    compact = "".join(text.lower().split())
    for pattern, minutes_of in _DURATIONS:
        m = pattern.fullmatch(compact)
        if m:
            minutes = minutes_of(m)
            if minutes <= 0:
                raise ValueError(f"'{text}' must be longer than zero minutes")
            if minutes > 24 * 60:
                raise ValueError(f"'{text}' is longer than a day")
            return minutes
    return parse_duration(text)  # its refusal says what a duration looks like


def split_log(duration: str, rest: str) -> tuple[int, str, str | None]:
    """``1h 30m Composer debugging | stuck on autoload`` → (90, topic, notes). The topic is
    every word up to a ``|`` (or a quoted phrase); the notes are what follows."""
    words = rest.split(maxsplit=1)
    if words and _CONTINUES.fullmatch(words[0]):
        try:
            read_duration(f"{duration} {words[0]}")
            duration, rest = f"{duration} {words[0]}", words[1] if len(words) > 1 else ""
        except ValueError:
            pass  # "30m" was not the rest of the duration after all
    try:
        minutes = read_duration(duration)
    except ValueError as exc:
        raise UsageError(f"duration: {exc}") from None
    rest = rest.strip()
    if rest[:1] == '"' and '"' in rest[1:]:
        topic, _, notes = rest[1:].partition('"')
        notes = notes.strip().lstrip("|")
    else:
        topic, _, notes = rest.partition("|")
    return minutes, _topic(topic), _notes(notes)


def _notes(text: str | None) -> str | None:
    notes = " ".join(text.split()) if text else ""
    if notes.lower() in ("", "-", "none"):
        return None
    if len(notes) > NOTES_MAX:
        raise UsageError(f"keep the notes under {NOTES_MAX} characters")
    return notes


def _handles(ctx: Context, ids: Iterable[int]) -> dict[int, str]:
    out = {}
    for member_id in set(ids):
        m = ctx.repos.members.get(member_id)
        out[member_id] = m.handle if m else "(gone)"
    return out


def _line(log: SessionLog, names: dict[int, str], notes: bool) -> str:
    text = f"{log.id}: {log.held_on} {names[log.mentor_id]} with {names[log.mentee_id]}, {format_minutes(log.minutes)}: {log.topic}"
    if notes and log.notes:
        text += f" — {_clip(log.notes, 60)}"
    return text


def _lines(ctx: Context, logs: list[SessionLog], viewer: Member) -> list[str]:
    """The newest sessions, one a line; the mentee of a session does not see its notes."""
    names = _handles(ctx, [i for log in logs for i in (log.mentor_id, log.mentee_id)])
    shown = logs[-LIST_MAX:]
    lines = [_line(log, names, notes=log.mentee_id != viewer.id) for log in shown]
    if len(logs) > len(shown):
        lines.insert(0, f"({len(logs) - len(shown)} earlier not shown)")
    return lines


def _own(ctx: Context, me: Member, log_id: int) -> SessionLog:
    log = ctx.repos.session_logs.get(log_id)
    if log is None:
        raise ActionError(f"There is no session {log_id}. {ctx.prefix}session list shows their numbers.")
    if log.mentor_id != me.id:
        raise ActionError(f"Session {log_id} is not yours; you can change only the sessions you logged.")
    return log


# ---------------------------------------------------------------------------- commands


async def session_log(ctx: Context, mentee: Member, duration: str, topic: str) -> str:
    me = ctx.require_member()
    minutes, topic, notes = split_log(duration, topic)
    rnd = current_round(ctx)
    assert me.id is not None and mentee.id is not None and rnd.id is not None
    if mentee.id == me.id or not ctx.repos.pairs.mentors(me.id, mentee.id):
        raise ActionError(f"{mentee.handle} is not your mentee; you can log sessions with your own mentees only.")
    log = ctx.repos.session_logs.add(
        SessionLog(
            round_id=rnd.id,
            mentor_id=me.id,
            mentee_id=mentee.id,
            held_on=local_date(me, ctx.now),
            minutes=minutes,
            topic=topic,
            notes=notes,
            logged_at=ctx.now,
        )
    )
    ctx.dm(
        mentee,
        f"{named(me)} logged a {format_minutes(minutes)} session with you on {log.held_on}: "
        f"{log.topic}. {ctx.prefix}session list shows them all.",
        key=f"session-logged:{log.id}",
    )
    together = ctx.repos.session_logs.of_round(rnd.id, mentor_id=me.id, mentee_id=mentee.id)
    return (
        f"Logged session {log.id}: {mentee.handle}, {format_minutes(minutes)} on {log.held_on}, {log.topic}. "
        f"With {mentee.handle} in {rnd.name}: {_sum(together)}. {mentee.handle} has been told."
    )


async def session_list(ctx: Context, mentee: Member | None) -> str:
    me = ctx.require_member()
    rnd = current_round(ctx)
    assert me.id is not None and rnd.id is not None
    logs_repo = ctx.repos.session_logs
    if mentee is not None:
        assert mentee.id is not None
        if mentee.id != me.id and not ctx.has_role("coordinator") and not ctx.repos.pairs.mentors(me.id, mentee.id):
            raise ActionError(f"{mentee.handle} is not your mentee; you can see your own mentees' sessions.")
        logs = logs_repo.of_round(rnd.id, mentee_id=mentee.id)
        title = f"Sessions with {mentee.handle} in {rnd.name}"
        by_mentor: dict[int, list[SessionLog]] = defaultdict(list)
        for log in logs:
            by_mentor[log.mentor_id].append(log)
        names = _handles(ctx, by_mentor)
        split = ", ".join(f"{names[m]} {format_minutes(sum(x.minutes for x in ls))}" for m, ls in by_mentor.items())
        footer = f"In all: {_sum(logs)}" + (f" ({split})" if len(by_mentor) > 1 else "")
    elif ctx.has_role("coordinator"):
        logs = logs_repo.of_round(rnd.id)
        title = f"All sessions in {rnd.name}"
        footer = f"In all: {_sum(logs)}. Per mentor and pair: {ctx.prefix}session totals"
    else:
        logs = logs_repo.of_round(rnd.id, involving=me.id)
        title = f"Your sessions in {rnd.name}"
        footer = _my_totals(ctx, me, logs)
    if not logs:
        hint = f" Mentors log one with {ctx.prefix}session log MENTEE DURATION TOPIC." if ctx.has_role("mentor") else ""
        return f"{title}: none yet.{hint}"
    return "\n".join([f"{title}:", *_lines(ctx, logs, me), footer])


def _my_totals(ctx: Context, me: Member, logs: list[SessionLog]) -> str:
    """A mentor's total with a split per mentee; a mentee's total with their mentors."""
    given = [log for log in logs if log.mentor_id == me.id]
    received = [log for log in logs if log.mentee_id == me.id]
    parts = []
    if given:
        per: dict[int, list[SessionLog]] = defaultdict(list)
        for log in given:
            per[log.mentee_id].append(log)
        names = _handles(ctx, per)
        split = ", ".join(f"{names[m]} {format_minutes(sum(x.minutes for x in ls))}" for m, ls in per.items())
        parts.append(f"Your total as mentor: {_sum(given)} ({split})")
    if received:
        parts.append(f"With your mentors: {_sum(received)}")
    return "; ".join(parts)


async def session_edit(ctx: Context, id: int, field: str, value: str) -> str:
    me = ctx.require_member()
    log = _own(ctx, me, id)
    try:
        if field == "duration":
            log.minutes = read_duration(value)
        elif field == "topic":
            log.topic = _topic(value)
        elif field == "notes":
            log.notes = _notes(value)
        else:
            day = parse_date(value)
            today = local_date(me, ctx.now)
            if day > today:
                raise UsageError(f"{day} is in the future (today is {today})")
            rnd = ctx.repos.rounds.current()
            if rnd is not None and rnd.id == log.round_id and day < rnd.starts_on:
                raise UsageError(f"{day} is before {rnd.name} began ({rnd.starts_on})")
            log.held_on = day
    except ValueError as exc:
        raise UsageError(f"{field}: {exc}") from None
    log.edited_at = ctx.now
    ctx.repos.session_logs.save(log)
    names = _handles(ctx, (log.mentor_id, log.mentee_id))
    return f"Saved. Session {_line(log, names, notes=True)}"


async def session_delete(ctx: Context, id: int) -> str:
    me = ctx.require_member()
    log = _own(ctx, me, id)
    names = _handles(ctx, (log.mentee_id,))
    ctx.repos.session_logs.delete(log)
    return f"Deleted session {id} ({names[log.mentee_id]}, {format_minutes(log.minutes)} on {log.held_on})."


async def session_totals(ctx: Context) -> str:
    rnd = current_round(ctx)
    assert rnd.id is not None
    totals = ctx.repos.session_logs.totals(rnd.id)
    per_mentor: dict[int, dict[int, PairTotal | None]] = defaultdict(dict)
    for pair in ctx.repos.pairs.active(rnd.id):  # pairs without a session show as 0: worth a look
        per_mentor[pair.mentor_id][pair.mentee_id] = None
    for t in totals:
        per_mentor[t.mentor_id][t.mentee_id] = t
    if not per_mentor:
        return f"{rnd.name}: no pairs and no sessions yet."
    names = _handles(ctx, [i for m, mentees in per_mentor.items() for i in (m, *mentees)])
    header = f"{rnd.name}: {_count(sum(t.sessions for t in totals), sum(t.minutes for t in totals))} in all."
    lines = []
    for mentor_id in sorted(per_mentor, key=lambda m: names[m]):
        mentees = per_mentor[mentor_id]
        done = [t for t in mentees.values() if t is not None]
        split = ", ".join(
            f"{names[m]} {t.sessions} ({format_minutes(t.minutes)})" if t else f"{names[m]} 0"
            for m, t in sorted(mentees.items(), key=lambda kv: names[kv[0]])
        )
        lines.append(f"{names[mentor_id]}: {_count(sum(t.sessions for t in done), sum(t.minutes for t in done))} — {split}")
    if len(lines) > TOTALS_MAX:
        lines = [*lines[:TOTALS_MAX], f"…and {len(lines) - TOTALS_MAX} more mentors"]
    return "\n".join([header, *lines])


LOGGED = (*PAIRED, "bob: !session log alice 45m testing | Wrote the first unit test")
SESSION_ID = Arg("id", kind="int", minimum=1, help="the session's number (from !session list)")

FEATURE = Feature(
    name="sessions",
    commands=(
        CommandSpec(
            ("session", "log"),
            "log a session with your mentee (they are told; notes after a | are for mentors and coordinators)",
            roles=("mentor",),
            handler=session_log,
            private=True,
            args=(
                MY_MENTEE,
                Arg("duration", help="how long, like 45m, 1h30m or 90"),
                Arg("topic", kind="text", rest=True, help="what it was about; after a |, notes not shown to the mentee"),
            ),
            examples=(
                Example(
                    "bob: !session log alice 1h30m Composer debugging | Wrote the first unit test",
                    r"Logged session 1: alice, 1h30m on 2027-01-04, Composer debugging\.",
                    setup=PAIRED,
                ),
                Example("bob: !session log alice 0m testing", r"must be longer than zero minutes", setup=PAIRED),
            ),
        ),
        CommandSpec(
            ("session", "list"),
            "the round's sessions: yours, or a mentee's (coordinators: everyone's), with totals",
            roles=("mentor", "mentee", "coordinator"),
            handler=session_list,
            private=True,
            args=(Arg("mentee", kind="member", required=False, help="only the sessions with this mentee", complete="my-mentees"),),
            examples=(
                Example("bob: !session list", r"1: 2027-01-04 bob with alice, 45m: testing — Wrote the first", setup=LOGGED),
                Example("alice: !session list", r"Your sessions in 2027 Q1:\n1: 2027-01-04 bob with alice, 45m: testing\n", setup=LOGGED),
            ),
        ),
        CommandSpec(
            ("session", "edit"),
            "change a session you logged: its duration, topic, notes or date",
            roles=("mentor",),
            handler=session_edit,
            private=True,
            args=(
                SESSION_ID,
                Arg("field", choices=("duration", "topic", "notes", "date"), help="what to change"),
                Arg("value", kind="text", rest=True, help="the new value (notes: - clears them)"),
            ),
            examples=(Example("bob: !session edit 1 duration 1h", r"Saved. Session 1: 2027-01-04 bob with alice, 1h: testing", setup=LOGGED),),
        ),
        CommandSpec(
            ("session", "delete"),
            "delete a session you logged",
            roles=("mentor",),
            handler=session_delete,
            private=True,
            args=(SESSION_ID,),
            examples=(Example("bob: !session delete 1", r"Deleted session 1 \(alice, 45m on 2027-01-04\)", setup=LOGGED),),
        ),
        CommandSpec(
            ("session", "totals"),
            "sessions and time per mentor and per pair in the open round",
            roles=("coordinator",),
            handler=session_totals,
            private=True,
            examples=(Example("!session totals", r"bob: 1 session, 45m — alice 1 \(45m\)", setup=LOGGED),),
        ),
    ),
)
