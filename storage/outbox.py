"""The outbox: every message the bot sends, and the claims senders take on it.

The statements a sender runs for every message (claim, mark sent) are prebuilt SQLAlchemy Core
statements: the ORM spent most of their time deciding what in the session to synchronise.
Claims work the same on SQLite (one process, or several on one host) and on a database server
shared by several processes: a row is claimed by an UPDATE that only succeeds while it is
unclaimed (or its lease ran out), and RETURNING says which rows this sender got. On PostgreSQL
the rows are picked ``FOR UPDATE SKIP LOCKED``: a sender never waits for rows another process is
claiming at that moment, it leaves them (SQLite has no row locks and renders no such clause;
its writers take turns on the file's lock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import and_, bindparam, delete, func, or_, select as core_select, update
from sqlmodel import Session, col, select

from storage import lean
from storage.insert_new import InsertNew
from storage.tables import OutboxMessage, table_of

_T = table_of(OutboxMessage)

_SENT = {"status": "sent", "sent_at": bindparam("now"), "attempts": _T.c.attempts + 1, "last_error": None,
         "claimed_by": None, "claimed_until": None, "attachment_data": None}
_MARK_SENT = update(_T).where(_T.c.id.in_(bindparam("ids", expanding=True))).values(_SENT)
_MARK_ONE_SENT = update(_T).where(_T.c.id == bindparam("id")).values(_SENT)

_COLUMNS = (_T.c.id, _T.c.platform, _T.c.member_id, _T.c.recipient, _T.c.priority, _T.c.payload, _T.c.attachment_data)

#: due for a sender: pending and its time has come, or claimed by a sender whose lease ran out;
#: with ``_MINE``, also those claimed by this sender already (as the engine records what this
#: process sends) that it no longer holds in memory
_FREE = or_(
    and_(_T.c.status == "pending", _T.c.next_attempt_at <= bindparam("now")),
    and_(_T.c.status == "sending", _T.c.claimed_until < bindparam("now")),
)
_MINE = and_(_T.c.status == "sending", _T.c.claimed_by == bindparam("owner"))
_DUE = {  # (with this sender's own claims, answers only): the statement
    (mine, urgent): core_select(*_COLUMNS)
    .where(_T.c.platform == bindparam("platform"), or_(_FREE, _MINE) if mine else _FREE, *([_T.c.priority == 0] if urgent else []))
    .order_by(_T.c.id).limit(bindparam("most"))
    for mine in (False, True) for urgent in (False, True)
}

_CLAIMABLE = (
    core_select(_T.c.id)
    .where(_T.c.id.in_(bindparam("ids", expanding=True)), _T.c.platform == bindparam("for_platform"), or_(
        _T.c.status == "pending",
        and_(_T.c.status == "sending", or_(_T.c.claimed_by == bindparam("owner"), _T.c.claimed_until < bindparam("now"))),
    ))
    .with_for_update(skip_locked=True)
)

_CLAIM = (
    update(_T)
    .where(_T.c.id.in_(_CLAIMABLE.scalar_subquery()))
    .values(status="sending", claimed_by=bindparam("owner"), claimed_until=bindparam("until"))
    .returning(_T.c.id)
)

_DUE_AGAIN = (
    update(_T).where(_T.c.member_id == bindparam("member_id"), _T.c.platform == bindparam("platform"), _T.c.status == "offline")
    .values(status="pending", next_attempt_at=bindparam("now"))
)

_LAST_RECORDED = core_select(func.max(_T.c.id))
#: a row whose key is recorded already is left out by the database; the ids of the rows
#: inserted come back with their keys, which are unique, so their order does not matter
_INSERT_NEW = InsertNew(_T, [_T.c.key], [_T.c.key, _T.c.id])



@dataclass(frozen=True)
class OutboxRow:
    """What a sender needs of a recorded message."""

    id: int
    platform: str
    member_id: int | None
    recipient: str
    priority: int
    payload: dict[str, Any]
    #: the bytes of the file the message carries, if any
    attachment_data: bytes | None = None


class OutboxRepo:
    def __init__(self, db: Session):
        self.db = db

    # -- recording ------------------------------------------------------------------------------

    def insert_many(self, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Insert rows (every one with the same columns, as ``row_for`` makes them) in one
        statement, except those whose key is recorded already (the same due message queued by
        an earlier tick); the ids of the rows inserted, by key. Building an ORM object and
        flushing per message was most of the cost of a large check-in tick."""
        return {key: row_id for key, row_id in _INSERT_NEW(self.db, list(rows))}

    def get(self, msg_id: int) -> OutboxMessage | None:
        return self.db.get(OutboxMessage, msg_id)

    def last_recorded(self) -> int | None:
        """The newest message's id: it moves whenever any process records a message (an answer
        to a command, say), so a tick can tell that something was done since the last one."""
        return self.db.connection().execute(_LAST_RECORDED).scalar()

    def by_keys(self, keys: Iterable[str]) -> dict[str, OutboxMessage]:
        wanted = list(set(keys))
        if not wanted:
            return {}
        return {m.key: m for m in self.db.exec(select(OutboxMessage).where(col(OutboxMessage.key).in_(wanted)))}

    # -- sending --------------------------------------------------------------------------------

    def due(self, platform: str, now: datetime, limit: int, owner: str | None, *, urgent: bool = False,
            recipients: Sequence[str] = ()) -> list[OutboxRow]:
        """Messages for ``platform`` a sender may send now, oldest first: those claimed by
        ``owner`` too when given (the sender lost track of some of its own), only priority 0
        with ``urgent``, only these ``recipients`` when given."""
        statement = _DUE[owner is not None, urgent]
        given = {"platform": platform, "now": now, "owner": owner, "most": limit}
        if recipients:
            statement = statement.where(_T.c.recipient.in_(list(recipients)))
            return [OutboxRow(*row) for row in self.db.connection().execute(statement, given)]
        return [OutboxRow(*row) for row in lean.rows(self.db, statement, given)]

    def claim(self, platform: str, ids: Sequence[int], owner: str, until: datetime, now: datetime) -> set[int]:
        """Take these messages of ``platform`` (the one the sender serves) for one sender until
        ``until``; the ids it got (another sender may have been quicker, or a message may have
        been sent meanwhile)."""
        if not ids:
            return set()
        params = {"ids": list(ids), "for_platform": platform, "owner": owner, "until": until, "now": now}
        got = self.db.connection().execute(_CLAIM, params)
        return {row[0] for row in got}

    def mark_sent(self, ids: Sequence[int], now: datetime) -> None:
        """One statement for the common case: all of these went out."""
        if len(ids) == 1:
            lean.run(self.db, _MARK_ONE_SENT, {"id": ids[0], "now": now})  # most rounds: one message
        elif ids:
            self.db.connection().execute(_MARK_SENT, {"ids": list(ids), "now": now})

    def claimants(self, platform: str) -> set[str]:
        """The senders holding messages of ``platform`` right now."""
        stmt = core_select(_T.c.claimed_by).where(_T.c.platform == platform, _T.c.status == "sending").distinct()
        return {row[0] for row in self.db.connection().execute(stmt) if row[0]}

    def release(self, owners: Iterable[str], now: datetime) -> int:
        """Give back what these senders held (they stopped, or their process is gone): due now."""
        owners = list(owners)
        if not owners:
            return 0
        result = self.db.connection().execute(
            update(_T).where(_T.c.status == "sending", _T.c.claimed_by.in_(owners))
            .values(status="pending", claimed_by=None, claimed_until=None, next_attempt_at=now)
        )
        return int(result.rowcount or 0)

    # -- waiting and retention ------------------------------------------------------------------

    def due_again(self, member_id: int, platform: str, now: datetime) -> int:
        """What waited for the member to be seen on ``platform`` (``offline``) is due now; how
        many messages."""
        return lean.run(self.db, _DUE_AGAIN, {"member_id": member_id, "platform": platform, "now": now})

    def purge_sent_before(self, cutoff: datetime) -> int:
        """Delivered messages are transport records: keep them only as long as retention allows."""
        result = self.db.exec(  # type: ignore[call-overload]
            delete(OutboxMessage).where(OutboxMessage.status == "sent", col(OutboxMessage.created_at) < cutoff)
        )
        return int(result.rowcount or 0)
