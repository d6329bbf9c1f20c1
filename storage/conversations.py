"""The one interview each person is in (:class:`storage.tables.Conversation`): read, started,
moved on a step, ended.

Why a module of its own: answering an interview's question is a hot path (a check-in answer,
issue 24), so the answer reads the conversation as plain values (:class:`ConversationRow`) and
moves it on or ends it with prebuilt statements (:mod:`storage.lean`), where the ORM loaded an
object and flushed its changes. Interviews that start, pause or resume use the ORM object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import bindparam, delete, insert, select as core_select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from storage import lean
from storage.keyed import by_key
from storage.tables import Conversation, table_of

_CONV = table_of(Conversation)
_CURRENT = core_select(*_CONV.c).where(_CONV.c.member_id == bindparam("member_id"))
_ADVANCE = (
    update(_CONV).where(_CONV.c.member_id == bindparam("member_id"))
    .values(step=bindparam("step"), data=bindparam("data"), updated_at=bindparam("updated_at"))
)
_END_CONVERSATION = delete(_CONV).where(_CONV.c.member_id == bindparam("member_id"))


@dataclass(frozen=True)
class ConversationRow:
    """A conversation as plain values (same fields as :class:`Conversation`)."""

    member_id: int
    flow: str
    step: str
    data: dict[str, Any]
    platform: str
    started_at: datetime
    updated_at: datetime


class ConversationRepo:
    def __init__(self, db: Session):
        self.db = db

    def get(self, member_id: int) -> Conversation | None:
        return by_key(self.db, Conversation, member_id)

    def current(self, member_id: int) -> ConversationRow | None:
        """The member's conversation as plain values (one prebuilt statement): what an answer
        reads before it moves the interview on (:meth:`advance`) or ends it (:meth:`end`)."""
        found = lean.first(self.db, _CURRENT, {"member_id": member_id})
        return None if found is None else ConversationRow(**found._asdict())

    def advance(self, member_id: int, step: str, data: dict[str, Any], now: datetime) -> None:
        """On to ``step`` with the answers so far: one prebuilt UPDATE; an ORM object of the
        conversation the session holds gets the values as committed state (not stale, no flush)."""
        values = {"step": step, "data": dict(data), "updated_at": now}
        lean.run(self.db, _ADVANCE, {"member_id": member_id, **values})
        loaded = self.db.identity_map.get(identity_key(Conversation, (member_id,)))
        for name, value in values.items() if loaded is not None else ():
            set_committed_value(loaded, name, value)

    def start(self, member_id: int, flow: str, step: str, platform: str, data: dict[str, Any], now: datetime) -> Conversation:
        existing = self.get(member_id)
        if existing is not None:
            self.db.delete(existing)
            self.db.flush()
        conv = Conversation(member_id=member_id, flow=flow, step=step, data=data, platform=platform, started_at=now, updated_at=now)
        self.db.add(conv)
        return conv

    def of(self, ids: Iterable[int]) -> dict[int, Conversation]:
        """These members' conversations, loaded into the session so that :meth:`reopen` and
        :meth:`get` find them without a query."""
        rows = self.db.exec(select(Conversation).where(col(Conversation.member_id).in_(list(ids))))
        return {c.member_id: c for c in rows}

    def reopen(
        self, member_id: int, flow: str, step: str, platform: str, data: dict[str, Any], now: datetime,
        existing: Conversation | None = None,
    ) -> None:
        """Start (or restart) the member's interview in place: no delete and flush per person.
        ``existing``: their conversation, when the caller loaded it already (:meth:`of`)."""
        conv = existing if existing is not None else by_key(self.db, Conversation, member_id)
        if conv is None:
            conv = Conversation(member_id=member_id, flow=flow, step=step, data=data, platform=platform, started_at=now, updated_at=now)
        else:
            conv.flow, conv.step, conv.data, conv.platform = flow, step, dict(data), platform
            conv.started_at = conv.updated_at = now
        self.db.add(conv)

    def insert_many(self, rows: list[dict[str, Any]]) -> None:
        """New conversations in one statement (no ORM objects to build)."""
        if rows:
            self.db.execute(insert(Conversation), rows)

    def save(self, conv: Conversation, now: datetime) -> None:
        conv.updated_at = now
        conv.data = dict(conv.data)  # a new object, so the JSON column is seen as changed
        self.db.add(conv)

    def end(self, member_id: int) -> bool:
        """End the member's interview (False when there was none): one prebuilt DELETE, nothing
        read first, and an ORM object of it leaves the session, so no flush is owed for it
        (issue 24)."""
        ended = lean.run(self.db, _END_CONVERSATION, {"member_id": member_id}) > 0
        loaded = self.db.identity_map.get(identity_key(Conversation, (member_id,)))
        if loaded is not None:
            self.db.expunge(loaded)
        return ended
