"""What the Discord tests share: the fake Discord server (started once per session) and a small
client for its control API.

The fake is ``../shared/servers/discord-server.sh`` on ``DISCORD_PORT`` (18080 unless set; give a
run of your own another port so two sessions never stop each other's server). A test module
uses the fixtures by importing them: ``from tests.discord_fixtures import discord_env, fake``.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any, AsyncIterator, Iterator

import aiohttp
import pytest

from tests.servers import SERVERS

PORT = os.environ.get("DISCORD_PORT", "18080")
EPHEMERAL, LOADING = 64, 128
#: Discord drops an interaction that is not acknowledged within this many milliseconds
ACK_DEADLINE_MS = 3000


@pytest.fixture(scope="session")
def discord_env() -> Iterator[dict[str, str]]:
    """``DISCORD_API_BASE``, ``DISCORD_GATEWAY_URL``, ``DISCORD_TOKEN``, ``DISCORD_CONTROL_URL``, ..."""
    env = {**os.environ, "DISCORD_PORT": PORT}
    out = subprocess.run([SERVERS / "discord-server.sh"], check=True, capture_output=True, text=True, env=env).stdout
    yield dict(line.split("=", 1) for line in out.split())
    subprocess.run([SERVERS / "discord-server.sh", "stop"], check=True, capture_output=True, env=env)


class Fake:
    """The fake's control API: ``await fake("POST", "/users", {...})``; refusals fail the test."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    async def __call__(self, verb: str, path: str, body: Any = None, /, **params: Any) -> Any:
        query = {k: str(v) for k, v in params.items()}
        async with self.http.request(verb, self.base + path, json=body, params=query) as r:
            data = await r.json()
            assert r.status < 400, f"{verb} {path} -> {r.status} {data}"
            return data

    async def wait(self, what: str = "", **params: Any) -> Any:
        """``/wait`` (a message), ``/wait/interaction``, ``/wait/log``: block until it matches."""
        params.setdefault("timeout", 10)
        return await self("GET", "/wait" + what, **params)

    async def seq(self) -> int:
        """The newest REST log entry's number, to look only at what comes after it."""
        log = await self("GET", "/log")
        return log[-1]["seq"] if log else 0

    async def user(self, name: str, run: str, **extra: Any) -> dict[str, Any]:
        """A user ``<name><run>`` shown as ``Name`` (so a bot's handle for them is ``name``)."""
        return await self("POST", "/users", {"username": f"{name}{run}", "global_name": name.title(), **extra})

    async def dm_channel(self, user: dict[str, Any]) -> str:
        return (await self("POST", "/dms", {"user_id": user["id"]}))["id"]

    async def interact(self, user: dict[str, Any], channel: str, command: str, **options: Any) -> dict[str, Any]:
        """A slash command as the Discord client sends it."""
        return await self("POST", "/interactions", {"kind": "command", "user_id": user["id"], "channel_id": channel,
                                                    "command": command, "options": options})

    async def say(self, user: dict[str, Any], channel: str, content: str) -> dict[str, Any]:
        return await self("POST", f"/channels/{channel}/messages", {"author_id": user["id"], "content": content})

    async def acked_in_time(self, interaction_ids: list[str]) -> list[dict[str, Any]]:
        """Every interaction was acknowledged, within Discord's 3 s, and never answered late."""
        states = [await self("GET", f"/interactions/{i}") for i in interaction_ids]
        for state in states:
            assert state["status"] == "acknowledged", state
            assert state["acked_after_ms"] < ACK_DEADLINE_MS and state["late_callbacks"] == 0, state
        return states


@pytest.fixture
async def fake(discord_env: dict[str, str]) -> AsyncIterator[Fake]:
    async with aiohttp.ClientSession() as http:
        yield Fake(http, discord_env["DISCORD_CONTROL_URL"])
