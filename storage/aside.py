"""Interviews a person put aside with ``!later``: kept with their answers, resumable.

The ``conversation`` table holds the one interview a person is in now; an interview put aside
leaves it and waits here, one per kind of interview, until the command that started it carries
it on (``!signup mentee``, ``!checkin``) or a new one of the same kind replaces it (a check-in's
next prompt). The member column is a foreign key, so ``!mydata export`` finds these rows and
``!mydata delete`` erases them with the person (declared as their own in :mod:`storage.leavers`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import delete
from sqlmodel import Field, Session, SQLModel, col, select

from storage.tables import Conversation, json_dict, when


class AsideInterview(SQLModel, table=True):
    __tablename__ = "aside_interview"

    member_id: int = Field(foreign_key="member.id", primary_key=True, ondelete="CASCADE")
    flow: str = Field(primary_key=True)
    #: the question it stopped at, and the answers so far
    step: str
    data: dict[str, Any] = json_dict()
    platform: str
    put_aside_at: datetime = when()


class AsideRepo:
    def __init__(self, db: Session):
        self.db = db

    def put(self, conv: Conversation, data: dict[str, Any], now: datetime) -> None:
        """Keep ``conv`` (with ``data``, its answers) aside; one of the same kind it replaces."""
        row = self.db.get(AsideInterview, (conv.member_id, conv.flow))
        if row is None:
            row = AsideInterview(member_id=conv.member_id, flow=conv.flow, step=conv.step, platform=conv.platform)
        row.step, row.data, row.platform, row.put_aside_at = conv.step, dict(data), conv.platform, now
        self.db.add(row)

    def get(self, member_id: int, flow: str) -> AsideInterview | None:
        return self.db.get(AsideInterview, (member_id, flow))

    def of(self, member_ids: Iterable[int], flow: str) -> dict[int, AsideInterview]:
        """These members' interviews of kind ``flow`` put aside, in one query (a job's batch)."""
        ids = list(member_ids)
        if not ids:
            return {}
        stmt = select(AsideInterview).where(col(AsideInterview.member_id).in_(ids), AsideInterview.flow == flow)
        return {row.member_id: row for row in self.db.exec(stmt)}

    def drop(self, member_ids: Iterable[int], flow: str) -> None:
        """Forget these members' interviews of kind ``flow`` put aside (a new one began), in one
        statement."""
        ids = list(member_ids)
        if ids:
            self.db.execute(delete(AsideInterview).where(col(AsideInterview.member_id).in_(ids), AsideInterview.flow == flow))

    def save(self, row: AsideInterview) -> None:
        row.data = dict(row.data)  # a new object, so the JSON column is seen as changed
        self.db.add(row)

    def forget(self, row: AsideInterview) -> None:
        self.db.delete(row)
