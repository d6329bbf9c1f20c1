"""``INSERT ... ON CONFLICT DO NOTHING RETURNING``, built once, for SQLite and PostgreSQL.

Why: rows that may be recorded already (an outbox message due again, an inbound event delivered
again) are left out by the database in the same statement that inserts the others, instead of a
query for the existing keys first (one statement less on every command, issue 24). The clause
is the same on both databases, but each dialect has its own construct for it, so the statement
is built for each and chosen by the connection's dialect.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import Column, Table, bindparam
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from storage import lean

#: up to this many rows, a statement built for that many (see ``InsertNew.__call__``)
FEW = 4


class InsertNew:
    """Insert rows into ``table`` except those whose ``unique`` columns are there already;
    the ``returning`` columns of the rows inserted come back."""

    def __init__(self, table: Table, unique: Sequence[Column[Any]], returning: Sequence[Column[Any]]):
        self._by_dialect = {
            name: dialect_insert(table).on_conflict_do_nothing(index_elements=list(unique)).returning(*returning)
            for name, dialect_insert in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))
        }
        self._table = table
        self._few: dict[tuple[str, int, tuple[str, ...]], Any] = {}

    def _for(self, dialect: str, count: int, columns: tuple[str, ...]) -> Any:
        """The statement for ``count`` rows of these ``columns`` (``VALUES (...), (...)`` with
        a parameter per value: ``key__0``, ``key__1``...), built once."""
        key = (dialect, count, columns)
        if key not in self._few:
            # typed: SQLAlchemy types the first row's parameters by their columns, not the others'
            rows = [{c: bindparam(f"{c}__{n}", type_=self._table.c[c].type) for c in columns} for n in range(count)]
            self._few[key] = self._by_dialect[dialect].values(rows)
        return self._few[key]

    def __call__(self, db: Session, rows: list[dict[str, Any]]) -> Sequence[Any]:
        """The rows inserted (a row of the ``returning`` columns each; every row of ``rows`` has
        the same keys), in one statement and in no particular order. A few rows (a command's
        answers, an event) go as a statement built once for that many, run on the driver's
        connection (``storage.lean``: SQLAlchemy's execution cost more than the insert); more
        go through SQLAlchemy's "insertmanyvalues"."""
        if not rows:
            return []
        dialect = db.get_bind().dialect.name
        if len(rows) > FEW:
            return db.connection().execute(self._by_dialect[dialect], rows).all()
        columns = tuple(rows[0])
        given = {f"{c}__{n}": values[c] for n, values in enumerate(rows) for c in columns}
        return lean.rows(db, self._for(dialect, len(rows), columns), given)
