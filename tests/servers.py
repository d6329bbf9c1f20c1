"""What the adapter and end-to-end tests share: where the chat-server scripts are, a dict-backed
key-value store for adapters, and polling with a deadline (never a bare sleep)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any, Callable

#: ``../shared/servers`` beside the checkout (override with MENTORBOT_SERVERS)
SERVERS = Path(os.environ.get("MENTORBOT_SERVERS", Path(__file__).resolve().parents[2] / "shared" / "servers"))


class MemoryKV(dict):
    """The AdapterContext kv, in a dict (the bot's database in production)."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key, default)

    def set(self, key: str, value: str) -> None:
        self[key] = value


async def wait_until(pred: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``pred`` until it returns something truthy, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        await asyncio.sleep(0.01)
