"""Read-only queries behind the dashboard and the charts sent in chat.

Nothing here writes. Each method asks one question over a whole round (or the office-hour log)
and returns plain rows; grouping by week, medians and heat maps are done in Python by
``chatbot.dashboard.figures``, so the same SQL runs on SQLite and on PostgreSQL (date
truncation and percentiles differ between them) and a round's few thousand rows cost one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.assessments import Assessment, AssessmentAnswer
from storage.checkins import Checkin
from storage.mentorship import Pair
from storage.office_hours import OhEntry, OfficeHour
from storage.progress import GoalStep, MentoringSession
from storage.tables import Member, Round, Signup


@dataclass(frozen=True)
class PairRow:
    """One active pair of a round with its people's handles."""

    pair_id: int
    mentee_id: int
    mentee: str
    mentor_id: int
    mentor: str
    #: mentor (the lead) or comentor
    kind: str
    created_at: datetime


@dataclass(frozen=True)
class CheckinRow:
    mentee_id: int
    due_at: datetime
    status: str
    rating: int | None
    blocker: str | None
    answers: list[str]


@dataclass(frozen=True)
class SessionRow:
    mentor_id: int
    mentee_id: int
    held_on: date
    minutes: int
    topic: str


@dataclass(frozen=True)
class ScoreRow:
    """The latest answer of one kind of assessment about one person's skill in a round."""

    member_id: int
    kind: str
    skill: str
    score: int


@dataclass(frozen=True)
class WaitRow:
    """One person who waited in an office-hour line (``called_at`` None: never called)."""

    platform: str
    channel: str
    joined_at: datetime
    called_at: datetime | None
    outcome: str | None


class ReportRepo:
    def __init__(self, db: Session):
        self.db = db

    def rounds(self) -> list[Round]:
        """Every round, the latest first."""
        return list(self.db.exec(select(Round).order_by(col(Round.starts_on).desc(), col(Round.id).desc())))

    def round(self, round_id: int) -> Round | None:
        return self.db.get(Round, round_id)

    def pairs(self, round_id: int, mentor_id: int | None = None) -> list[PairRow]:
        """The round's active pairs (lead and co-mentors), or only those ``mentor_id`` mentors."""
        mentee, mentor = aliased(Member), aliased(Member)
        stmt = (
            select(Pair.id, Pair.mentee_id, mentee.handle, Pair.mentor_id, mentor.handle, Pair.kind, Pair.created_at)
            .join(mentee, col(mentee.id) == col(Pair.mentee_id))
            .join(mentor, col(mentor.id) == col(Pair.mentor_id))
            .where(Pair.round_id == round_id, col(Pair.ended_at).is_(None))
        )
        if mentor_id is not None:
            stmt = stmt.where(Pair.mentor_id == mentor_id)
        return [PairRow(*row) for row in self.db.exec(stmt.order_by(col(mentee.handle), col(Pair.id))).all()]

    def pair(self, pair_id: int) -> tuple[Pair, Member, Member] | None:
        """A pair (active or ended) with its mentee and mentor."""
        mentee, mentor = aliased(Member), aliased(Member)
        stmt = (
            select(Pair, mentee, mentor)
            .join(mentee, col(mentee.id) == col(Pair.mentee_id))
            .join(mentor, col(mentor.id) == col(Pair.mentor_id))
            .where(Pair.id == pair_id)
        )
        row = self.db.exec(stmt).first()
        return (row[0], row[1], row[2]) if row is not None else None

    def checkin_statuses(self, mentee_ids: Iterable[int], start: datetime, end: datetime) -> list[tuple[int, datetime, str]]:
        """(mentee, due, status) of these mentees' check-ins due in [start, end): what rates need,
        without the answers (decoding them was most of a large round's overview)."""
        ids = list(mentee_ids)
        if not ids:
            return []
        stmt = (
            select(Checkin.mentee_id, Checkin.due_at, Checkin.status)
            .where(col(Checkin.mentee_id).in_(ids), col(Checkin.due_at) >= start, col(Checkin.due_at) < end)
            .order_by(col(Checkin.due_at), col(Checkin.id))
        )
        return [(m, due, status) for m, due, status in self.db.exec(stmt).all()]

    def checkins(self, mentee_ids: Iterable[int], start: datetime, end: datetime) -> list[CheckinRow]:
        """The check-ins of these mentees due in [start, end), oldest first."""
        ids = list(mentee_ids)
        if not ids:
            return []
        stmt = (
            select(Checkin.mentee_id, Checkin.due_at, Checkin.status, Checkin.rating, Checkin.blocker, Checkin.answers)
            .where(col(Checkin.mentee_id).in_(ids), col(Checkin.due_at) >= start, col(Checkin.due_at) < end)
            .order_by(col(Checkin.due_at), col(Checkin.id))
        )
        return [CheckinRow(m, due, status, rating, blocker, list(answers or [])) for m, due, status, rating, blocker, answers in self.db.exec(stmt).all()]

    def sessions(self, round_id: int, pairs: Iterable[tuple[int, int]] | None = None,
                 mentee_id: int | None = None) -> list[SessionRow]:
        """Sessions logged in the round, oldest first: only these (mentor, mentee) pairs, or only
        with this mentee (by any of their mentors), if given."""
        stmt = select(MentoringSession.mentor_id, MentoringSession.mentee_id, MentoringSession.held_on, MentoringSession.minutes, MentoringSession.topic).where(
            MentoringSession.round_id == round_id
        )
        if mentee_id is not None:
            stmt = stmt.where(MentoringSession.mentee_id == mentee_id)
        rows = [SessionRow(*row) for row in self.db.exec(stmt.order_by(col(MentoringSession.held_on), col(MentoringSession.id))).all()]
        if pairs is None:
            return rows
        wanted = set(pairs)
        return [r for r in rows if (r.mentor_id, r.mentee_id) in wanted]

    def goal(self, mentee_id: int, round_id: int) -> tuple[Signup | None, list[GoalStep]]:
        """The mentee's sign-up in the round (its ``goal``) and the goal's steps."""
        signup = self.db.exec(
            select(Signup).where(Signup.member_id == mentee_id, Signup.round_id == round_id, Signup.kind == "mentee")
        ).first()
        if signup is None:
            return None, []
        steps = self.db.exec(select(GoalStep).where(GoalStep.signup_id == signup.id).order_by(col(GoalStep.id)))
        return signup, list(steps)

    def scores(self, round_id: int, member_ids: Iterable[int] | None = None) -> list[ScoreRow]:
        """Per person, kind and skill, the latest score given in the round ("not applicable"
        and skipped skills are left out)."""
        stmt = (
            select(Assessment.member_id, Assessment.kind, AssessmentAnswer.skill, AssessmentAnswer.score)
            .join(Assessment, col(Assessment.id) == col(AssessmentAnswer.assessment_id))
            .where(Assessment.round_id == round_id, col(AssessmentAnswer.score).is_not(None))
            .order_by(col(AssessmentAnswer.answered_at), col(Assessment.id))
        )
        if member_ids is not None:
            stmt = stmt.where(col(Assessment.member_id).in_(list(member_ids)))
        latest: dict[tuple[int, str, str], int] = {}
        for member_id, kind, skill, score in self.db.exec(stmt).all():
            latest[(member_id, kind, skill)] = score  # later answers replace earlier ones
        return [ScoreRow(m, k, s, v) for (m, k, s), v in latest.items()]

    def waits(self, since: datetime | None = None) -> list[WaitRow]:
        """Everybody who joined an office-hour line (since ``since``), oldest first."""
        stmt = select(OfficeHour.platform, OfficeHour.channel, OhEntry.joined_at, OhEntry.called_at, OhEntry.outcome).join(
            OfficeHour, col(OfficeHour.id) == col(OhEntry.session_id)
        )
        if since is not None:
            stmt = stmt.where(col(OhEntry.joined_at) >= since)
        return [WaitRow(*row) for row in self.db.exec(stmt.order_by(col(OhEntry.joined_at), col(OhEntry.id))).all()]

    def handles(self, member_ids: Iterable[int]) -> dict[int, str]:
        ids = list(set(member_ids))
        if not ids:
            return {}
        return dict(self.db.exec(select(Member.id, Member.handle).where(col(Member.id).in_(ids))).all())  # type: ignore[arg-type]
