"""One row by its primary key, as ``Session.get`` reads it, without building a statement at
every miss.

``Session.get`` answers from the session's identity map when it can; when it cannot, it builds a
new ``SELECT`` and its cache key each time, which cost more than running the query (about
0.3 ms a call, issue 24: a conversation, a check-in plan or a round is read this way at every hot
command). :func:`by_key` asks the identity map the same way and otherwise runs one statement per
table, built once, so a miss costs what a prebuilt query costs. It loads the same ORM object
(into the identity map, after the same autoflush), so callers may change it as before.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import bindparam, inspect
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, SQLModel, select

Row = TypeVar("Row", bound=SQLModel)


@lru_cache(maxsize=None)
def _by_key(table: type[SQLModel]) -> Any:
    """``SELECT`` of ``table`` by its primary key columns (bound as ``k0``, ``k1``, ...)."""
    columns = inspect(table).primary_key
    return select(table).where(*(column == bindparam(f"k{n}") for n, column in enumerate(columns)))


def by_key(db: Session, table: type[Row], *key: Any) -> Row | None:
    """``session.get(table, key)``: from the identity map when the row is loaded, otherwise by
    the table's prebuilt statement."""
    if db.identity_map.get(identity_key(table, key)) is not None:
        return db.get(table, key)  # loaded already: no statement (expired: refreshed as get does)
    return db.execute(_by_key(table), {f"k{n}": value for n, value in enumerate(key)}).scalars().first()
