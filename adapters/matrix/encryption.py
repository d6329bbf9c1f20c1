"""End-to-end encryption housekeeping, and the notice for rooms the bot cannot read.

With matrix-nio's ``e2e`` extra and a pickle key, keys live in ``context.state_dir``. A message
whose room key has not arrived yet is kept in memory, its key requested, and delivered once it
can be decrypted (lost if the bot restarts first). Without E2E the bot says once per encrypted
room that it cannot read it.
"""

from __future__ import annotations

import logging
import time

from nio import LocalProtocolError, MegolmEvent

from adapters.matrix import formatting as fmt
from adapters.matrix.settings import e2e_notice_key
from adapters.matrix.state import MatrixState

log = logging.getLogger("adapters.matrix")


class Encryption(MatrixState):
    """Keys up, queried and claimed between syncs; undecryptable events retried."""

    async def _cannot_read(self, room_id: str) -> None:
        """Without E2E: say once per room (remembered in kv) that the bot cannot read it."""
        if self._kv.get(e2e_notice_key(room_id)):
            return
        notice = fmt.Post(self.settings.encrypted_room_notice, key=f"e2e-notice-{room_id}")
        done = await self._post(room_id, notice, in_room=True)
        if done.ok:
            self._kv.set(e2e_notice_key(room_id), "1")
        else:
            log.warning("matrix: could not post the encryption notice in %s: %s", room_id, done.detail)

    async def _undecryptable(self, event: MegolmEvent) -> None:
        """Ask the sender's devices for the key and keep the event to try again later."""
        if not self.e2e:
            return
        self._undecrypted.append((time.monotonic(), event))
        del self._undecrypted[:-500]
        try:
            await self.client.request_room_key(event)
        except LocalProtocolError:
            pass  # already requested for this session

    async def _retry_undecrypted(self) -> None:
        if not self._undecrypted:
            return
        waiting, self._undecrypted = self._undecrypted, []
        for since, event in waiting:
            try:
                clear = self.client.decrypt_event(event)
            except Exception:
                if time.monotonic() - since < 3600:
                    self._undecrypted.append((since, event))
                continue
            room = self.client.rooms.get(event.room_id)
            if room is not None:
                for inbound in await self._translate(room, clear):
                    await self._deliver(inbound)

    async def _crypto_housekeeping(self) -> None:
        """What nio's sync_forever does between syncs for E2E: keys up, keys queried/claimed."""
        c = self.client
        if c.olm is None:
            return
        await c.send_to_device_messages()
        if c.should_upload_keys:
            await c.keys_upload()
        if c.should_query_keys:
            await c.keys_query()
        if c.should_claim_keys:
            await c.keys_claim(c.get_users_for_key_claiming())
