"""Database set-up. The only module that knows the store is SQLite.

Every connection gets WAL, a busy timeout and foreign keys; ``synchronous`` is a setting
(``full`` survives a power cut, ``normal`` only a killed process; see the README). Migrations
(alembic) run at start-up, so a new release upgrades the file in place. Other databases (a large
community's PostgreSQL) only need the URL: nothing below is required for them.

Migrations run under a lock, because several processes (bots sharing a file, a ``mentorbot
backup``) may start on the same new database at once: without it two of them both read "no
revision yet" and both create the tables (``table ... already exists``). The check of which
revision the database is at and the whole upgrade are one transaction that holds the database's
write lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock), so a
process that had to wait re-reads the revision after the winner committed and does nothing.

PostgreSQL (psycopg 3) needs only its URL: ``postgresql://`` is read as ``postgresql+psycopg://``,
since SQLAlchemy would otherwise look for psycopg2, which is not installed.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from functools import cache
from pathlib import Path
from typing import Callable, Iterable

from sqlalchemy import Table, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import create_engine

from storage import lean

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def database_url(url: str) -> str:
    """The URL as SQLAlchemy should see it: plain ``postgresql://`` means psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sqlite_url(path: str | Path) -> str:
    """The URL of a SQLite file (what ``--db PATH`` means)."""
    return f"sqlite:///{Path(path)}"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for in-memory or other databases)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _journal_mode_wal(cur: sqlite3.Cursor, busy_timeout_ms: int) -> None:
    """Switch the file to WAL (a no-op once it is). Two processes opening the same new file at
    once may both try: SQLite then fails one at once with "database is locked" instead of letting
    it wait (both hold a read lock, so waiting could deadlock). Its next try waits on busy_timeout
    for the other's switch and then finds the file in WAL already."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() >= deadline:
                raise


def open_database(url: str, *, synchronous: str = "full", busy_timeout_ms: int = 5000, migrate: bool = True) -> Engine:
    """An engine with the pragmas set on every connection, migrated to the newest schema."""
    if synchronous not in ("full", "normal"):
        raise ValueError("synchronous must be 'full' or 'normal'")
    url = database_url(url)
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    if not is_sqlite(url):  # a server: a connection it closed (a restart, a timeout) is replaced
        engine = create_engine(url, pool_pre_ping=True)
    else:
        engine = create_engine(url)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
            # The driver's own transaction handling is replaced by explicit BEGINs (``_begin``), so
            # that a write transaction takes the lock at its start (BEGIN IMMEDIATE) and a
            # second writer waits on busy_timeout instead of failing half-way.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")  # first: WAL may wait
            _journal_mode_wal(cur, busy_timeout_ms)
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA synchronous={synchronous.upper()}")
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        engine.dialect.do_begin = _begin  # type: ignore[method-assign]  # replaced on this engine's dialect only, on purpose

    _plain_savepoints(engine)
    if migrate:
        upgrade(engine)
    return engine


def _plain_savepoints(engine: Engine) -> None:
    """SAVEPOINT, RELEASE and ROLLBACK TO sent as plain SQL text on the driver's connection
    (``storage.lean.execute``). SQLAlchemy compiles a new clause for each (it does not cache
    them), which cost as much as the savepoint itself, and its execution of plain text as much
    again; every inbound event runs in one (issue 24). Its savepoint names (``sa_savepoint_N``)
    need no quoting on any database we run on; the statements still pass through the engine's
    statement event."""
    dialect = engine.dialect

    def plain(sql: str) -> Callable[[Connection, str], None]:
        return lambda conn, name: lean.execute(conn, f"{sql} {name}").close()

    dialect.do_savepoint = plain("SAVEPOINT")  # type: ignore[method-assign]  # this engine's dialect only, on purpose
    dialect.do_release_savepoint = plain("RELEASE SAVEPOINT")  # type: ignore[method-assign]  # likewise
    dialect.do_rollback_to_savepoint = plain("ROLLBACK TO SAVEPOINT")  # type: ignore[method-assign]  # likewise


#: the execution option that marks a connection as only reading (``reader``), and the mark its
#: "begin" listener leaves on the DB-API connection for ``_begin``
READ_ONLY = "mentorbot_read_only"


def _begin(dbapi_conn) -> None:  # noqa: ANN001 - the pool's proxy of a sqlite3 connection
    """Every SQLite transaction begins here (the driver's own transaction handling is off, see
    ``open_database``): a writer's with the write lock (``BEGIN IMMEDIATE``), so a second writer
    waits on busy_timeout instead of failing half-way; a reader's (``reader``) without it, so in
    WAL mode it never holds up a writer. The dialect's hook, not the engine's "begin" event: an
    engine with a connection event listener sends every statement through SQLAlchemy's event
    dispatch (issue 24), and only the reader needs one."""
    dbapi_conn.execute("BEGIN" if dbapi_conn.info.pop(READ_ONLY, False) else "BEGIN IMMEDIATE")


def _mark_read_only(conn: Connection) -> None:
    conn.connection.info[READ_ONLY] = True


def reader(engine: Engine) -> Engine:
    """The same database for work that only reads (the web dashboard's pages): on SQLite its
    transactions begin DEFERRED, so a long page never holds the write lock the bot's commands
    wait for. Writing through it is a mistake it does not prevent. One per engine (its listener
    is its own: the engine's statements do not pass through it)."""
    found: Engine | None = getattr(engine, "_mentorbot_reader", None)
    if found is None:
        found = engine.execution_options(**{READ_ONLY: True})
        if engine.dialect.name == "sqlite":
            event.listen(found, "begin", _mark_read_only)
        engine._mentorbot_reader = found  # type: ignore[attr-defined]  # kept on the engine: one reader per engine
    return found


# Any fixed 64-bit number, the same in every release: whoever holds it is migrating the database.
MIGRATION_LOCK_KEY = 0x6D656E746F720001  # "mentor", then 1


def upgrade(engine: Engine) -> None:
    """Apply every alembic migration not yet applied (on every branch: features add their own).

    One transaction, begun and locked here before alembic reads the revision: alembic sees a
    connection already in a transaction and neither begins nor commits one of its own (see
    migrations/env.py), so the read, every migration and the version stamp commit together."""
    from alembic import command

    cfg = _alembic_config()
    with engine.begin() as conn:  # SQLite: ``_begin`` makes this BEGIN IMMEDIATE
        _lock_for_migrations(conn)
        if _at_heads(conn):
            return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def _alembic_config():  # noqa: ANN202 - alembic's Config, imported late
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@cache
def _heads() -> frozenset[str]:
    """The newest revision of every branch, read from the migration scripts once a process
    (loading them all took most of a start-up: a twentieth of a second at every start)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(_alembic_config()).get_heads())


def _at_heads(conn: Connection) -> bool:
    """Is the database at every head already (so the upgrade has nothing to do)?"""
    from alembic.runtime.migration import MigrationContext

    return frozenset(MigrationContext.configure(conn).get_current_heads()) == _heads()


#: whoever holds it runs the scheduler's tick (PostgreSQL; see chatbot/tick_lock.py)
TICK_LOCK_KEY = 0x6D656E746F720002


def try_session_lock(engine: Engine, key: int) -> Connection | None:
    """PostgreSQL: a connection of its own holding the advisory lock ``key``, or None when
    another session holds it. The lock lasts until the connection closes: the server frees it
    when the holding process dies, however it dies."""
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        if conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({int(key)})").scalar():
            return conn
    except Exception:
        conn.invalidate()
        raise
    conn.close()
    return None


def release_session_lock(conn: Connection, key: int) -> None:
    """Free a lock ``try_session_lock`` took, and the connection (which goes back to the pool,
    its session alive: the lock must not go with it)."""
    try:
        conn.exec_driver_sql(f"SELECT pg_advisory_unlock({int(key)})")
        conn.close()
    except Exception:
        conn.invalidate()  # closing the session frees its locks anyway


def still_connected(conn: Connection) -> bool:
    """True while a connection (and so the session lock it holds) is alive."""
    try:
        conn.exec_driver_sql("SELECT 1")
        return True
    except Exception:
        conn.invalidate()
        return False


def revisions(engine: Engine) -> list[str]:
    """The migration revisions the database is at (one per branch)."""
    with engine.connect() as conn:
        return sorted(row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version"))


def _lock_for_migrations(conn: Connection) -> None:
    """Hold the migration lock until ``conn``'s transaction ends; a second migrator waits here."""
    if conn.dialect.name == "sqlite":
        # ``_begin``'s BEGIN IMMEDIATE took the write lock already: check it ran.
        if not conn.connection.dbapi_connection.in_transaction:
            raise RuntimeError("migrations must run inside the BEGIN IMMEDIATE transaction")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")


def reset_sequences(conn: Connection, tables: Iterable[Table]) -> None:
    """After rows were inserted with their ids: the next id of each table comes after the
    largest one (PostgreSQL keeps a sequence per id column; SQLite needs nothing)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        column = table.autoincrement_column  # an id the database numbers (None: none, or a key of parts)
        if column is not None:
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence(:table, :column), "
                     f'COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false)'),
                {"table": table.name, "column": column.name},
            )


def analyze(engine: Engine) -> None:
    """After a bulk load (``migrate-data``): give the query planner statistics at once instead of
    whenever autovacuum gets to it; until then PostgreSQL plans joins as if tables were empty."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


def checkpoint(engine: Engine) -> None:
    """Fold the WAL into the main file and truncate it, so deleted text does not linger there.

    With ``secure_delete`` on, deleted rows are overwritten in the main file; the WAL still holds
    old page images until a checkpoint. A no-op for other databases."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()  # outside any transaction, which a checkpoint needs
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def backup(url: str, dest: Path) -> Path:
    """A consistent copy of a live database through SQLite's backup API (never a file copy)."""
    src_path = sqlite_path(url)
    if src_path is None:
        raise ValueError("backup works on a SQLite file database; use your database's own tools otherwise")
    if not src_path.exists():
        raise FileNotFoundError(f"no database at {src_path}")
    dest = Path(dest)
    if dest.exists():
        raise FileExistsError(f"{dest} exists already; choose a new file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(src_path)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
            ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if ok != "ok":
                raise RuntimeError(f"backup failed its integrity check: {ok}")
        finally:
            dst.close()
    finally:
        src.close()
    return dest
