"""Rooms and direct rooms: invites, the configured rooms, aliases, and one DM room per person.

A DM room is remembered in kv (a restart replies in the same room) and in the account's
``m.direct`` (which clients read too); it is created once even when several sends race for it.
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import ClientError
from nio import DirectRoomsResponse, InviteMemberEvent, JoinResponse, MatrixRoom, ProfileGetError, \
    RoomCreateResponse, RoomResolveAliasResponse, SyncResponse, UnknownAccountDataEvent
from nio.api import Api, RoomPreset

from adapters.matrix import formatting as fmt
from adapters.matrix.answers import Transient, refusal, status_of
from adapters.matrix.settings import MEGOLM, dm_key
from adapters.matrix.state import MatrixState
from chatbot.events import Delivery

log = logging.getLogger("adapters.matrix")


class Rooms(MatrixState):
    """Which rooms the bot is in, and which room is the DM with whom."""

    async def _handle_invites(self, resp: SyncResponse) -> None:
        for room_id, info in resp.rooms.invite.items():
            mine = [
                e
                for e in info.invite_state
                if isinstance(e, InviteMemberEvent) and e.state_key == self.user_id and e.membership == "invite"
            ]
            if not mine or room_id in self.client.rooms:
                continue
            inviter, is_direct = mine[-1].sender, bool(mine[-1].content.get("is_direct"))
            if fmt.server_name(inviter) not in self._invite_servers:
                log.info("matrix: ignoring invite to %s from %s", room_id, inviter)
                continue
            joined = await self.client.join(room_id)
            if not isinstance(joined, JoinResponse):
                log.warning("matrix: could not join %s: %s", room_id, joined)
                continue
            if is_direct:
                await self._remember_dm(inviter, room_id)

    async def _join_configured(self) -> None:
        s = self.settings
        for ref in s.rooms:
            joined = await self.client.join(ref)
            if not isinstance(joined, JoinResponse):
                if status_of(joined) in (None, 429) or (status_of(joined) or 0) >= 500:
                    raise Transient(f"join {ref}: {joined}")
                log.error("matrix: cannot join configured room %s: %s", ref, joined)
                continue
            if ref != joined.room_id:
                self._aliases[ref] = joined.room_id
            self._thresholds.setdefault(joined.room_id, dict(s.power_roles))
        for ref, thresholds in s.room_power_roles.items():
            room_id = await self._room_id(ref)
            if room_id:
                self._thresholds[room_id] = dict(thresholds)

    async def _room_id(self, ref: str) -> str | None:
        """A room id for a room id or ``#alias:server`` (aliases resolved once, then cached)."""
        if not ref.startswith("#"):
            return ref
        if ref not in self._aliases:
            resp = await self.client.room_resolve_alias(ref)
            if not isinstance(resp, RoomResolveAliasResponse):
                log.warning("matrix: cannot resolve %s: %s", ref, resp)
                return None
            self._aliases[ref] = resp.room_id
        return self._aliases[ref]

    async def _load_m_direct(self) -> None:
        resp = await self.client.list_direct_rooms()
        if isinstance(resp, DirectRoomsResponse):
            self._dms.merge(resp.rooms)

    def _apply_account_data(self, resp: SyncResponse) -> None:
        for event in resp.account_data_events:
            if isinstance(event, UnknownAccountDataEvent) and event.type == "m.direct":
                self._dms.merge(event.content)

    def _kept_dm(self, user_id: str) -> str | None:
        """The DM room kept in kv for ``user_id``, read from the database once per process.

        Every direct message asks (``_translate``, and ``_direct_room`` for the reply): a kv read
        is a session and a SELECT, about 1.1 ms, where this is a dict lookup."""
        if user_id not in self._kept_dms:
            self._kept_dms[user_id] = self._kv.get(dm_key(user_id)) or None
        return self._kept_dms[user_id]

    def _remember_dm_local(self, user_id: str, room_id: str) -> None:
        """The room this person last talked to us in privately is where replies go (written
        through to kv, so a restart replies in the same room)."""
        if self._kept_dm(user_id) != room_id:
            self._kv.set(dm_key(user_id), room_id)
            self._kept_dms[user_id] = room_id

    async def _remember_dm(self, user_id: str, room_id: str) -> None:
        """Record a DM in kv and in the account's ``m.direct`` (which clients also read)."""
        self._remember_dm_local(user_id, room_id)
        if not self._dms.merge({user_id: [room_id]}):
            return
        c = self.client
        path = Api._build_path(["user", c.user_id, "account_data", "m.direct"])
        headers = {"Authorization": f"Bearer {c.access_token}", "Content-Type": "application/json"}
        try:
            answer = await c.send("PUT", path, json.dumps(self._dms.by_user), headers)
            if answer.status != 200:
                log.warning("matrix: could not update m.direct: HTTP %s", answer.status)
        except (ClientError, asyncio.TimeoutError) as e:  # kv still knows the room
            log.warning("matrix: could not update m.direct: %s", e)

    def _usable_dm(self, room_id: str | None, user_id: str) -> bool:
        if not room_id:
            return False
        if room_id in self._dms.created:
            return True
        room = self.client.rooms.get(room_id)
        return room is not None and user_id in room.users and room.member_count <= 2

    async def _direct_room(self, user_id: str) -> str | Delivery:
        """The DM room with ``user_id``: remembered, listed in m.direct, an existing room of
        just the two of us, or a new one (created once: concurrent sends wait on a lock)."""
        lock = self._dm_locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            candidates = [self._kept_dm(user_id), *self._dms.candidates(user_id)]
            for room_id in candidates:
                if self._usable_dm(room_id, user_id):
                    return room_id  # type: ignore[return-value]
            for room_id, room in self.client.rooms.items():
                if room.is_group and set(room.users) == {self.user_id, user_id}:
                    await self._remember_dm(user_id, room_id)
                    return room_id
            return await self._create_dm(user_id)

    async def _create_dm(self, user_id: str) -> str | Delivery:
        profile = await self.client.get_profile(user_id)
        if isinstance(profile, ProfileGetError):  # Synapse invites unknown users without complaint
            return refusal(profile, f"no such user {user_id}")
        encrypted = self.e2e and self.settings.encrypt_direct_rooms
        initial = [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}]
        resp = await self.client.room_create(
            is_direct=True,
            preset=RoomPreset.trusted_private_chat,
            invite=[user_id],
            initial_state=initial if encrypted else (),
        )
        if not isinstance(resp, RoomCreateResponse):
            return refusal(resp, f"opening a DM with {user_id}")
        self._dms.created.add(resp.room_id)
        if encrypted:
            self._register_encrypted_room(resp.room_id, user_id)
        await self._remember_dm(user_id, resp.room_id)
        return resp.room_id

    def _register_encrypted_room(self, room_id: str, invitee: str) -> None:
        """Let nio encrypt into a room it has not synced yet (the sync loop may be waiting on
        the very handler that is sending): its members are us and the invitee."""
        c = self.client
        room = MatrixRoom(room_id, self.user_id, encrypted=True)
        room.add_member(self.user_id, None, None)
        room.add_member(invitee, None, None, invited=True)
        c.rooms[room_id] = room
        c.encrypted_rooms.add(room_id)
        assert c.olm is not None
        c.olm.update_tracked_users(room)
