"""Sign-in links for the web dashboard: one row per link, so a link works once and not after
its time.

Only a hash of the token is stored: somebody who reads the database (a backup) cannot sign in
with a link that was not used yet. The session that a link starts lives in a signed cookie
(``chatbot.dashboard.auth``), not here.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Optional

from sqlalchemy import delete, update
from sqlmodel import Field, Session, SQLModel, col

from storage.tables import when


class DashboardLink(SQLModel, table=True):
    __tablename__ = "dashboard_link"

    #: sha256 of the token in the link, hex
    token_hash: str = Field(primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    created_at: datetime = when()
    expires_at: datetime = when()
    used_at: Optional[datetime] = when(nullable=True)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class DashboardLinkRepo:
    def __init__(self, db: Session):
        self.db = db

    def add(self, token: str, member_id: int, now: datetime, expires_at: datetime) -> None:
        """Record a new link; links that ran out are dropped on the way (they are worthless)."""
        self.db.exec(delete(DashboardLink).where(col(DashboardLink.expires_at) < now))  # type: ignore[call-overload]
        self.db.add(DashboardLink(token_hash=token_hash(token), member_id=member_id, created_at=now, expires_at=expires_at))

    def use(self, token: str, now: datetime) -> tuple[int | None, str]:
        """Spend a link: (member id, "ok"), or (None, why not: "unknown", "used", "expired").

        One conditional UPDATE spends it, so two requests racing with the same link cannot
        both win."""
        row = self.db.get(DashboardLink, token_hash(token))
        if row is None:
            return None, "unknown"
        if row.used_at is not None:
            return None, "used"
        if row.expires_at <= now:
            return None, "expired"
        spent = self.db.exec(  # type: ignore[call-overload]
            update(DashboardLink)
            .where(col(DashboardLink.token_hash) == row.token_hash, col(DashboardLink.used_at).is_(None))
            .values(used_at=now)
        )
        if not spent.rowcount:
            return None, "used"
        return row.member_id, "ok"
