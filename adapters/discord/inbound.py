"""Inbound translation: messages, slash commands, autocomplete, buttons and forms to the core's events.

Text is read in DMs, and ``!`` commands in channels when ``message_content`` is on; a user
mention in a command, ``<@id>``, becomes ``discord:id`` (the core parses no platform's syntax).
Bots, the bot itself and webhooks are ignored. Interactions go on to ``interactions``, which
answers Discord within its 3 s.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord

from adapters.discord.forms import FORM_ID, build_modal, form_answers, load_form
from adapters.discord.settings import PLATFORM
from adapters.discord.state import DiscordState
from adapters.discord.text import USER_MENTION
from chatbot.commands import Arg, CommandSpec
from chatbot.events import CommandInvoked, CompletionRequested, Identity, Inbound, Left, Returned, TextReceived, Where

log = logging.getLogger("adapters.discord")

#: how long an autocomplete may wait for the engine (Discord drops it after 3 s)
COMPLETE_TIMEOUT = 2.0


class InboundTranslation(DiscordState):
    """Who did what where, as the core names it, handed to the sink."""

    async def _deliver(self, event: Inbound) -> Any:
        """The engine's ``Handled`` for the event (None if it failed). Counted while the engine
        holds it: too many and the gateway is not read until it catches up (``backlog``)."""
        assert self._sink is not None
        self._backlog.enter()
        try:
            return await self._sink(event)
        except Exception:
            log.exception("the engine failed on %r", event)
            return None
        finally:
            self._backlog.leave()

    async def _on_membership(self, user: discord.abc.User, *, joined: bool) -> None:
        """Leaving the server is ``Left`` (how ``guild``) in every channel of the platform, and
        joining it ``Returned`` (member events need the members intent, ``members_intent``)."""
        if user.bot:
            return
        everywhere = Where(PLATFORM, None)
        who = self._identity(user)
        await self._deliver(Returned(who, everywhere) if joined else Left(who, everywhere, "guild"))

    def _identity(self, user: discord.abc.User) -> Identity:
        return Identity(PLATFORM, str(user.id), user.display_name)

    def _roles_of(self, user: discord.abc.User) -> frozenset[str]:
        """Mapped roles: the member's in a guild; in a DM, the union over the configured guilds."""
        role_map = self.settings.role_map
        if not role_map or self._client is None:
            return frozenset()
        if isinstance(user, discord.Member):
            members: list[discord.Member | None] = [user]
        else:
            guilds = [self._client.get_guild(g) for g in self.settings.guilds] or list(self._client.guilds)
            members = [g.get_member(user.id) for g in guilds if g is not None]
        return frozenset(role_map[r.name] for m in members if m is not None for r in m.roles if r.name in role_map)

    async def _on_message(self, message: discord.Message) -> None:
        me = self._client.user if self._client is not None else None
        if me is not None and message.author.id == me.id and message.nonce is not None:
            self._seen_nonces.put(str(message.nonce))  # the proof a send that raised went through
        if message.author.bot or message.webhook_id is not None:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        text, prefix = message.content, self.settings.prefix
        if isinstance(message.channel, discord.DMChannel):
            where = Where(PLATFORM, None)
        elif message.guild is not None and self.settings.message_content and text.startswith(prefix):
            where = Where(PLATFORM, str(message.channel.id))
        else:
            return
        if not text.strip():
            return
        if text.startswith(prefix):  # "!session log <@123> 45m": the core names people platform:account
            text = USER_MENTION.sub(lambda m: f"{PLATFORM}:{m.group(1)}", text)
        await self._deliver(TextReceived(who=self._identity(message.author), where=where, text=text,
                                         event_id=str(message.id), prefix=prefix,
                                         platform_roles=self._roles_of(message.author)))

    def _where(self, interaction: discord.Interaction) -> Where:
        """A guild channel's id; None for a DM, and for an interaction without a channel id
        (never the string 'None')."""
        if interaction.guild_id is None or interaction.channel_id is None:
            return Where(PLATFORM, None)
        return Where(PLATFORM, str(interaction.channel_id))

    async def _on_command(self, interaction: discord.Interaction, spec: CommandSpec, args: dict[str, str]) -> None:
        event = CommandInvoked(who=self._identity(interaction.user), where=self._where(interaction), path=spec.path,
                               args=args, event_id=str(interaction.id),
                               platform_roles=self._roles_of(interaction.user))
        await self._converse(interaction, event, private=spec.private, is_command=True)

    async def _on_complete(self, interaction: discord.Interaction, spec: CommandSpec, arg: Arg,
                           partial: str) -> list[str]:
        """The engine's values for an argument being typed; none if it fails or is too slow."""
        event = CompletionRequested(who=self._identity(interaction.user), where=self._where(interaction),
                                    path=spec.path, arg=arg.name, partial=partial,
                                    platform_roles=self._roles_of(interaction.user))
        assert self._sink is not None
        try:
            values = await asyncio.wait_for(self._sink(event), COMPLETE_TIMEOUT)
        except asyncio.TimeoutError:
            log.warning("the engine took over %.1f s to complete %s %s", COMPLETE_TIMEOUT, spec.name, arg.name)
            return []
        except Exception:
            log.exception("the engine failed to complete %s %s", spec.name, arg.name)
            return []
        return [str(v) for v in values or ()]

    async def _open_form(self, interaction: discord.Interaction, digest: str) -> None:
        """A form button: show its modal (the answer to the click, so within Discord's 3 s)."""
        form = load_form(self.context.kv.get(f"discord.form.{digest}"))
        try:
            if form is None:  # the kv lost it: the text answer still works
                await interaction.response.send_message("This form is no longer available; please answer with a "
                                                        "message instead.", ephemeral=True)
                return
            await interaction.response.send_modal(build_modal(form, digest))
        except discord.HTTPException as exc:
            log.warning("could not open form %s for interaction %s: %s", digest, interaction.id, exc)

    async def _on_form_submit(self, interaction: discord.Interaction) -> None:
        """A modal submission: the numbered answers, as the person would have typed them."""
        digest = str((interaction.data or {}).get("custom_id", "")).removeprefix(FORM_ID)
        form = load_form(self.context.kv.get(f"discord.form.{digest}"))
        event = TextReceived(who=self._identity(interaction.user), where=self._where(interaction),
                             text=form_answers(interaction.data or {}, form.first if form else 1), event_id=str(interaction.id),
                             prefix=self.settings.prefix, platform_roles=self._roles_of(interaction.user))
        await self._converse(interaction, event, private=False, is_command=False)

    async def _on_button(self, interaction: discord.Interaction, command: str) -> None:
        prefix = self.settings.prefix if command.startswith(self.settings.prefix) else "!"
        event = TextReceived(who=self._identity(interaction.user), where=self._where(interaction), text=command,
                             event_id=str(interaction.id), prefix=prefix,
                             platform_roles=self._roles_of(interaction.user))
        await self._converse(interaction, event, private=False, is_command=False)
