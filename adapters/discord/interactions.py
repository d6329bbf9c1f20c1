"""Interactions: answering Discord within its 3 s, as the engine's reply, a follow-up, or silence.

If no reply has come after ``defer_after`` seconds the interaction is deferred (ephemerally for
a private spec) and the reply becomes the follow-up; an interaction the engine leaves without a
reply is closed silently. An answer that raised may still be showing: it is never deleted, and
a retry looks for it (``@original``) before answering again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import discord

from adapters.discord.failures import error_text, refused
from adapters.discord.state import DiscordState
from adapters.discord.text import file_option, mentions_allowed, outgoing_text, split_message
from chatbot.events import SENT, Delivery, Inbound, Reply

log = logging.getLogger("adapters.discord")

#: how long an interaction waits (deferred) for the sender to hand over its answers; Discord keeps
#: an interaction token 15 minutes
ANSWER_WAIT = 600


@dataclass(eq=False)
class Pending:
    """An interaction waiting for the engine's answer."""

    interaction: discord.Interaction
    #: deferring makes the placeholder ephemeral (a private spec)
    private: bool
    #: a slash command (defer shows "thinking…") rather than a button click (defer is silent)
    is_command: bool
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    deferred: bool = False
    answered: bool = False
    #: acknowledging failed (expired): replies take the ordinary way
    dead: bool = False
    #: answering raised, so the answer may be showing: never delete it, look before resending
    unsure: bool = False
    #: the engine's answers to it that the sender has handed over so far, and how many it recorded
    replies: int = 0
    expected: int = 0
    all_replied: asyncio.Event = field(default_factory=asyncio.Event)

    def note_reply(self) -> None:
        self.replies += 1
        if self.replies >= self.expected:
            self.all_replied.set()

    def expect(self, answers: int) -> None:
        self.expected = answers
        if self.replies >= answers:
            self.all_replied.set()


class Interactions(DiscordState):
    """One interaction, from the engine's event to Discord's answer."""

    async def _converse(self, interaction: discord.Interaction, event: Inbound, *, private: bool,
                        is_command: bool) -> None:
        """Hand an interaction to the engine and make sure Discord hears back within its 3 s."""
        pending = Pending(interaction, private, is_command)
        self._pending[str(interaction.id)] = pending
        try:
            began = asyncio.get_running_loop().time()
            handling = asyncio.create_task(self._deliver(event))
            done, _ = await asyncio.wait({handling}, timeout=self.settings.defer_after)
            if not done:
                await self._defer(pending)
            handled = await handling
            # The engine has committed its answers; the background sender hands them over (to
            # ``send``, which answers the interaction). Wait for them, deferring in time if they
            # are late, and only then close an interaction the engine left without an answer.
            pending.expect(getattr(handled, "answers", 0))
            left = self.settings.defer_after - (asyncio.get_running_loop().time() - began)
            try:
                await asyncio.wait_for(pending.all_replied.wait(), max(0.0, left))
            except asyncio.TimeoutError:
                await self._defer(pending)
                try:
                    await asyncio.wait_for(pending.all_replied.wait(), ANSWER_WAIT)
                except asyncio.TimeoutError:
                    log.warning("interaction %s: the answer was not sent within %d s", interaction.id, ANSWER_WAIT)
            await self._finish(pending)
        finally:
            self._pending.pop(str(interaction.id), None)
            if pending.unsure and not pending.answered:
                self._unsure.put(str(interaction.id), pending)

    async def _defer(self, pending: Pending) -> None:
        async with pending.lock:
            if pending.interaction.response.is_done() or pending.dead:
                return
            try:
                if pending.is_command:
                    await pending.interaction.response.defer(ephemeral=pending.private, thinking=True)
                else:
                    await pending.interaction.response.defer()
                pending.deferred = True
            except discord.HTTPException as exc:
                log.warning("could not defer interaction %s: %s", pending.interaction.id, exc)
                pending.dead = True

    async def _finish(self, pending: Pending) -> None:
        """The engine is done and said nothing: close the interaction without a message."""
        async with pending.lock:
            if pending.answered or pending.dead or pending.unsure:
                return  # an answer that raised may be what the person is reading: leave it
            response = pending.interaction.response
            try:
                if not pending.is_command:
                    if not response.is_done():
                        await response.defer()
                    return
                if not response.is_done():
                    await response.defer(ephemeral=True, thinking=True)
                await pending.interaction.delete_original_response()
            except discord.HTTPException as exc:
                log.warning("could not close interaction %s: %s", pending.interaction.id, exc)

    async def _answer(self, pending: Pending, reply: Reply) -> Delivery | None:
        """The reply as the interaction's response or follow-up. None: the interaction is unusable."""
        async with pending.lock:
            if pending.dead:
                return None
            interaction, allowed = pending.interaction, mentions_allowed(reply.mention)
            chunks = split_message(outgoing_text(reply.text, reply.mention))
            file = file_option(reply.attachment)  # with the first part
            if pending.unsure:  # an earlier try raised: if its answer is there, that was it
                if await self._answer_shows(interaction, chunks[0]):
                    pending.answered = True
                    return SENT
                return None  # the ordinary way, with the outbox key's nonce
            try:
                if not interaction.response.is_done():
                    await interaction.response.send_message(chunks[0], ephemeral=reply.private,
                                                            allowed_mentions=allowed, **file)
                elif pending.deferred and pending.is_command and not pending.answered and reply.private \
                        and not pending.private:
                    # The first follow-up fills in the public "thinking…" message and keeps its
                    # visibility; resolve it first so the private answer can be ephemeral.
                    await interaction.edit_original_response(content="…",
                                                             allowed_mentions=discord.AllowedMentions.none())
                    await interaction.followup.send(chunks[0], ephemeral=True, allowed_mentions=allowed, **file)
                    await interaction.delete_original_response()
                else:  # after a defer the first follow-up fills in the "thinking…" message
                    await interaction.followup.send(chunks[0], ephemeral=reply.private, allowed_mentions=allowed, **file)
                chunks = chunks[1:]
            except Exception as exc:
                pending.unsure = True
                if refused(exc) or not await self._answer_shows(interaction, chunks[0]):
                    raise
                log.info("answering interaction %s raised (%s) but the answer is there", interaction.id,
                         error_text(exc))
                chunks = chunks[1:]
            pending.answered = True  # from here on the answer is showing: never delete it
            for chunk in chunks:
                await interaction.followup.send(chunk, ephemeral=reply.private, allowed_mentions=allowed)
            return SENT

    async def _answer_shows(self, interaction: discord.Interaction, text: str) -> bool:
        """Whether the interaction's original response is ``text`` (so an answer that raised
        was posted after all). Unknown counts as no."""
        try:
            message = await interaction.original_response()
        except Exception as exc:
            log.debug("could not read interaction %s's answer: %s", interaction.id, error_text(exc))
            return False
        return message.content == text
