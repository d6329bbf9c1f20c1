"""One process ticks at a time over a shared database, and another takes over when it is gone
(chatbot/tick_lock.py), on SQLite and on PostgreSQL. The same with real processes, killed with
SIGKILL: tests/e2e/test_e2e_processes.py."""

from __future__ import annotations

import subprocess
import time
from typing import Callable

from chatbot.delivery.sender import process_owner
from chatbot.tick_lock import AdvisoryTickLock, tick_lock
from storage.db import open_database


def owner_of(proc: subprocess.Popen[bytes]) -> str:
    """The name another process on this host would hold the lock under."""
    return f"{process_owner().split(':')[0]}:{proc.pid}:run"


def eventually(pred: Callable[[], bool], timeout: float = 5.0) -> bool:
    """What a process does at each tick: try again until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_one_process_ticks_at_a_time_and_another_takes_over_when_the_holder_is_gone(tmp_path, database):
    url = database.url_in(tmp_path)
    first_db, second_db = open_database(url), open_database(url)
    holder = subprocess.Popen(["sleep", "60"])  # the first lock's process, alive until killed
    try:
        first = tick_lock(first_db, owner_of(holder), tick_seconds=30)
        second = tick_lock(second_db, process_owner(), tick_seconds=30)
        assert first.hold()
        assert not second.hold()
        assert first.hold()  # the holder keeps it, tick after tick
        assert not second.hold()
        holder.kill()
        holder.wait()
        if isinstance(first, AdvisoryTickLock):
            assert first._conn is not None
            first._conn.invalidate()  # the holder's connection ends, as when its process is killed
        # SQLite: the lease names a process that has exited, so it is not waited for;
        # PostgreSQL: the server frees the lock once it has seen the connection end
        assert eventually(second.hold), "the lock was not taken over within 5 s"
        second.release()
        third = tick_lock(first_db, process_owner(), tick_seconds=30)
        assert third.hold()  # a clean release lets the next one in at once
        third.release()
    finally:
        holder.kill()
        holder.wait()
        first_db.dispose()
        second_db.dispose()
