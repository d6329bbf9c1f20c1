"""Skills assessments: who rated whose skills, in which round, and every answer as it came.

An :class:`Assessment` is one pass over a person's skills by one assessor: ``self`` (the person
themself), ``mentor`` (a review by their mentor or co-mentor) or ``final`` (the lead mentor's
check at the end of a round, once per round). The skills asked are copied into the row when it
starts, so a catalogue edited mid-interview does not shift the questions.

Each answer is its own row, written the moment it is given: a paused, cancelled or interrupted
interview loses nothing, and resuming asks only what has no row yet. A skill without a row is
unanswered (skipped); a row whose score is NULL is "not applicable".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import Index
from sqlmodel import Field, Session, SQLModel, col, select

from storage.stored import Stored
from storage.tables import json_list, when

#: the kinds of assessment, in the order a report shows them
KINDS = ("self", "mentor", "final")


class Assessment(Stored, SQLModel, table=True):
    __table_args__ = (Index("ix_assessment_subject", "member_id", "kind", "round_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    #: whose skills are rated
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    #: who rates them (the member themself for ``self``)
    assessor_id: Optional[int] = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    #: self, mentor, final
    kind: str
    #: the round it belongs to; None for a self-assessment made while no round was open
    round_id: Optional[int] = Field(default=None, foreign_key="round.id")
    role_focus: str
    #: the skill titles asked, in order
    skills: list[str] = json_list()
    started_at: datetime = when()
    completed_at: Optional[datetime] = when(nullable=True)


class AssessmentAnswer(SQLModel, table=True):
    __tablename__ = "assessment_answer"

    assessment_id: int = Field(foreign_key="assessment.id", primary_key=True, ondelete="CASCADE")
    skill: str = Field(primary_key=True)
    #: 0-3, or None for "not applicable"
    score: Optional[int] = None
    answered_at: datetime = when()


@dataclass(frozen=True)
class Rating:
    """One answer with what a report needs to know about its assessment."""

    kind: str
    skill: str
    score: int | None
    assessment_id: int
    answered_at: datetime


class AssessmentRepo:
    def __init__(self, db: Session):
        self.db = db

    def get(self, assessment_id: int) -> Assessment | None:
        return self.db.get(Assessment, assessment_id)

    def start(
        self,
        member_id: int,
        assessor_id: int,
        kind: str,
        round_id: int | None,
        role_focus: str,
        skills: list[str],
        now: datetime,
    ) -> Assessment:
        if kind not in KINDS:
            raise ValueError(f"unknown assessment kind {kind!r}")
        row = Assessment(
            member_id=member_id, assessor_id=assessor_id, kind=kind, round_id=round_id,
            role_focus=role_focus, skills=list(skills), started_at=now,
        )
        self.db.add(row)
        self.db.flush()
        return row

    def _of(self, member_id: int, kind: str, round_id: int | None):  # noqa: ANN202 - a select
        stmt = select(Assessment).where(Assessment.member_id == member_id, Assessment.kind == kind)
        if round_id is None:
            return stmt.where(col(Assessment.round_id).is_(None))
        return stmt.where(Assessment.round_id == round_id)

    def unfinished(self, member_id: int, assessor_id: int, kind: str, round_id: int | None) -> Assessment | None:
        """The assessor's latest incomplete pass over this person's skills, to resume."""
        stmt = self._of(member_id, kind, round_id).where(
            Assessment.assessor_id == assessor_id, col(Assessment.completed_at).is_(None)
        )
        return self.db.exec(stmt.order_by(col(Assessment.id).desc())).first()

    def latest(self, member_id: int) -> Assessment | None:
        """The person's most recently started assessment of any kind."""
        stmt = select(Assessment).where(Assessment.member_id == member_id).order_by(col(Assessment.id).desc())
        return self.db.exec(stmt).first()

    def of_round(self, round_id: int) -> list[Assessment]:
        """Every assessment of a round, oldest first (a coordinator's overview)."""
        return list(self.db.exec(select(Assessment).where(Assessment.round_id == round_id).order_by(col(Assessment.id))))

    def completed_final(self, member_id: int, round_id: int) -> Assessment | None:
        stmt = self._of(member_id, "final", round_id).where(col(Assessment.completed_at).is_not(None))
        return self.db.exec(stmt).first()

    def answers(self, assessment_id: int) -> dict[str, int | None]:
        rows = self.db.exec(select(AssessmentAnswer).where(AssessmentAnswer.assessment_id == assessment_id))
        return {r.skill: r.score for r in rows}

    def answer(self, assessment_id: int, skill: str, score: int | None, now: datetime) -> None:
        row = self.db.get(AssessmentAnswer, (assessment_id, skill))
        if row is None:
            row = AssessmentAnswer(assessment_id=assessment_id, skill=skill, score=score, answered_at=now)
        else:
            row.score, row.answered_at = score, now
        self.db.add(row)
        self.db.flush()

    def complete(self, assessment: Assessment, now: datetime) -> None:
        assessment.completed_at = now
        self.db.add(assessment)

    def ratings(self, member_id: int, round_id: int | None, kinds: tuple[str, ...] = KINDS) -> list[Rating]:
        """Every answer about this person in a round (None: outside rounds), oldest first."""
        stmt = (
            select(Assessment.kind, AssessmentAnswer.skill, AssessmentAnswer.score, Assessment.id, AssessmentAnswer.answered_at)
            .join(Assessment, col(Assessment.id) == col(AssessmentAnswer.assessment_id))
            .where(Assessment.member_id == member_id, col(Assessment.kind).in_(kinds))
        )
        if round_id is None:
            stmt = stmt.where(col(Assessment.round_id).is_(None))
        else:
            stmt = stmt.where(Assessment.round_id == round_id)
        stmt = stmt.order_by(col(AssessmentAnswer.answered_at), col(Assessment.id))
        return [Rating(*row) for row in self.db.exec(stmt).all()]

    def latest_self_scores(self, member_id: int) -> dict[str, int | None]:
        """Per skill, the person's most recent self-assessed score, whichever round it was in.

        Per skill rather than per assessment: a re-assessment paused half-way still counts
        for what it covered, and the rest keeps the earlier answers."""
        stmt = (
            select(AssessmentAnswer.skill, AssessmentAnswer.score)
            .join(Assessment, col(Assessment.id) == col(AssessmentAnswer.assessment_id))
            .where(Assessment.member_id == member_id, Assessment.kind == "self")
            .order_by(col(AssessmentAnswer.answered_at), col(Assessment.id))
        )
        return {skill: score for skill, score in self.db.exec(stmt).all()}

    def teachable_skills(self, member_id: int) -> set[str]:
        """Skills the person rated 2-3 in their latest self-assessment (what a mentor can teach)."""
        return {s for s, score in self.latest_self_scores(member_id).items() if score is not None and score >= 2}

    def weak_skills(self, member_id: int) -> set[str]:
        """Skills the person rated 0-1 in their latest self-assessment (what a mentee needs)."""
        return {s for s, score in self.latest_self_scores(member_id).items() if score is not None and score <= 1}
