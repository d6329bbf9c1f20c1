"""docs/ARCHITECTURE.md's example feature works as the document says."""

from __future__ import annotations

import re
from pathlib import Path

from chatbot.context import Feature
from tests.harness import Bot

DOC = Path(__file__).resolve().parents[2] / "docs" / "ARCHITECTURE.md"


def example_feature() -> Feature:
    code = re.search(r"## Adding a feature.*?```python\n(.*?)```", DOC.read_text(), re.S)
    assert code, "the example feature is missing from docs/ARCHITECTURE.md"
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own document
    feature = namespace["FEATURE"]
    assert isinstance(feature, Feature)
    return feature


async def test_the_documented_example_feature_runs(tmp_path):
    bot = await Bot.start(tmp_path, extra_features=(example_feature(),))
    try:
        await bot.say("bob", "!whoami")
        assert await bot.say("alice", "!thanks bob") == ["I've passed on your thanks to bob.", "alice says thank you!"]
        assert bot.dm("bob")[-1] == "alice says thank you!"
        assert "thank somebody" in (await bot.say("alice", "!help thanks"))[0]
        assert await bot.say("alice", "!thanks nobody") == ["I don't know anyone called 'nobody' — usage: !thanks WHO"]
    finally:
        await bot.stop()
