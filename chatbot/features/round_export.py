"""A round's records as files: ``mentorbot export round`` writes them to a directory,
``!round export`` sends them as one zip where the platform takes files.

One file per table, with stable column names (README, "Round exports"): pairs, sessions,
check-ins, goals, goal steps, assessments, assessment answers and the office-hour help log of
the round's weeks. Times are UTC ISO 8601, people are named by handle with their member id
beside it. Mentors' private session notes are left out: a file travels further than the chat
(mail, shared drives), and the notes were written for the mentee's mentors; coordinators read
them in the bot, where they stay.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from chatbot.commands import CommandSpec, Example
from chatbot.context import Context, Feature
from chatbot.dashboard.figures import round_span
from chatbot.events import Attachment, DirectMessage
from chatbot.features.office_hours.report import CSV_FIELDS, csv_row, spreadsheet_safe
from chatbot.features.rounds import OPEN_EXAMPLE, ROUND_ARG, chosen_round
from chatbot.i18n import N_
from chatbot.outcomes import outcome_rows
from storage.repos import Repos
from storage.tables import Round

FORMATS = ("csv", "json")


@dataclass(frozen=True)
class Table:
    """One exported file: its name (without extension), its columns and its rows."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def utc_iso(value: datetime | date | None) -> str | None:
    """``2027-01-04T09:00:00Z`` (a date: ``2027-01-04``); None stays None."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat() if value is not None else None


def _people(repos: Repos, rnd: Round) -> dict[int, str]:
    """Everybody the round's records name, by member id."""
    ids: set[int] = set()
    for pair in repos.round_reports.pairs(rnd.pk):
        ids |= {pair.mentee_id, pair.mentor_id}
    for log in repos.round_reports.mentoring_sessions(rnd.pk):
        ids |= {log.mentee_id, log.mentor_id}
    for a in repos.round_reports.assessments(rnd.pk):
        ids |= {i for i in (a.member_id, a.assessor_id) if i is not None}
    return repos.reports.handles(ids)


def _pairs(repos: Repos, rnd: Round) -> Table:
    rows = tuple((p.pair_id, p.mentee_id, p.mentee, p.mentor_id, p.mentor, p.kind, utc_iso(p.created_at), utc_iso(p.ended_at),
                  p.end_reason) for p in repos.round_reports.pairs(rnd.pk))
    return Table("pairs", ("pair_id", "mentee_id", "mentee", "mentor_id", "mentor", "kind", "created_at", "ended_at",
                           "end_reason"), rows)


def _sessions(repos: Repos, rnd: Round, who: dict[int, str]) -> Table:
    rows = tuple((s.id, s.mentor_id, who.get(s.mentor_id), s.mentee_id, who.get(s.mentee_id), utc_iso(s.held_on), s.minutes,
                  s.topic, utc_iso(s.logged_at)) for s in repos.round_reports.mentoring_sessions(rnd.pk))
    return Table("sessions", ("session_id", "mentor_id", "mentor", "mentee_id", "mentee", "held_on", "minutes", "topic",
                              "logged_at"), rows)


def _checkins(repos: Repos, rnd: Round, who: dict[int, str]) -> Table:
    mentees = sorted({p.mentee_id for p in repos.round_reports.pairs(rnd.pk)})
    rows = tuple(
        (c.id, c.mentee_id, who.get(c.mentee_id), utc_iso(c.due_at), c.status, utc_iso(c.answered_at), c.rating, c.blocker,
         [q[2] if isinstance(q, list) and len(q) > 2 else q for q in c.questions], list(c.answers))
        for c in repos.round_reports.checkins(mentees, *round_span(rnd))
    )
    return Table("checkins", ("checkin_id", "mentee_id", "mentee", "due_at", "status", "answered_at", "rating", "blocker",
                              "questions", "answers"), rows)


def _goals(repos: Repos, rnd: Round) -> tuple[Table, Table]:
    goals = repos.round_reports.goals(rnd.pk)
    handles = {g.mentee_id: g.mentee for g in goals}
    rows = tuple((g.signup_id, g.mentee_id, g.mentee, g.goal, g.status, utc_iso(g.reached_at), g.steps, g.steps_done) for g in goals)
    steps = tuple((s.id, s.signup_id, m, handles.get(m), s.text, utc_iso(s.created_at), utc_iso(s.done_at))
                  for s, m in repos.round_reports.steps(rnd.pk))
    return (
        Table("goals", ("signup_id", "mentee_id", "mentee", "goal", "status", "reached_at", "steps", "steps_done"), rows),
        Table("goal_steps", ("step_id", "signup_id", "mentee_id", "mentee", "text", "created_at", "done_at"), steps),
    )


def _assessments(repos: Repos, rnd: Round, who: dict[int, str]) -> tuple[Table, Table]:
    rows = tuple(
        (a.id, a.member_id, who.get(a.member_id), a.assessor_id, who.get(a.assessor_id) if a.assessor_id else None, a.kind,
         a.role_focus, utc_iso(a.started_at), utc_iso(a.completed_at))
        for a in repos.round_reports.assessments(rnd.pk)
    )
    answers = tuple((x.assessment_id, x.skill, x.score, utc_iso(x.answered_at))
                    for x in repos.round_reports.assessment_answers(rnd.pk))
    return (
        Table("assessments", ("assessment_id", "member_id", "member", "assessor_id", "assessor", "kind", "role_focus",
                              "started_at", "completed_at"), rows),
        Table("assessment_answers", ("assessment_id", "skill", "score", "answered_at"), answers),
    )


def _office_hours(repos: Repos, rnd: Round) -> Table:
    """The help log of the round's weeks, in the columns of ``mentorbot export office-hours``."""
    log = repos.round_reports.help_log(*round_span(rnd))
    rows = tuple((*map(_typed, CSV_FIELDS, csv_row(r)), r.entry.member_id, r.entry.host_id) for r in log)
    return Table("office_hours", (*CSV_FIELDS, "person_id", "host_id"), rows)


def _typed(column: str, cell: str) -> Any:
    """A cell of the office-hour CSV as the other tables keep values: numbers, None for nothing."""
    if cell == "":
        return None
    if column == "skips":
        return int(cell)
    return float(cell) if column.endswith("_minutes") else cell


def round_tables(repos: Repos, rnd: Round, today: date) -> list[Table]:
    """Every table of the round's export, in the order the README lists them; the outcome
    figures (``!round outcomes``) as of ``today``, since retention grows with time."""
    who = _people(repos, rnd)
    return [_pairs(repos, rnd), _sessions(repos, rnd, who), _checkins(repos, rnd, who), *_goals(repos, rnd),
            *_assessments(repos, rnd, who), _office_hours(repos, rnd), _outcomes(repos, rnd, today)]


def _outcomes(repos: Repos, rnd: Round, today: date) -> Table:
    rows = outcome_rows(repos, rnd, today)
    return Table("outcomes", ("scope", "subject", "metric", "value"), tuple((r.scope, r.subject, r.metric, r.value) for r in rows))


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return spreadsheet_safe(value) if isinstance(value, str) else value


def as_bytes(table: Table, fmt: str) -> bytes:
    """The table as UTF-8 CSV (lists as JSON text, text safe from spreadsheet formulas) or as a
    JSON array of objects."""
    if fmt == "json":
        objects = [dict(zip(table.columns, row)) for row in table.rows]
        return (json.dumps(objects, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows([_csv_cell(v) for v in row] for row in table.rows)
    return out.getvalue().encode("utf-8")


def write_tables(tables: Iterable[Table], fmt: str, directory: Path) -> list[Path]:
    """One file per table in ``directory`` (made if missing; files of an earlier export replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables:
        path = directory / f"{table.name}.{fmt}"
        path.write_bytes(as_bytes(table, fmt))
        written.append(path)
    return written


def as_zip(tables: Iterable[Table]) -> bytes:
    """Every table in both formats: ``csv/pairs.csv``, ``json/pairs.json``, ..."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for table in tables:
            for fmt in FORMATS:
                z.writestr(f"{fmt}/{table.name}.{fmt}", as_bytes(table, fmt))
    return out.getvalue()


def slug(rnd: Round) -> str:
    return "-".join(rnd.name.split())


async def round_export(ctx: Context, round: str | None = None) -> str | None:
    """The files in private (they hold people's answers), or the command that writes them."""
    rnd = chosen_round(ctx, round)
    me = ctx.require_member()
    assert ctx.who is not None and ctx.where is not None
    caps = ctx.capabilities(ctx.where.platform)
    if caps is None or not caps.attachments or not caps.direct_messages:
        cli = f'mentorbot export round "{rnd.name}" --format csv --out DIR'
        return ctx._("I can't send files here. On the bot's server, run: {command}", command=cli)
    files = Attachment(f"round-{slug(rnd)}.zip", "application/zip", as_zip(round_tables(ctx.repos, rnd, ctx.now.date())))
    text = ctx.language_of(me)._(
        "The records of {round}: one file per table, as CSV and as JSON (columns in the README). "
        "Mentors' private session notes are not in them.", round=rnd.name)
    ctx.queue_dm(me.pk, DirectMessage(to=ctx.who, text=text, attachment=files))
    if ctx.where.is_direct:
        return None
    return ctx._("I've sent you the records of {round} in a private message.", round=rnd.name)


FEATURE = Feature(
    name="round-export",
    commands=(
        CommandSpec(
            ("round", "export"),
            N_("a round's records as a zip of CSV and JSON files, in private (elsewhere: the command to run)"),
            roles=("coordinator",),
            handler=round_export,
            args=(ROUND_ARG,),
            examples=(Example("!round export", r"I can't send files here\. On the bot's server, run: mentorbot export round",
                              setup=(OPEN_EXAMPLE,)),),
        ),
    ),
)
