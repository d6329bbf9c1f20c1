"""Prebuilt statements run on the driver's connection (storage/lean.py) give what
``session.execute`` gives: the same rows, the same stored values, the same errors, on SQLite and
on PostgreSQL (see ``database`` in tests/conftest.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import bindparam, event, exc, func, insert, select, update

from storage import lean
from storage.tables import Member, table_of

_M = table_of(Member)
_BY_ID = select(_M.c.id, _M.c.handle, _M.c.languages, _M.c.created_at, _M.c.away_until).where(_M.c.id == bindparam("id"))
_ACTIVE = select(_M.c.handle).where(_M.c.status == "active").order_by(_M.c.handle)  # a value bound in the statement
_ADD = insert(_M).returning(_M.c.id, _M.c.created_at)
_RENAME = update(_M).where(_M.c.id == bindparam("member_id")).values(display_name=bindparam("name"))
_SOME = select(_M.c.handle).where(_M.c.id.in_(bindparam("ids", expanding=True))).order_by(_M.c.handle)
_COUNT = select(func.count()).select_from(_M)
_ROW = select(*_M.c).where(_M.c.id == bindparam("id"))
_NAME = select(_M.c.display_name).where(_M.c.id == bindparam("id"))

NOON = datetime(2027, 1, 4, 12, 0, tzinfo=timezone.utc)


def _member(handle: str) -> dict:
    return {"handle": handle, "display_name": handle.title(), "timezone": "Europe/Berlin", "languages": ["de", "en"],
            "status": "active", "created_at": NOON}


def test_rows_read_and_written_are_those_of_session_execute(db):
    added = lean.first(db, _ADD, _member("ada"))
    assert added.created_at == NOON and added.created_at.tzinfo is not None  # UTCDateTime read back as aware
    lean.rows(db, _ADD, _member("bob"))
    got = lean.first(db, _BY_ID, {"id": added.id})
    assert tuple(got) == tuple(db.execute(_BY_ID, {"id": added.id}).one())
    assert (got.handle, got.languages, got.away_until) == ("ada", ["de", "en"], None)  # JSON decoded, NULL kept
    assert lean.scalars(db, _ACTIVE) == ["ada", "bob"]
    assert lean.run(db, _RENAME, {"member_id": added.id, "name": "Ada L."}) == 1
    assert db.get(Member, added.id).display_name == "Ada L."  # what the ORM reads is what was written
    assert lean.scalars(db, _SOME, {"ids": [added.id]}) == ["ada"]  # an IN list: run the usual way
    assert lean.first(db, _BY_ID, {"id": 999}) is None


def test_pending_orm_changes_are_flushed_first_as_autoflush_would(db):
    db.add(Member(**_member("cy")))
    assert lean.scalars(db, _COUNT) == [1]


def test_the_statements_are_seen_by_the_engines_statement_event(db):
    seen: list[str] = []
    event.listen(db.get_bind(), "before_cursor_execute", lambda *args: seen.append(args[2]))
    lean.scalars(db, _COUNT)
    assert len(seen) == 1 and seen[0].startswith("SELECT count(*)")


def test_a_refused_statement_raises_sqlalchemys_error_and_changes_nothing(db):
    lean.rows(db, _ADD, _member("dee"))
    savepoint = db.begin_nested()
    with pytest.raises(exc.IntegrityError):
        lean.rows(db, _ADD, _member("dee"))  # the handle is taken
    savepoint.rollback()
    assert lean.scalars(db, _COUNT) == [1]


def test_a_missing_parameter_is_an_error_not_a_null(db):
    with pytest.raises(exc.InvalidRequestError, match="id"):
        lean.rows(db, _BY_ID, {})


def test_orm_statements_are_run_by_the_session(db):
    lean.rows(db, _ADD, _member("eve"))
    (member,) = lean.scalars(db, _EVE)
    assert isinstance(member, Member) and member.handle == "eve"


_EVE = select(Member).where(Member.handle == "eve")
_ORM_COLUMNS = select(Member.handle, Member.languages).where(Member.id == bindparam("id"))


def test_orm_columns_are_plain_values_and_run_on_the_driver(db):
    seen: list[str] = []
    event.listen(db.get_bind(), "before_cursor_execute", lambda *args: seen.append(args[4]))  # context: None on the lean path
    added = lean.first(db, _ADD, _member("fay"))
    got = lean.first(db, _ORM_COLUMNS, {"id": added.id})
    assert (got.handle, got.languages) == ("fay", ["de", "en"])
    assert seen == [None, None]


def test_an_object_made_from_a_row_is_the_one_the_orm_would_load(db):
    added = lean.first(db, _ADD, _member("gus"))
    (member,) = lean.objects(db, Member, _ROW, {"id": added.id})
    assert db.get(Member, added.id) is member and member.languages == ["de", "en"] and member.created_at == NOON
    assert not db.dirty  # loaded, not changed
    member.display_name = "Gus G."
    db.flush()  # changes to it are written as to any loaded object
    assert lean.scalars(db, _NAME, {"id": added.id}) == ["Gus G."]


def test_a_row_of_an_object_the_session_holds_gives_that_object_unchanged(db):
    added = lean.first(db, _ADD, _member("hal"))
    held = db.get(Member, added.id)
    held.display_name = "Hal H."
    db.expire(held, ["timezone"])
    row = lean.first(db, _ROW, {"id": added.id})
    assert lean.adopt(db, Member, row) is held
    assert held.display_name == "Hal H." and held.timezone == "Europe/Berlin"  # the expired one refilled
