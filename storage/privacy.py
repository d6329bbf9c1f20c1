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

#: ``Table.info`` key naming the column of a row's author, for rows reached through something two
#: people share (another person's feedback about their pair): the export keeps only the person's own
OWNER = "owner"


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):  # a file waiting in the outbox with its message: said, not dumped
        return f"(a file of {len(value)} bytes)"
    return value


#: tables that hold the bot's workings, not what a person told it or did: its outgoing messages
#: (with their delivery attempts), one-time sign-in links and link codes
BOOKKEEPING = frozenset({OutboxMessage.__tablename__, "dashboard_link", "link_code"})


class PrivacyRepo:
    def __init__(self, db: Session):
        self.db = db

    def export(self, member_id: int) -> dict[str, list[dict[str, Any]]]:
        """Every row about the person, by table (their member row first), without the bot's own
        bookkeeping (``BOOKKEEPING``): the messages it sent them, earlier exports among them, made
        each export carry the one before (37 KB, then 80 KB).

        Follows foreign keys outwards from the member row: rows that point at the member, then
        rows that point at those (a goal's steps hang off the sign-up), and so on."""
        out: dict[str, list[dict[str, Any]]] = {}
        found: dict[str, set[Any]] = {Member.__tablename__: {member_id}}
        member = self.db.execute(select(Member.__table__).where(Member.__table__.c.id == member_id)).mappings().first()
        if member is not None:
            out["member"] = [{k: _plain(v) for k, v in member.items()}]
        for _round in range(4):  # depth of the chain of foreign keys followed
            new: dict[str, set[Any]] = {}
            for table in SQLModel.metadata.sorted_tables:
                conditions = [
                    fk.parent.in_(found[fk.column.table.name])
                    for fk in table.foreign_keys
                    if fk.column.table.name in found and found[fk.column.table.name] and table.name != Member.__tablename__
                ]
                if not conditions or table.name in BOOKKEEPING:
                    continue
                pk = list(table.primary_key.columns)
                stmt = select(table).where(or_(*conditions))
                if OWNER in table.info:  # reached through a shared row (a pair): only the person's own
                    stmt = stmt.where(table.c[table.info[OWNER]] == member_id)
                for row in self.db.execute(stmt).mappings():
                    key = tuple(row[c.name] for c in pk)
                    ident = key[0] if len(key) == 1 else key
                    if ident in found.get(table.name, set()) or ident in new.get(table.name, set()):
                        continue
                    new.setdefault(table.name, set()).add(ident)
                    out.setdefault(table.name, []).append({k: _plain(v) for k, v in row.items()})
            if not new:
                break
            for name, ids in new.items():
                found.setdefault(name, set()).update(ids)
        return out

    def erase(self, member: Member, now: datetime) -> int:
        """Delete the person and what hangs off them; scrub messages that named them.

        The round's records (sign-ups, pairs, check-ins, sessions, ...) are first handed to an
        anonymous leaver with their text cleared (:mod:`storage.leavers`), so the round's figures
        stay; the rows that are theirs alone are deleted by cascade."""
        from storage.leavers import LeaverRepo  # it knows the feature tables, which import this module

        LeaverRepo(self.db).detach(member.pk, now)
        names = {member.handle, member.display_name}
        accounts = self.db.execute(
            select(PlatformIdentity.__table__.c.account).where(PlatformIdentity.__table__.c.member_id == member.pk)
        ).scalars()
        names |= set(accounts)
        names = {n for n in names if n and len(n) >= 3}
        payload = cast(OutboxMessage.__table__.c.payload, String)
        scrubbed = 0
        if names:
            result = self.db.execute(delete(OutboxMessage).where(or_(*(payload.contains(n) for n in names))))
            scrubbed = int(result.rowcount or 0)
        self.db.execute(delete(Member.__table__).where(Member.__table__.c.id == member.pk))
        self.db.expunge_all()
        return scrubbed
