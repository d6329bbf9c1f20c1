"""Certificates issued to mentees who completed a round, and their revocation.

A row keeps what the certificate said when it was issued (``details``: the name, programme,
round and dates, goal, mentors and skills), so verifying it and drawing its PDF again show the
same certificate whatever changed since (a new display name, an edited goal). The code is
derived from the row with a secret (``chatbot.certificate_codes``); it is stored too, so a
code is found by one indexed lookup. A revoked certificate stays, with when, who and why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlmodel import Field, Session, SQLModel, col, select

from storage.stored import Stored
from storage.tables import json_dict, when


class Certificate(Stored, SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    #: the verification code as printed, without its dashes (base32 letters and digits)
    code: str = Field(unique=True)
    member_id: int = Field(foreign_key="member.id", index=True, ondelete="CASCADE")
    round_id: int = Field(foreign_key="round.id", index=True)
    issued_at: datetime = when()
    #: the coordinator who issued it; None: issued when the mentee completed the round
    issued_by: Optional[int] = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    #: what the certificate says, as issued (see ``chatbot.certificates.CertificateData``)
    details: dict[str, Any] = json_dict()
    revoked_at: Optional[datetime] = when(nullable=True)
    revoked_by: Optional[int] = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    revoke_reason: Optional[str] = None


class CertificateRepo:
    def __init__(self, db: Session):
        self.db = db

    def add(self, certificate: Certificate) -> Certificate:
        self.db.add(certificate)
        self.db.flush()
        return certificate

    def by_code(self, code: str) -> Certificate | None:
        return self.db.exec(select(Certificate).where(Certificate.code == code)).first()

    def standing(self, member_id: int, round_id: int) -> Certificate | None:
        """The person's certificate for the round that is not revoked, if any."""
        stmt = select(Certificate).where(
            Certificate.member_id == member_id, Certificate.round_id == round_id, col(Certificate.revoked_at).is_(None)
        )
        return self.db.exec(stmt).first()

    def latest(self, member_id: int, round_id: int) -> Certificate | None:
        """The person's latest certificate for the round, revoked or not."""
        stmt = select(Certificate).where(Certificate.member_id == member_id, Certificate.round_id == round_id)
        return self.db.exec(stmt.order_by(col(Certificate.id).desc())).first()

    def of_round(self, round_id: int) -> list[Certificate]:
        """Every certificate of the round, revoked ones too, oldest first."""
        stmt = select(Certificate).where(Certificate.round_id == round_id).order_by(col(Certificate.id))
        return list(self.db.exec(stmt))

    def revoke(self, certificate: Certificate, by: int | None, reason: str, now: datetime) -> None:
        certificate.revoked_at, certificate.revoked_by, certificate.revoke_reason = now, by, reason
        self.db.add(certificate)
