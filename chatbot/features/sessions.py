"""Session logs: mentors record the time they spend with their mentees, with totals per round.

A mentor (lead or co-mentor) logs only sessions with their own mentees, and edits or deletes
only sessions they logged; the mentee is told when one is logged. Everyone who mentors a mentee
sees all of that mentee's sessions, coordinators see every session. Notes are the mentors' and
coordinators' working notes: the mentee sees date, duration and topic, not the notes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from typing import Iterable

from chatbot.access import COORDINATOR, ROUND_MENTOR, SELF, Access
from chatbot.commands import ActionError, Arg, CommandSpec, Example, UsageError, format_minutes, parse_date, parse_duration
from chatbot.context import Context, Feature
from chatbot.features.matchmaking import MY_MENTEE, PAIRED
from chatbot.features.rounds import PERSON_AND_ROUND, ROUND_ARG, chosen_round, person_and_round
from chatbot.i18n import ENGLISH, N_, Language
from chatbot.wording import clip, sentences
from chatbot.people import local_date, named
from storage.progress import PairTotal, MentoringSession
from storage.tables import Member, Round

TOPIC_MAX = 80
NOTES_MAX = 500
#: the newest sessions a list shows; older ones are counted, not listed
LIST_MAX = 10
#: mentors shown by !session totals before the rest are summarised
TOTALS_MAX = 15


def _count(sessions: int, minutes: int, lang: Language) -> str:
    """"2 sessions, 1h45m": durations stay as they are typed (45m, 1h30m) in every language."""
    return lang.ngettext("{n} session, {time}", "{n} sessions, {time}", sessions, time=format_minutes(minutes))


def _sum(logs: Iterable[MentoringSession], lang: Language) -> str:
    logs = list(logs)
    return _count(len(logs), sum(log.minutes for log in logs), lang)


def _with_leavers(ctx: Context, totals: list[PairTotal]) -> tuple[str, str]:
    """The round's total, and a sentence saying how much of it was held with people who left
    and had their records erased (their sessions stay, a leaver's: see ``storage.leavers``;
    "" when none)."""
    left_ids = _leavers(ctx, totals)
    left = [t for t in totals if {t.mentor_id, t.mentee_id} & left_ids]
    total = _count(sum(t.sessions for t in totals), sum(t.minutes for t in totals), ctx.language)
    if not left:
        return total, ""
    gone = _count(sum(t.sessions for t in left), sum(t.minutes for t in left), ctx.language)
    return total, ctx._("With people who have left the programme: {left}.", left=gone)


def _leavers(ctx: Context, totals: list[PairTotal]) -> set[int]:
    return ctx.repos.leavers.left({i for t in totals for i in (t.mentor_id, t.mentee_id)})


def _topic(text: str, lang: Language) -> str:
    topic = " ".join(text.split())
    if not topic:
        raise UsageError(lang._("topic is empty"))
    if len(topic) > TOPIC_MAX:
        raise UsageError(lang._("keep the topic under {limit} characters (details go in the notes)", limit=lang.number(TOPIC_MAX)))
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


def read_duration(text: str, lang: Language = ENGLISH) -> int:
    """Minutes in a duration typed any usual way (``1h30m``, ``1h 30m``, ``90``, ``1.5h``,
    ``1:30``); the same limits as everywhere (more than zero, at most a day). The ValueError's
    text is for the person who typed it, in ``lang``."""
    compact = "".join(text.lower().split())
    for pattern, minutes_of in _DURATIONS:
        m = pattern.fullmatch(compact)
        if m:
            minutes = minutes_of(m)
            if minutes <= 0:
                raise ValueError(lang._("'{duration}' must be longer than zero minutes", duration=text))
            if minutes > 24 * 60:
                raise ValueError(lang._("'{duration}' is longer than a day", duration=text))
            return minutes
    return parse_duration(text)  # its refusal says what a duration looks like


def split_log(duration: str, rest: str, lang: Language = ENGLISH) -> tuple[int, str, str | None]:
    """``1h 30m Composer debugging | stuck on autoload`` → (90, topic, notes). The topic is
    every word up to a ``|`` (or a quoted phrase); the notes are what follows."""
    words = rest.split(maxsplit=1)
    if words and _CONTINUES.fullmatch(words[0]):
        try:
            read_duration(f"{duration} {words[0]}", lang)
            duration, rest = f"{duration} {words[0]}", words[1] if len(words) > 1 else ""
        except ValueError:
            pass  # "30m" was not the rest of the duration after all
    try:
        minutes = read_duration(duration, lang)
    except ValueError as exc:
        raise UsageError(_field_error(lang, "duration", exc)) from None
    rest = rest.strip()
    if rest[:1] == '"' and '"' in rest[1:]:
        topic, _, notes = rest[1:].partition('"')
        notes = notes.strip().lstrip("|")
    else:
        topic, _, notes = rest.partition("|")
    return minutes, _topic(topic, lang), _notes(notes, lang)


def _field_error(lang: Language, field: str, exc: ValueError) -> str:
    """"duration: '0m' must be longer than zero minutes": which value (named as it is typed in
    the command) and what is wrong with it."""
    return lang._("{field}: {problem}", field=field, problem=exc)


def _notes(text: str | None, lang: Language) -> str | None:
    notes = " ".join(text.split()) if text else ""
    if notes.lower() in ("", "-", "none"):
        return None
    if len(notes) > NOTES_MAX:
        raise UsageError(lang._("keep the notes under {limit} characters", limit=lang.number(NOTES_MAX)))
    return notes


def _handles(ctx: Context, ids: Iterable[int]) -> dict[int, str]:
    out = {}
    for member_id in set(ids):
        m = ctx.repos.members.get(member_id)
        out[member_id] = m.handle if m else "(gone)"
    return out


def _line(ctx: Context, log: MentoringSession, names: dict[int, str], notes: bool) -> str:
    """"1: Mon 4 Jan bob with alice, 45m: testing — notes": the date as the reader's language
    writes it (the id is what ``!session edit ID`` takes)."""
    text = ctx._(
        "{id}: {date} {mentor} with {mentee}, {time}: {topic}",
        id=log.id, date=ctx.language.short_date(log.held_on), mentor=names[log.mentor_id], mentee=names[log.mentee_id],
        time=format_minutes(log.minutes), topic=log.topic,
    )
    if notes and log.notes:
        text += f" — {clip(log.notes, 60)}"
    return text


def _lines(ctx: Context, logs: list[MentoringSession], viewer: Member) -> list[str]:
    """The newest sessions, one a line; the mentee of a session does not see its notes."""
    names = _handles(ctx, [i for log in logs for i in (log.mentor_id, log.mentee_id)])
    shown = logs[-LIST_MAX:]
    lines = [_line(ctx, log, names, notes=log.mentee_id != viewer.id) for log in shown]
    if len(logs) > len(shown):
        lines.insert(0, ctx.ngettext("({n} earlier not shown)", "({n} earlier not shown)", len(logs) - len(shown)))
    return lines


def _own(ctx: Context, me: Member, log_id: int) -> MentoringSession:
    log = ctx.repos.mentoring_sessions.get(log_id)
    if log is None:
        raise ActionError(ctx._("There is no session {id}. {command} shows their numbers.", id=log_id, command=ctx.command("session", "list")))
    if log.mentor_id != me.id:
        raise ActionError(ctx._("Session {id} is not yours; you can change only the sessions you logged.", id=log_id))
    return log


# ---------------------------------------------------------------------------- commands


async def session_log(ctx: Context, mentee: Member, duration: str, topic: str) -> str:
    me = ctx.require_member()
    minutes, topic, notes = split_log(duration, topic, ctx.language)
    logs = ctx.repos.mentoring_sessions
    target = logs.log_target(me.pk, mentee.pk)  # a session belongs to the pair's round
    if mentee.pk == me.pk or target is None:
        raise ActionError(ctx._("{name} is not your mentee; you can log sessions with your own mentees only.", name=mentee.handle))
    held_on = local_date(me, ctx.now)
    log_id = logs.log(target.round_id, me.pk, mentee.pk, held_on, minutes, topic, notes, ctx.now)
    theirs = ctx.language_of(mentee)
    ctx.dm(
        mentee,
        theirs._(
            "{name} logged a {time} session with you on {date}: {topic}. {command} shows them all.",
            name=named(me), time=format_minutes(minutes), date=theirs.short_date(held_on), topic=topic,
            command=ctx.command("session", "list"),
        ),
        key=f"session-logged:{log_id}",
    )
    total = _count(target.sessions + 1, target.minutes + minutes, ctx.language)  # with this one
    return ctx._(
        "Logged session {id}: {mentee}, {time} on {date}, {topic}. With {mentee} in {round}: {total}. {mentee} has been told.",
        id=log_id, mentee=mentee.handle, time=format_minutes(minutes), date=ctx.language.short_date(held_on), topic=topic,
        round=target.round_name, total=total,
    )


async def session_list(ctx: Context, mentee: str | None = None) -> str:
    me = ctx.require_member()
    person, round_name = person_and_round(ctx, mentee)
    rnd = chosen_round(ctx, round_name)
    return _session_list(ctx, me, rnd, person)


def _session_list(ctx: Context, me: Member, rnd: Round, mentee: Member | None) -> str:
    logs_repo = ctx.repos.mentoring_sessions
    if mentee is not None:
        logs = logs_repo.of_round(rnd.pk, mentee_id=mentee.pk)  # one the asker may name: SESSIONS_OF
        title = ctx._("Sessions with {name} in {round}", name=mentee.handle, round=rnd.name)
        by_mentor: dict[int, list[MentoringSession]] = defaultdict(list)
        for log in logs:
            by_mentor[log.mentor_id].append(log)
        total = _sum(logs, ctx.language)
        if len(by_mentor) > 1:
            footer = ctx._("In all: {total} ({split})", total=total, split=_split(ctx, by_mentor))
        else:
            footer = ctx._("In all: {total}", total=total)
    elif ctx.has_role("coordinator"):
        logs = logs_repo.of_round(rnd.pk)
        title = ctx._("All sessions in {round}", round=rnd.name)
        total, left = _with_leavers(ctx, ctx.repos.mentoring_sessions.totals(rnd.pk))
        footer = sentences(ctx._("In all: {total}. Per mentor and pair: {command}", total=total, command=ctx.command("session", "totals")), left)
    else:
        logs = logs_repo.of_round(rnd.pk, involving=me.pk)
        title = ctx._("Your sessions in {round}", round=rnd.name)
        footer = _my_totals(ctx, me, logs)
    if not logs:
        empty = ctx._("{title}: none yet.", title=title)
        if ctx.has_role("mentor"):
            hint = ctx._("Mentors log one with {command}.", command=ctx.command("session", "log", "MENTEE", "DURATION", "TOPIC"))
            return f"{empty} {hint}"
        return empty
    return "\n".join([f"{title}:", *_lines(ctx, logs, me), footer])


def _split(ctx: Context, per: dict[int, list[MentoringSession]]) -> str:
    """"bob 45m, dave 1h": the time per person, in the order they first appear."""
    names = _handles(ctx, per)
    return ", ".join(f"{names[m]} {format_minutes(sum(x.minutes for x in ls))}" for m, ls in per.items())


def _my_totals(ctx: Context, me: Member, logs: list[MentoringSession]) -> str:
    """A mentor's total with a split per mentee; a mentee's total with their mentors."""
    given = [log for log in logs if log.mentor_id == me.id]
    received = [log for log in logs if log.mentee_id == me.id]
    parts = []
    if given:
        per: dict[int, list[MentoringSession]] = defaultdict(list)
        for log in given:
            per[log.mentee_id].append(log)
        parts.append(ctx._("Your total as mentor: {total} ({split})", total=_sum(given, ctx.language), split=_split(ctx, per)))
    if received:
        parts.append(ctx._("With your mentors: {total}", total=_sum(received, ctx.language)))
    return "; ".join(parts)


async def session_edit(ctx: Context, id: int, field: str, value: str) -> str:
    me = ctx.require_member()
    log = _own(ctx, me, id)
    lang = ctx.language
    try:
        if field == "duration":
            log.minutes = read_duration(value, lang)
        elif field == "topic":
            log.topic = _topic(value, lang)
        elif field == "notes":
            log.notes = _notes(value, lang)
        else:
            day = parse_date(value)
            today = local_date(me, ctx.now)
            if day > today:
                raise UsageError(ctx._("{date} is in the future (today is {today})", date=day.isoformat(), today=today.isoformat()))
            rnd = ctx.repos.db.get(Round, log.round_id)
            if rnd is not None and day < rnd.starts_on:
                raise UsageError(
                    ctx._("{date} is before {round} began ({start})", date=day.isoformat(), round=rnd.name, start=rnd.starts_on.isoformat())
                )
            log.held_on = day
    except ValueError as exc:
        raise UsageError(_field_error(lang, field, exc)) from None
    log.edited_at = ctx.now
    ctx.repos.mentoring_sessions.save(log)
    names = _handles(ctx, (log.mentor_id, log.mentee_id))
    return ctx._("Saved. Session {session}", session=_line(ctx, log, names, notes=True))


async def session_delete(ctx: Context, id: int) -> str:
    me = ctx.require_member()
    log = _own(ctx, me, id)
    names = _handles(ctx, (log.mentee_id,))
    ctx.repos.mentoring_sessions.delete(log)
    return ctx._(
        "Deleted session {id} ({mentee}, {time} on {date}).",
        id=id, mentee=names[log.mentee_id], time=format_minutes(log.minutes), date=ctx.language.short_date(log.held_on),
    )


async def session_totals(ctx: Context, round: str | None = None) -> str:
    rnd = chosen_round(ctx, round)
    totals = ctx.repos.mentoring_sessions.totals(rnd.pk)
    pairs = ctx.repos.pairs.of_round(rnd.pk, ended=rnd.status == "closed")
    left_ids = _leavers(ctx, totals) | ctx.repos.leavers.left({i for p in pairs for i in (p.mentor_id, p.mentee_id)})
    per_mentor: dict[int, dict[int, PairTotal | None]] = defaultdict(dict)
    for pair in pairs:  # pairs without a session show as 0: worth a look
        if not {pair.mentor_id, pair.mentee_id} & left_ids:
            per_mentor[pair.mentor_id][pair.mentee_id] = None
    for t in totals:  # a leaver's sessions are in the round's total, not on a mentor's line
        if not {t.mentor_id, t.mentee_id} & left_ids:
            per_mentor[t.mentor_id][t.mentee_id] = t
    if not per_mentor and not totals:
        return ctx._("{round}: no pairs and no sessions yet.", round=rnd.name)
    lang = ctx.language
    names = _handles(ctx, [i for m, mentees in per_mentor.items() for i in (m, *mentees)])
    total, left = _with_leavers(ctx, totals)
    header = sentences(ctx._("{round}: {total} in all.", round=rnd.name, total=total), left)
    lines = []
    for mentor_id in sorted(per_mentor, key=lambda m: names[m]):
        mentees = per_mentor[mentor_id]
        done = [t for t in mentees.values() if t is not None]
        split = ", ".join(
            f"{names[m]} {t.sessions} ({format_minutes(t.minutes)})" if t else f"{names[m]} 0"
            for m, t in sorted(mentees.items(), key=lambda kv: names[kv[0]])
        )
        lines.append(f"{names[mentor_id]}: {_count(sum(t.sessions for t in done), sum(t.minutes for t in done), lang)} — {split}")
    if len(lines) > TOTALS_MAX:
        more = ctx.ngettext("…and {n} more mentor", "…and {n} more mentors", len(lines) - TOTALS_MAX)
        lines = [*lines[:TOTALS_MAX], more]
    return "\n".join([header, *lines])


LOGGED = (*PAIRED, "bob: !session log alice 45m testing | Wrote the first unit test")
#: whose sessions: your own, those of whom you mentored in the round, anyone's (coordinators)
SESSIONS_OF = Access.of(
    SELF, ROUND_MENTOR, COORDINATOR, person=person_and_round,
    round=lambda ctx, _, round_name: chosen_round(ctx, round_name),
    refusal=N_("{name} is not your mentee; you can see your own mentees' sessions."),
)
SESSION_ID = Arg("id", kind="int", minimum=1, help=N_("the session's number (from {prefix}session list)"))

FEATURE = Feature(
    name="sessions",
    commands=(
        CommandSpec(
            ("session", "log"),
            N_("log a session with your mentee (they are told; notes after a | are for mentors and coordinators)"),
            roles=("mentor",),
            handler=session_log,
            private=True,
            args=(
                MY_MENTEE,
                Arg("duration", help=N_("how long, like 45m, 1h30m or 90")),
                Arg("topic", kind="text", rest=True, help=N_("what it was about; after a |, notes not shown to the mentee")),
            ),
            examples=(
                Example(
                    "bob: !session log alice 1h30m Composer debugging | Wrote the first unit test",
                    r"Logged session 1: alice, 1h30m on Mon 4 Jan, Composer debugging\.",
                    setup=PAIRED,
                ),
                Example("bob: !session log alice 0m testing", r"must be longer than zero minutes", setup=PAIRED),
            ),
        ),
        CommandSpec(
            ("session", "list"),
            N_("the round's sessions: yours, or a mentee's (coordinators: everyone's), with totals"),
            roles=("mentor", "mentee", "coordinator"),
            handler=session_list,
            private=True,
            args=(replace(PERSON_AND_ROUND, access=SESSIONS_OF),),
            examples=(
                Example("bob: !session list", r"1: Mon 4 Jan bob with alice, 45m: testing — Wrote the first", setup=LOGGED),
                Example("bob: !session list alice 2027 Q1", r"Sessions with alice in 2027 Q1:\n1: Mon 4 Jan", setup=(*LOGGED, "!round close")),
                Example("alice: !session list", r"Your sessions in 2027 Q1:\n1: Mon 4 Jan bob with alice, 45m: testing\n", setup=LOGGED),
            ),
        ),
        CommandSpec(
            ("session", "edit"),
            N_("change a session you logged: its duration, topic, notes or date"),
            roles=("mentor",),
            handler=session_edit,
            private=True,
            args=(
                SESSION_ID,
                Arg("field", choices=("duration", "topic", "notes", "date"), help=N_("what to change")),
                Arg("value", kind="text", rest=True, help=N_("the new value (notes: - clears them)")),
            ),
            examples=(Example("bob: !session edit 1 duration 1h", r"Saved. Session 1: Mon 4 Jan bob with alice, 1h: testing", setup=LOGGED),),
        ),
        CommandSpec(
            ("session", "delete"),
            N_("delete a session you logged"),
            roles=("mentor",),
            handler=session_delete,
            private=True,
            args=(SESSION_ID,),
            examples=(Example("bob: !session delete 1", r"Deleted session 1 \(alice, 45m on Mon 4 Jan\)", setup=LOGGED),),
        ),
        CommandSpec(
            ("session", "totals"),
            N_("sessions and time per mentor and per pair in a round"),
            roles=("coordinator",),
            handler=session_totals,
            private=True,
            args=(ROUND_ARG,),
            examples=(
                Example("!session totals", r"bob: 1 session, 45m — alice 1 \(45m\)", setup=LOGGED),
                Example("!session totals 2027 Q1", r"2027 Q1: 1 session, 45m in all\.\nbob: 1 session", setup=(*LOGGED, "!round close")),
            ),
        ),
    ),
)
