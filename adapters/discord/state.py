"""The state every part of the Discord adapter shares.

The adapter is one class assembled from parts by role (``lifecycle``, ``command_sync``,
``inbound``, ``interactions``, ``sending``), each a mixin over this base: one place says which
attributes exist and what they hold, and each part's module stays about one job.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from adapters.base import AdapterContext, Reporter, Sink, ignore_state
from adapters.discord.backlog import Backlog
from adapters.discord.client import Client
from adapters.discord.commands import CommandMap
from adapters.discord.settings import DiscordSettings
from adapters.pacing import TokenBucket
from adapters.recent import Recent

if TYPE_CHECKING:
    from adapters.discord.interactions import Pending


class DiscordState:
    """Settings, the client and its task, and what the adapter remembers between events."""

    def __init__(self, settings: DiscordSettings, context: AdapterContext) -> None:
        self.settings, self.context = settings, context
        self.commands = CommandMap()
        self._client: Client | None = None
        self._runner: asyncio.Task[None] | None = None
        self._sink: Sink | None = None
        self._ready = asyncio.Event()
        self._stopped = False
        self._pending: dict[str, Pending] = {}
        self._dm_channels: dict[int, int] = {}
        self._dm_lock = asyncio.Lock()
        self._pacer = TokenBucket(settings.dm_rate, settings.dm_burst)
        self._report: Reporter = ignore_state
        #: events handed to the engine and not yet answered: past a limit the gateway is not read
        self._backlog = Backlog()
        self._starting = False
        #: why slash commands are not synced (None: they are)
        self._sync_problem: str | None = None
        self._sync_task: asyncio.Task[None] | None = None
        #: nonces of our own messages the gateway echoed; ids of messages a send got back
        self._seen_nonces = Recent(4096)
        self._posted_ids = Recent(4096)
        #: outbox key -> the first part not yet delivered of a message whose send failed part-way
        self._partial = Recent(1024)
        #: interactions whose answer raised, kept so that a retry looks before answering again
        self._unsure = Recent(256)

    def bind_reporter(self, report: Reporter) -> None:
        self._report = report
