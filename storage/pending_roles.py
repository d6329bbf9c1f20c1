"""Roles given ahead of time to a platform account the bot has not met yet.

A coordinator often knows who will help before that person has written to the bot: their IRC
account, Matrix id or Discord id. The grant waits here, keyed by the account (the stable id the
engine's gate trusts, never a nick or a display name), and becomes an ordinary
:class:`~storage.tables.MemberRole` in the same transaction that makes the person a member on
first contact (:meth:`storage.repos.MemberRepo.create`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import func
from sqlmodel import Field, Session, SQLModel, col, select

from storage.tables import Member, MemberRole, PlatformIdentity, when


class PendingRole(SQLModel, table=True):
    __tablename__ = "pending_role"

    platform: str = Field(primary_key=True)
    #: the account as typed in ``!role grant``; matched without regard to case on first contact
    account: str = Field(primary_key=True)
    role: str = Field(primary_key=True)
    granted_by: Optional[int] = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    granted_at: datetime = when()


class PendingRoleRepo:
    def __init__(self, db: Session):
        self.db = db

    def _matching(self, platform: str, account: str):  # noqa: ANN202 - a select statement
        return select(PendingRole).where(
            PendingRole.platform == platform, func.lower(PendingRole.account) == account.lower()
        )

    def known(self, platform: str, account: str) -> Member | None:
        """The member behind the account, its case aside (``irc:Carol`` is carol's IRC account):
        a grant for someone known is an ordinary grant, never one waiting forever."""
        stmt = (
            select(Member)
            .join(PlatformIdentity, col(PlatformIdentity.member_id) == col(Member.id))
            .where(PlatformIdentity.platform == platform, func.lower(PlatformIdentity.account) == account.lower())
        )
        return self.db.exec(stmt).first()

    def grant(self, platform: str, account: str, role: str, by: int | None, now: datetime) -> bool:
        """False when the account has this role waiting already."""
        if self.db.exec(self._matching(platform, account).where(PendingRole.role == role)).first() is not None:
            return False
        self.db.add(PendingRole(platform=platform, account=account, role=role, granted_by=by, granted_at=now))
        return True

    def revoke(self, platform: str, account: str, role: str) -> bool:
        row = self.db.exec(self._matching(platform, account).where(PendingRole.role == role)).first()
        if row is None:
            return False
        self.db.delete(row)
        return True

    def of_role(self, role: str) -> list[PendingRole]:
        stmt = select(PendingRole).where(PendingRole.role == role)
        return list(self.db.exec(stmt.order_by(col(PendingRole.platform), col(PendingRole.account))))

    def claim(self, platform: str, account: str, member_id: int) -> list[str]:
        """Give a new member the roles waiting for their account; returns those roles."""
        rows = list(self.db.exec(self._matching(platform, account)))
        for row in rows:
            if self.db.get(MemberRole, (member_id, row.role)) is None:
                self.db.add(MemberRole(member_id=member_id, role=row.role, granted_by=row.granted_by, granted_at=row.granted_at))
            self.db.delete(row)
        if rows:
            self.db.flush()
        return [row.role for row in rows]
