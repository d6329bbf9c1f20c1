"""A member as a message to them needs them, read as one row.

Why: a feature that only writes to someone (a host told that a person joined the line, a person
in line told they are nearly up) needs their id, handle, language and preferred platform, not
an ORM object: loading one through the ORM cost more than the rest of the DM (issue 24). The
row goes wherever a ``Member`` does for a DM (``Context.dm``, ``Context.language_of``), as both
have what ``chatbot.delivery.records.Recipient`` reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from storage import lean
from storage.tables import Member


@dataclass(frozen=True)
class Addressee:
    """What a DM to a member reads of them."""

    id: int
    handle: str
    language: str | None
    preferred_platform: str | None

    @property
    def pk(self) -> int:
        return self.id


_ADDRESSEE = select(Member.id, Member.handle, Member.language, Member.preferred_platform).where(
    col(Member.id) == bindparam("member_id")
)


def addressee(db: Session, member_id: int) -> Addressee | None:
    """The member as a DM to them needs them, in one prebuilt statement; None if they are gone."""
    row = lean.first(db, _ADDRESSEE, {"member_id": member_id})
    return Addressee(*row) if row is not None else None
