"""Prebuilt Core statements run on the unit of work's own DB-API connection.

Why: SQLAlchemy's execution path (an execution context, result metadata, the ORM session's
layers) costs 20–80 µs of Python per statement; on the hot commands that was most of their CPU
(issue 24: a sampling profile of ``bench/bench_engine.py`` found 70 % of the time in
SQLAlchemy's own code, 13 points of it in SQLite itself). A statement here is still a
SQLAlchemy Core statement, compiled by SQLAlchemy once per dialect (and, for an INSERT, per set
of columns given); running it binds the parameters through the same type processors
(``UTCDateTime``, JSON, booleans) and reads rows through the same result processors, so the
table sees and the caller gets what ``session.execute`` would give. Rows come back as named
tuples (``row.handle``, ``row[0]``), like SQLAlchemy's ``Row``; :func:`objects` turns rows of a
table's columns into the ORM objects a query would have loaded (``adopt``: six times cheaper
than the ORM's loading for one object, which was most of the permission gate's cost).

What stays SQLAlchemy's: the transaction (``db.connection()`` begins it the usual way, with
``BEGIN IMMEDIATE`` on SQLite), the session's pending changes (flushed first, as autoflush
would), the ``before_cursor_execute`` event (the statement counts of the hot-path tests and the
benchmarks see these statements too), and errors: what the driver raises goes through
SQLAlchemy's own handler, so it is wrapped (``IntegrityError``...) and a lost connection is
noticed as always. Statements this cannot run alike are run by ``session.execute`` instead: expanding
``IN`` parameters, Python-side column defaults, ORM entities (read those with the ORM) and
ORM-enabled INSERT, UPDATE and DELETE (write through ``table_of(Model)``'s columns).

Prebuilt statements only (module constants, or a few built once): each is compiled once per
dialect and kept for the life of the process.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence, TypeVar

from sqlalchemy import exc, inspect
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.sql import ClauseElement, Select
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, SQLModel

Model = TypeVar("Model", bound=SQLModel)


@dataclass(frozen=True)
class _Plan:
    """One statement compiled for one dialect: the SQL text, how to build its parameters and
    how to read its rows."""

    sql: str
    positional: bool
    #: (name in the SQL, the caller's key, the value bound in the statement, its processor)
    binds: tuple[tuple[str, str, Any, Callable[[Any], Any] | None], ...]
    order: tuple[str, ...]  # positional styles: the names in the order of the placeholders
    row: type | None  # a named tuple of the result columns; None when there are none
    readers: tuple[Callable[[Any], Any] | None, ...]

    def parameters(self, given: dict[str, Any]) -> Any:
        values: dict[str, Any] = {}
        for name, key, bound, process in self.binds:
            value = given[key] if key in given else bound
            if value is _REQUIRED:
                raise exc.InvalidRequestError(f"A value is required for bind parameter {key!r}")
            values[name] = process(value) if process is not None else value  # None too, as SQLAlchemy does
        if self.positional:
            return tuple(values[name] for name in self.order)
        return values

    def rows(self, raw: Iterable[Sequence[Any]]) -> list[Any]:
        assert self.row is not None
        make, readers = self.row._make, self.readers  # type: ignore[attr-defined]  # a namedtuple class
        if not any(readers):
            return [make(r) for r in raw]
        return [make([read(v) if read is not None else v for read, v in zip(readers, r)]) for r in raw]


_REQUIRED = object()  # a bind parameter the caller must give

#: compiled plans by (statement, dialect name, the INSERT's columns); False: run it the usual way
_PLANS: dict[tuple[int, str, frozenset[str] | None], _Plan | bool] = {}
_KEEP: dict[int, ClauseElement] = {}  # the statements keyed by id() above, kept alive


def _plan(statement: ClauseElement, dialect: Dialect, columns: frozenset[str] | None) -> _Plan | None:
    key = (id(statement), dialect.name, columns)
    found = _PLANS.get(key)
    if found is None:
        found = _compile(statement, dialect, columns)
        _PLANS[key] = found if found is not None else False
        _KEEP[id(statement)] = statement
    return found or None


def _orm_bound(statement: ClauseElement) -> bool:
    """Whether running ``statement`` needs the ORM: a SELECT of mapped objects (rows of ORM
    columns are plain values and fine), or an ORM-enabled INSERT, UPDATE or DELETE."""
    if (getattr(statement, "_propagate_attrs", None) or {}).get("compile_state_plugin") != "orm":
        return False
    if not isinstance(statement, Select):
        return True
    for description in statement.column_descriptions:
        seen = inspect(description["expr"], raiseerr=False)
        if getattr(seen, "is_mapper", False) or getattr(seen, "is_aliased_class", False):
            return True
    return False


def _compile(statement: ClauseElement, dialect: Dialect, columns: frozenset[str] | None) -> _Plan | None:
    compiled: Any = statement.compile(dialect=dialect, column_keys=sorted(columns) if columns else None)
    if (
        getattr(compiled, "insert_prefetch", None)
        or getattr(compiled, "update_prefetch", None)
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or _orm_bound(statement)
    ):
        return None
    processors = compiled._bind_processors
    binds = tuple(
        (name, bind.key, _REQUIRED if bind.required else bind.effective_value, processors.get(name))
        for bind, name in compiled.bind_names.items()
    )
    positional = compiled.positiontup is not None
    result = compiled._result_columns
    row = namedtuple("Row", [c.keyname for c in result], rename=True) if result else None  # type: ignore[misc]  # field names known only now
    readers = tuple(c.type._cached_result_processor(dialect, None) for c in result)
    return _Plan(compiled.string, positional, binds, tuple(compiled.positiontup or ()), row, readers)


def _run(db: Session, statement: ClauseElement, given: dict[str, Any]) -> tuple[Any, _Plan] | None:
    """The driver's cursor after running ``statement``, or None when it is one to run the
    usual way."""
    if db.autoflush:
        db.flush()  # what autoflush would do before a query; nothing when nothing is pending
    connection: Connection = db.connection()
    columns = frozenset(given) if isinstance(statement, Insert) else None
    plan = _plan(statement, connection.dialect, columns)
    if plan is None:
        return None
    return execute(connection, plan.sql, plan.parameters(given)), plan


def execute(connection: Connection, sql: str, parameters: Any = ()) -> Any:
    """``sql`` run on ``connection``'s DB-API connection; its cursor. The engine's
    ``before_cursor_execute`` listeners see it; an error is SQLAlchemy's."""
    raw = connection.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    if connection._has_events or connection.engine._has_events:
        connection.dispatch.before_cursor_execute(connection, cursor, sql, parameters, None, False)
    try:
        cursor.execute(sql, parameters)
    except Exception as error:  # noqa: BLE001 - handed to SQLAlchemy, which raises it
        # SQLAlchemy's own handler (private, stable since 1.4): it wraps the driver's error
        # (IntegrityError, OperationalError...), notices a lost connection and invalidates it,
        # and runs the engine's handle_error events. It always raises.
        connection._handle_dbapi_exception(error, sql, parameters, cursor, None)
        raise
    return cursor


def rows(db: Session, statement: ClauseElement, given: dict[str, Any] | None = None) -> list[Any]:
    """All rows of a prebuilt statement (a SELECT, or DML with RETURNING)."""
    given = given or {}
    ran = _run(db, statement, given)
    if ran is None:
        return list(db.execute(statement, given).all())
    cursor, plan = ran
    try:
        return plan.rows(cursor.fetchall()) if plan.row is not None else []
    finally:
        cursor.close()


def first(db: Session, statement: ClauseElement, given: dict[str, Any] | None = None) -> Any | None:
    """The first row of a prebuilt statement, or None."""
    found = rows(db, statement, given)
    return found[0] if found else None


def scalars(db: Session, statement: ClauseElement, given: dict[str, Any] | None = None) -> list[Any]:
    """The first column of every row."""
    return [row[0] for row in rows(db, statement, given)]


def run(db: Session, statement: ClauseElement, given: dict[str, Any] | None = None) -> int:
    """Run a prebuilt INSERT, UPDATE or DELETE without RETURNING; the number of rows it
    touched."""
    given = given or {}
    ran = _run(db, statement, given)
    if ran is None:
        return int(db.execute(statement, given).rowcount)  # type: ignore[attr-defined]  # a DML result has it
    cursor, _plan_ = ran
    try:
        return int(cursor.rowcount)
    finally:
        cursor.close()


def objects(db: Session, model: type[Model], statement: ClauseElement, given: dict[str, Any] | None = None) -> list[Model]:
    """The ``model`` objects of the rows of ``statement``, which selects ``table_of(model)``'s
    columns (all of them, in the table's order, first), as ``session.execute(select(model)...)``
    would load them."""
    return [adopt(db, model, row) for row in rows(db, statement, given)]


def first_object(db: Session, model: type[Model], statement: ClauseElement, given: dict[str, Any] | None = None) -> Model | None:
    """The first of :func:`objects`, or None."""
    found = rows(db, statement, given)
    return adopt(db, model, found[0]) if found else None


def adopt(db: Session, model: type[Model], row: Sequence[Any]) -> Model:
    """The ORM object of a row of ``model``'s table (its columns first, in the table's order),
    persistent in ``db`` with nothing to flush, as the ORM's own loading would leave it: the
    object the session holds already for that key, its expired attributes filled from the row
    (what it holds is newer than the row: it may have changes not flushed), or a new one.
    No relationship, mutable type or load event is used by these tables: nothing else to set."""
    mapper, keys, primary = _layout(model)
    key = mapper.identity_key_from_primary_key(tuple(row[n] for n in primary))
    held = db.identity_map.get(key)
    if held is not None:
        unloaded = instance_state(held).unloaded
        for name, value in zip(keys, row):
            if name in unloaded:
                set_committed_value(held, name, value)
        return held  # type: ignore[return-value]  # the identity map holds what ``model`` maps
    obj = mapper.class_manager.new_instance()
    instance_state(obj).dict.update(zip(keys, row))
    make_transient_to_detached(obj)  # as if loaded: a key, no history
    db.add(obj)  # detached -> persistent, in the identity map
    return obj  # type: ignore[no-any-return]  # new_instance builds a ``model``


_LAYOUTS: dict[type, tuple[Any, tuple[str, ...], tuple[int, ...]]] = {}


def _layout(model: type) -> tuple[Any, tuple[str, ...], tuple[int, ...]]:
    """``model``'s mapper, the attribute of each of its table's columns (in the table's order)
    and where the primary key's columns are among them."""
    if model not in _LAYOUTS:
        mapper = inspect(model)
        columns = list(mapper.local_table.columns)
        keys = tuple(mapper.get_property_by_column(c).key for c in columns)
        _LAYOUTS[model] = (mapper, keys, tuple(columns.index(c) for c in mapper.primary_key))
    return _LAYOUTS[model]
