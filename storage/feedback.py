"""Feedback rounds: who is asked about which pair in each window of a round, and what they said.

Why the tables look like this:

- :class:`FeedbackRequest` is one row per (round, window, respondent, pair), unique: the job
  creates it when the window comes near, asks at ``due_at`` (the window's date at a sensible
  hour where the respondent lives), reminds once and, past ``deadline_at``, counts it as
  missing. Each step stamps a column, so a second tick or a restart repeats nothing.
- :class:`FeedbackAnswer` holds the answers under the same key as its request. Answers are for
  coordinators only: the queries here that return them are called from coordinator commands and
  the coordinators' alerts, never from anything a mentor or mentee reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Optional

from sqlalchemy import Index, UniqueConstraint, delete, func, or_, select as core_select
from sqlmodel import Field, Session, SQLModel, col, select

from storage.mentorship import Pair
from storage.privacy import OWNER
from storage.stored import Stored
from storage.tables import Member, Round, when

#: who answers: the mentor (lead or co-mentor) about their mentee, or the mentee about a mentor
MENTOR_SIDE, MENTEE_SIDE = "mentor", "mentee"


class FeedbackRequest(Stored, SQLModel, table=True):
    __tablename__ = "feedback_request"
    __table_args__ = (
        UniqueConstraint("round_id", "window", "respondent_id", "pair_id"),
        Index("ix_feedback_request_open", "answered_at", "deadline_at"),
        {"info": {OWNER: "respondent_id"}},
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    #: the window's name in the config ("initial", "midpoint", "final")
    window: str
    respondent_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    pair_id: int = Field(foreign_key="pair.id", index=True, ondelete="CASCADE")
    side: str
    #: the window's date at the configured hour in the respondent's timezone
    due_at: datetime = when(index=True)
    deadline_at: datetime = when()
    asked_at: Optional[datetime] = when(nullable=True)
    reminded_at: Optional[datetime] = when(nullable=True)
    answered_at: Optional[datetime] = when(nullable=True)
    #: the coordinators were told it was missing after the deadline
    missing_alerted_at: Optional[datetime] = when(nullable=True)


class FeedbackAnswer(Stored, SQLModel, table=True):
    __tablename__ = "feedback_answer"
    __table_args__ = (UniqueConstraint("round_id", "window", "respondent_id", "pair_id"), {"info": {OWNER: "respondent_id"}})

    id: Optional[int] = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="feedback_request.id", unique=True, ondelete="CASCADE")
    round_id: int = Field(foreign_key="round.id", index=True)
    window: str
    respondent_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    pair_id: int = Field(foreign_key="pair.id", index=True, ondelete="CASCADE")
    #: the last contact as a local date (None: no contact yet); ``contact_said`` is the word
    #: typed when it was not a date ("today", "this week", "none")
    last_contact: Optional[date] = None
    contact_said: Optional[str] = None
    #: weekly, biweekly, monthly, less, not-yet
    frequency: str
    progress: int
    #: what puts the pair at risk (None: nothing)
    risk: Optional[str] = None
    notes: Optional[str] = None
    answered_at: datetime = when()
    #: something in it for the coordinators (a risk, no recent contact), and when they were told
    flagged: bool = False
    flag_alerted_at: Optional[datetime] = when(nullable=True)


@dataclass(frozen=True)
class AnswerRate:
    """How many of the people asked on one side answered."""

    answered: int
    asked: int


@dataclass(frozen=True)
class FeedbackRates:
    mentor: AnswerRate
    mentee: AnswerRate


def _earliest(column: object, *where: object) -> object:
    """The earliest ``column`` of the unanswered requests matching ``where``, as a subquery."""
    unanswered = col(FeedbackRequest.answered_at).is_(None)
    return core_select(func.min(column)).where(unanswered, *where).scalar_subquery()  # type: ignore[arg-type]


#: an idle tick's question: the next hour to ask, the oldest questions not reminded, the next
#: deadline not reported (requests not answered, whatever their pair: an ended one only wakes early)
_NEXT_DUTIES = core_select(
    _earliest(FeedbackRequest.due_at, col(FeedbackRequest.asked_at).is_(None)),
    _earliest(FeedbackRequest.asked_at, col(FeedbackRequest.asked_at).is_not(None), col(FeedbackRequest.reminded_at).is_(None)),
    _earliest(FeedbackRequest.deadline_at, col(FeedbackRequest.missing_alerted_at).is_(None)),
)


class FeedbackRepo:
    def __init__(self, db: Session):
        self.db = db

    def save(self, row: SQLModel) -> None:
        self.db.add(row)

    def flush(self) -> None:
        self.db.flush()

    # -- planning and asking ---------------------------------------------------------------

    def keys(self, round_id: int, window: str) -> set[tuple[int, int]]:
        """(respondent, pair) of every request of a window: what the job need not create again."""
        stmt = select(FeedbackRequest.respondent_id, FeedbackRequest.pair_id).where(
            FeedbackRequest.round_id == round_id, FeedbackRequest.window == window
        )
        return {(r, p) for r, p in self.db.exec(stmt)}

    def pending(self, now: datetime, limit: int) -> list[tuple[FeedbackRequest, Member, Pair]]:
        """Requests whose hour has come and that are neither asked nor answered, while open, of
        active pairs; with the respondent (to check away mode and reach them) and the pair."""
        stmt = (
            select(FeedbackRequest, Member, Pair)
            .join(Member, col(Member.id) == col(FeedbackRequest.respondent_id))
            .join(Pair, col(Pair.id) == col(FeedbackRequest.pair_id))
            .where(
                col(FeedbackRequest.asked_at).is_(None), col(FeedbackRequest.answered_at).is_(None),
                FeedbackRequest.due_at <= now, FeedbackRequest.deadline_at > now, col(Pair.ended_at).is_(None),
            )
            .order_by(col(FeedbackRequest.due_at), col(FeedbackRequest.id))
            .limit(limit)
        )
        return [(r, m, p) for r, m, p in self.db.exec(stmt)]

    def reminders_due(self, cutoff: datetime, now: datetime, limit: int) -> list[tuple[FeedbackRequest, Member, Pair]]:
        """Asked at or before ``cutoff``, not reminded nor answered, still open, pair active."""
        stmt = (
            select(FeedbackRequest, Member, Pair)
            .join(Member, col(Member.id) == col(FeedbackRequest.respondent_id))
            .join(Pair, col(Pair.id) == col(FeedbackRequest.pair_id))
            .where(
                col(FeedbackRequest.asked_at).is_not(None), FeedbackRequest.asked_at <= cutoff,  # type: ignore[operator]
                col(FeedbackRequest.reminded_at).is_(None), col(FeedbackRequest.answered_at).is_(None),
                FeedbackRequest.deadline_at > now, col(Pair.ended_at).is_(None),
            )
            .order_by(col(FeedbackRequest.id))
            .limit(limit)
        )
        return [(r, m, p) for r, m, p in self.db.exec(stmt)]

    def open_for(self, member_id: int, now: datetime) -> list[tuple[FeedbackRequest, Pair]]:
        """A person's unanswered requests before their deadline, of active pairs, oldest first."""
        stmt = (
            select(FeedbackRequest, Pair)
            .join(Pair, col(Pair.id) == col(FeedbackRequest.pair_id))
            .where(
                FeedbackRequest.respondent_id == member_id, col(FeedbackRequest.answered_at).is_(None),
                FeedbackRequest.deadline_at > now, col(Pair.ended_at).is_(None),
            )
            .order_by(col(FeedbackRequest.due_at), col(FeedbackRequest.id))
        )
        return [(r, p) for r, p in self.db.exec(stmt)]

    def request(self, request_id: int) -> FeedbackRequest | None:
        return self.db.get(FeedbackRequest, request_id)

    def round_names(self, round_ids: Iterable[int]) -> dict[int, str]:
        ids = list(set(round_ids))
        return {r.pk: r.name for r in self.db.exec(select(Round).where(col(Round.id).in_(ids)))} if ids else {}

    # -- answers ---------------------------------------------------------------------------

    def add_answer(self, answer: FeedbackAnswer) -> FeedbackAnswer:
        self.db.add(answer)
        self.db.flush()
        return answer

    def requests_of(self, round_id: int, window: str | None = None) -> list[FeedbackRequest]:
        """A round's requests (of one window), in pair order, mentor's side first."""
        stmt = select(FeedbackRequest).where(FeedbackRequest.round_id == round_id)
        if window is not None:
            stmt = stmt.where(FeedbackRequest.window == window)
        return list(self.db.exec(stmt.order_by(col(FeedbackRequest.pair_id), col(FeedbackRequest.side).desc(), col(FeedbackRequest.id))))

    def answers_for(self, request_ids: Iterable[int]) -> dict[int, FeedbackAnswer]:
        """Coordinators only: the answers to these requests, by request."""
        ids = list(request_ids)
        if not ids:
            return {}
        return {a.request_id: a for a in self.db.exec(select(FeedbackAnswer).where(col(FeedbackAnswer.request_id).in_(ids)))}

    # -- alerts ----------------------------------------------------------------------------

    def next_duties(self) -> tuple[datetime | None, datetime | None, datetime | None]:
        """Of the requests not answered: the earliest hour to ask one not asked, the earliest
        asking of one not reminded, the earliest deadline not reported (one statement)."""
        self.db.flush()  # what this tick planned and stamped counts
        ask_at, asked_at, deadline_at = self.db.connection().execute(_NEXT_DUTIES).one()
        return ask_at, asked_at, deadline_at

    def missing_after_deadline(self, now: datetime) -> list[FeedbackRequest]:
        """Unanswered past the deadline and not yet reported to the coordinators."""
        stmt = select(FeedbackRequest).where(
            col(FeedbackRequest.answered_at).is_(None), FeedbackRequest.deadline_at <= now,
            col(FeedbackRequest.missing_alerted_at).is_(None),
        )
        return list(self.db.exec(stmt.order_by(col(FeedbackRequest.id))))

    def flagged_unreported(self) -> list[FeedbackAnswer]:
        """Coordinators only: answers that flag something, not yet reported."""
        stmt = select(FeedbackAnswer).where(col(FeedbackAnswer.flagged).is_(True), col(FeedbackAnswer.flag_alerted_at).is_(None))
        return list(self.db.exec(stmt.order_by(col(FeedbackAnswer.id))))

    # -- reports ---------------------------------------------------------------------------

    def answer_rates(self, round_id: int) -> FeedbackRates:
        """The answer rate of a round's feedback, per side: ``answered / asked``, over every
        window. *Asked* counts the requests whose questions went out (or that were answered
        early, before they did); a request for someone away for the whole window is not asked.
        For reports such as ``!round outcomes``."""
        asked = or_(col(FeedbackRequest.asked_at).is_not(None), col(FeedbackRequest.answered_at).is_not(None))
        stmt = (
            select(FeedbackRequest.side, func.count(), func.count(col(FeedbackRequest.answered_at)))
            .where(FeedbackRequest.round_id == round_id, asked)
            .group_by(col(FeedbackRequest.side))
        )
        counts = {side: AnswerRate(answered=answered, asked=total) for side, total, answered in self.db.exec(stmt)}
        empty = AnswerRate(0, 0)
        return FeedbackRates(mentor=counts.get(MENTOR_SIDE, empty), mentee=counts.get(MENTEE_SIDE, empty))

    def purge_before(self, cutoff: datetime) -> int:
        """Retention: answers (and their requests) of windows that closed before ``cutoff``."""
        old = select(FeedbackRequest.id).where(FeedbackRequest.deadline_at < cutoff)
        gone = self.db.exec(delete(FeedbackAnswer).where(col(FeedbackAnswer.request_id).in_(old)))  # type: ignore[call-overload]
        self.db.exec(delete(FeedbackRequest).where(FeedbackRequest.deadline_at < cutoff))  # type: ignore[call-overload]
        return gone.rowcount or 0
