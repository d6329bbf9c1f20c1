"""SQLModel tables. Changing one means adding an alembic migration (see storage/migrations)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Optional

from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary, Table, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from storage.stored import Stored


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model, for prebuilt Core statements on the hot paths."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]  # SQLModel sets it on table classes but does not declare it


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the database keeps."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use clock.now()")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=timezone.utc) if value is not None else None


def when(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def json_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Member(Stored, SQLModel, table=True):
    """One person, whichever platforms they use."""

    id: Optional[int] = Field(default=None, primary_key=True)
    #: a short unique name to refer to the person in commands on every platform
    handle: str = Field(index=True, unique=True)
    display_name: str
    timezone: Optional[str] = None
    languages: list[str] = json_list()
    role_focus: Optional[str] = None
    preferred_platform: Optional[str] = None
    #: the language the bot speaks to them in private (a catalog code such as "fr"); None: the bot's
    language: Optional[str] = None
    #: active, withdrawn
    status: str = "active"
    created_at: datetime = when()
    #: away mode: no prompts, no matching, no office-hour duty through this (local) date
    away_until: Optional[date] = None
    away_reason: Optional[str] = None


class PlatformIdentity(Stored, SQLModel, table=True):
    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("platform", "account"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    platform: str
    account: str
    member_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    display: str
    last_seen: datetime = when()
    #: the platform refused to deliver to this account for good (Discord 50007); cleared when
    #: the person writes to the bot from it again
    undeliverable_since: Optional[datetime] = when(nullable=True)


class MemberRole(SQLModel, table=True):
    __tablename__ = "member_role"

    member_id: int = Field(foreign_key="member.id", primary_key=True, ondelete="CASCADE")
    role: str = Field(primary_key=True)
    granted_by: Optional[int] = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    granted_at: datetime = when()


class Round(Stored, SQLModel, table=True):
    """A programme round (a quarter, usually). It takes sign-ups from ``signups_from`` through
    ``signups_until`` and runs from ``starts_on`` through ``ends_on`` until it is closed; one
    round may take sign-ups while another runs, but at most one does each at a time."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    starts_on: date
    ends_on: date
    #: the days people may sign up (both included); set for every round since migration 0013
    signups_from: Optional[date] = None
    signups_until: Optional[date] = None
    #: open (not closed yet: taking sign-ups, running, or waiting for either), closed
    status: str = "open"
    opened_by: Optional[int] = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    opened_at: datetime = when()
    closed_at: Optional[datetime] = when(nullable=True)


class Signup(Stored, SQLModel, table=True):
    """A person taking part in a round as a mentee or as a mentor."""

    __table_args__ = (UniqueConstraint("member_id", "round_id", "kind"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    round_id: int = Field(foreign_key="round.id", index=True)
    #: mentee, mentor
    kind: str
    #: mentees pick one track; mentors the tracks they mentor in
    tracks: list[str] = json_list()
    #: mentee: areas of interest; mentor: skills they can teach
    skills: list[str] = json_list()
    goal: Optional[str] = None
    capacity: Optional[int] = None
    #: mentors: taking new mentees at all (``!mentor open|closed``)
    accepting: bool = True
    #: active, withdrawn
    status: str = "active"
    created_at: datetime = when()
    withdrawn_at: Optional[datetime] = when(nullable=True)


class Conversation(SQLModel, table=True):
    """The one multi-step interview a person is in, with the answers so far (resumable)."""

    member_id: int = Field(foreign_key="member.id", primary_key=True, ondelete="CASCADE")
    flow: str
    step: str
    data: dict[str, Any] = json_dict()
    #: the platform whose DM the interview runs in
    platform: str
    started_at: datetime = when()
    updated_at: datetime = when()


class LinkCode(SQLModel, table=True):
    __tablename__ = "link_code"

    code: str = Field(primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    platform: str
    expires_at: datetime = when()


class OutboxMessage(Stored, SQLModel, table=True):
    """Every outbound message, recorded in the same transaction as the change that caused it.

    A platform's sender claims it (``sending``, with a lease in ``claimed_until``) just before
    handing it to the adapter and marks it ``sent`` after the platform accepted it; a crash
    before the mark sends it again with the same key (which Matrix uses as its transaction id
    and Discord as its nonce, so it is not shown twice). ``recipient`` (a person or a channel)
    keeps each recipient's messages in order; ``priority`` 0 is an answer or a call people
    wait for, 1 bulk scheduled work, which goes after."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        Index("ix_outbox_platform_due", "platform", "status", "next_attempt_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    platform: str
    member_id: Optional[int] = Field(default=None, foreign_key="member.id", index=True, ondelete="CASCADE")
    #: the outbound event, serialised
    payload: dict[str, Any] = json_dict()
    #: pending, sending (claimed by a sender), sent, offline (waits until the person is seen),
    #: undeliverable, failed (gave up)
    status: str = "pending"
    attempts: int = 0
    last_error: Optional[str] = None
    created_at: datetime = when()
    next_attempt_at: datetime = when()
    sent_at: Optional[datetime] = when(nullable=True)
    recipient: str = Field(default="", sa_column_kwargs={"server_default": ""})
    priority: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    #: the sender (host:pid:token) holding it while ``sending``, and until when
    claimed_by: Optional[str] = None
    claimed_until: Optional[datetime] = when(nullable=True)
    #: the bytes of the file the message carries (its name and media type are in ``payload``);
    #: emptied once it is sent, since a sent message is never sent again
    attachment_data: Optional[bytes] = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class ProcessedEvent(SQLModel, table=True):
    """Inbound platform event ids already handled, so a replay after a crash is ignored."""

    __tablename__ = "processed_event"

    platform: str = Field(primary_key=True)
    event_id: str = Field(primary_key=True)
    handled_at: datetime = when(index=True)


class KeyValue(SQLModel, table=True):
    """Small durable state of adapters (a Matrix sync token, a Discord command hash)."""

    __tablename__ = "kv"

    namespace: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    value: str
