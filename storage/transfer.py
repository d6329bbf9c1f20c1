"""Copying a programme's records from one database to another (``mentorbot migrate-data``).

Why through the tables' own types and not a dump: a SQLite file and PostgreSQL keep times, JSON
and booleans differently, and the columns' SQLAlchemy types (``UTCDateTime``, ``JSON``) already
translate both ways. Every table is copied with its ids, parents before children, in one
transaction on the target, which then has its id sequences moved past the copied ids (or the
next new row would collide). The copy is checked by counting every table on both sides; a
target that holds any record is refused, so a copy never merges two programmes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.schema import Table
from sqlmodel import SQLModel

import storage.repos  # noqa: F401 - registers every table on SQLModel.metadata
from storage.db import analyze, reset_sequences

#: rows read and written at a time, so a large programme never sits in memory at once
CHUNK = 2000


class TransferError(Exception):
    """The copy cannot start, or did not copy what it read; nothing is left committed."""


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


def tables() -> list[Table]:
    """Every table of the schema, each after the tables it refers to."""
    return list(SQLModel.metadata.sorted_tables)


def counts(conn: Connection) -> dict[str, int]:
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables()}


def copy_database(source: Engine, target: Engine) -> list[Copied]:
    """Copy every row of ``source`` into the empty ``target`` (both migrated to the same schema)."""
    with source.connect() as src, target.begin() as dst:
        filled = {name: n for name, n in counts(dst).items() if n}
        if filled:
            some = ", ".join(f"{name} ({n})" for name, n in sorted(filled.items())[:5])
            raise TransferError(f"the target database is not empty: {some}; copy into a new, empty database")
        copied = []
        for table in tables():
            order = list(table.primary_key.columns)
            result = src.execute(select(table).order_by(*order)).mappings()
            n = 0
            while chunk := result.fetchmany(CHUNK):
                dst.execute(insert(table), [dict(row) for row in chunk])
                n += len(chunk)
            copied.append(Copied(table.name, n))
        reset_sequences(dst, tables())
        read, written = counts(src), counts(dst)
        wrong = [f"{name}: {read[name]} read, {written[name]} written" for name in read if read[name] != written[name]]
        if wrong:
            raise TransferError("the copy does not match the source (nothing was kept): " + "; ".join(wrong))
    analyze(target)
    return copied
