"""Outbound sending: the core's replies, announcements and DMs as room messages and files.

Bot output is ``m.notice`` (other bots must not answer it); what must make one person look goes
as ``m.text`` with that person in ``m.mentions``. The outbox key is the transaction id, so the
homeserver drops a resend from the same device; a homeserver refusal is a ``Delivery``, never
an exception.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace

from aiohttp import ClientError
from nio import LocalProtocolError, RoomSendResponse, UploadResponse

from adapters.matrix import formatting as fmt
from adapters.matrix.answers import Transient, refusal
from adapters.matrix.settings import FILE_PART, PLATFORM
from adapters.matrix.state import MatrixState
from chatbot.events import Announce, Attachment, Delivery, DirectMessage, Identity, Outbound, Reply, Where


class Sending(MatrixState):
    """``send`` and the posting it takes: split text, mentions, reply relations, uploads."""

    def channel_label(self, channel: str) -> str | None:
        """A room's name (else its canonical alias) from nio's room cache, for texts that name a
        room; no request, None when the bot knows neither. Room names are anyone's text: like
        every body, it reaches clients escaped in ``formatted_body`` and pings nobody."""
        if self._client is None:
            return None
        room_id = self._aliases.get(channel, channel)
        room = self._client.rooms.get(room_id)
        return room.named_room_name() if room is not None else None

    async def send(self, event: Outbound) -> Delivery:
        """Post one outbound event; never raises for a platform refusal.

        Answers and announcements are ``m.notice``. What is meant to make one person look (a
        DM, a message naming the person it is for) is ``m.text`` unless ``alerts_as_text`` is
        off, because the default push rules never notify for a notice."""
        if self._client is None or not self._logged_in:
            return Delivery("failed", "not connected to the homeserver")
        try:
            if isinstance(event, DirectMessage):
                return await self._send_direct(event.to, fmt.Post(event.text, key=event.key, alert=True,
                                                                  attachment=event.attachment))
            mention = self._mention(event.mention)
            post = fmt.Post(event.text, mention, key=event.key, alert=mention is not None, attachment=event.attachment)
            if isinstance(event, Reply):
                post = replace(post, in_reply_to=event.in_reply_to)
                if event.where.is_direct:
                    if event.to is None:
                        return Delivery("undeliverable", "a direct reply needs a recipient")
                    return await self._send_direct(event.to, post)
                return await self._send_channel(event.where, post)
            if isinstance(event, Announce):
                return await self._send_channel(event.where, post)
            return Delivery("undeliverable", f"unsupported event {type(event).__name__}")
        except (ClientError, asyncio.TimeoutError, OSError, Transient) as e:
            return Delivery("failed", f"homeserver unreachable: {type(e).__name__}: {e}")
        except LocalProtocolError as e:
            return Delivery("failed", f"matrix client: {e}")

    @staticmethod
    def _mention(who: Identity | None) -> fmt.Mention | None:
        if who is None or who.platform != PLATFORM or not who.account:
            return None
        return fmt.Mention(who.account, who.display or who.account)

    async def _send_channel(self, where: Where, post: fmt.Post) -> Delivery:
        if where.platform != PLATFORM or where.channel is None:
            return Delivery("undeliverable", f"not a Matrix room: {where}")
        room_id = await self._room_id(where.channel)
        if room_id is None:
            return Delivery("undeliverable", f"unknown room {where.channel}")
        return await self._post(room_id, post, in_room=True)

    async def _send_direct(self, to: Identity, post: fmt.Post) -> Delivery:
        if to.platform != PLATFORM or not to.account:
            return Delivery("undeliverable", f"not a Matrix user: {to}")
        room = await self._direct_room(to.account)
        if isinstance(room, Delivery):
            return room
        return await self._post(room, post, in_room=False)

    async def _post(self, room_id: str, post: fmt.Post, *, in_room: bool) -> Delivery:
        """room_send each piece of the text; the outbox key is the transaction id.

        A reply in a room relates to the question, which was said in that very room, even when
        it is sent from the outbox after a restart (this process never saw the question). A
        direct reply goes to the DM room, which may not be where the question was asked: it
        relates only to a question seen in that room."""
        in_reply_to = post.in_reply_to
        if in_reply_to and not in_room and self._said_in.get(in_reply_to) != room_id:
            in_reply_to = None
        msgtype = fmt.ALERT_MSGTYPE if post.alert and self.settings.alerts_as_text else fmt.BOT_MSGTYPE
        for part, piece in enumerate(fmt.split_text(post.text, self.settings.max_message_length)):
            first = part == 0  # the name, the ping and the relation once, on the first piece
            content = fmt.message_content(
                piece,
                post.mention if first else None,
                in_reply_to if first else None,
                addressed=in_room,
                msgtype=msgtype,
            )
            resp = await self.client.room_send(
                room_id, "m.room.message", content, tx_id=fmt.txn_id(post.key, part), ignore_unverified_devices=True
            )
            if not isinstance(resp, RoomSendResponse):
                if resp.status_code == "M_UNKNOWN_TOKEN" and self._password:
                    self._logged_in = False
                return refusal(resp, f"sending to {room_id}")
            self._sent.put(resp.event_id)
        if post.attachment is not None:
            return await self._post_file(room_id, post.attachment, fmt.txn_id(post.key, FILE_PART))
        return Delivery("sent")

    async def _post_file(self, room_id: str, attachment: Attachment, tx_id: str | None) -> Delivery:
        """Upload the file to the media repository (encrypted in an encrypted room), then post it
        as m.image or m.file. A resend after a crash uploads again (an unused upload is harmless)
        but posts once: the transaction id is the outbox key's."""
        room = self.client.rooms.get(room_id)
        encrypt = bool(room is not None and room.encrypted)
        uploaded, keys = await self.client.upload(
            io.BytesIO(attachment.data), content_type=attachment.media_type, filename=attachment.name,
            encrypt=encrypt, filesize=len(attachment.data),
        )
        if not isinstance(uploaded, UploadResponse):
            return refusal(uploaded, f"uploading {attachment.name}")
        content = fmt.file_content(attachment, uploaded.content_uri, keys if encrypt else None)
        resp = await self.client.room_send(room_id, "m.room.message", content, tx_id=tx_id, ignore_unverified_devices=True)
        if not isinstance(resp, RoomSendResponse):
            return refusal(resp, f"sending {attachment.name} to {room_id}")
        self._sent.put(resp.event_id)
        return Delivery("sent")
