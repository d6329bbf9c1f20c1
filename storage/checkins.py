"""Check-ins: each mentee's schedule, every prompt with its answers, and mentors' digest choice.

Why the tables look like this:

- :class:`CheckinPlan` caches the next due instant per mentee (``next_due_at``, indexed), so a
  scheduler tick asks one indexed question ("whose check-in is due?") however many mentees
  there are. ``basis`` and ``tz`` record what the cache was computed from, so a changed
  timezone or programme default is noticed when the row falls due.
- :class:`Checkin` is one row per (mentee, due instant), unique: a prompt, an early answer or a
  skipped occurrence is recorded once, so a second tick or a restart finds it and does nothing.
- :class:`CheckinDigest` exists only for mentors who chose a daily digest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Iterable, Optional, Union

from sqlalchemy import JSON, Column, Index, UniqueConstraint, bindparam, delete, func, insert, inspect, literal, or_, select as core_select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Field, Session, SQLModel, col, select

from storage import lean
from storage.keyed import by_key
from storage.mentorship import MENTORS_OF, Pair
from storage.stored import Stored
from storage.tables import KeyValue, Member, PlatformIdentity, Signup, json_list, table_of, when

#: statuses of a check-in: the prompt went out and waits; answered (on time, late or early);
#: missed (no answer by the next prompt); skipped (the bot was down past the grace period)
PROMPTED, ANSWERED, MISSED, SKIPPED = "prompted", "answered", "missed", "skipped"


class CheckinPlan(SQLModel, table=True):
    __tablename__ = "checkin_plan"

    member_id: int = Field(foreign_key="member.id", primary_key=True, ondelete="CASCADE")
    #: the mentee's own schedule ("tue,fri 18:30"); None follows the programme's default
    schedule: Optional[str] = None
    #: the schedule text and timezone ``next_due_at`` was computed from
    basis: str
    tz: str
    next_due_at: datetime = when(index=True)
    #: prompts missed since the last answer (the mentors are told when it reaches two)
    misses_in_row: int = 0
    created_at: datetime = when()


class Checkin(Stored, SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("mentee_id", "due_at"),
        Index("ix_checkin_reminder", "status", "reminded_at", "prompted_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    mentee_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    due_at: datetime = when()
    status: str = PROMPTED
    #: the questions as asked: [[id, kind, text], ...] (the config may change later)
    questions: list[Any] = json_list()
    answers: list[Any] = json_list()
    rating: Optional[int] = None
    blocker: Optional[str] = None
    #: the answers as first given, kept when the mentee corrects them
    original: Optional[list[Any]] = Field(default=None, sa_column=Column(JSON, nullable=True))
    prompted_at: Optional[datetime] = when(nullable=True)
    reminded_at: Optional[datetime] = when(nullable=True)
    answered_at: Optional[datetime] = when(nullable=True, index=True)
    edited_at: Optional[datetime] = when(nullable=True)
    closed_at: Optional[datetime] = when(nullable=True)


@dataclass(frozen=True)
class CheckinRow(Stored):
    """A check-in as plain values: what a check-in answer reads and writes (issue 24: loading
    the ORM object and flushing its changes cost more than the rest of the answer's storage
    work). Same fields as :class:`Checkin`."""

    id: int
    mentee_id: int
    due_at: datetime
    status: str
    questions: list[Any]
    answers: list[Any]
    rating: Optional[int]
    blocker: Optional[str]
    original: Optional[list[Any]]
    prompted_at: Optional[datetime]
    reminded_at: Optional[datetime]
    answered_at: Optional[datetime]
    edited_at: Optional[datetime]
    closed_at: Optional[datetime]


#: a check-in as the ORM object or as plain values: what the texts about one read
AnyCheckin = Union[Checkin, CheckinRow]


class CheckinDigest(SQLModel, table=True):
    """A mentor who reads check-ins once a day rather than as they come."""

    __tablename__ = "checkin_digest"

    member_id: int = Field(foreign_key="member.id", primary_key=True, ondelete="CASCADE")
    next_at: datetime = when(index=True)
    #: what happened after this instant goes into the next digest
    since: datetime = when()


def _by(rows: Iterable[Any], key: str) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        out[getattr(row, key)].append(row)
    return out


# The statements of every check-in answer, built once (bound values at run time).
_AT = select(Checkin).where(Checkin.mentee_id == bindparam("mentee_id"), Checkin.due_at == bindparam("due"))
_OPEN_FOR = (
    select(Checkin).where(Checkin.mentee_id == bindparam("mentee_id"), Checkin.status == PROMPTED)
    .order_by(col(Checkin.due_at).desc())
)


def _eligible(which: Any) -> Any:
    """The active members in an active pair whose mentee sign-up is active, among ``which``."""
    return (
        select(Pair.mentee_id)
        .join(Member, col(Member.id) == col(Pair.mentee_id))
        .join(Signup, (col(Signup.member_id) == col(Pair.mentee_id)) & (col(Signup.round_id) == col(Pair.round_id)))
        .where(which, col(Pair.ended_at).is_(None), Member.status == "active", Signup.kind == "mentee", Signup.status == "active")
    )


_ELIGIBLE = _eligible(col(Pair.mentee_id).in_(bindparam("ids", expanding=True)))
#: one member (no expanding list: a plain prebuilt statement, run through :mod:`storage.lean`)
_ELIGIBLE_ONE = _eligible(col(Pair.mentee_id) == bindparam("member_id")).limit(1)
_CK = table_of(Checkin)
_ROW_AT = core_select(*_CK.c).where(_CK.c.mentee_id == bindparam("mentee_id"), _CK.c.due_at == bindparam("due"))
_ONE_ROW = core_select(literal(1).label("one")).subquery("one_row")
#: is the mentee still paired, and their check-in due then (if any): an interview's ``closed``
#: question, asked before each answer, in one statement
_ANSWERABLE = core_select(_ELIGIBLE_ONE.exists().label("eligible"), *_CK.c).select_from(
    _ONE_ROW.outerjoin(_CK, (_CK.c.mentee_id == bindparam("member_id")) & (_CK.c.due_at == bindparam("due")))
)
_STATUS_AT = core_select(_CK.c.status).where(_CK.c.mentee_id == bindparam("mentee_id"), _CK.c.due_at == bindparam("due"))
#: what an answer sets (the same names as the columns)
_ANSWER_FIELDS = ("status", "answers", "rating", "blocker", "answered_at", "closed_at")
_ANSWER = update(_CK).where(_CK.c.id == bindparam("row_id")).values({f: bindparam(f) for f in _ANSWER_FIELDS})
_INSERT_ANSWERED = insert(_CK).returning(_CK.c.id)
_PLAN = table_of(CheckinPlan)
#: an answer resets the misses in a row; the schedule comes back for the next check-in's date
_RESET_MISSES = (
    update(_PLAN).where(_PLAN.c.member_id == bindparam("member_id")).values(misses_in_row=0).returning(_PLAN.c.schedule)
)
_DIGEST = table_of(CheckinDigest)
#: a mentee's mentors (as :data:`storage.mentorship.MENTORS_OF`), each with whether they read a digest
_MENTORS_READING = MENTORS_OF.add_columns(col(_DIGEST.c.member_id).is_not(None)).outerjoin(
    _DIGEST, _DIGEST.c.member_id == col(Member.id)
)
_NEXT_DIGEST = core_select(func.min(CheckinDigest.next_at))
#: the next plan due and the oldest prompt not reminded yet (both indexed), in one statement
_NEXT_DUTIES = core_select(
    core_select(func.min(CheckinPlan.next_due_at)).scalar_subquery(),
    core_select(func.min(Checkin.prompted_at))
    .where(Checkin.status == PROMPTED, col(Checkin.reminded_at).is_(None))
    .scalar_subquery(),
)


class CheckinRepo:
    """Every check-in query. Bulk methods take id lists so a tick costs a few queries in all."""

    def __init__(self, db: Session):
        self.db = db
        #: (mentee, due) -> the check-in :meth:`at` found in this unit of work
        self._at: dict[tuple[int, datetime], Checkin] = {}
        #: (mentee, due) -> the check-in :meth:`row_at` read, or :meth:`answered` wrote, in this unit
        self._rows: dict[tuple[int, datetime], CheckinRow] = {}

    # ------------------------------------------------------------------ plans

    def plan(self, member_id: int) -> CheckinPlan | None:
        return by_key(self.db, CheckinPlan, member_id)

    def save(self, row: SQLModel) -> None:
        self.db.add(row)

    def new_pairs(self, after_id: int, limit: int) -> list[tuple[Pair, Member]]:
        """Pairs made since the last one a tick saw (by id: an indexed range, however many pairs)."""
        stmt = (
            select(Pair, Member)
            .join(Member, col(Member.id) == col(Pair.mentee_id))
            .where(col(Pair.id) > after_id)
            .order_by(col(Pair.id))
            .limit(limit)
        )
        return list(self.db.exec(stmt).all())  # type: ignore[arg-type]

    def due_plans(self, now: datetime, limit: int) -> list[tuple[CheckinPlan, Member]]:
        stmt = (
            select(CheckinPlan, Member)
            .join(Member, col(Member.id) == col(CheckinPlan.member_id))
            .where(col(CheckinPlan.next_due_at) <= now)
            .order_by(col(CheckinPlan.next_due_at))
            .limit(limit)
        )
        return list(self.db.exec(stmt).all())  # type: ignore[arg-type]

    def next_duties(self) -> tuple[datetime | None, datetime | None]:
        """When the next plan falls due, and when the oldest open prompt not reminded yet was
        sent: what an idle tick needs to know when the job has work again."""
        self.db.flush()  # the plans and prompts of this tick count
        plan_at, prompted_at = self.db.connection().execute(_NEXT_DUTIES).one()
        return plan_at, prompted_at

    def next_digest_at(self) -> datetime | None:
        """When the next digest falls due (indexed)."""
        return self.db.connection().execute(_NEXT_DIGEST).scalar()

    def follow_new_timezones(self, now: datetime) -> None:
        """Plans computed in a timezone their mentee no longer has fall due now."""
        zone = select(func.coalesce(Member.timezone, "UTC")).where(col(Member.id) == col(CheckinPlan.member_id))
        self.db.exec(
            update(CheckinPlan)  # type: ignore[call-overload]
            .where(col(CheckinPlan.next_due_at) > now, col(CheckinPlan.tz) != zone.scalar_subquery())
            .values(next_due_at=now)
        )

    def marks(self) -> dict[str, str]:
        """The job's own small state (the last pair seen, the default schedule followed), in one read."""
        rows = self.db.exec(select(KeyValue).where(KeyValue.namespace == "checkins"))
        return {r.key: r.value for r in rows}

    def follow_new_default(self, now: datetime) -> None:
        """The programme's default schedule changed: plans that follow it fall due now (or keep
        an earlier due time not yet dealt with) and are recomputed by the next ticks."""
        self.db.exec(
            update(CheckinPlan)  # type: ignore[call-overload]
            .where(col(CheckinPlan.schedule).is_(None), col(CheckinPlan.next_due_at) > now)
            .values(next_due_at=now)
        )

    def plans_of(self, ids: Iterable[int]) -> dict[int, CheckinPlan]:
        rows = self.db.exec(select(CheckinPlan).where(col(CheckinPlan.member_id).in_(list(ids))))
        return {p.member_id: p for p in rows}

    # ------------------------------------------------------------------ who takes part

    def eligible(self, ids: Iterable[int]) -> set[int]:
        """Of these members, the active ones in an active pair whose mentee sign-up is active."""
        return set(self.db.execute(_ELIGIBLE, {"ids": list(ids)}).scalars())

    def is_eligible(self, member_id: int) -> bool:
        """:meth:`eligible` of one member, in one prebuilt statement."""
        return lean.first(self.db, _ELIGIBLE_ONE, {"member_id": member_id}) is not None

    def mentors_reading(self, mentee_id: int) -> list[tuple[Member, bool]]:
        """The mentee's mentors, lead first, each with whether they read a daily digest: one
        statement where the answer asked two (the mentors, then the digest readers among them)."""
        return [(m, bool(d)) for m, d in self.db.execute(_MENTORS_READING, {"mentee_id": mentee_id})]

    def mentors_of(self, ids: Iterable[int]) -> dict[int, list[Member]]:
        """Each mentee's current mentors, lead first, then co-mentors."""
        stmt = (
            select(Pair, Member)
            .join(Member, col(Member.id) == col(Pair.mentor_id))
            .where(col(Pair.mentee_id).in_(list(ids)), col(Pair.ended_at).is_(None))
            .order_by(col(Pair.mentee_id), col(Pair.kind) != "mentor", col(Pair.id))
        )
        out: dict[int, list[Member]] = defaultdict(list)
        for pair, mentor in self.db.exec(stmt):
            if all(m.id != mentor.id for m in out[pair.mentee_id]):
                out[pair.mentee_id].append(mentor)
        return out

    def mentees_of(self, mentor_ids: Iterable[int]) -> dict[int, list[Member]]:
        stmt = (
            select(Pair, Member)
            .join(Member, col(Member.id) == col(Pair.mentee_id))
            .where(col(Pair.mentor_id).in_(list(mentor_ids)), col(Pair.ended_at).is_(None))
            .order_by(col(Pair.id))
        )
        out: dict[int, list[Member]] = defaultdict(list)
        for pair, mentee in self.db.exec(stmt):
            out[pair.mentor_id].append(mentee)
        return out

    def identities_of(self, ids: Iterable[int]) -> dict[int, list[PlatformIdentity]]:
        """Every identity of these members, most recently seen first."""
        stmt = (
            select(PlatformIdentity)
            .where(col(PlatformIdentity.member_id).in_(list(ids)))
            .order_by(col(PlatformIdentity.last_seen).desc(), col(PlatformIdentity.id))
        )
        return _by(self.db.exec(stmt), "member_id")

    # ------------------------------------------------------------------ check-ins

    def add(self, row: Checkin) -> Checkin:
        self.db.add(row)
        return row

    def insert_many(self, checkins: list[dict[str, Any]]) -> None:
        """Insert many new check-ins in one statement (no ORM objects to build)."""
        if checkins:
            self.db.execute(insert(Checkin), checkins)

    def flush(self) -> None:
        self.db.flush()

    def at(self, mentee_id: int, due: datetime) -> Checkin | None:
        """The check-in of ``mentee_id`` due at ``due``. A check-in answer asks for it twice (is
        the interview closed? then the answer's row): the second time it comes from the session
        by its id, with no statement (issue 24)."""
        self._rows.pop((mentee_id, due), None)  # the ORM object is read (and may be changed) from now on
        known = self._at.get((mentee_id, due))
        if known is not None and inspect(known).persistent:  # (not deleted meanwhile)
            return known
        row = self.db.execute(_AT, {"mentee_id": mentee_id, "due": due}).scalars().first()
        if row is not None:
            self._at[(mentee_id, due)] = row
        return row

    def row_at(self, mentee_id: int, due: datetime) -> CheckinRow | None:
        """:meth:`at` as plain values, read by one prebuilt statement. An answer asks twice (is
        the interview closed? then the answer's row): the second time it is the row read or
        written in this unit of work (one :class:`Repos` per unit), with no statement."""
        known = self._rows.get((mentee_id, due))
        if known is not None:
            return known
        found = lean.first(self.db, _ROW_AT, {"mentee_id": mentee_id, "due": due})
        if found is None:
            return None
        row = self._rows[(mentee_id, due)] = CheckinRow(**found._asdict())
        return row

    def answerable(self, mentee_id: int, due: datetime) -> tuple[bool, CheckinRow | None]:
        """(:meth:`is_eligible`, :meth:`row_at`) in one statement: what is asked before each
        answer to a check-in (may it still be answered?)."""
        found = lean.first(self.db, _ANSWERABLE, {"member_id": mentee_id, "due": due})
        assert found is not None  # one row always (the check-in's columns are None when there is none)
        values = found._asdict()
        eligible = bool(values.pop("eligible"))
        if values["id"] is None:
            return eligible, None
        row = self._rows[(mentee_id, due)] = CheckinRow(**values)
        return eligible, row

    def status_at(self, mentee_id: int, due: datetime) -> str | None:
        """The status of the check-in due at ``due``, None when there is none."""
        found = lean.first(self.db, _STATUS_AT, {"mentee_id": mentee_id, "due": due})
        return None if found is None else found.status

    def answered(
        self, row: CheckinRow | None, mentee_id: int, due: datetime, questions: list[Any],
        answers: list[str], rating: int | None, blocker: str | None, now: datetime,
    ) -> CheckinRow:
        """Record a check-in's answer: one prebuilt UPDATE of ``row``, or one INSERT when none
        was prompted. An ORM object of the row the session holds is given the new values as
        committed state (so it neither goes stale nor owes a flush)."""
        values = dict(status=ANSWERED, answers=list(answers), rating=rating, blocker=blocker, answered_at=now, closed_at=now)
        if row is None:
            new = dict(mentee_id=mentee_id, due_at=due, questions=questions, original=None, prompted_at=None, reminded_at=None, edited_at=None)
            found = lean.first(self.db, _INSERT_ANSWERED, {**new, **values})
            assert found is not None
            row = CheckinRow(id=found.id, **new, **values)
        else:
            lean.run(self.db, _ANSWER, {"row_id": row.pk, **values})
            row = replace(row, **values)
            loaded = self.db.identity_map.get(identity_key(Checkin, (row.pk,)))
            for name, value in values.items() if loaded is not None else ():
                set_committed_value(loaded, name, value)
        self._rows[(mentee_id, due)] = row
        return row

    def reset_misses(self, member_id: int) -> tuple[bool, str | None]:
        """The mentee answered: no misses in a row any more. (whether they have a plan, its own
        schedule): one prebuilt UPDATE ... RETURNING where the plan was loaded and flushed."""
        found = lean.first(self.db, _RESET_MISSES, {"member_id": member_id})
        loaded = self.db.identity_map.get(identity_key(CheckinPlan, (member_id,)))
        if loaded is not None:
            set_committed_value(loaded, "misses_in_row", 0)
        return (False, None) if found is None else (True, found.schedule)

    def rows_of(self, ids: Iterable[int], since: datetime) -> dict[int, list[Checkin]]:
        """Open check-ins of these mentees, and any due at or after ``since``."""
        stmt = select(Checkin).where(
            col(Checkin.mentee_id).in_(list(ids)),
            or_(Checkin.status == PROMPTED, col(Checkin.due_at) >= since),
        )
        return _by(self.db.exec(stmt.order_by(col(Checkin.due_at))), "mentee_id")

    def open_for(self, mentee_id: int) -> Checkin | None:
        return self.db.execute(_OPEN_FOR, {"mentee_id": mentee_id}).scalars().first()

    def last_answered(self, mentee_id: int) -> Checkin | None:
        stmt = select(Checkin).where(Checkin.mentee_id == mentee_id, Checkin.status == ANSWERED)
        return self.db.exec(stmt.order_by(col(Checkin.answered_at).desc(), col(Checkin.id).desc())).first()

    def history(self, mentee_id: int) -> list[Checkin]:
        """Every check-in of a mentee, oldest first (a round holds a few dozen)."""
        stmt = select(Checkin).where(Checkin.mentee_id == mentee_id).order_by(col(Checkin.due_at))
        return list(self.db.exec(stmt))

    def reminders_due(self, cutoff: datetime, limit: int) -> list[tuple[Checkin, Member]]:
        stmt = (
            select(Checkin, Member)
            .join(Member, col(Member.id) == col(Checkin.mentee_id))
            .where(
                Checkin.status == PROMPTED,
                col(Checkin.reminded_at).is_(None),
                col(Checkin.prompted_at) <= cutoff,
            )
            .order_by(col(Checkin.prompted_at))
            .limit(limit)
        )
        return list(self.db.exec(stmt).all())  # type: ignore[arg-type]

    def activity(self, mentee_ids: Iterable[int], since: datetime) -> list[Checkin]:
        """Check-ins answered, corrected or missed after ``since``."""
        stmt = select(Checkin).where(
            col(Checkin.mentee_id).in_(list(mentee_ids)),
            or_(
                col(Checkin.answered_at) > since,
                col(Checkin.edited_at) > since,
                (Checkin.status == MISSED) & (col(Checkin.closed_at) > since),
            ),
        )
        return list(self.db.exec(stmt.order_by(col(Checkin.due_at))))

    def purge_before(self, cutoff: datetime) -> int:
        """Delete check-ins (with their answers) due before the cutoff: the retention setting."""
        result = self.db.exec(delete(Checkin).where(col(Checkin.due_at) < cutoff))  # type: ignore[call-overload]
        return int(result.rowcount or 0)

    # ------------------------------------------------------------------ digests

    def digest(self, member_id: int) -> CheckinDigest | None:
        return by_key(self.db, CheckinDigest, member_id)

    def digests_due(self, now: datetime, limit: int) -> list[tuple[CheckinDigest, Member]]:
        stmt = (
            select(CheckinDigest, Member)
            .join(Member, col(Member.id) == col(CheckinDigest.member_id))
            .where(col(CheckinDigest.next_at) <= now)
            .order_by(col(CheckinDigest.next_at))
            .limit(limit)
        )
        return list(self.db.exec(stmt).all())  # type: ignore[arg-type]

    def stop_digest(self, member_id: int) -> CheckinDigest | None:
        row = self.digest(member_id)
        if row is not None:
            self.db.delete(row)
        return row
