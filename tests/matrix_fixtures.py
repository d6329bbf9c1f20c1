"""What the Matrix adapter tests and the Matrix end-to-end tests share: the real Synapse
(``../shared/servers/matrix-server.sh``), its accounts, and people played by matrix-nio clients.

Test modules import the fixtures they use by name (``from tests.matrix_fixtures import people``).
Synapse is started once per session on a port of its own (18108, or MENTORBOT_TEST_MATRIX_PORT;
data in /tmp/matrix-server-<port>) and stopped at the end. The bot is a new account each
session, so no rooms or DMs carry over between runs; the people are registered once per data
directory (the script needs ~2 s per account) and leave their rooms after each test.
Nothing here sleeps to wait: people sync until what they wait for arrived, or a deadline.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    RoomCreateResponse,
    RoomMemberEvent,
    RoomMessageNotice,
    RoomMessageText,
    RoomSendResponse,
)
from nio.api import Api, RoomPreset

from tests.servers import SERVERS, wait_until

SCRIPT = SERVERS / "matrix-server.sh"
PORT = os.environ.get("MENTORBOT_TEST_MATRIX_PORT", "18108")  # not the script's default: ours alone
SERVER_ENV = {**os.environ, "MATRIX_PORT": PORT}
PASSWORD = "correct horse battery"
BOT_NAME = f"mentorbot{secrets.token_hex(3)}"
PEOPLE = ("alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank")
ENCRYPTION = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
#: A person's first sync skips the rooms of earlier runs (no timeline, no state).
BASELINE = {"room": {"timeline": {"limit": 0}, "state": {"types": []}, "ephemeral": {"types": []}}}
#: Later syncs: every new event (Synapse's default of 10 per room would drop some of a burst).
EVERYTHING = {"room": {"timeline": {"limit": 1000}}}


def uid(name: str) -> str:
    return f"@{name}:localhost"


BOT = uid(BOT_NAME)


def server(*args: str) -> None:
    """Run the server script: start (no args), ``stop``, ``register USER PASSWORD``."""
    subprocess.run([str(SCRIPT), *args], env=SERVER_ENV, check=True, capture_output=True, text=True)


@pytest.fixture(scope="session")
def homeserver() -> Any:
    out = subprocess.run([str(SCRIPT)], env=SERVER_ENV, check=True, capture_output=True, text=True).stdout
    url = dict(line.split("=", 1) for line in out.split())["MATRIX_URL"]
    # idempotent: each module importing this fixture gets its own instance of it
    missing = [n for n in (BOT_NAME, *PEOPLE) if not asyncio.run(_can_log_in(url, uid(n)))]
    procs = [
        subprocess.Popen([str(SCRIPT), "register", name, PASSWORD], env=SERVER_ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for name in missing
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read() if p.stderr else ""
    yield url
    server("stop")


@pytest.fixture
def bot_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot logs in with its password from the environment (no token, no E2E pickle key)."""
    monkeypatch.setenv("MENTORBOT_MATRIX_PASSWORD", PASSWORD)
    monkeypatch.delenv("MENTORBOT_MATRIX_TOKEN", raising=False)
    monkeypatch.delenv("MENTORBOT_MATRIX_PICKLE_KEY", raising=False)


async def _can_log_in(url: str, user_id: str) -> bool:
    client = AsyncClient(url, user_id)
    try:
        return isinstance(await client.login(PASSWORD), LoginResponse)
    finally:
        await client.close()


async def wait_for(pred: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    return await wait_until(pred, timeout, what)


class Person:
    """A real Matrix user (matrix-nio), remembering every event its syncs brought."""

    def __init__(self, url: str, name: str, store: Path | None = None) -> None:
        config = AsyncClientConfig(encryption_enabled=store is not None, pickle_key="person-key")
        if store is not None:
            store.mkdir(parents=True, exist_ok=True)
        self.user_id = uid(name)
        self.c = AsyncClient(url, self.user_id, store_path=str(store or ""), config=config)
        self.timeline: list[tuple[str, Any]] = []
        self.invites: dict[str, list[Any]] = {}
        self.joined: set[str] = set()

    async def login(self, display: str | None = None) -> "Person":
        assert isinstance(await self.c.login(PASSWORD), LoginResponse)
        display = display or self.user_id[1:].split(":")[0]
        if getattr(await self.c.get_displayname(), "displayname", None) != display:
            await self.c.set_displayname(display)
        await self.sync(0, BASELINE)
        for room_id in self.invites:  # left unanswered by an earlier test: the bot may write there
            await self.c.room_leave(room_id)
        self.timeline.clear()
        self.invites.clear()  # only what happens from now on counts
        return self

    async def sync(self, timeout: int = 500, sync_filter: dict[str, Any] | None = None) -> None:
        resp = await self.c.sync(timeout=timeout, sync_filter=sync_filter or EVERYTHING)
        for room_id, info in resp.rooms.join.items():
            self.timeline.extend((room_id, e) for e in info.timeline.events)
        for room_id, info in resp.rooms.invite.items():
            self.invites[room_id] = info.invite_state
        if self.c.olm:  # what sync_forever does between syncs, for E2E
            await self.c.send_to_device_messages()
            if self.c.should_upload_keys:
                await self.c.keys_upload()
            if self.c.should_query_keys:
                await self.c.keys_query()
            if self.c.should_claim_keys:
                await self.c.keys_claim(self.c.get_users_for_key_claiming())

    async def wait(self, pred: Callable[[str, Any], bool], timeout: float = 20.0, what: str = "event",
                   since: int = 0) -> Any:
        """The first event (from timeline position ``since`` on) that ``pred`` accepts."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for room_id, event in self.timeline[since:]:
                if pred(room_id, event):
                    return event
            await self.sync()
        raise AssertionError(f"{self.user_id}: timed out waiting for {what}")

    async def wait_invite(self, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while not self.invites and time.monotonic() < deadline:
            await self.sync()
        assert self.invites, f"{self.user_id}: no invite"
        return next(iter(self.invites))

    async def bot_joined(self, room_id: str) -> None:
        await self.wait(lambda r, e: r == room_id and isinstance(e, RoomMemberEvent)
                        and e.state_key == BOT and e.membership == "join", what="the bot to join")

    async def room(self, *, invite_bot: bool = False, encrypted: bool = False, direct: bool = False,
                   **kwargs: Any) -> str:
        if not direct:  # group rooms have names; an unnamed room of two may be taken for a DM
            kwargs.setdefault("name", "mentoring")
        resp = await self.c.room_create(
            preset=RoomPreset.trusted_private_chat if direct else RoomPreset.public_chat,
            invite=[BOT] if invite_bot else (), is_direct=direct,
            initial_state=[ENCRYPTION] if encrypted else (), **kwargs)
        assert isinstance(resp, RoomCreateResponse), resp
        self.joined.add(resp.room_id)
        await self.sync(0)
        return resp.room_id

    async def join(self, room_id: str) -> None:
        await self.c.join(room_id)
        self.joined.add(room_id)
        await self.sync(0)

    async def leave(self) -> None:
        """Leave this test's rooms and drop the device, so the kept accounts stay small."""
        for room_id in self.joined:
            await self.c.room_leave(room_id)
        await self.c.logout()
        await self.c.close()

    async def say(self, room_id: str, text: str, msgtype: str = "m.text") -> str:
        resp = await self.c.room_send(room_id, "m.room.message", {"msgtype": msgtype, "body": text},
                                      ignore_unverified_devices=True)
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        resp = await self.c.room_send(room_id, "m.reaction", content)
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    async def notifications(self, room_id: str, *, highlights: bool = False) -> list[str]:
        """Ids of the events in ``room_id`` that the homeserver's own push rules notified this
        person of (``highlights``: pinged them, as a mention or ``@room`` does), newest first."""
        query = {"limit": "100", **({"only": "highlight"} if highlights else {})}
        resp = await self.c.send("GET", Api._build_path(["notifications"], query),
                                 headers={"Authorization": f"Bearer {self.c.access_token}"})
        assert resp.status == 200, await resp.text()
        return [n["event"]["event_id"] for n in (await resp.json())["notifications"] if n["room_id"] == room_id]

    def bot_says(self, room_id: str) -> list[RoomMessageNotice | RoomMessageText]:
        """Every message the bot sent to ``room_id`` that this person has seen, in order."""
        return [e for r, e in self.timeline
                if r == room_id and isinstance(e, (RoomMessageNotice, RoomMessageText)) and e.sender == BOT]

    def bot_notices(self, room_id: str) -> list[RoomMessageNotice]:
        return [e for e in self.bot_says(room_id) if isinstance(e, RoomMessageNotice)]

    async def bot_said(self, room_id: str, pred: Callable[[Any], bool], timeout: float = 20.0,
                       what: str = "a message from the bot", since: int = 0) -> Any:
        """The first message of the bot in ``room_id`` that ``pred`` accepts (waiting for it)."""
        return await self.wait(lambda r, e: r == room_id and getattr(e, "sender", None) == BOT
                               and isinstance(e, (RoomMessageNotice, RoomMessageText)) and pred(e),
                               timeout, what, since)


@pytest.fixture
async def people(homeserver: str):
    """``await people("alice", "Alice A.")`` -> a logged-in Person; all leave at the end."""
    made: list[Person] = []

    async def person(name: str, display: str | None = None, store: Path | None = None) -> Person:
        p = await Person(homeserver, name, store).login(display)
        made.append(p)
        return p

    yield person
    for p in made:
        await p.leave()
