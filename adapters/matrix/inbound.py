"""Inbound translation: Matrix events to the core's events (text, DM reactions, joins, leaves).

Only text and a reaction to the bot's own numbered question mean anything to the engine; notices
(other bots), edits, media and state are dropped here. Power levels become ``platform_roles``
only in the rooms the operator named, since anyone is the most powerful member of a room they
create.
"""

from __future__ import annotations

from typing import Any

from nio import MatrixRoom, MegolmEvent, ReactionEvent, RoomGetEventResponse, RoomMemberEvent, RoomMessageText, SyncResponse

from adapters.matrix import formatting as fmt
from adapters.matrix.settings import PLATFORM
from adapters.matrix.state import MatrixState
from chatbot.events import Identity, Inbound, Left, Returned, Seen, TextReceived, Where


class InboundTranslation(MatrixState):
    """Who said what where, as the core names it."""

    def _identity(self, room: MatrixRoom, user_id: str) -> Identity:
        user = room.users.get(user_id)
        return Identity(PLATFORM, user_id, (user.display_name if user else None) or user_id)

    def _is_direct(self, room: MatrixRoom, sender: str) -> bool:
        """A DM: marked direct (m.direct, an is_direct invite, made by us) with this person,
        and nobody else has joined since."""
        return self._dms.user_of.get(room.room_id) == sender and room.joined_count <= 2

    def _note_creators(self, resp: SyncResponse) -> None:
        """Remember each room's creators where they outrank every power level (room v12+).

        nio reads only ``users`` of m.room.power_levels, where v12 forbids listing creators, so
        without this a room's own creator would count as a default member. The create event
        arrives with the full state of the first sync after start, or when the bot joins."""
        for room_id, info in resp.rooms.join.items():
            for event in (*info.state, *info.timeline.events):
                source = getattr(event, "source", None) or {}
                if source.get("type") == "m.room.create" and source.get("state_key") == "":
                    content = source.get("content") or {}
                    if fmt.creators_privileged(str(content.get("room_version", "1"))):
                        extra = content.get("additional_creators") or []
                        self._creators[room_id] = {source.get("sender", ""), *extra}
                    else:
                        self._creators.pop(room_id, None)

    def _platform_roles(self, room_id: str, room: MatrixRoom, sender: str) -> frozenset[str]:
        """Power levels -> roles, only in rooms the operator configured (anyone is admin of
        a room they create, so an arbitrary room's power levels vouch for nothing)."""
        thresholds = self._thresholds.get(room_id)
        if thresholds is None:
            return frozenset()
        if sender in self._creators.get(room_id, ()):
            return fmt.roles_for_level(fmt.CREATOR_LEVEL, thresholds)
        return fmt.roles_for_level(room.power_levels.get_user_level(sender), thresholds)

    def _membership(self, room: MatrixRoom, event: RoomMemberEvent, who: Identity) -> list[Inbound]:
        """A join is ``Seen`` and ``Returned``; leaving a room (or being kicked or banned from
        it) is ``Left``, so office hours can keep the person's place for a while."""
        member, here = event.state_key, Where(PLATFORM, room.room_id)
        if event.membership in ("leave", "ban"):
            if self._dms.user_of.get(room.room_id) == member:
                self._dms.forget(room.room_id)  # the person left: no longer a DM to write to
            if event.prev_membership != "join" or member == self.user_id:
                return []  # an invite declined, or the bot itself put out: nobody left a line
            display = (event.prev_content or {}).get("displayname") or member
            how = "leave" if event.sender == member else "kick"
            return [Left(Identity(PLATFORM, member, display), here, how)]
        if event.membership == "join" and event.prev_membership != "join":
            return [Seen(who), Returned(who, here)]
        return []

    async def _translate(self, room: MatrixRoom, event: Any) -> list[Inbound]:
        sender = getattr(event, "sender", None)
        if not sender or sender == self.user_id:
            return []
        who = self._identity(room, sender)
        if isinstance(event, RoomMemberEvent):
            return self._membership(room, event, who)
        if isinstance(event, MegolmEvent):
            await self._undecryptable(event)
            return []
        direct = self._is_direct(room, sender)
        if isinstance(event, RoomMessageText):
            relation = event.source.get("content", {}).get("m.relates_to") or {}
            if relation.get("rel_type") == "m.replace":
                return []  # an edit; the original was already handled
            text = event.body
            if "m.in_reply_to" in relation:
                text = fmt.strip_reply_fallback(text)
            self._said_in.put(event.event_id, room.room_id)
            text = fmt.command_mentions(text, self.settings.prefix)
            if direct:
                self._remember_dm_local(sender, room.room_id)
                return [TextReceived(who, Where(PLATFORM, None), text, event.event_id, self.settings.prefix)]
            roles = self._platform_roles(room.room_id, room, sender)
            return [TextReceived(who, Where(PLATFORM, room.room_id), text, event.event_id, self.settings.prefix, roles)]
        if isinstance(event, ReactionEvent) and direct:
            digit = fmt.reaction_digit(event.key)
            if digit and await self._sent_by_us(room.room_id, event.reacts_to):
                return [TextReceived(who, Where(PLATFORM, None), digit, event.event_id, self.settings.prefix)]
        return []  # notices (other bots), emotes, media, state: nothing for the engine

    async def _sent_by_us(self, room_id: str, event_id: str) -> bool:
        if event_id in self._sent:
            return True
        resp = await self.client.room_get_event(room_id, event_id)
        return isinstance(resp, RoomGetEventResponse) and resp.event.sender == self.user_id
