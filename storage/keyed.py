"""One row by its primary key, as ``Session.get`` reads it, without building a statement at
every miss.

``Session.get`` answers from the session's identity map when it can; when it cannot, it builds a
new ``SELECT`` and its cache key each time, which cost more than running the query (about
0.3 ms a call, issue 24: a conversation, a check-in plan or a round is read this way at every hot
command). :func:`by_key` asks the identity map the same way and otherwise runs one statement per
table, built once and run by ``storage.lean`` (its row made the ORM object by ``lean.adopt``),
so a miss costs what a prebuilt query costs. It gives the same ORM object (in the identity map,
after the same autoflush), so callers may change it as before.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, SQLModel

from storage import lean
from storage.tables import table_of

Row = TypeVar("Row", bound=SQLModel)


@lru_cache(maxsize=None)
def _by_key(table: type[SQLModel]) -> Any:
    """``SELECT`` of ``table``'s columns by its primary key (bound as ``k0``, ``k1``, ...)."""
    columns = inspect(table).primary_key
    return select(*table_of(table).c).where(*(column == bindparam(f"k{n}") for n, column in enumerate(columns)))


def by_key(db: Session, table: type[Row], *key: Any) -> Row | None:
    """``session.get(table, key)``: from the identity map when the row is loaded, otherwise by
    the table's prebuilt statement.

    The identity map holds objects weakly: a member read to choose a language and then
    dropped was read again for the DM that followed (issue 24). What this loads is held until
    :func:`hold_for_unit` starts the next unit of work (an event, a job's batch) on the session."""
    if db.identity_map.get(identity_key(table, key)) is not None:
        return db.get(table, key)  # loaded already: no statement (expired: refreshed as get does)
    row = lean.first_object(db, table, _by_key(table), {f"k{n}": value for n, value in enumerate(key)})
    if row is not None:
        db.info.setdefault(_HELD, []).append(row)
    return row


_HELD = "mentorbot_held_by_key"


def hold_for_unit(db: Session) -> None:
    """A new unit of work begins on ``db``: what :func:`by_key` held for the last one is let go
    (so the identity map does not keep a whole group's rows, and a later unit reads afresh)."""
    db.info.pop(_HELD, None)
