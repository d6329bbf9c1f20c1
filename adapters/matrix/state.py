"""The state every part of the Matrix adapter shares, and the client it talks through.

The adapter is one class assembled from parts by role (``connection``, ``sync``, ``inbound``,
``rooms``, ``encryption``, ``sending``), each a mixin over this base: one place says which
attributes exist and what they hold, and each part's module stays about one job.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from nio import AsyncClient, MegolmEvent

from adapters.base import AdapterContext, Capabilities, Reporter, Sink, ignore_state
from adapters.matrix import formatting as fmt
from adapters.matrix.settings import KEY_SYNC_TOKEN, MatrixSettings
from adapters.recent import Recent


class MatrixState:
    """Settings, secrets, the client, and what the adapter remembers between events."""

    def __init__(
        self,
        settings: MatrixSettings,
        context: AdapterContext,
        *,
        token: str | None,
        password: str | None,
        pickle_key: str | None,
        e2e: bool,
    ) -> None:
        self.settings = settings
        self._kv = context.kv
        self._state_dir = Path(context.state_dir)
        self._token_secret = token
        self._password = password
        self._pickle_key = pickle_key
        self.e2e = e2e
        self.capabilities = Capabilities(
            direct_messages=True,
            ephemeral_replies=False,
            attachments=True,
            parallel_sends=4,  # one request each; Synapse takes several rooms' messages at once
        )
        self._client: AsyncClient | None = None
        self._sink: Sink | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self._closed = False
        self._logged_in = False
        self._prepared = False
        self._synced = False
        self._since: str | None = self._kv.get(KEY_SYNC_TOKEN)
        self._invite_servers = set(settings.invite_servers or [settings.server])
        self._aliases: dict[str, str] = {}
        self._thresholds: dict[str, dict[str, int]] = {}
        self._dms = fmt.DirectRooms()
        #: dm_key(user) -> room id as in kv (None: kv has none). This adapter is the only writer
        #: of those keys, so the cache is the truth once read; kv stays the durable copy.
        self._kept_dms: dict[str, str | None] = {}
        self._dm_locks: dict[str, asyncio.Lock] = {}
        self._sent = Recent(2048)  # event ids of our own messages (reactions answer them)
        self._said_in = Recent(2048)  # inbound event id -> room id (for reply relations)
        self._failures: dict[str, int] = {}
        self._creators: dict[str, set[str]] = {}  # room id -> creators (room v12+)
        self._undecrypted: list[tuple[float, MegolmEvent]] = []
        self._report: Reporter = ignore_state

    def bind_reporter(self, report: Reporter) -> None:
        """Connection changes go to ``report`` (synced, retrying, the loop ended, stopped)."""
        self._report = report

    @property
    def client(self) -> AsyncClient:
        assert self._client is not None, "start() first"
        return self._client

    @property
    def user_id(self) -> str:
        return self.settings.user_id
