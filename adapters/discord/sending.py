"""Outbound sending: replies, announcements and DMs as Discord messages, exactly once.

New DMs are paced by a token bucket (a reply in a DM to what the person just wrote is not), DM
channels are cached in memory and in ``context.kv``, and each message carries a nonce from the
outbox key so a resend makes no second message. A send that raised may have been carried out:
the adapter looks for the message (the gateway's echo of its nonce, else the channel's recent
history) before the outbox retries. Error 50007 (no DMs accepted) is ``undeliverable``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from typing import Any, Sequence

import aiohttp
import discord

from adapters.discord.client import CommandButton, FormButton
from adapters.discord.failures import CANNOT_DM, FAIL_FAST, UNKNOWN_CHANNEL, error_text, refused
from adapters.discord.forms import MODAL_INPUTS, form_digest
from adapters.discord.state import DiscordState
from adapters.discord.text import discord_user_id, file_option, mentions_allowed, nonce_of, outgoing_text, \
    split_message
from chatbot.events import SENT, Announce, Attachment, Button, Delivery, DirectMessage, Form, Identity, Outbound, \
    Reply, Where

log = logging.getLogger("adapters.discord")

#: messages of the channel's history searched for one whose send raised
CONFIRM_LOOKBACK = 25


class Sending(DiscordState):
    """``send`` and what it takes: channels, DM channels, buttons, forms, files, confirmation."""

    def channel_label(self, channel: str) -> str | None:
        """``#name`` of a guild channel or thread from discord.py's cache (no request), for texts
        that name a channel; None for an id the cache lacks. A name never pings: everything is
        sent with ``AllowedMentions.none()``. Not ``<#id>``: the text may be read on IRC."""
        if self._client is None or not channel.isdigit():
            return None
        found = self._client.get_channel(int(channel))
        name = getattr(found, "name", None)
        return f"#{name}" if isinstance(found, (discord.abc.GuildChannel, discord.Thread)) and name else None

    async def send(self, event: Outbound) -> Delivery:
        if self._client is None or self._stopped:
            return Delivery("failed", "the Discord adapter is not running")
        fail_fast = FAIL_FAST.set(True)
        try:
            if isinstance(event, Reply):
                return await self._send_reply(event)
            if isinstance(event, DirectMessage):
                return await self._send_dm(event.to, event.text, buttons=event.buttons, form=event.form, key=event.key,
                                           attachment=event.attachment)
            if isinstance(event, Announce):
                return await self._send_channel(event.where, event.text, mention=event.mention, key=event.key,
                                                attachment=event.attachment)
            return Delivery("failed", f"cannot send {type(event).__name__}")
        except discord.HTTPException as exc:
            if exc.code == CANNOT_DM:
                return Delivery("undeliverable", str(CANNOT_DM))
            return Delivery("failed", f"{exc.status} {exc.code}: {exc.text}"[:300])
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError) as exc:
            return Delivery("failed", f"{type(exc).__name__}: {exc}"[:300])
        except Exception:
            if self._stopped:  # stop() closed the HTTP session under an unfinished send
                return Delivery("failed", "the Discord adapter stopped")
            raise
        finally:
            FAIL_FAST.reset(fail_fast)

    async def _send_reply(self, reply: Reply) -> Delivery:
        pending = self._pending.get(reply.in_reply_to or "") or self._unsure.get(reply.in_reply_to or "")
        if pending is not None:
            try:
                delivery = await self._answer(pending, reply)
            finally:
                pending.note_reply()
            if delivery is not None:
                return delivery
        if reply.where.is_direct or reply.private:  # never show a private reply in a channel
            if reply.to is None:
                return Delivery("failed", "a private reply needs Reply.to")
            in_reply_to = reply.in_reply_to if reply.where.is_direct else None
            return await self._send_dm(reply.to, reply.text, mention=reply.mention, in_reply_to=in_reply_to,
                                       paced=not reply.where.is_direct, key=reply.key, attachment=reply.attachment)
        return await self._send_channel(reply.where, reply.text, mention=reply.mention, in_reply_to=reply.in_reply_to,
                                        key=reply.key, attachment=reply.attachment)

    async def _send_channel(self, where: Where, text: str, *, mention: Identity | None = None,
                            in_reply_to: str | None = None, key: str | None = None,
                            attachment: Attachment | None = None) -> Delivery:
        if where.channel is None:
            return Delivery("undeliverable", "no channel to send to")
        if not where.channel.isdigit():
            raise ValueError(f"not a Discord channel: {where.channel!r}")
        assert self._client is not None
        channel = self._client.get_partial_messageable(int(where.channel))
        await self._post(channel, text, mention=mention, in_reply_to=in_reply_to, key=key, attachment=attachment)
        return SENT

    async def _send_dm(self, to: Identity, text: str, *, buttons: Sequence[Button] = (), form: Form | None = None,
                       mention: Identity | None = None, in_reply_to: str | None = None, paced: bool = True,
                       key: str | None = None, attachment: Attachment | None = None) -> Delivery:
        user_id = discord_user_id(to)
        view = None
        if form is not None and not 1 <= len(form.questions) <= MODAL_INPUTS:
            log.info("a form of %d questions does not fit a Discord modal; the text answer stays", len(form.questions))
            form = None
        if buttons or form is not None:
            view = discord.ui.View(timeout=None)
            for button in buttons[: 25 - (form is not None)]:
                view.add_item(CommandButton(button.label, button.command))
            if form is not None:
                view.add_item(FormButton(form.label, self._keep_form(form)))
        if paced:
            await self._pacer.acquire()
        for attempt in (1, 2):
            channel_id = await self._dm_channel(user_id)
            assert self._client is not None
            channel = self._client.get_partial_messageable(channel_id, type=discord.ChannelType.private)
            try:
                await self._post(channel, text, mention=mention, in_reply_to=in_reply_to, view=view, key=key,
                                 attachment=attachment)
                return SENT
            except discord.NotFound as exc:  # a DM channel id kept from before that no longer exists
                if exc.code != UNKNOWN_CHANNEL or attempt == 2:
                    raise
                self._forget_dm(user_id)
        raise AssertionError("unreachable")

    async def _dm_channel(self, user_id: int) -> int:
        """The DM channel with a user: from memory, from kv (across restarts), or created once."""
        async with self._dm_lock:  # concurrent sends to one person open the channel once
            if user_id in self._dm_channels:
                return self._dm_channels[user_id]
            kept = self.context.kv.get(f"discord.dm.{user_id}")
            if kept and kept.isdigit():
                channel_id = int(kept)
            else:
                assert self._client is not None
                channel_id = (await self._client.create_dm(discord.Object(user_id))).id
                self.context.kv.set(f"discord.dm.{user_id}", str(channel_id))
            self._dm_channels[user_id] = channel_id
            return channel_id

    def _keep_form(self, form: Form) -> str:
        """Store a form's questions under its digest (once) for the button to find later."""
        digest = form_digest(form)
        key = f"discord.form.{digest}"
        if self.context.kv.get(key) is None:
            self.context.kv.set(key, json.dumps({"title": form.title, "questions": list(form.questions), "first": form.first}))
        return digest

    def _forget_dm(self, user_id: int) -> None:
        self._dm_channels.pop(user_id, None)
        self.context.kv.set(f"discord.dm.{user_id}", "")

    async def _post(self, channel: discord.PartialMessageable, text: str, *, mention: Identity | None,
                    in_reply_to: str | None = None, view: discord.ui.View | None = None, key: str | None = None,
                    attachment: Attachment | None = None) -> None:
        """Post ``text`` in as many messages as it takes, a file with the last (multipart upload,
        as discord.py sends ``file=``). With the outbox key, each message carries
        a nonce derived from it, which discord.py sends with ``enforce_nonce``: Discord then
        creates no second message for a resend within a few minutes (a kill between the send and
        the outbox's "sent" mark)."""
        chunks = split_message(outgoing_text(text, mention))
        allowed = mentions_allowed(mention)
        first = self._partial.pop(key, 0) if key is not None else 0  # parts out before a failure
        for i, chunk in enumerate(chunks):
            if i < first:
                continue
            options: dict[str, Any] = {"allowed_mentions": allowed}
            nonce = nonce_of(key, i) if key is not None else None
            if nonce is not None:
                options["nonce"] = nonce
            if i == 0 and in_reply_to and in_reply_to.isdigit():
                options["reference"] = discord.MessageReference(message_id=int(in_reply_to), channel_id=channel.id,
                                                                fail_if_not_exists=False)
            if i == len(chunks) - 1:
                if view is not None:
                    options["view"] = view
                options.update(file_option(attachment))
            began = discord.utils.utcnow()
            try:
                message = await channel.send(chunk, **options)
            except Exception as exc:
                if refused(exc) or not await self._posted(channel, chunk, nonce, began):
                    if key is not None and i:
                        self._partial.put(key, i)
                    raise
                log.info("a Discord send raised (%s) but the message is there; counted as sent", error_text(exc))
            else:
                self._posted_ids.put(message.id)

    async def _posted(self, channel: discord.PartialMessageable, text: str, nonce: str | None,
                      began: datetime) -> bool:
        """Whether a message whose send raised exists: the gateway echoed its nonce, or the
        channel's recent history holds it (same nonce, or same text from us since the send
        began and not a message we already know). Unknown counts as no."""
        if nonce is not None and nonce in self._seen_nonces:
            return True
        me = self._client.user if self._client is not None else None
        if me is None:
            return False
        try:
            async for message in channel.history(limit=CONFIRM_LOOKBACK):
                if message.author.id != me.id or message.id in self._posted_ids:
                    continue
                if nonce is not None and message.nonce is not None:
                    if str(message.nonce) == nonce:
                        return True
                elif message.content == text and message.created_at >= began - timedelta(seconds=5):
                    return True
        except Exception as exc:
            log.debug("could not look for a message whose send raised: %s", error_text(exc))
        return False
