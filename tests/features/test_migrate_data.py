"""``mentorbot migrate-data``: a programme moves from its SQLite file to PostgreSQL whole."""

from __future__ import annotations

from sqlmodel import Session, select

from chatbot.cli import main
from storage.db import open_database
from storage.tables import Member, OutboxMessage, PlatformIdentity
from storage.transfer import counts
from tests.harness import Bot, sqlite_in


def records(url: str) -> dict[str, object]:
    """Counts of every table, and a sample of records to compare field by field."""
    engine = open_database(url, migrate=False)
    try:
        with engine.connect() as conn:
            rows = counts(conn)
        with Session(engine) as s:
            sample = {
                "members": [(m.id, m.handle, m.timezone, m.languages, m.created_at) for m in s.exec(select(Member).order_by(Member.id))],
                "identities": [(i.id, i.member_id, i.platform, i.account, i.last_seen) for i in s.exec(select(PlatformIdentity))],
                "outbox": [(o.id, o.key, o.payload, o.status, o.sent_at) for o in s.exec(select(OutboxMessage).order_by(OutboxMessage.id))],
            }
    finally:
        engine.dispose()
    return {"rows": rows, **sample}


async def test_a_seeded_sqlite_programme_moves_to_postgresql_with_its_ids(tmp_path, pg_server, capsys):
    bot = await Bot.start(tmp_path, url=sqlite_in(tmp_path))
    await bot.pair("alice", "bob")
    await bot.say("carol", "!whoami")
    await bot.advance("3d")  # check-in prompts, a silence scan: rows in most tables
    await bot.stop()
    source, target = sqlite_in(tmp_path), pg_server.database(migrated=False)

    assert main(["migrate-data", "--from", source, "--to", target.replace("+psycopg", "")]) == 0
    out = capsys.readouterr()
    assert "every count matches" in out.err
    before, after = records(source), records(target)
    assert after == before
    assert before["rows"]["member"] == 4 and before["rows"]["outbox"] > 10  # a programme, not an empty file

    # the copy is a working bot database: new rows get ids after the copied ones
    moved = await Bot.start(tmp_path / "pg", url=target)
    try:
        assert (await moved.say("dave", "!whoami"))[0].startswith("You are dave")
        assert (await moved.say("alice", "!mentor"))[0].startswith("mentor: bob")
    finally:
        await moved.stop()

    # a target holding records is refused, and left as it was
    assert main(["migrate-data", "--from", source, "--to", target]) == 1
    assert "the target database is not empty: checkin (1), checkin_plan (1), conversation (1), identity (5)" in capsys.readouterr().err
    assert records(target)["rows"]["member"] == 5


def test_migrate_data_says_so_when_a_database_is_missing_or_unreachable(tmp_path, capsys):
    assert main(["migrate-data", "--from", f"sqlite:///{tmp_path / 'none.db'}", "--to", "postgresql://x@127.0.0.1:1/x"]) == 2
    assert capsys.readouterr().err.startswith("mentorbot: no database at ")
    open_database(sqlite_in(tmp_path)).dispose()
    assert main(["migrate-data", "--from", sqlite_in(tmp_path), "--to", "postgresql://x@127.0.0.1:1/x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mentorbot: the database cannot be reached (OperationalError: ") and "Traceback" not in err


def test_mentorbot_migrate_brings_a_new_postgresql_database_to_the_newest_schema(pg_server, capsys):
    url = pg_server.database(migrated=False)
    assert main(["migrate", "--db", url]) == 0
    assert capsys.readouterr().out.startswith("the database is at the newest schema (")
    engine = open_database(url, migrate=False)
    try:
        with engine.connect() as conn:
            assert counts(conn)["member"] == 0  # every table is there
    finally:
        engine.dispose()
    assert main(["migrate", "--db", url]) == 0  # again: nothing to do, same answer
    assert capsys.readouterr().out.startswith("the database is at the newest schema (")
