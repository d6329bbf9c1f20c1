"""What stays of a person who erased their records: their round records, detached from them.

An erasure used to delete every row about the person, and the round's figures shrank with it
(6 sessions became 4; check-ins asked, assessments done, goals, office-hour visits and the
outcome figures too). Now the rows that make up a round's figures are kept but handed to an
anonymous *leaver*: a member row with no identity, no role and no name of theirs (handle
``(left 3)``, status ``left``), and the text they wrote, or that was written about them, is
cleared. Every report counts those rows as it counts anyone's, so nothing needs to add a
separate "leavers" figure, and nothing personal remains to export.

Every column that points at a member is named here, either as the person's own (the row goes
with them) or as a round record (the row stays, detached): ``tests/test_leavers.py`` fails when
a table adds a member column without saying which, so a new table is never kept by accident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, update
from sqlmodel import Session, SQLModel, col, select

from storage.checkins import Checkin
from storage.feedback import FeedbackAnswer
from storage.office_hours import OhEntry
from storage.progress import GoalComment, GoalCompletion, GoalStep, MentoringSession
from storage.tables import Member, Signup

#: the status of a leaver's anonymous member row
LEFT = "left"
#: what a goal, a goal step or a reached goal reads once its writer is gone (not empty: a goal
#: that was set still counts as set)
ERASED = "(erased)"

#: (table, column): rows that are the person's own and go with them (deleted by the cascade)
OWN = frozenset({
    ("identity", "member_id"), ("member_role", "member_id"), ("conversation", "member_id"), ("aside_interview", "member_id"),
    ("link_code", "member_id"), ("dashboard_link", "member_id"), ("outbox", "member_id"),
    ("checkin_plan", "member_id"), ("checkin_digest", "member_id"), ("away_period", "member_id"),
    ("oh_notice", "member_id"), ("certificate", "member_id"),
})
#: (table, column): rows of a round's records, kept and handed to the leaver
KEPT = frozenset({
    ("signup", "member_id"), ("pair", "mentee_id"), ("pair", "mentor_id"), ("pair", "created_by"),
    ("checkin", "mentee_id"), ("session_log", "mentor_id"), ("session_log", "mentee_id"),
    ("assessment", "member_id"), ("assessment", "assessor_id"), ("feedback_request", "respondent_id"),
    ("feedback_answer", "respondent_id"), ("oh_entry", "member_id"), ("oh_entry", "host_id"),
    ("oh_duty", "member_id"), ("goal_comment", "author_id"), ("member_role", "granted_by"),
    ("round", "opened_by"), ("oh_session", "opened_by"), ("pending_role", "granted_by"),
    ("certificate", "issued_by"), ("certificate", "revoked_by"),
})


def member_columns() -> set[tuple[str, str]]:
    """Every (table, column) that points at a member, from the metadata."""
    return {
        (table.name, fk.parent.name)
        for table in SQLModel.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == Member.__tablename__ and table.name != Member.__tablename__
    }


class LeaverRepo:
    def __init__(self, db: Session):
        self.db = db

    def detach(self, member_id: int, now: datetime) -> Member:
        """Hand the person's round records to a new anonymous leaver and clear their text; what
        is left pointing at ``member_id`` is theirs alone and goes when their row is deleted."""
        leaver = self._new_leaver(now)
        for table in SQLModel.metadata.sorted_tables:
            for fk in table.foreign_keys:
                if (table.name, fk.parent.name) in KEPT and fk.column.table.name == Member.__tablename__:
                    self.db.execute(update(table).where(fk.parent == member_id).values({fk.parent.name: leaver.pk}))
        self._clear_text(leaver.pk)
        self.db.flush()
        return leaver

    def _new_leaver(self, now: datetime) -> Member:
        n = int(self.db.exec(select(func.count()).select_from(Member).where(Member.status == LEFT)).one()) + 1
        while self.db.exec(select(Member.id).where(Member.handle == f"({LEFT} {n})")).first() is not None:
            n += 1
        leaver = Member(handle=f"({LEFT} {n})", display_name=f"({LEFT} {n})", status=LEFT, created_at=now)
        self.db.add(leaver)
        self.db.flush()
        return leaver

    def _clear_text(self, leaver_id: int) -> None:
        """Whatever the person wrote, or was written about them, in the rows now the leaver's."""
        signups = select(Signup.id).where(Signup.member_id == leaver_id)
        blank: list[tuple[Any, Any, dict[str, Any]]] = [
            (Signup, Signup.member_id == leaver_id, {"goal": _erased(Signup.goal), "skills": []}),
            (GoalStep, col(GoalStep.signup_id).in_(signups), {"text": ERASED}),
            (GoalCompletion, col(GoalCompletion.signup_id).in_(signups), {"goal": ERASED}),
            (GoalComment, col(GoalComment.signup_id).in_(signups) | (GoalComment.author_id == leaver_id), {"text": ERASED}),
            (Checkin, Checkin.mentee_id == leaver_id, {"blocker": None, "original": None}),
            (MentoringSession, (MentoringSession.mentee_id == leaver_id) | (MentoringSession.mentor_id == leaver_id), {"topic": ERASED, "notes": None}),
            (FeedbackAnswer, FeedbackAnswer.respondent_id == leaver_id, {"notes": None}),
            (OhEntry, OhEntry.member_id == leaver_id, {"account": None, "nick": f"({LEFT})", "topic": None}),
        ]
        for table, where, values in blank:
            self.db.execute(update(table).where(where).values(values))
        for row in self.db.exec(select(Checkin).where(Checkin.mentee_id == leaver_id)):
            row.answers = ["" for _ in row.answers]  # as many answers as before: the rate counts them
            self.db.add(row)

    def left(self, member_ids: set[int]) -> set[int]:
        """Which of these members are leavers."""
        if not member_ids:
            return set()
        stmt = select(Member.id).where(col(Member.id).in_(list(member_ids)), Member.status == LEFT)
        return {i for i in self.db.exec(stmt) if i is not None}


def _erased(column: Any) -> Any:
    """A text column that says ERASED where it said something, and stays empty where it was."""
    return case((column.is_(None), None), (column == "", ""), else_=ERASED)
