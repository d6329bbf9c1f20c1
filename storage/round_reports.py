"""Read-only queries behind a coordinator's view of one round: every pair (ended ones too),
every mentee's goal, and the records a round export writes out.

Questions the dashboard asks already (sessions, check-in statuses, office-hour waits) stay in
:mod:`storage.reports`; this module adds what they leave out: a round's pairs whatever became
of them (``!round close`` ends them, the overview still lists them) and whole records with
their ids for the export. Each method is one or two queries over the whole round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.assessments import Assessment, AssessmentAnswer
from storage.checkins import Checkin
from storage.mentorship import Pair
from storage.office_hours import LogRow, OfficeHoursRepo
from storage.progress import GoalCompletion, GoalStep, MentoringSession
from storage.reports import PairRow
from storage.tables import Member, Signup


@dataclass(frozen=True)
class RoundPair(PairRow):
    """A pair of the round, ended or not, with its people's handles."""

    ended_at: datetime | None
    end_reason: str | None


@dataclass(frozen=True)
class MenteeGoal:
    """A mentee's sign-up in the round: the goal, whether it is reached, and its steps."""

    signup_id: int
    mentee_id: int
    mentee: str
    goal: str | None
    #: the sign-up's status: active, withdrawn
    status: str
    reached_at: datetime | None
    steps: int
    steps_done: int


class RoundReportRepo:
    def __init__(self, db: Session):
        self.db = db

    def pairs(self, round_id: int) -> list[RoundPair]:
        """Every pair of the round, ended or not, by mentee, lead mentor first."""
        mentee, mentor = aliased(Member), aliased(Member)
        stmt = (
            select(Pair.id, Pair.mentee_id, mentee.handle, Pair.mentor_id, mentor.handle, Pair.kind, Pair.created_at,
                   Pair.ended_at, Pair.end_reason)
            .join(mentee, col(mentee.id) == col(Pair.mentee_id))
            .join(mentor, col(mentor.id) == col(Pair.mentor_id))
            .where(Pair.round_id == round_id)
            .order_by(col(mentee.handle), col(Pair.kind).desc(), col(Pair.id))  # "mentor" sorts after "comentor"
        )
        return [RoundPair(*row) for row in self.db.exec(stmt).all()]

    def goals(self, round_id: int) -> list[MenteeGoal]:
        """Every mentee sign-up of the round with its goal's state (two queries)."""
        stmt = (
            select(Signup, Member.handle, GoalCompletion.done_at)
            .join(Member, col(Member.id) == col(Signup.member_id))
            .outerjoin(GoalCompletion, (col(GoalCompletion.signup_id) == col(Signup.id)) & col(GoalCompletion.reopened_at).is_(None))
            .where(Signup.round_id == round_id, Signup.kind == "mentee")
            .order_by(col(Member.handle))
        )
        rows = list(self.db.exec(stmt).all())
        counts = self._step_counts([s.pk for s, _, _ in rows])
        return [
            MenteeGoal(s.pk, s.member_id, handle, s.goal, s.status, reached, *counts.get(s.pk, (0, 0)))
            for s, handle, reached in rows
        ]

    def _step_counts(self, signup_ids: list[int]) -> dict[int, tuple[int, int]]:
        if not signup_ids:
            return {}
        stmt = (
            select(GoalStep.signup_id, func.count(), func.count(col(GoalStep.done_at)))
            .where(col(GoalStep.signup_id).in_(signup_ids))
            .group_by(col(GoalStep.signup_id))
        )
        return {signup: (n, done) for signup, n, done in self.db.exec(stmt).all()}

    # ------------------------------------------------------------------ whole records, for exports

    def steps(self, round_id: int) -> list[tuple[GoalStep, int]]:
        """Every goal step of the round's mentees, with the mentee's member id."""
        stmt = (
            select(GoalStep, Signup.member_id)
            .join(Signup, col(Signup.id) == col(GoalStep.signup_id))
            .where(Signup.round_id == round_id, Signup.kind == "mentee")
            .order_by(col(Signup.member_id), col(GoalStep.id))
        )
        return [(step, member_id) for step, member_id in self.db.exec(stmt).all()]

    def mentoring_sessions(self, round_id: int) -> list[MentoringSession]:
        stmt = select(MentoringSession).where(MentoringSession.round_id == round_id)
        return list(self.db.exec(stmt.order_by(col(MentoringSession.held_on), col(MentoringSession.id))))

    def checkins(self, mentee_ids: list[int], start: datetime, end: datetime) -> list[Checkin]:
        """These mentees' check-ins due in [start, end), oldest first."""
        if not mentee_ids:
            return []
        stmt = select(Checkin).where(col(Checkin.mentee_id).in_(mentee_ids), col(Checkin.due_at) >= start, col(Checkin.due_at) < end)
        return list(self.db.exec(stmt.order_by(col(Checkin.due_at), col(Checkin.id))))

    def assessments(self, round_id: int) -> list[Assessment]:
        stmt = select(Assessment).where(Assessment.round_id == round_id)
        return list(self.db.exec(stmt.order_by(col(Assessment.started_at), col(Assessment.id))))

    def assessment_answers(self, round_id: int) -> list[AssessmentAnswer]:
        stmt = (
            select(AssessmentAnswer)
            .join(Assessment, col(Assessment.id) == col(AssessmentAnswer.assessment_id))
            .where(Assessment.round_id == round_id)
            .order_by(col(AssessmentAnswer.assessment_id), col(AssessmentAnswer.skill))
        )
        return list(self.db.exec(stmt))

    def assessments_done(self, round_id: int) -> int:
        stmt = select(func.count()).select_from(Assessment).where(
            Assessment.round_id == round_id, col(Assessment.completed_at).is_not(None)
        )
        return int(self.db.exec(stmt).one())

    def help_log(self, start: datetime, end: datetime) -> list[LogRow]:
        """The office-hour help log of the people who joined a line in [start, end)."""
        return [row for row in OfficeHoursRepo(self.db).help_log(since=start) if row.entry.joined_at < end]
