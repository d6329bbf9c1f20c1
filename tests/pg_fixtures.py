"""A PostgreSQL server for the tests that run on both databases (``../shared/servers/postgres-server.sh``).

The server is started once per session (``MENTORBOT_TEST_PG_PORT``, default 15433, data in
/tmp/postgres-server-<port>) and stopped at the end. The schema is migrated once per session; a
test's first database is that one emptied (every row deleted, the ids restarted: about 30 ms,
where a new database takes one to two seconds on a busy machine and migrating one two). A test
that needs a second database at once gets a new copy of the migrated one, dropped after it.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
from sqlalchemy.engine import make_url

from sqlalchemy import delete

from storage.db import open_database, reset_sequences
from storage.transfer import copy_database, tables
from tests.servers import SERVERS

SCRIPT = SERVERS / "postgres-server.sh"
PORT = os.environ.get("MENTORBOT_TEST_PG_PORT", "15433")  # not the script's default: ours alone
SERVER_ENV = {**os.environ, "PG_PORT": PORT}
TEMPLATE = "mentorbot_template"
WORK = "mentorbot_test"


def server(*args: str) -> dict[str, str]:
    """Run the server script (start, ``stop``, ``createdb NAME``); its KEY=VALUE output."""
    out = subprocess.run([str(SCRIPT), *args], env=SERVER_ENV, check=True, capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.split())


@dataclass
class PgServer:
    """The running server: ``database()`` gives a new, migrated, empty database's URL."""

    url: str  # the maintenance database ("postgres")
    _names: Iterator[int] = field(default_factory=itertools.count)
    _made: list[str] = field(default_factory=list)
    _kept: list[str] = field(default_factory=list)
    _work_taken: bool = False

    def _admin(self, sql: str) -> None:
        dsn = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql)

    def url_of(self, name: str) -> str:
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def database(self, *, migrated: bool = True, keep: bool = False) -> str:
        """A new database, migrated and empty, or without tables. Dropped by ``drop_all``
        unless ``keep`` (then at the end of the session)."""
        name = f"t{os.getpid()}_{next(self._names)}"
        template = TEMPLATE if migrated else None
        self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        (self._kept if keep else self._made).append(name)
        return self.url_of(name)

    def fresh(self) -> str:
        """A migrated, empty database: the session's own, emptied, unless this test has it."""
        if self._work_taken:
            return self.database()
        self._work_taken = True
        url = self.url_of(WORK)
        engine = open_database(url, migrate=False)
        try:
            with engine.begin() as conn:
                for table in reversed(tables()):
                    conn.execute(delete(table))
                reset_sequences(conn, tables())
        finally:
            engine.dispose()
        return url

    def copy(self, template: str) -> str:
        """A fresh database holding the records of ``template``."""
        url = self.fresh()
        source, target = open_database(template, migrate=False), open_database(url, migrate=False)
        try:
            copy_database(source, target)
        finally:
            source.dispose()
            target.dispose()
        return url

    def drop_all(self, *, kept: bool = False) -> None:
        """After a test: drop its extra databases (and the kept ones, at the end of the session)."""
        self._work_taken = False
        names = self._made + self._kept if kept else self._made
        while names:
            self._admin(f'DROP DATABASE IF EXISTS "{names.pop()}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    url = server()["PG_URL"]
    pg = PgServer(url)
    # a fresh template each session: the migrations may have changed since the last one
    pg._admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
    pg._admin(f'CREATE DATABASE "{TEMPLATE}"')
    open_database(pg.url_of(TEMPLATE)).dispose()
    pg._admin(f'DROP DATABASE IF EXISTS "{WORK}" WITH (FORCE)')
    pg._admin(f'CREATE DATABASE "{WORK}" TEMPLATE "{TEMPLATE}"')
    yield pg
    pg.drop_all(kept=True)
    server("stop")
