"""A mentee's progress in a round and the time spent on it: goal steps, comments and completion,
logged sessions, and the record of each away period.

The goal's *text* stays in ``Signup.goal`` (one place, set at sign-up, by ``!profile set goal``
and by ``!goal set``); everything here hangs off that mentee sign-up, so "a goal per round" is
the sign-up's uniqueness per (member, round, kind). Away mode's live state is
``Member.away_until``, which other features read; an :class:`AwayPeriod` records each absence so
its announcements (going, coming back, asking coordinators to reassign) happen exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Optional

from sqlalchemy import Index, bindparam, func, insert, select as core_select
from sqlmodel import Field, Session, SQLModel, col, select

from storage import lean
from storage.mentorship import Pair
from storage.stored import Stored
from storage.tables import Member, Round, table_of, when


class GoalStep(Stored, SQLModel, table=True):
    """A milestone of a mentee's goal; numbered for people by its order within the goal."""

    __tablename__ = "goal_step"

    id: Optional[int] = Field(default=None, primary_key=True)
    signup_id: int = Field(foreign_key="signup.id", index=True, ondelete="CASCADE")
    text: str
    created_at: datetime = when()
    done_at: Optional[datetime] = when(nullable=True)


class GoalComment(Stored, SQLModel, table=True):
    __tablename__ = "goal_comment"

    id: Optional[int] = Field(default=None, primary_key=True)
    signup_id: int = Field(foreign_key="signup.id", index=True, ondelete="CASCADE")
    author_id: Optional[int] = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    text: str
    created_at: datetime = when()


class GoalCompletion(Stored, SQLModel, table=True):
    """The goal was reached. Setting a new goal text reopens it; the record stays as history."""

    __tablename__ = "goal_completion"

    id: Optional[int] = Field(default=None, primary_key=True)
    signup_id: int = Field(foreign_key="signup.id", index=True, ondelete="CASCADE")
    #: the goal as it read when it was reached
    goal: str
    done_at: datetime = when()
    reopened_at: Optional[datetime] = when(nullable=True)


class MentoringSession(Stored, SQLModel, table=True):
    """A mentoring session a mentor held with a mentee, logged by that mentor."""

    __tablename__ = "session_log"
    __table_args__ = (Index("ix_session_log_round_mentor", "round_id", "mentor_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id")
    mentor_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    mentee_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    #: the mentor's local date of the session
    held_on: date
    minutes: int
    topic: str
    #: for the mentee's mentors and the coordinators, not shown to the mentee
    notes: Optional[str] = None
    logged_at: datetime = when()
    edited_at: Optional[datetime] = when(nullable=True)


class AwayPeriod(Stored, SQLModel, table=True):
    """One absence: open while ``ended_at`` is empty. ``Member.away_until`` is the live state."""

    __tablename__ = "away_period"

    id: Optional[int] = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    #: the member's local date the absence was declared on
    starts_on: date
    #: the last day away, inclusive, in the member's timezone (latest value if it was changed)
    until: date
    reason: Optional[str] = None
    created_at: datetime = when()
    #: when the coordinators were asked to reassign this mentor's mentees (at most once)
    reassign_notified_at: Optional[datetime] = when(nullable=True)
    ended_at: Optional[datetime] = when(nullable=True)
    #: "back" (said !back) or "date passed"
    ended_how: Optional[str] = None


class GoalRepo:
    def __init__(self, db: Session):
        self.db = db

    def steps(self, signup_id: int) -> list[GoalStep]:
        return list(self.db.exec(select(GoalStep).where(GoalStep.signup_id == signup_id).order_by(col(GoalStep.id))))

    def add_step(self, signup_id: int, text: str, now: datetime) -> GoalStep:
        step = GoalStep(signup_id=signup_id, text=text, created_at=now)
        self.db.add(step)
        self.db.flush()
        return step

    def finish_step(self, step: GoalStep, now: datetime) -> None:
        step.done_at = now
        self.db.add(step)

    def comments(self, signup_id: int) -> list[GoalComment]:
        stmt = select(GoalComment).where(GoalComment.signup_id == signup_id).order_by(col(GoalComment.id))
        return list(self.db.exec(stmt))

    def add_comment(self, signup_id: int, author_id: int, text: str, now: datetime) -> GoalComment:
        comment = GoalComment(signup_id=signup_id, author_id=author_id, text=text, created_at=now)
        self.db.add(comment)
        self.db.flush()
        return comment

    def completion(self, signup_id: int) -> GoalCompletion | None:
        """The goal's standing completion, if it is reached (and not reopened since)."""
        stmt = select(GoalCompletion).where(
            GoalCompletion.signup_id == signup_id, col(GoalCompletion.reopened_at).is_(None)
        )
        return self.db.exec(stmt).first()

    def complete(self, signup_id: int, goal: str, now: datetime) -> GoalCompletion:
        done = GoalCompletion(signup_id=signup_id, goal=goal, done_at=now)
        self.db.add(done)
        self.db.flush()
        return done

    def reopen(self, signup_id: int, now: datetime) -> bool:
        done = self.completion(signup_id)
        if done is None:
            return False
        done.reopened_at = now
        self.db.add(done)
        return True


@dataclass(frozen=True)
class PairTotal:
    """Sessions one mentor logged with one mentee in a round."""

    mentor_id: int
    mentee_id: int
    sessions: int
    minutes: int


#: built once: a pair's sessions in a round
_OF_PAIR = (
    select(MentoringSession)
    .where(MentoringSession.round_id == bindparam("round_id"), MentoringSession.mentor_id == bindparam("mentor_id"),
           MentoringSession.mentee_id == bindparam("mentee_id"))
    .order_by(col(MentoringSession.held_on), col(MentoringSession.id))
)


@dataclass(frozen=True)
class LogTarget:
    """Where a mentor's new session log goes: their pair's round, and what the pair logged in
    it so far (the reply gives the total with the new one)."""

    round_id: int
    round_name: str
    sessions: int
    minutes: int


_SL, _PAIR, _ROUND = table_of(MentoringSession), table_of(Pair), table_of(Round)


def _pairs_logs(what: object) -> object:
    """An aggregate of the logs of the pair in the enclosing query, in its round."""
    return core_select(what).where(
        _SL.c.round_id == _PAIR.c.round_id, _SL.c.mentor_id == _PAIR.c.mentor_id, _SL.c.mentee_id == _PAIR.c.mentee_id
    ).scalar_subquery()


#: every ``!session log`` asks it: the mentor's active pair with the mentee (lead pair first),
#: its round, and the pair's sessions so far, in one statement where it took three (the pairs,
#: the round, then every log of the pair loaded to add them up)
_LOG_TARGET = (
    core_select(_PAIR.c.round_id, _ROUND.c.name, _pairs_logs(func.count()), _pairs_logs(func.coalesce(func.sum(_SL.c.minutes), 0)))
    .join_from(_PAIR, _ROUND, _ROUND.c.id == _PAIR.c.round_id)
    .where(_PAIR.c.mentee_id == bindparam("mentee_id"), _PAIR.c.mentor_id == bindparam("mentor_id"), _PAIR.c.ended_at.is_(None))
    .order_by(_PAIR.c.kind != "mentor", _PAIR.c.id)
    .limit(1)
)
_INSERT_LOG = insert(_SL).returning(_SL.c.id)


class MentoringSessionRepo:
    def __init__(self, db: Session):
        self.db = db

    def add(self, log: MentoringSession) -> MentoringSession:
        self.db.add(log)
        self.db.flush()
        return log

    def get(self, log_id: int) -> MentoringSession | None:
        return self.db.get(MentoringSession, log_id)

    def log_target(self, mentor_id: int, mentee_id: int) -> LogTarget | None:
        """Where ``mentor_id``'s session with ``mentee_id`` is logged; None when they are not
        the mentee's mentor (in an active pair)."""
        found = lean.first(self.db, _LOG_TARGET, {"mentor_id": mentor_id, "mentee_id": mentee_id})
        return None if found is None else LogTarget(*found)

    def log(
        self, round_id: int, mentor_id: int, mentee_id: int, held_on: date, minutes: int, topic: str, notes: str | None, now: datetime,
    ) -> int:
        """Log a session (one prebuilt INSERT, no ORM object); its id."""
        values = dict(
            round_id=round_id, mentor_id=mentor_id, mentee_id=mentee_id, held_on=held_on, minutes=minutes, topic=topic,
            notes=notes, logged_at=now, edited_at=None,
        )
        found = lean.first(self.db, _INSERT_LOG, values)
        assert found is not None
        return int(found.id)

    def save(self, log: MentoringSession) -> None:
        self.db.add(log)

    def delete(self, log: MentoringSession) -> None:
        self.db.delete(log)
        self.db.flush()

    def of_round(
        self, round_id: int, *, mentor_id: int | None = None, mentee_id: int | None = None, involving: int | None = None
    ) -> list[MentoringSession]:
        """A round's sessions, oldest first: by a mentor, with a mentee, or either side being ``involving``."""
        if mentor_id is not None and mentee_id is not None and involving is None:  # a pair's (a round's close)
            return list(self.db.execute(_OF_PAIR, {"round_id": round_id, "mentor_id": mentor_id, "mentee_id": mentee_id}).scalars())
        stmt = select(MentoringSession).where(MentoringSession.round_id == round_id)
        if mentor_id is not None:
            stmt = stmt.where(MentoringSession.mentor_id == mentor_id)
        if mentee_id is not None:
            stmt = stmt.where(MentoringSession.mentee_id == mentee_id)
        if involving is not None:
            stmt = stmt.where((col(MentoringSession.mentor_id) == involving) | (col(MentoringSession.mentee_id) == involving))
        return list(self.db.exec(stmt.order_by(col(MentoringSession.held_on), col(MentoringSession.id))))

    def last_logged(self, round_id: int) -> dict[tuple[int, int], datetime]:
        """When each (mentor, mentee) pair last logged a session in the round (one query for all)."""
        rows = self.db.exec(
            select(MentoringSession.mentor_id, MentoringSession.mentee_id, func.max(MentoringSession.logged_at))
            .where(MentoringSession.round_id == round_id)
            .group_by(MentoringSession.mentor_id, MentoringSession.mentee_id)
        ).all()
        return {(mentor, mentee): _aware(when) for mentor, mentee, when in rows if when is not None}

    def tally_involving(self, member_id: int) -> dict[int, tuple[int, int]]:
        """Per round: how many sessions, and minutes, ``member_id`` took part in (either side)."""
        rows = self.db.exec(
            select(MentoringSession.round_id, func.count(), func.sum(MentoringSession.minutes))
            .where((col(MentoringSession.mentor_id) == member_id) | (col(MentoringSession.mentee_id) == member_id))
            .group_by(MentoringSession.round_id)
        ).all()
        return {round_id: (n, int(minutes or 0)) for round_id, n, minutes in rows}

    def totals(self, round_id: int) -> list[PairTotal]:
        """Per (mentor, mentee) pair: how many sessions and minutes in the round."""
        rows = self.db.exec(
            select(MentoringSession.mentor_id, MentoringSession.mentee_id, func.count(), func.sum(MentoringSession.minutes))
            .where(MentoringSession.round_id == round_id)
            .group_by(MentoringSession.mentor_id, MentoringSession.mentee_id)
            .order_by(MentoringSession.mentor_id, MentoringSession.mentee_id)
        ).all()
        return [PairTotal(mentor, mentee, n, int(minutes or 0)) for mentor, mentee, n, minutes in rows]


class AwayRepo:
    def __init__(self, db: Session):
        self.db = db

    def open_period(self, member_id: int) -> AwayPeriod | None:
        stmt = select(AwayPeriod).where(AwayPeriod.member_id == member_id, col(AwayPeriod.ended_at).is_(None))
        return self.db.exec(stmt.order_by(col(AwayPeriod.id).desc())).first()

    def start(self, member_id: int, starts_on: date, until: date, reason: str | None, now: datetime) -> AwayPeriod:
        period = AwayPeriod(member_id=member_id, starts_on=starts_on, until=until, reason=reason, created_at=now)
        self.db.add(period)
        self.db.flush()
        return period

    def save(self, period: AwayPeriod) -> None:
        self.db.add(period)

    def end(self, period: AwayPeriod, how: str, now: datetime) -> None:
        period.ended_at, period.ended_how = now, how
        self.db.add(period)

    def members_away(self) -> list[Member]:
        """Everyone with an away date set (whether or not it has passed where they live)."""
        return list(self.db.exec(select(Member).where(col(Member.away_until).is_not(None)).order_by(col(Member.id))))


def _aware(value: datetime) -> datetime:
    """An aggregate bypasses the column type: SQLite hands back naive UTC (or text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
