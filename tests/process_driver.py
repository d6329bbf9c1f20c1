"""One bot process of the several-processes test: ``mentorbot run --adapters NAMES`` as in
production, except that its clock is the instant written in a file the test moves on (the
console's ``@advance``, for processes), and the scheduler ticks every ``--tick`` seconds.

    python -m tests.process_driver CONFIG --adapters irc --clock FILE --tick 0.3

It logs as ``mentorbot run`` does, to stderr; SIGTERM stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from datetime import datetime
from pathlib import Path

from chatbot.app import App
from chatbot.cli import adapter_list, setup_logging
from chatbot.config import load


class FileClock:
    """The instant written in a file (ISO 8601, by ``set_clock``), read at every ``now()``."""

    def __init__(self, path: Path):
        self.path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text().strip())


def set_clock(path: Path, when: datetime) -> None:
    """Move every process's clock: written aside, then renamed, so no reader sees half a file."""
    aside = path.with_suffix(".new")
    aside.write_text(when.isoformat())
    os.replace(aside, path)


async def serve(config: Path, adapters: list[str], clock: Path, tick: float) -> None:
    app = App(load(config), clock=FileClock(clock), only=adapters, tick_seconds=tick)  # type: ignore[arg-type]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await app.start(wait=60)
    logging.getLogger("driver").info("driver started with %s", ",".join(adapters))
    await stop.wait()
    await app.stop()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("config", type=Path)
    p.add_argument("--adapters", type=adapter_list, required=True)
    p.add_argument("--clock", type=Path, required=True)
    p.add_argument("--tick", type=float, default=0.3)
    args = p.parse_args()
    setup_logging("INFO")
    asyncio.run(serve(args.config, args.adapters, args.clock, args.tick))


if __name__ == "__main__":
    main()
