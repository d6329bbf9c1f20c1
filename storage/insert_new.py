"""``INSERT ... ON CONFLICT DO NOTHING RETURNING``, built once, for SQLite and PostgreSQL.

Why: rows that may be recorded already (an outbox message due again, an inbound event delivered
again) are left out by the database in the same statement that inserts the others, instead of a
query for the existing keys first (one statement less on every command, issue 24). The clause
is the same on both databases, but each dialect has its own construct for it, so the statement
is built for each and chosen by the connection's dialect.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import Column, Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlmodel import Session


class InsertNew:
    """Insert rows into ``table`` except those whose ``unique`` columns are there already;
    the ``returning`` columns of the rows inserted come back."""

    def __init__(self, table: Table, unique: Sequence[Column[Any]], returning: Sequence[Column[Any]]):
        self._by_dialect = {
            name: dialect_insert(table).on_conflict_do_nothing(index_elements=list(unique)).returning(*returning)
            for name, dialect_insert in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))
        }

    def __call__(self, db: Session, rows: list[dict[str, Any]]) -> Sequence[Row[Any]]:
        """Many rows in one statement (SQLAlchemy's "insertmanyvalues"); the order of the rows
        returned is not that of ``rows``."""
        if not rows:
            return []
        connection = db.connection()
        return connection.execute(self._by_dialect[connection.dialect.name], rows).all()
