"""Connection and supervision: start a new client (intents, app-command tree), stop it cleanly,
and report the gateway's state.

Each ``start`` builds a new client, so the supervisor can start again whatever ended. A refused
token or intent is a ``DiscordConfigError`` (not retried); a client that ends by itself reports
``failed``. Reconnects and resumes inside one client are discord.py's.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Sequence

import discord
import yarl

from adapters.base import AdapterState, Sink
from adapters.discord.client import Client
from adapters.discord.commands import CatalogTranslator, build_app_commands, payload_problems
from adapters.discord.settings import DiscordConfigError
from adapters.discord.state import DiscordState
from chatbot.commands import CommandSpec

log = logging.getLogger("adapters.discord")


class Lifecycle(DiscordState):
    """``start``, ``stop`` and what the gateway says about the connection."""

    async def start(self, sink: Sink, specs: Sequence[CommandSpec]) -> None:
        """A new client each time (after a ``stop()``, e.g. by the supervisor after a failure)."""
        if self._runner is not None and not self._runner.done():
            raise RuntimeError("the Discord adapter is already running")
        token = os.environ.get(self.settings.token_env, "").strip()
        if not token:
            raise DiscordConfigError(f"no Discord bot token: set the environment variable {self.settings.token_env}")
        self._aim()
        self._sink = sink
        if self._client is not None and not self._client.is_closed():  # a dead client nobody stopped
            await self._client.close()
        self._stopped, self._starting = False, True
        self._ready = asyncio.Event()
        self._sync_problem = None
        client = await self._new_client(specs)
        runner = self._runner = asyncio.create_task(client.start(token), name="discord-client")
        runner.add_done_callback(self._runner_ended)
        await self._until_ready(runner)

    async def _new_client(self, specs: Sequence[CommandSpec]) -> Client:
        """A client with the intents the settings ask for and the app-command tree of ``specs``
        (kept as ``self._client`` at once, so that ``stop`` closes it whatever happens next)."""
        intents = discord.Intents.none()
        intents.guilds = intents.guild_messages = intents.dm_messages = True
        intents.message_content = self.settings.message_content
        intents.members = self.settings.wants_members
        client = self._client = Client(self, intents=intents, application_id=self.settings.application_id,
                                       guild_ready_timeout=self.settings.guild_ready_timeout,
                                       allowed_mentions=discord.AllowedMentions.none())
        commands, self.commands = build_app_commands(specs, self._on_command, self._on_complete)
        await client.tree.set_translator(CatalogTranslator(self.context.localize))
        guilds = [discord.Object(g) for g in self.settings.guilds]
        for command in commands:
            if guilds:
                client.tree.add_command(command, guilds=guilds)
            else:
                client.tree.add_command(command)
        problems = [p for c in commands for p in payload_problems(c.to_dict(client.tree))]
        if problems:  # a declaration Discord would refuse: say which, rather than a 50035 at sync
            raise ValueError("Discord would refuse these commands: " + "; ".join(problems[:5]))
        return client

    async def _until_ready(self, runner: asyncio.Task[None]) -> None:
        """Wait for the gateway's READY, at most ``start_timeout``; a client that ended while
        starting is raised (a refused token or intent as :class:`DiscordConfigError`)."""
        ready = asyncio.ensure_future(self._ready.wait())
        try:
            done, _ = await asyncio.wait({runner, ready}, timeout=self.settings.start_timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            self._starting = False
        if runner in done:
            error = None if runner.cancelled() else runner.exception()
            await self.stop()
            refused = isinstance(error, (discord.LoginFailure, discord.PrivilegedIntentsRequired))
            raise (DiscordConfigError if refused else RuntimeError)(
                f"the Discord client stopped while starting: {error!r}") from error
        if not done:
            log.warning("Discord gateway not ready after %.0f s; still connecting", self.settings.start_timeout)

    def _aim(self) -> None:
        """Point discord.py at another Discord-compatible server: the only two addresses it reads."""
        if self.settings.api_base:
            discord.http.Route.BASE = self.settings.api_base
        if self.settings.gateway_url:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.settings.gateway_url)

    def _runner_ended(self, task: asyncio.Task[None]) -> None:
        """The client ended by itself: say so, and the supervisor starts a new one."""
        if self._stopped or self._starting or task is not self._runner:
            return  # stop() ended it, or start() reports it by raising
        error = None if task.cancelled() else task.exception()
        reason = f"the Discord client ended: {error!r}" if error is not None else "the Discord client ended"
        log.error("%s", reason)
        self._report(AdapterState("failed", reason))

    async def stop(self) -> None:
        """Close the client and forget it, so that ``start()`` may build a new one. Idempotent."""
        if not self._stopped:
            self._stopped = True
            if self._sync_task is not None:
                self._sync_task.cancel()
                await asyncio.gather(self._sync_task, return_exceptions=True)
                self._sync_task = None
            if self._client is not None:
                await self._client.close()
            if self._runner is not None:  # its failure, if any, was reported by _runner_ended
                await asyncio.wait({self._runner}, timeout=10)
            self._client, self._runner = None, None
        self._report(AdapterState("stopped"))

    def _on_ready(self) -> None:
        self._ready.set()
        self._report(AdapterState("degraded", self._sync_problem) if self._sync_problem else AdapterState("connected"))

    def _on_disconnect(self) -> None:
        if not self._stopped:
            self._report(AdapterState("reconnecting", "the Discord gateway connection closed"))
