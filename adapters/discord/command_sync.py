"""Slash-command sync: only when the payload changed, and never a reason to stay offline.

Commands are synced in ``setup_hook`` (never ``on_ready``, which fires again after a failed
RESUME) and only when their payload changed since the last sync (a digest in ``context.kv``) or
the server lacks one of them. A failed sync is logged once with Discord's error, reported as
``degraded`` and retried in the background with backoff, while text commands and DMs go on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any, Sequence

import discord

from adapters.base import AdapterState
from adapters.discord.failures import FAIL_FAST, error_text
from adapters.discord.state import DiscordState

log = logging.getLogger("adapters.discord")


def command_digest(payload: Sequence[dict[str, Any]]) -> str:
    """A stable digest of a command-sync payload, kept to skip syncing what did not change."""
    return hashlib.sha256(json.dumps(list(payload), sort_keys=True, default=str).encode()).hexdigest()


class CommandSync(DiscordState):
    """The first sync at start-up, and its retries."""

    async def _first_sync(self) -> None:
        """The sync at start-up. Slash commands are optional: if it fails, the client still
        connects (text commands and DMs work) and the sync is retried in the background. A 5xx
        fails at once here too, rather than hold the connection back for discord.py's retries."""
        fail_fast = FAIL_FAST.set(True)
        try:
            await self._sync_commands()
        except Exception as exc:
            self._sync_problem = f"slash commands not synced: {error_text(exc)}"
            log.warning("%s; text commands and DMs keep working; retrying in %.0f s",
                        self._sync_problem, self.settings.sync_retry_delay)
            self._sync_task = asyncio.create_task(self._sync_again(), name="discord-command-sync")
        finally:
            FAIL_FAST.reset(fail_fast)

    async def _sync_again(self) -> None:
        """Retry the sync with backoff until it works (each failure after the first at DEBUG:
        the operator was told once)."""
        s, attempt = self.settings, 0
        while True:
            await asyncio.sleep(min(s.sync_retry_max_delay, s.sync_retry_delay * 2 ** min(attempt, 30)))
            attempt += 1
            try:
                await self._sync_commands()
            except Exception as exc:
                log.debug("Discord command sync failed again (attempt %d): %s", attempt, error_text(exc))
                continue
            log.info("Discord slash commands synced after %d %s", attempt, "retry" if attempt == 1 else "retries")
            self._sync_problem = None
            if self._ready.is_set():
                self._report(AdapterState("connected"))
            return

    async def _sync_commands(self) -> None:
        """Sync each configured guild (or the global commands) only when the payload changed."""
        client = self._client
        assert client is not None
        targets: list[discord.Object | None] = [discord.Object(g) for g in self.settings.guilds] or [None]
        for guild in targets:
            translator = client.tree.translator
            assert translator is not None
            # with the descriptions' translations: a new catalog is a change to sync
            payload = [await c.get_translated_payload(client.tree, translator) for c in client.tree.get_commands(guild=guild)]
            key = f"discord.commands.{client.application_id}.{guild.id if guild else 'global'}"
            where = f"guild {guild.id}" if guild else "global"
            if self.context.kv.get(key) == command_digest(payload):
                remote = {c.name for c in await client.tree.fetch_commands(guild=guild)}
                if remote == {p["name"] for p in payload}:
                    log.info("Discord commands (%s) unchanged; not syncing", where)
                    continue
            synced = await client.tree.sync(guild=guild)
            self.context.kv.set(key, command_digest(payload))
            log.info("synced %d Discord commands (%s)", len(synced), where)
