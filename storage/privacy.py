"""Everything stored about one person, found through the foreign keys to ``member.id``.

Because the tables are discovered from the metadata, a table a feature adds later is exported
and erased too, without this module knowing it (as long as its member columns are foreign keys).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import String, cast, delete, or_, select
from sqlmodel import Session, SQLModel

from storage.tables import Member, OutboxMessage, PlatformIdentity


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


class PrivacyRepo:
    def __init__(self, session: Session):
        self.s = session

    def member_columns(self) -> list[tuple[Any, Any]]:
        """(table, column) for every column that points at a member."""
        found = []
        for table in SQLModel.metadata.sorted_tables:
            for fk in table.foreign_keys:
                if fk.column.table.name == Member.__tablename__ and table.name != Member.__tablename__:
                    found.append((table, fk.parent))
        return found

    def export(self, member_id: int) -> dict[str, list[dict[str, Any]]]:
        """Every row about the person, by table (their member row first)."""
        out: dict[str, list[dict[str, Any]]] = {}
        member = self.s.execute(select(Member.__table__).where(Member.__table__.c.id == member_id)).mappings().first()
        if member is not None:
            out["member"] = [{k: _plain(v) for k, v in member.items()}]
        by_table: dict[str, list[Any]] = {}
        for table, column in self.member_columns():
            by_table.setdefault(table.name, []).append(column)
        for name, columns in sorted(by_table.items()):
            table = columns[0].table
            rows = self.s.execute(select(table).where(or_(*(c == member_id for c in columns)))).mappings().all()
            if rows:
                out[name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
        return out

    def erase(self, member: Member) -> int:
        """Delete the person and what hangs off them; scrub messages that named them.

        Rows that only *mention* them by id in a nullable column (who granted a role) keep the row
        with the id set to NULL by the foreign key; rows that are theirs are deleted by cascade."""
        assert member.id is not None
        names = {member.handle, member.display_name}
        accounts = self.s.execute(
            select(PlatformIdentity.__table__.c.account).where(PlatformIdentity.__table__.c.member_id == member.id)
        ).scalars()
        names |= set(accounts)
        names = {n for n in names if n and len(n) >= 3}
        payload = cast(OutboxMessage.__table__.c.payload, String)
        scrubbed = 0
        if names:
            result = self.s.execute(delete(OutboxMessage).where(or_(*(payload.contains(n) for n in names))))
            scrubbed = int(result.rowcount or 0)
        self.s.execute(delete(Member.__table__).where(Member.__table__.c.id == member.id))
        self.s.expunge_all()
        return scrubbed
