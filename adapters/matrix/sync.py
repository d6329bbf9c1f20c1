"""Sync rounds: exactly-once delivery of each batch, in timeline order, across restarts.

The sync token is saved only after every event of its batch went through ``await sink(event)``
(which returns once the engine committed), so a crash mid-batch re-delivers that batch and the
engine drops what it already saw by event id. A ``limited`` timeline is backfilled to the saved
token, so a long downtime loses nothing; history from before the bot joined is never answered.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nio import RoomMemberEvent, RoomMessagesResponse, SyncResponse
from nio.api import MessageDirection

from adapters.matrix.answers import Stopping, Transient
from adapters.matrix.settings import KEY_SYNC_TOKEN
from adapters.matrix.state import MatrixState
from chatbot.events import Inbound

log = logging.getLogger("adapters.matrix")


class Sync(MatrixState):
    """One sync round at a time, each batch handed to the sink before its token is saved."""

    def _timeline_filter(self, limit: int) -> dict[str, Any]:
        return {"room": {"timeline": {"limit": limit}}}

    async def _sync(self, timeout_ms: int, *, full_state: bool = False, limit: int | None = None) -> SyncResponse:
        c = self.client
        # nio ignores a response whose next_batch equals the one it last saw. A retried batch
        # must be processed again (state, decryption), and so must a full-state sync that
        # brings no new events, so it is never allowed to think it has seen one.
        c.next_batch = ""
        resp = await c.sync(
            timeout=timeout_ms,
            since=self._since,
            full_state=full_state or None,
            sync_filter=self._timeline_filter(limit or self.settings.sync_timeline_limit),
        )
        if not isinstance(resp, SyncResponse):
            if resp.status_code == "M_UNKNOWN_TOKEN" and self._password:
                self._logged_in = False  # log in again on the next round
            raise Transient(f"sync: {resp}")
        return resp

    async def _sync_once(self) -> None:
        """One sync round. The first after start loads full room state (nothing is cached)."""
        if not self._synced:
            if self._since is None:  # very first start: learn state, answer no history
                resp = await self._sync(0, full_state=True, limit=1)
                self._note_creators(resp)
                self._apply_account_data(resp)
                await self._handle_invites(resp)
                self._save_token(resp.next_batch)
                self._synced = True
                self._ready.set()
                return
            resp = await self._sync(0, full_state=True)
            self._synced = True
            self._ready.set()
        else:
            resp = await self._sync(self.settings.sync_timeout_ms)
        await self._handle_batch(resp)
        self._save_token(resp.next_batch)

    def _save_token(self, token: str) -> None:
        if token != self._since:
            self._kv.set(KEY_SYNC_TOKEN, token)
            self._since = token

    async def _handle_batch(self, resp: SyncResponse) -> None:
        """Hand every event of one sync response to the sink, in timeline order per room."""
        self._note_creators(resp)
        self._apply_account_data(resp)
        await self._handle_invites(resp)
        for room_id in resp.rooms.leave:
            self._dms.forget(room_id)
        for room_id, info in resp.rooms.join.items():
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            if room.encrypted and not self.e2e:
                await self._cannot_read(room_id)
                continue
            events = list(info.timeline.events)
            fresh = self._after_own_join(events)
            if fresh is events and info.timeline.limited and info.timeline.prev_batch and self._since:
                fresh = self._after_own_join(await self._backfill(room_id, info.timeline.prev_batch) + events)
            for event in fresh:
                for inbound in await self._translate(room, event):
                    await self._deliver(inbound)
        await self._retry_undecrypted()
        await self._crypto_housekeeping()

    def _after_own_join(self, events: list[Any]) -> list[Any]:
        """Drop what was said before the bot joined a room (history, never to be answered)."""
        for i in range(len(events) - 1, -1, -1):
            e = events[i]
            if (
                isinstance(e, RoomMemberEvent)
                and e.state_key == self.user_id
                and e.membership == "join"
                and e.prev_membership != "join"
            ):
                return events[i + 1 :]
        return events

    async def _backfill(self, room_id: str, prev_batch: str) -> list[Any]:
        """Fetch the events a ``limited`` timeline left out, back to our saved token.

        After a long downtime a busy room has more new events than one sync returns; without
        this they would be skipped, breaking "nothing is lost"."""
        found: list[Any] = []
        start = prev_batch
        while len(found) < self.settings.max_backfill:
            resp = await self.client.room_messages(
                room_id, start=start, end=self._since, direction=MessageDirection.back, limit=100
            )
            if not isinstance(resp, RoomMessagesResponse):
                raise Transient(f"backfill {room_id}: {resp}")
            found.extend(resp.chunk)
            if not resp.chunk or not resp.end or resp.end == start:
                break
            start = resp.end
        if len(found) >= self.settings.max_backfill:
            log.warning("matrix: %s: gap longer than %d events; older ones skipped", room_id, len(found))
        found.reverse()
        return found

    async def _deliver(self, inbound: Inbound) -> None:
        """``await sink(inbound)``; a raise leaves the batch unsaved, so it is retried."""
        if self._stopping:
            raise Stopping
        assert self._sink is not None
        self._idle.clear()
        try:
            await self._sink(inbound)
        except asyncio.CancelledError:
            raise
        except Exception:
            event_id = getattr(inbound, "event_id", None)
            if event_id is None:
                log.exception("matrix: handling %r failed; skipped", inbound)
                return
            n = self._failures[event_id] = self._failures.get(event_id, 0) + 1
            if n >= self.settings.max_event_failures:
                log.exception("matrix: event %s failed %d times; skipped", event_id, n)
                self._failures.pop(event_id, None)
                return
            raise
        finally:
            self._idle.set()
        if getattr(inbound, "event_id", None):
            self._failures.pop(inbound.event_id, None)  # type: ignore[union-attr]
