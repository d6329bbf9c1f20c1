from __future__ import annotations

import pytest

from tests.harness import Bot


@pytest.fixture
async def bot(tmp_path):
    b = await Bot.start(tmp_path)
    yield b
    await b.stop()
