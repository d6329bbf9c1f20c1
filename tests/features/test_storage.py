"""The database set-up: pragmas on every connection, migrations that match the tables (on SQLite
and on PostgreSQL: see ``database`` in tests/conftest.py)."""

from __future__ import annotations

import multiprocessing
import sqlite3
import traceback

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from storage.db import MIGRATIONS, backup, open_database, reader


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@pytest.mark.sqlite_only
def test_every_connection_gets_wal_foreign_keys_busy_timeout_and_the_chosen_sync(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'a.db'}", synchronous="normal", busy_timeout_ms=1234)
    conns = [engine.raw_connection() for _ in range(3)]  # several pooled connections
    try:
        for c in conns:
            cur = c.cursor()
            assert cur.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert cur.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            assert cur.execute("PRAGMA busy_timeout").fetchone()[0] == 1234
            assert cur.execute("PRAGMA synchronous").fetchone()[0] == 1
            assert cur.execute("PRAGMA secure_delete").fetchone()[0] == 1
    finally:
        for c in conns:
            c.close()


def test_a_reader_holds_no_write_lock_while_a_command_commits(tmp_path):
    """The dashboard reads through ``reader``: a page half-way through its queries must not make
    the bot's next command wait (with no busy timeout, waiting would be an error)."""
    from sqlalchemy import text

    engine = open_database(f"sqlite:///{tmp_path / 'a.db'}", busy_timeout_ms=0)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO kv (namespace, key, value) VALUES ('t', 'a', '1')"))
    for source, writer_waits in ((reader(engine), False), (engine, True)):
        with source.connect() as page:
            page.begin()
            assert page.execute(text("SELECT count(*) FROM kv")).scalar() >= 1  # a read, mid-transaction
            try:
                with engine.begin() as command:
                    command.execute(text("UPDATE kv SET value = value || 'x'"))
                blocked = False
            except Exception as exc:  # sqlite3.OperationalError: database is locked
                assert "locked" in str(exc)
                blocked = True
            page.rollback()
        assert blocked is writer_waits


def test_migrations_build_exactly_the_declared_tables(tmp_path, database):
    """A table changed without a migration fails here, not on a user's database."""
    engine = open_database(database.new(tmp_path, migrated=False))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_reopening_migrates_nothing_and_keeps_data(tmp_path, database):
    url = database.new(tmp_path, migrated=False)
    engine = open_database(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO kv(namespace, key, value) VALUES ('t', 'k', 'v')")
    engine.dispose()
    engine = open_database(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT value FROM kv").fetchall() == [("v",)]
        applied = {row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}
    script = ScriptDirectory.from_config(_alembic_config())
    assert applied == set(script.get_heads())
    engine.dispose()


@pytest.mark.sqlite_only
def test_backup_of_a_live_database_is_consistent(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    engine = open_database(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO kv(namespace, key, value) VALUES ('t', 'k', 'committed')")
    # a writer holds an open transaction while the backup runs: its row must not be in the copy
    holder = engine.raw_connection()
    holder.cursor().execute("BEGIN IMMEDIATE")
    holder.cursor().execute("INSERT INTO kv(namespace, key, value) VALUES ('t', 'k2', 'uncommitted')")
    try:
        backup(url, tmp_path / "copy.db")
    finally:
        holder.rollback()
        holder.close()
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("SELECT value FROM kv").fetchall() == [("committed",)]
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _open_when_released(url: str, barrier, errors) -> None:  # noqa: ANN001 - multiprocessing objects
    """A bot process starting: wait for the others, then open (and so migrate) the database."""
    try:
        barrier.wait(timeout=30)
        open_database(url).dispose()
    except BaseException:
        errors.put(f"{url}: {traceback.format_exc()}")
        raise


@pytest.mark.e2e  # starts processes (forked bots): see tests/conftest.py
def test_processes_opening_one_new_database_at_once_migrate_it_once(tmp_path, database):
    """Bots started together on a new database all migrate it: one does, the others wait for its
    lock (SQLite's write lock, PostgreSQL's advisory lock), find it at head and do nothing
    (before the lock: `table ... already exists`)."""
    import alembic.command  # noqa: F401 - imported once here, not by every forked process
    import storage.repos  # noqa: F401

    ctx = multiprocessing.get_context("fork")  # forked: no imports to wait for, so a close race
    errors = ctx.SimpleQueue()
    # a new PostgreSQL database costs a second or two: fewer races there, each as close
    urls = [database.new(tmp_path / f"race{i}", migrated=False) for i in range(8 if database.kind == "sqlite" else 3)]
    for url in urls:
        barrier = ctx.Barrier(4)
        procs = [ctx.Process(target=_open_when_released, args=(url, barrier, errors)) for _ in range(4)]
        for p in procs:
            p.start()
        try:
            for p in procs:
                p.join(timeout=60)
        finally:
            for p in procs:
                if p.is_alive():
                    p.kill()
                    p.join()
        assert [p.exitcode for p in procs] == [0] * 4, errors.get() if not errors.empty() else "a process hung"
    heads = set(ScriptDirectory.from_config(_alembic_config()).get_heads())
    for url in urls:
        engine = open_database(url, migrate=False)
        with engine.connect() as conn:
            assert {r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")} == heads
        engine.dispose()


def test_timezones_stored_under_old_names_become_canonical_on_upgrade(tmp_path):
    """``NZ`` was stored by an earlier release; the upgrade makes it Pacific/Auckland in the member
    and in their check-in plan alike (so the plan is not taken for one made in another zone)."""
    from alembic import command
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = _alembic_config()
    with create_engine(url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0009")
        conn.execute(text("INSERT INTO member (id, handle, display_name, timezone, languages, status, created_at) "
                          "VALUES (1, 'aroha', 'Aroha', 'NZ', '[]', 'active', '2026-01-01 00:00:00'), "
                          "(2, 'sam', 'Sam', 'US/Pacific', '[]', 'active', '2026-01-01 00:00:00'), "
                          "(3, 'ines', 'Ines', 'Europe/Lisbon', '[]', 'active', '2026-01-01 00:00:00')"))
        conn.execute(text("INSERT INTO checkin_plan (member_id, basis, tz, next_due_at, misses_in_row, created_at) "
                          "VALUES (1, 'mon,thu 10:00', 'NZ', '2027-01-04 10:00:00', 0, '2026-01-01 00:00:00')"))
    engine = open_database(url)  # the start-up upgrade
    with engine.connect() as conn:
        assert dict(conn.execute(text("SELECT handle, timezone FROM member")).all()) == {
            "aroha": "Pacific/Auckland", "sam": "America/Los_Angeles", "ines": "Europe/Lisbon"}
        assert conn.execute(text("SELECT tz FROM checkin_plan")).scalar_one() == "Pacific/Auckland"


def test_rounds_opened_before_sign_up_dates_existed_keep_taking_sign_ups_until_they_close(tmp_path, database):
    """Migration 0013: a round's sign-ups ran from the day it was opened until it was closed;
    after the upgrade its sign-up dates say so (on SQLite and PostgreSQL alike)."""
    from datetime import date

    from alembic import command
    from sqlalchemy import create_engine, text

    url = database.new(tmp_path / "old", migrated=False)
    cfg = _alembic_config()
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0012")
        conn.execute(text('INSERT INTO "round" (id, name, starts_on, ends_on, status, opened_at) '
                          "VALUES (1, '2027 Q1', '2027-01-01', '2027-03-31', 'open', '2026-12-20 15:30:00')"))
    engine.dispose()
    upgraded = open_database(url)  # the start-up upgrade
    with upgraded.connect() as conn:
        row = conn.execute(text('SELECT signups_from, signups_until FROM "round"')).one()
    upgraded.dispose()
    assert [date.fromisoformat(str(d)) for d in row] == [date(2026, 12, 20), date(2027, 3, 31)]
