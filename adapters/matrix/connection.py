"""Connection and identity: log in (password or token), keep the sync loop alive, stop cleanly.

The loop retries outages with backoff and jitter and reports each change of state to the
supervisor; a refused login at start is raised (the operator must fix it), later it is retried
slowly. A stopped adapter is started again with a new client, logged in and synced afresh.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Sequence

from aiohttp import ClientError
from nio import AsyncClient, AsyncClientConfig, LoginResponse, WhoamiResponse

from adapters.base import AdapterState, Sink
from adapters.matrix.answers import Stopping, Transient, raise_for
from adapters.matrix.settings import KEY_DEVICE_ID, MatrixConfigError
from adapters.matrix.state import MatrixState
from adapters.pacing import backoff_delay
from chatbot.commands import CommandSpec

log = logging.getLogger("adapters.matrix")


class Connection(MatrixState):
    """Start, stop, log in and the retrying loop around each sync round (see ``sync``)."""

    async def start(self, sink: Sink, specs: Sequence[CommandSpec]) -> None:
        """Log in and begin syncing; returns after the first sync (or ``start_timeout``).

        Raises :class:`MatrixConfigError` for a refused login; an unreachable homeserver is
        retried in the background instead."""
        if self._task is not None and not self._closed:
            return
        if self._closed:  # started again after stop(): a new client, logged in and synced afresh
            self._closed = self._stopping = False
            self._logged_in = self._prepared = self._synced = False
            self._ready = asyncio.Event()
        self._sink = sink
        self._client = self._make_client()
        self._task = asyncio.create_task(self._run(), name="matrix-sync")
        self._task.add_done_callback(self._run_ended)
        ready = asyncio.create_task(self._ready.wait())
        try:
            await asyncio.wait(
                {ready, self._task},
                timeout=self.settings.start_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            ready.cancel()
        if self._task.done() and not self._task.cancelled() and self._task.exception():
            error = self._task.exception()
            await self.stop()
            raise error  # type: ignore[misc]
        if not self._ready.is_set():
            log.warning("matrix: first sync not done after %.0fs; still trying", self.settings.start_timeout)

    async def stop(self) -> None:
        """Stop between two events (waiting ``stop_grace`` for the current one), disconnect."""
        if self._closed:
            self._report(AdapterState("stopped"))  # whoever asks again means it too
            return
        self._closed = True
        self._stopping = True
        if self._task is not None:
            if not self._idle.is_set():
                try:
                    await asyncio.wait_for(self._idle.wait(), self.settings.stop_grace)
                except asyncio.TimeoutError:
                    log.warning("matrix: handler still busy after %.1fs; cancelling it", self.settings.stop_grace)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        self._report(AdapterState("stopped"))

    def _run_ended(self, task: asyncio.Task[None]) -> None:
        """The sync loop ended though nobody stopped the adapter: the supervisor restarts it."""
        if self._stopping or task is not self._task:
            return
        error = None if task.cancelled() else task.exception()
        self._report(AdapterState("failed", f"matrix: the sync loop ended: {error!r}"))

    def _make_client(self) -> AsyncClient:
        s = self.settings
        config = AsyncClientConfig(
            max_limit_exceeded=s.max_limit_exceeded,
            max_timeouts=0,  # our loop retries, with jitter; a send reports "failed"
            request_timeout=s.request_timeout,
            encryption_enabled=self.e2e,
            pickle_key=self._pickle_key or "",
            store_sync_tokens=False,  # the token is ours: saved after the engine committed
        )
        store = ""
        if self.e2e:
            path = self._state_dir / "e2e-store"
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            store = str(path)
        return AsyncClient(s.homeserver, s.user_id, store_path=store, config=config)

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                if not self._logged_in:
                    await self._login()
                if not self._prepared:
                    await self._prepare()
                await self._sync_once()
                attempt = 0
                self._report(AdapterState("connected"))
            except asyncio.CancelledError:
                raise
            except Stopping:
                return
            except MatrixConfigError:
                if not self._ready.is_set():
                    raise
                log.exception("matrix: login refused; retrying slowly")
                self._report(AdapterState("reconnecting", "login refused"))
                await asyncio.sleep(self.settings.reconnect_max_delay)
            except Exception as e:  # an outage, a 5xx, a sink that failed: retry the batch
                delay = backoff_delay(attempt, self.settings.reconnect_min_delay, self.settings.reconnect_max_delay)
                attempt += 1
                expected = isinstance(e, (ClientError, asyncio.TimeoutError, OSError, Transient))
                log.warning("matrix: %s: %s; retrying in %.1fs", type(e).__name__, e, delay, exc_info=not expected)
                self._report(AdapterState("reconnecting", f"{type(e).__name__}: {e}"[:300]))
                await asyncio.sleep(delay)

    async def _login(self) -> None:
        c = self.client
        s = self.settings
        if self._token_secret:
            c.access_token = self._token_secret
            who = await c.whoami()
            if not isinstance(who, WhoamiResponse):
                c.access_token = ""
                raise_for(who, "access token")
            if who.user_id != s.user_id:
                raise MatrixConfigError(f"the access token belongs to {who.user_id}, not {s.user_id}")
            if s.device_id and who.device_id != s.device_id:
                raise MatrixConfigError(f"the access token is for device {who.device_id}, not {s.device_id}")
            c.restore_login(who.user_id, who.device_id, self._token_secret)
        else:
            c.device_id = s.device_id or self._kv.get(KEY_DEVICE_ID) or None
            resp = await c.login(self._password, device_name=s.device_name)
            if not isinstance(resp, LoginResponse):
                raise_for(resp, "password login")
            if not s.device_id:
                self._kv.set(KEY_DEVICE_ID, resp.device_id)
        if self.e2e and c.olm is None:
            raise MatrixConfigError("end-to-end encryption needs a device id (use a device-bound token)")
        self._logged_in = True
        log.info("matrix: logged in as %s (device %s, e2e %s)", c.user_id, c.device_id, self.e2e)

    async def _prepare(self) -> None:
        """Once per start: keys up (E2E), the DM list, the configured rooms."""
        await self._crypto_housekeeping()
        await self._load_m_direct()
        await self._join_configured()
        self._prepared = True
