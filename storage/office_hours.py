"""Office-hour queues: sessions a channel holds, hosts on duty, people in line, and what the
scheduler has already done for each scheduled occurrence.

Everything a queue is lives in these tables, so a restart finds it exactly as it was. An entry
is never deleted when it ends: its times and outcome are the help log that statistics and the
CSV export read. No table has a unique constraint over a member id, because linking two
accounts moves every row of one member to the other (see ``MemberRepo.merge``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Index, UniqueConstraint, and_, bindparam, delete, func, insert, or_, select as core_select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Field, Session, SQLModel, col, select

from storage import lean
from storage.addressees import Addressee
from storage.queue_rows import HostsNow, LineSummary, OpenHour, Place, Visit, Waiting
from storage.stored import Stored
from storage.tables import Member, table_of, when

#: entry outcomes: helped (a host ended the help), no-show (skipped twice), left (``!q leave``),
#: closed (the queue closed before their turn)
OUTCOMES = ("helped", "no-show", "left", "closed")


class OfficeHour(Stored, SQLModel, table=True):
    """One opening of a channel's queue, from ``!oh open`` (or the scheduler) to its close."""

    __tablename__ = "oh_session"
    __table_args__ = (Index("ix_oh_session_channel", "platform", "channel", "closed_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    platform: str
    channel: str
    topic: Optional[str] = None
    opened_by: Optional[int] = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    opened_at: datetime = when()
    closed_at: Optional[datetime] = when(nullable=True)
    #: closed (a host closed it), no host (the last host went off duty)
    close_reason: Optional[str] = None


class OhDuty(Stored, SQLModel, table=True):
    """A host's stint on duty in a session (``ended_at`` None: on duty now)."""

    __tablename__ = "oh_duty"

    id: Optional[int] = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="oh_session.id", index=True, ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    started_at: datetime = when()
    ended_at: Optional[datetime] = when(nullable=True)


class OhEntry(Stored, SQLModel, table=True):
    """A person in line, then being helped, then ended with an outcome.

    ``member_id`` is None for an anonymous visitor (an IRC nick without an account), who is then
    known by ``platform`` and ``nick``. ``platform``/``account``/``nick`` are the identity the
    person joined with, so calling them mentions them where they are.
    """

    __tablename__ = "oh_entry"
    #: ix_oh_entry_helped: the channel's latest helps, newest first, for a wait's estimate at
    #: every `!q join`, without reading every entry the channel ever had
    __table_args__ = (Index("ix_oh_entry_queue", "session_id", "status", "seq"), Index("ix_oh_entry_helped", "outcome", "ended_at"))

    id: Optional[int] = Field(default=None, primary_key=True)
    #: indexed by ix_oh_entry_queue, which starts with it
    session_id: int = Field(foreign_key="oh_session.id", ondelete="CASCADE")
    member_id: Optional[int] = Field(default=None, foreign_key="member.id", index=True, ondelete="CASCADE")
    platform: str
    account: Optional[str] = None
    nick: str
    topic: Optional[str] = None
    #: place in line among the waiting entries of the session (smaller first)
    seq: int = 0
    #: waiting, called (a host is with them), ended
    status: str = "waiting"
    outcome: Optional[str] = None
    #: times a host called them and they did not answer
    skips: int = 0
    #: told they are nearly up (second in line), so they are not told twice
    nearly_told: bool = False
    joined_at: datetime = when()
    called_at: Optional[datetime] = when(nullable=True)
    host_id: Optional[int] = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    ended_at: Optional[datetime] = when(nullable=True)
    #: when the person left the channel (or the network) while in line, None while they are
    #: there; their place is kept for ``leave_grace_minutes`` (see ``leavers``)
    left_at: Optional[datetime] = when(nullable=True)
    #: how they left: part, quit, kick, leave (a Matrix room), guild (a Discord server)
    left_how: Optional[str] = None


class OhNotice(Stored, SQLModel, table=True):
    """``!q notify``: one DM when office hours next open in a channel, then the row goes."""

    __tablename__ = "oh_notice"

    id: Optional[int] = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    platform: str
    channel: str
    created_at: datetime = when()


class OhScheduleRun(Stored, SQLModel, table=True):
    """What the scheduler did for one occurrence of a configured schedule (idempotent ticks)."""

    __tablename__ = "oh_schedule_run"
    __table_args__ = (UniqueConstraint("schedule", "starts_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    #: the schedule's key (its channel and weekly time, see OfficeHourSchedule.key)
    schedule: str
    starts_at: datetime = when()
    announced_at: Optional[datetime] = when(nullable=True)
    hosts_reminded_at: Optional[datetime] = when(nullable=True)
    opened_at: Optional[datetime] = when(nullable=True)
    close_reminded_at: Optional[datetime] = when(nullable=True)
    session_id: Optional[int] = Field(default=None, foreign_key="oh_session.id", ondelete="SET NULL")


@dataclass(frozen=True)
class LogRow:
    """One ended entry with its session and the handles involved: the help log."""

    entry: OhEntry
    hour: OfficeHour
    host: str | None
    person: str


#: what the queue's code reads of a session (its id, platform and channel): either will do
AnyHour = OfficeHour | OpenHour


def _of_person(stmt: Any, platform: str, member_id: int | None, nick: str) -> Any:
    """``stmt`` narrowed to one person's entries: by member, or by platform and nick (as the
    server compares them, roughly: case-insensitively) for an anonymous visitor."""
    if member_id is not None:
        return stmt.where(OhEntry.member_id == member_id)
    return stmt.where(
        col(OhEntry.member_id).is_(None), OhEntry.platform == platform, func.lower(OhEntry.nick) == nick.lower()
    )


# The statements of every `!q join`, `!q leave` and line shown, built once (bound values at run
# time): building them cost more than running them. The ORM ones autoflush what a handler
# changed before they read; the Core ones (plain rows: the line's summary, its first two) are
# run after an explicit flush, for the same reason.
_FIRST_LEFT = (
    core_select(func.min(OhEntry.left_at))
    .join(OfficeHour, col(OfficeHour.id) == col(OhEntry.session_id))
    .where(col(OfficeHour.closed_at).is_(None), OhEntry.status == "waiting")
)
_WAITING_HERE = and_(OhEntry.session_id == bindparam("session_id"), OhEntry.status == "waiting")
_HEAD = (
    core_select(OhEntry.id, OhEntry.member_id, OhEntry.platform, OhEntry.account, OhEntry.nick, OhEntry.nearly_told)
    .where(_WAITING_HERE).order_by(col(OhEntry.seq), col(OhEntry.id)).limit(bindparam("most"))
)
_OH_ENTRY = table_of(OhEntry)
_OPEN_HERE = and_(
    OfficeHour.platform == bindparam("platform"), OfficeHour.channel == bindparam("channel"), col(OfficeHour.closed_at).is_(None)
)
_OPEN_SESSION = select(OfficeHour).where(_OPEN_HERE)
_OPEN_HOUR = core_select(OfficeHour.id, OfficeHour.platform, OfficeHour.channel).where(_OPEN_HERE).limit(1)


_W = table_of(OhEntry).alias("w")  # the line, beside the asker's own entry
_W_WAITING = and_(_W.c.session_id == col(OfficeHour.id), _W.c.status == "waiting")
#: how many wait, the last place number, and the place of the asker's entry if it waits
_LINE_HERE = (
    core_select(func.count()).where(_W_WAITING).scalar_subquery(),
    core_select(func.coalesce(func.max(_W.c.seq), 0)).where(_W_WAITING).scalar_subquery(),
    core_select(func.count()).where(
        _W_WAITING, OhEntry.status == "waiting",
        or_(_W.c.seq < col(OhEntry.seq), and_(_W.c.seq == col(OhEntry.seq), _W.c.id <= col(OhEntry.id))),
    ).scalar_subquery(),
)


def _visit(person: Any, line: bool) -> Any:
    """The open session here with ``person``'s waiting or called entry in it (NULLs: none), and
    with ``line`` the line's summary (``_LINE_HERE``)."""
    active = and_(  # (not an IN list: that would expand at every run)
        col(OhEntry.session_id) == col(OfficeHour.id), or_(OhEntry.status == "waiting", OhEntry.status == "called"), person
    )
    return (
        core_select(OfficeHour.id, OfficeHour.platform, OfficeHour.channel, OhEntry.id, OhEntry.status, OhEntry.seq,
                    OhEntry.topic, OhEntry.host_id, OhEntry.called_at, OhEntry.left_at, *(_LINE_HERE if line else ()))
        .select_from(OfficeHour).outerjoin(OhEntry, active).where(_OPEN_HERE).limit(1)
    )


_OF_MEMBER = OhEntry.member_id == bindparam("member_id")
_OF_VISITOR = and_(  # an anonymous visitor: by nick, as the server compares them (roughly: in any case)
    col(OhEntry.member_id).is_(None), col(OhEntry.platform) == col(OfficeHour.platform), func.lower(OhEntry.nick) == bindparam("nick")
)
#: by (a member's?, with the line?)
_VISITS = {(member, line): _visit(_OF_MEMBER if member else _OF_VISITOR, line) for member in (True, False) for line in (True, False)}


#: the hosts on duty, each with the entries they are with (none: one row of NULLs)
_HOSTS_NOW = (
    core_select(OhDuty.id, OhDuty.member_id, Member.handle, Member.language, Member.preferred_platform, OhEntry.id, OhEntry.called_at)
    .select_from(OhDuty).join(Member, col(Member.id) == col(OhDuty.member_id))
    .outerjoin(OhEntry, and_(
        col(OhEntry.session_id) == col(OhDuty.session_id), OhEntry.status == "called", col(OhEntry.host_id) == col(OhDuty.member_id),
    ))
    .where(OhDuty.session_id == bindparam("session_id"), col(OhDuty.ended_at).is_(None))
    .order_by(col(OhDuty.id), col(OhEntry.called_at))
)
_NEW_ENTRY = insert(_OH_ENTRY).returning(_OH_ENTRY.c.id)
_BY_ID = _OH_ENTRY.c.id == bindparam("entry_id")
_MARK_TOLD = update(_OH_ENTRY).where(_BY_ID).values(nearly_told=True)
_BACK = update(_OH_ENTRY).where(_BY_ID).values(left_at=None, left_how=None)
_RETOPIC = update(_OH_ENTRY).where(_BY_ID).values(topic=bindparam("to_topic", type_=_OH_ENTRY.c.topic.type))
_END = update(_OH_ENTRY).where(_BY_ID).values(
    status="ended", outcome=bindparam("to_outcome", type_=_OH_ENTRY.c.outcome.type),
    ended_at=bindparam("to_ended_at", type_=_OH_ENTRY.c.ended_at.type),
)
_OH_SESSION = table_of(OfficeHour)
_CLOSE = update(_OH_SESSION).where(_OH_SESSION.c.id == bindparam("session_id")).values(
    closed_at=bindparam("to_closed_at", type_=_OH_SESSION.c.closed_at.type),
    close_reason=bindparam("to_reason", type_=_OH_SESSION.c.close_reason.type),
)
_ON_DUTY = (
    select(OhDuty).where(OhDuty.session_id == bindparam("session_id"), col(OhDuty.ended_at).is_(None)).order_by(col(OhDuty.id))
)
_WAITING = (
    select(OhEntry).where(OhEntry.session_id == bindparam("session_id"), OhEntry.status == "waiting")
    .order_by(col(OhEntry.seq), col(OhEntry.id))
)
_CALLED = (
    select(OhEntry).where(OhEntry.session_id == bindparam("session_id"), OhEntry.status == "called").order_by(col(OhEntry.called_at))
)
_RECENT_HELPS = (
    select(OhEntry.called_at, OhEntry.ended_at)
    .join(OfficeHour, col(OfficeHour.id) == col(OhEntry.session_id))
    .where(
        OfficeHour.platform == bindparam("platform"),
        OfficeHour.channel == bindparam("channel"),
        OhEntry.outcome == "helped",
        col(OhEntry.called_at).is_not(None),
        col(OhEntry.ended_at).is_not(None),
    )
    .order_by(col(OhEntry.ended_at).desc())
    .limit(bindparam("limit"))
)


class OfficeHoursRepo:
    def __init__(self, db: Session):
        self.db = db

    # ------------------------------------------------------------------ sessions and duty

    def open_hour(self, platform: str, channel: str) -> OfficeHour | None:
        return self.db.execute(_OPEN_SESSION, {"platform": platform, "channel": channel}).scalars().first()

    def open_hour_here(self, platform: str, channel: str) -> OpenHour | None:
        """The open session of a channel as plain values (the visitors' hot commands)."""
        row = lean.first(self.db, _OPEN_HOUR, {"platform": platform, "channel": channel})
        return OpenHour(*row) if row is not None else None

    def visit(self, platform: str, channel: str, member_id: int | None, nick: str, line: bool = False) -> Visit | None:
        """The open session of a channel and the person's waiting or called entry in it (by
        member, or by nick when anonymous), with ``line`` the line's summary too, as plain
        values in one prebuilt statement; None when the channel has no open session."""
        given: dict[str, Any] = {"platform": platform, "channel": channel}
        given.update({"member_id": member_id} if member_id is not None else {"nick": nick.lower()})
        row = lean.first(self.db, _VISITS[member_id is not None, line], given)
        if row is None:
            return None
        place = Place(*row[3:10]) if row[3] is not None else None
        return Visit(OpenHour(*row[:3]), place, LineSummary(row[10], row[11], row[12] or None) if line else None)

    def get_hour(self, session_id: int) -> OfficeHour | None:
        return self.db.get(OfficeHour, session_id)

    def start_hour(self, platform: str, channel: str, topic: str | None, by: int | None, now: datetime) -> OfficeHour:
        hour = OfficeHour(platform=platform, channel=channel, topic=topic, opened_by=by, opened_at=now)
        self.db.add(hour)
        self.db.flush()
        return hour

    def close_hour(self, session_id: int, reason: str, now: datetime) -> None:
        """Close a session (one prebuilt UPDATE) and end every duty in it."""
        given = {"session_id": session_id, "to_closed_at": now, "to_reason": reason}
        self._write(_CLOSE, OfficeHour, session_id, given, closed_at=now, close_reason=reason)
        for duty in self.on_duty(session_id):
            self.end_duty(duty, now)

    def on_duty(self, session_id: int) -> list[OhDuty]:
        return list(self.db.execute(_ON_DUTY, {"session_id": session_id}).scalars())

    def hosts_now(self, session_id: int) -> HostsNow:
        """Who is on duty (as a DM to them needs them too) and since when each is with someone,
        in one prebuilt statement."""
        hosts: list[int] = []
        busy: dict[int, datetime | None] = {}
        people: dict[int, Addressee] = {}
        last_duty = None
        for duty_id, member_id, handle, language, platform, entry_id, called_at in lean.rows(
            self.db, _HOSTS_NOW, {"session_id": session_id}
        ):
            if duty_id != last_duty:
                hosts.append(member_id)
                people[member_id] = Addressee(member_id, handle, language, platform)
                last_duty = duty_id
            if entry_id is not None:
                busy[member_id] = called_at  # the latest call wins, as ordered
        return HostsNow(hosts, busy, people)

    def duty_of(self, session_id: int, member_id: int) -> OhDuty | None:
        return next((d for d in self.on_duty(session_id) if d.member_id == member_id), None)

    def duties_of_member(self, member_id: int) -> list[tuple[OhDuty, OfficeHour]]:
        """Every duty the member is on now, with its open session (a host may serve several channels)."""
        stmt = (
            select(OhDuty, OfficeHour)
            .join(OfficeHour, col(OfficeHour.id) == col(OhDuty.session_id))
            .where(OhDuty.member_id == member_id, col(OhDuty.ended_at).is_(None), col(OfficeHour.closed_at).is_(None))
            .order_by(col(OhDuty.id))
        )
        return list(self.db.exec(stmt).all())  # type: ignore[arg-type]

    def start_duty(self, session_id: int, member_id: int, now: datetime) -> OhDuty:
        duty = OhDuty(session_id=session_id, member_id=member_id, started_at=now)
        self.db.add(duty)
        self.db.flush()
        return duty

    def end_duty(self, duty: OhDuty, now: datetime) -> None:
        duty.ended_at = now
        self.db.add(duty)

    # ------------------------------------------------------------------ entries

    def waiting(self, session_id: int) -> list[OhEntry]:
        """The line, first first."""
        return list(self.db.execute(_WAITING, {"session_id": session_id}).scalars())

    def head(self, session_id: int, most: int) -> list[Waiting]:
        """The first ``most`` people in line, first first, as plain values."""
        return [Waiting(*row) for row in lean.rows(self.db, _HEAD, {"session_id": session_id, "most": most})]

    def mark_nearly_told(self, entry_id: int) -> None:
        self._write(_MARK_TOLD, OhEntry, entry_id, {"entry_id": entry_id}, nearly_told=True)

    def back(self, entry_id: int) -> None:
        """The person who had left is back in the channel: their place is theirs again."""
        self._write(_BACK, OhEntry, entry_id, {"entry_id": entry_id}, left_at=None, left_how=None)

    def retopic(self, entry_id: int, topic: str | None) -> None:
        self._write(_RETOPIC, OhEntry, entry_id, {"entry_id": entry_id, "to_topic": topic}, topic=topic)

    def end(self, entry_id: int, outcome: str, now: datetime) -> None:
        """End an entry with an outcome (its times and outcome stay: the help log)."""
        given = {"entry_id": entry_id, "to_outcome": outcome, "to_ended_at": now}
        self._write(_END, OhEntry, entry_id, given, status="ended", outcome=outcome, ended_at=now)

    def _write(self, statement: Any, model: type, row_id: int, given: dict[str, Any], **values: Any) -> None:
        """One prebuilt UPDATE of a row; an ORM object of it the session holds is given the new
        ``values`` as committed state (so it neither goes stale nor owes a flush)."""
        lean.run(self.db, statement, given)
        loaded = self.db.identity_map.get(identity_key(model, (row_id,)))
        if loaded is not None:
            for name, value in values.items():
                set_committed_value(loaded, name, value)

    def called(self, session_id: int) -> list[OhEntry]:
        """People a host is with now."""
        return list(self.db.execute(_CALLED, {"session_id": session_id}).scalars())

    def current_of(self, session_id: int, host_id: int) -> OhEntry | None:
        return next((e for e in self.called(session_id) if e.host_id == host_id), None)

    def active_entries_of(self, platform: str, member_id: int | None, nick: str, channel: str | None) -> list[OhEntry]:
        """The person's waiting or called entries in open queues on ``platform`` (in
        ``channel`` only, when given): by member, or by nick when anonymous."""
        stmt = (
            select(OhEntry)
            .join(OfficeHour, col(OfficeHour.id) == col(OhEntry.session_id))
            .where(
                OfficeHour.platform == platform,
                col(OfficeHour.closed_at).is_(None),
                col(OhEntry.status).in_(("waiting", "called")),
            )
        )
        if channel is not None:
            stmt = stmt.where(OfficeHour.channel == channel)
        return list(self.db.exec(_of_person(stmt, platform, member_id, nick).order_by(col(OhEntry.id))))

    def leavers_gone_by(self, cutoff: datetime, session_id: int | None = None) -> list[OhEntry]:
        """People still waiting in an open queue (``session_id``'s, when given) who left at or
        before ``cutoff``."""
        stmt = (
            select(OhEntry)
            .join(OfficeHour, col(OfficeHour.id) == col(OhEntry.session_id))
            .where(
                col(OfficeHour.closed_at).is_(None),
                OhEntry.status == "waiting",
                col(OhEntry.left_at).is_not(None),
                col(OhEntry.left_at) <= cutoff,
            )
        )
        if session_id is not None:
            stmt = stmt.where(OhEntry.session_id == session_id)
        return list(self.db.exec(stmt.order_by(col(OhEntry.session_id), col(OhEntry.seq))))

    def first_left_at(self) -> datetime | None:
        """When the earliest leaver still waiting in an open queue left (for the job's rest)."""
        self.db.flush()
        return self.db.connection().execute(_FIRST_LEFT).scalar()

    def join_line(self, session_id: int, member_id: int | None, who: tuple[str, str | None, str], topic: str | None,
                  seq: int, nearly_told: bool, now: datetime) -> int:
        """A new entry at place number ``seq`` (``who``: platform, account, nick), in one
        prebuilt INSERT ... RETURNING; its id."""
        platform, account, nick = who
        return int(lean.rows(self.db, _NEW_ENTRY, {
            "session_id": session_id, "member_id": member_id, "platform": platform, "account": account, "nick": nick,
            "topic": topic, "seq": seq, "status": "waiting", "skips": 0, "nearly_told": nearly_told, "joined_at": now,
        })[0][0])

    def save(self, entry: OhEntry) -> None:
        self.db.add(entry)

    def reorder(self, line: list[OhEntry]) -> None:
        """Make ``line`` the order of the waiting entries (they are renumbered 1..n)."""
        for n, entry in enumerate(line, 1):
            entry.seq = n
            self.db.add(entry)

    def entries(self, session_id: int) -> list[OhEntry]:
        stmt = select(OhEntry).where(OhEntry.session_id == session_id)
        return list(self.db.exec(stmt.order_by(col(OhEntry.id))))

    def recent_help_minutes(self, platform: str, channel: str, limit: int) -> list[float]:
        """How long the last ``limit`` helps in this channel took, newest first."""
        rows = lean.rows(self.db, _RECENT_HELPS, {"platform": platform, "channel": channel, "limit": limit})
        return [(ended - called).total_seconds() / 60 for called, ended in rows]

    # ------------------------------------------------------------------ notices

    def notice_of(self, member_id: int, platform: str, channel: str) -> OhNotice | None:
        stmt = select(OhNotice).where(
            OhNotice.member_id == member_id, OhNotice.platform == platform, OhNotice.channel == channel
        )
        return self.db.exec(stmt).first()

    def add_notice(self, member_id: int, platform: str, channel: str, now: datetime) -> OhNotice:
        notice = OhNotice(member_id=member_id, platform=platform, channel=channel, created_at=now)
        self.db.add(notice)
        self.db.flush()
        return notice

    def notices_for(self, platform: str, channel: str) -> list[OhNotice]:
        stmt = select(OhNotice).where(OhNotice.platform == platform, OhNotice.channel == channel)
        return list(self.db.exec(stmt.order_by(col(OhNotice.id))))

    def remove_notice(self, notice: OhNotice) -> None:
        self.db.delete(notice)

    # ------------------------------------------------------------------ schedule

    def run_for(self, schedule: str, starts_at: datetime) -> OhScheduleRun:
        stmt = select(OhScheduleRun).where(OhScheduleRun.schedule == schedule, OhScheduleRun.starts_at == starts_at)
        run = self.db.exec(stmt).first()
        if run is None:
            run = OhScheduleRun(schedule=schedule, starts_at=starts_at)
            self.db.add(run)
            self.db.flush()
        return run

    def save_run(self, run: OhScheduleRun) -> None:
        self.db.add(run)

    # ------------------------------------------------------------------ history and retention

    def purge_before(self, cutoff: datetime) -> int:
        """Delete sessions closed before ``cutoff`` (their entries and duty go by cascade), older
        ``!q notify`` requests and schedule records. Returns how many sessions and requests went."""
        sessions = self.db.exec(delete(OfficeHour).where(col(OfficeHour.closed_at) < cutoff))  # type: ignore[call-overload]
        notices = self.db.exec(delete(OhNotice).where(col(OhNotice.created_at) < cutoff))  # type: ignore[call-overload]
        self.db.exec(delete(OhScheduleRun).where(col(OhScheduleRun.starts_at) < cutoff))  # type: ignore[call-overload]
        return int(sessions.rowcount or 0) + int(notices.rowcount or 0)

    def hours_since(self, since: datetime, platform: str | None = None, channel: str | None = None) -> list[OfficeHour]:
        stmt = select(OfficeHour).where(col(OfficeHour.opened_at) >= since)
        if platform is not None and channel is not None:
            stmt = stmt.where(OfficeHour.platform == platform, OfficeHour.channel == channel)
        return list(self.db.exec(stmt.order_by(col(OfficeHour.opened_at))))

    def help_log(self, since: datetime | None = None, platform: str | None = None, channel: str | None = None) -> list[LogRow]:
        """Every ended entry (joined since ``since``), oldest first, with host and person handles."""
        stmt = (
            select(OhEntry, OfficeHour)
            .join(OfficeHour, col(OfficeHour.id) == col(OhEntry.session_id))
            .where(OhEntry.status == "ended")
        )
        if since is not None:
            stmt = stmt.where(col(OhEntry.joined_at) >= since)
        if platform is not None and channel is not None:
            stmt = stmt.where(OfficeHour.platform == platform, OfficeHour.channel == channel)
        pairs = list(self.db.exec(stmt.order_by(col(OhEntry.joined_at), col(OhEntry.id))))
        ids = {e.member_id for e, _ in pairs} | {e.host_id for e, _ in pairs}
        handles = dict(self.db.exec(select(Member.id, Member.handle).where(col(Member.id).in_([i for i in ids if i is not None]))).all())
        return [
            LogRow(
                entry=e,
                hour=s,
                host=handles.get(e.host_id) if e.host_id is not None else None,
                person=handles.get(e.member_id, e.nick) if e.member_id is not None else f"{e.nick} (no account)",
            )
            for e, s in pairs
        ]
