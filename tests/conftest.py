"""Fixtures every test module shares: the ``bot`` harness and the database it runs on.

The ``database`` fixture (autouse) names the database ``Bot.start`` opens. In the modules of
``BOTH_DATABASES`` every test runs twice, on SQLite and on PostgreSQL (the same test, not a
copy); elsewhere on SQLite. A test that reads the SQLite file itself is marked ``sqlite_only``.
Which modules run on both: the storage, delivery and engine tests and the features'
conversation tests, where queries and transactions are what is under test. The adapter,
end-to-end and fault tests stay on SQLite: their subject is a platform or a process, and
doubling them would double the suite's slowest half for no new query.

Layers: each test is marked by its directory (``unit``, ``features``, ``adapters``, ``e2e``), and
also ``e2e`` when it starts a real server or another process: every adapter test, every test on
PostgreSQL (the ``postgresql`` variants and the tests that take ``pg_server``), and a feature test
that runs the bot's processes is marked ``@pytest.mark.e2e`` in its module. So
``./dev test -m "not e2e"`` is the quick run: unit and feature tests on SQLite, in this process
(under ``./dev test``, spread over pytest-xdist's workers; the whole suite runs in one process).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sqlmodel import Session

from storage.db import open_database, sqlite_path
from tests import harness
from tests.harness import Bot
from tests.pg_fixtures import PgServer, pg_server  # noqa: F401 - the session fixture, for ``database``

BOTH_DATABASES = frozenset({
    "test_storage", "test_delivery", "test_tick_lock", "test_engine", "test_permissions", "test_signup", "test_matchmaking",
    "test_checkins", "test_checkins_schedule", "test_checkins_reliability", "test_checkins_early",
    "test_office_hours", "test_goals", "test_sessions", "test_away", "test_assessments", "test_privacy", "test_rounds_lifecycle",
    "test_feedback_storage", "test_lean", "test_checkins_rows",
    "test_outcomes", "test_certificates",
    "test_roles_ahead", "test_round_overview", "test_round_export",
})


#: where the tests' own folders go when the machine has a memory file system (see ``pytest_configure``)
MEMORY_TEMP = Path("/dev/shm")
#: the free space it must have (a whole run's folders, three runs kept, take a few hundred MB)
MEMORY_TEMP_NEEDS = 2 * 2**30


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: reads the SQLite file itself; not run on PostgreSQL")
    # Every test's bot has a SQLite file in its tmp_path; on a disk, copying the template and
    # the checkpoint at the last close each wait for fsync (9 of the quick run's 157 s),
    # and durability is not what these files test. pytest's numbered folders (three runs kept,
    # shared safely by concurrent runs) are made under this root instead of the system's /tmp.
    if "PYTEST_DEBUG_TEMPROOT" not in os.environ and _roomy(MEMORY_TEMP):
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(MEMORY_TEMP)


def _roomy(folder: Path) -> bool:
    """Whether ``folder`` is writable and has room for a run's files (a container's /dev/shm is
    often 64 MB: there the tests stay on the disk rather than fail for want of space)."""
    return os.access(folder, os.W_OK | os.X_OK) and shutil.disk_usage(folder).free >= MEMORY_TEMP_NEEDS


LAYERS = ("unit", "features", "adapters", "e2e")


def layer_of(item: pytest.Item) -> str | None:
    """The layer a test belongs to: the directory under tests/ its module is in."""
    parts = item.path.relative_to(Path(__file__).parent).parts
    return parts[0] if len(parts) > 1 and parts[0] in LAYERS else None


def starts_servers(item: pytest.Item) -> bool:
    """Whether a test needs a real server or another process (PostgreSQL included)."""
    on_postgresql = getattr(item, "callspec", None) is not None and item.callspec.params.get("database") == "postgresql"
    return on_postgresql or "pg_server" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        layer = layer_of(item)
        if layer is not None:
            item.add_marker(layer)
        if layer == "adapters" or (layer != "e2e" and starts_servers(item)):
            item.add_marker("e2e")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """The e2e tests' servers listen on fixed ports, started once a session: two workers of
    pytest-xdist would each start their own on the same ports. ``./dev test`` spreads only the
    quick run (``-m "not e2e"``) over workers."""
    if item.get_closest_marker("e2e") and int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        pytest.fail("the e2e tests run in one process: add -n 0, or choose -m \"not e2e\"", pytrace=False)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The quick run (``-m "not e2e"`` as such) does not import the layers that are e2e as a
    whole: they would all be deselected, after importing Discord, Matrix and Selenium."""
    quick = " ".join(str(config.getoption("markexpr") or "").split()) == "not e2e"
    whole = collection_path.parent == Path(__file__).parent and collection_path.name in ("adapters", "e2e")
    return True if quick and whole else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rpartition(".")[2]
    if module in BOTH_DATABASES and not metafunc.definition.get_closest_marker("sqlite_only"):
        metafunc.parametrize("database", ["sqlite", "postgresql"], indirect=True)


@dataclass
class Database:
    """The kind of database a test runs on, and new ones of that kind."""

    kind: str
    pg: PgServer | None = None
    _by_dir: dict[Path, str] = field(default_factory=dict)

    def url_in(self, directory: Path) -> str:
        """The database of a bot whose files are in ``directory`` (the same one each time)."""
        if self.pg is None:
            return harness.sqlite_in(directory)
        if directory not in self._by_dir:
            self._by_dir[directory] = self.pg.fresh()
        return self._by_dir[directory]

    def new(self, directory: Path, *, migrated: bool = True) -> str:
        """Another database (an empty one, without tables, when not ``migrated``)."""
        if self.pg is None:
            directory.mkdir(parents=True, exist_ok=True)
            return harness.sqlite_in(directory)
        return self.pg.fresh() if migrated else self.pg.database(migrated=False)

    def template_in(self, directory: Path) -> str:
        """A database kept for the whole session, to be copied by ``copy_into``."""
        if self.pg is None:
            return harness.sqlite_in(directory)
        if directory not in self._by_dir:
            self._by_dir[directory] = self.pg.database(keep=True)
        return self._by_dir[directory]

    def copy_into(self, template: str, directory: Path) -> str:
        """A copy of ``template`` as the database of a bot in ``directory``."""
        if self.pg is None:
            source = sqlite_path(template)
            assert source is not None
            harness.copy_sqlite(source, directory / "bot.db")
            return harness.sqlite_in(directory)
        self._by_dir[directory] = self.pg.copy(template)
        return self._by_dir[directory]


@pytest.fixture(autouse=True)
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    kind = getattr(request, "param", "sqlite")
    db = Database(kind, request.getfixturevalue("pg_server") if kind == "postgresql" else None)
    harness.database_in = db.url_in
    try:
        yield db
    finally:
        harness.database_in = harness.sqlite_in
        if db.pg is not None:
            db.pg.drop_all()


@pytest.fixture
async def bot(tmp_path):
    b = await Bot.start(tmp_path)
    yield b
    await b.stop()


@pytest.fixture
def db(tmp_path: Path, database: Database) -> Iterator[Session]:
    """A session over a new migrated database of the test's kind, for storage tests."""
    engine = open_database(database.new(tmp_path))
    with Session(engine) as session:
        yield session
    engine.dispose()
