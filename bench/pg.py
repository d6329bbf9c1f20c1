"""PostgreSQL for the benchmarks: the shared server script (../shared/servers/postgres-server.sh)
on ``PG_PORT`` (default 15432), a new database per measurement, and the server's rate of
single-row durable transactions as the baseline beside the bot's figures.

The benchmarks start the server with ``PG_FSYNC=on`` (the script's default is off, for tests):
a commit then waits for the disk, as SQLite's ``synchronous=full`` does. A server already
running is used as it is; its ``fsync`` setting is printed with the figures.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psycopg

SCRIPT = Path(os.environ.get("MENTORBOT_SERVERS", Path(__file__).resolve().parents[2] / "shared" / "servers")) / "postgres-server.sh"
_names = itertools.count()


class Postgres:
    def __init__(self, url: str):
        self.url = url  # the maintenance database, as a SQLAlchemy URL

    @property
    def dsn(self) -> str:
        return self.url.replace("+psycopg", "")

    def fsync(self) -> str:
        with psycopg.connect(self.dsn) as conn:
            return str(conn.execute("SHOW fsync").fetchone()[0])  # type: ignore[index]

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new, empty database (the bot migrates it), dropped afterwards."""
        name = f"bench_{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield self.url.rsplit("/", 1)[0] + "/" + name
        finally:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def baseline(self, n: int = 2000) -> float:
        """Single-row transactions per second, each committed on its own."""
        with self.database() as url, psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("CREATE TABLE t (id serial PRIMARY KEY, v text)")
            start = time.perf_counter()
            for i in range(n):
                conn.execute("INSERT INTO t (v) VALUES (%s)", (f"row {i}",))
            return n / (time.perf_counter() - start)


@contextmanager
def postgres() -> Iterator[Postgres]:
    """The server, started for the benchmark unless it runs already (then left running)."""
    port = os.environ.get("PG_PORT", "15432")
    env = {**os.environ, "PG_PORT": port, "PG_FSYNC": os.environ.get("PG_FSYNC", "on")}
    with socket.socket() as probe:
        running = probe.connect_ex(("127.0.0.1", int(port))) == 0
    out = subprocess.run([str(SCRIPT)], env=env, check=True, capture_output=True, text=True).stdout
    url = dict(line.split("=", 1) for line in out.split())["PG_URL"]
    try:
        yield Postgres(url)
    finally:
        if not running:
            subprocess.run([str(SCRIPT), "stop"], env=env, check=False, capture_output=True)

