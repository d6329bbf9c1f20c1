"""Mentor–mentee pairs: who mentors whom in which round, and the queries every feature asks.

A mentee has one lead mentor and optionally co-mentors (``kind = "comentor"``), who see
everything the lead sees. A pair ends (``ended_at``) rather than being deleted, so history,
totals and "not the same pair as last round" keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Optional

from sqlalchemy import Index, bindparam, func
from sqlalchemy.orm import aliased
from sqlmodel import Field, Session, SQLModel, col, select

from storage.stored import Stored
from storage.tables import Member, PlatformIdentity, when


#: the end reason of the pairs a round's closing ends
ROUND_CLOSED = "round closed"


class Pair(Stored, SQLModel, table=True):
    __table_args__ = (Index("ix_pair_active", "round_id", "ended_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="round.id", index=True)
    mentee_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    mentor_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    #: mentor (the lead) or comentor
    kind: str = "mentor"
    created_by: Optional[int] = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    created_at: datetime = when()
    ended_at: Optional[datetime] = when(nullable=True)
    #: why it ended: unassigned, withdrew, reassigned, round closed
    end_reason: Optional[str] = None


@dataclass(frozen=True)
class PairActivity:
    """What deciding whether a lead pair is at risk needs, without loading its people."""

    pair_id: int
    mentee_id: int
    mentor_id: int
    created_at: datetime
    mentor_away_until: date | None
    #: when the mentee was last seen on any platform (None: never)
    mentee_seen: datetime | None
    mentee_away_until: date | None = None
    #: when the latest absence of either of them ended (None: never away): silence counts from then
    back_at: datetime | None = None


#: built once: asked at every ``!session log``
_MENTORS = select(Pair.id).where(
    Pair.mentor_id == bindparam("mentor_id"), Pair.mentee_id == bindparam("mentee_id"), col(Pair.ended_at).is_(None)
)

#: a mentee's active mentors, lead first (as ``of_mentee`` orders pairs)
#: a mentee's current mentors, lead first (also read with their digest choice: storage.checkins)
MENTORS_OF = (
    select(Member)
    .join(Pair, col(Pair.mentor_id) == col(Member.id))
    .where(Pair.mentee_id == bindparam("mentee_id"), col(Pair.ended_at).is_(None))
    .order_by(Pair.kind != "mentor", col(Pair.id))
)

#: a mentee's active pairs (``!session log`` asks it)
_PAIRS_OF_MENTEE = select(Pair).where(Pair.mentee_id == bindparam("mentee_id"), col(Pair.ended_at).is_(None))


class PairRepo:
    def __init__(self, db: Session):
        self.db = db

    def add(self, round_id: int, mentee_id: int, mentor_id: int, kind: str, by: int | None, now: datetime) -> Pair:
        pair = Pair(round_id=round_id, mentee_id=mentee_id, mentor_id=mentor_id, kind=kind, created_by=by, created_at=now)
        self.db.add(pair)
        self.db.flush()
        return pair

    def end(self, pair: Pair, reason: str, now: datetime) -> None:
        pair.ended_at, pair.end_reason = now, reason
        self.db.add(pair)

    def active(self, round_id: int | None = None) -> list[Pair]:
        stmt = select(Pair).where(col(Pair.ended_at).is_(None))
        if round_id is not None:
            stmt = stmt.where(Pair.round_id == round_id)
        return list(self.db.exec(stmt.order_by(col(Pair.id))))

    def of_mentee(self, mentee_id: int) -> list[Pair]:
        """The mentee's active pairs, lead mentor first."""
        return sorted(self.db.execute(_PAIRS_OF_MENTEE, {"mentee_id": mentee_id}).scalars(), key=lambda p: (p.kind != "mentor", p.id))

    def of_mentor(self, mentor_id: int) -> list[Pair]:
        stmt = select(Pair).where(Pair.mentor_id == mentor_id, col(Pair.ended_at).is_(None))
        return list(self.db.exec(stmt.order_by(col(Pair.id))))

    def mentors_of(self, mentee_id: int) -> list[Member]:
        """Lead mentor first, then co-mentors (one query: every check-in answer asks it)."""
        return list(self.db.execute(MENTORS_OF, {"mentee_id": mentee_id}).scalars())

    def mentees_of(self, mentor_id: int) -> list[Member]:
        ids = [p.mentee_id for p in self.of_mentor(mentor_id)]
        members = {m.id: m for m in self.db.exec(select(Member).where(col(Member.id).in_(ids)))}
        return [members[i] for i in ids if i in members]

    def activity(self, round_id: int) -> list[PairActivity]:
        """Every active lead pair of the round with both sides' absences and its mentee's last
        sighting, in one query: the at-risk scan used to ask three questions per pair."""
        from storage.progress import AwayPeriod  # progress imports nothing of this module; kept local all the same

        mentor, mentee = aliased(Member), aliased(Member)
        seen = (
            select(PlatformIdentity.member_id, func.max(PlatformIdentity.last_seen).label("seen"))
            .group_by(col(PlatformIdentity.member_id))
            .subquery()
        )
        back = (
            select(AwayPeriod.member_id, func.max(AwayPeriod.ended_at).label("back"))
            .group_by(col(AwayPeriod.member_id))
            .subquery()
        )
        mentee_back, mentor_back = aliased(back), aliased(back)
        stmt = (
            select(
                Pair.id, Pair.mentee_id, Pair.mentor_id, Pair.created_at, mentor.away_until, seen.c.seen,
                mentee.away_until, mentee_back.c.back, mentor_back.c.back,
            )
            .join(mentor, col(mentor.id) == col(Pair.mentor_id))
            .join(mentee, col(mentee.id) == col(Pair.mentee_id))
            .outerjoin(seen, seen.c.member_id == col(Pair.mentee_id))
            .outerjoin(mentee_back, mentee_back.c.member_id == col(Pair.mentee_id))
            .outerjoin(mentor_back, mentor_back.c.member_id == col(Pair.mentor_id))
            .where(Pair.round_id == round_id, Pair.kind == "mentor", col(Pair.ended_at).is_(None))
            .order_by(col(Pair.id))
        )
        out = []
        for *row, mentee_back_at, mentor_back_at in self.db.exec(stmt):  # type: ignore[call-overload]
            ends = [t for t in (mentee_back_at, mentor_back_at) if t is not None]
            out.append(PairActivity(*row, back_at=max(ends, default=None)))
        return out

    def with_people(self, pair_ids: Iterable[int]) -> list[tuple[Pair, Member, Member]]:
        """These pairs with their mentee and mentor, in pair order."""
        mentee, mentor = aliased(Member), aliased(Member)
        stmt = (
            select(Pair, mentee, mentor)
            .join(mentee, col(mentee.id) == col(Pair.mentee_id))
            .join(mentor, col(mentor.id) == col(Pair.mentor_id))
            .where(col(Pair.id).in_(list(pair_ids)))
            .order_by(col(Pair.id))
        )
        return [(pair, a, b) for pair, a, b in self.db.exec(stmt)]

    def of_round(self, round_id: int, ended: bool = False) -> list[Pair]:
        """The round's active pairs; with ``ended``, those its closing ended too (for a closed
        round's figures)."""
        stmt = select(Pair).where(Pair.round_id == round_id)
        if ended:
            stmt = stmt.where(col(Pair.ended_at).is_(None) | (col(Pair.end_reason) == ROUND_CLOSED))
        else:
            stmt = stmt.where(col(Pair.ended_at).is_(None))
        return list(self.db.exec(stmt.order_by(col(Pair.id))))

    def mentored_in(self, mentor_id: int, mentee_id: int, round_id: int) -> bool:
        """Did this person mentor that mentee in the round (now, or until the pair ended)?"""
        stmt = select(Pair.id).where(Pair.mentor_id == mentor_id, Pair.mentee_id == mentee_id, Pair.round_id == round_id)
        return self.db.exec(stmt).first() is not None

    def past_of_mentor(self, mentor_id: int) -> list[Pair]:
        """The mentor's ended pairs, newest first: whom they mentored before."""
        stmt = select(Pair).where(Pair.mentor_id == mentor_id, col(Pair.ended_at).is_not(None))
        return list(self.db.exec(stmt.order_by(col(Pair.ended_at).desc(), col(Pair.id).desc())))

    def closed_with(self, mentor_id: int, mentee_id: int, since: datetime) -> Pair | None:
        """Their pair that ended when its round closed, at ``since`` or later (the final check
        of a mentee is still due then)."""
        stmt = select(Pair).where(
            Pair.mentor_id == mentor_id, Pair.mentee_id == mentee_id, Pair.end_reason == ROUND_CLOSED,
            col(Pair.ended_at) >= since,
        )
        return self.db.exec(stmt.order_by(col(Pair.ended_at).desc())).first()

    def mentors(self, mentor_id: int, mentee_id: int) -> bool:
        """Does this person (lead or co-mentor) mentor that mentee now? (every ``!session log``)"""
        return self.db.execute(_MENTORS, {"mentor_id": mentor_id, "mentee_id": mentee_id}).first() is not None

    def load(self, round_id: int) -> dict[int, int]:
        """Mentees per mentor in a round, lead and co-mentored alike (both count in full)."""
        rows = self.db.exec(
            select(Pair.mentor_id, func.count())
            .where(Pair.round_id == round_id, col(Pair.ended_at).is_(None))
            .group_by(Pair.mentor_id)
        ).all()
        return {mentor: n for mentor, n in rows}

    def history(self) -> set[tuple[int, int]]:
        """Every (mentee, mentor) pair there has ever been."""
        return set(self.db.exec(select(Pair.mentee_id, Pair.mentor_id)).all())
