"""The discord.py client: gateway events routed to the adapter, and the persistent DM buttons.

Buttons are ``DynamicItem``s, handled from their custom id alone, so a click works after a
restart without keeping a View per message.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from adapters.discord.failures import fail_fast_trace, guard_parsers
from adapters.discord.forms import FORM_ID

if TYPE_CHECKING:
    from adapters.discord.adapter import DiscordAdapter

BUTTON_ID = "mentorbot:cmd:"


class _Dynamic:
    """What the adapter's buttons share. They are ``DynamicItem``s: any such button is handled,
    even after a restart, from its custom id alone, without keeping a View per message."""

    #: the template group holding the value the button carries
    group = ""
    value: str

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> Any:
        return cls(item.label or "", match[cls.group])  # type: ignore[call-arg]

    async def callback(self, interaction: discord.Interaction) -> None:
        if isinstance(interaction.client, Client):
            await self.act(interaction.client.adapter, interaction)

    async def act(self, adapter: "DiscordAdapter", interaction: discord.Interaction) -> None:
        raise NotImplementedError


class CommandButton(_Dynamic, discord.ui.DynamicItem[discord.ui.Button], template=r"^mentorbot:cmd:(?P<command>.+)$"):
    """A DM button standing for a text command."""

    group = "command"

    def __init__(self, label: str, command: str) -> None:
        custom_id = BUTTON_ID + command
        if len(custom_id) > 100:
            raise ValueError(f"button command {command!r} is too long for Discord's 100-character custom id")
        super().__init__(discord.ui.Button(label=label[:80] or command[:80], custom_id=custom_id,
                                           style=discord.ButtonStyle.primary))
        self.value = command

    async def act(self, adapter: "DiscordAdapter", interaction: discord.Interaction) -> None:
        await adapter._on_button(interaction, self.value)


class FormButton(_Dynamic, discord.ui.DynamicItem[discord.ui.Button],
                 template=r"^mentorbot:form:(?P<digest>[0-9a-f]{16})$"):
    """The button that opens a DM's form. Only the form's digest is in the custom id; the
    questions are in ``context.kv``, so the button works after a restart too."""

    group = "digest"

    def __init__(self, label: str, digest: str) -> None:
        super().__init__(discord.ui.Button(label=label[:80] or "Answer", custom_id=FORM_ID + digest,
                                           style=discord.ButtonStyle.success))
        self.value = digest

    async def act(self, adapter: "DiscordAdapter", interaction: discord.Interaction) -> None:
        await adapter._open_form(interaction, self.value)


class Client(discord.Client):
    """One connection's client: discord.py's events go to the adapter's handlers."""

    def __init__(self, adapter: "DiscordAdapter", **options: Any) -> None:
        self.adapter = adapter  # before discord.py's __init__, which sets ``ws``
        super().__init__(http_trace=fail_fast_trace(), **options)
        self.tree = app_commands.CommandTree(self)
        guard_parsers(self)

    @property  # type: ignore[override]  # discord.py declares ``ws`` a plain attribute; a property sees each one set
    def ws(self) -> Any:
        return self._gateway

    @ws.setter
    def ws(self, ws: Any) -> None:
        """Each gateway websocket discord.py opens (``connect`` sets ``ws``, then loops on its
        ``poll_event``) polls only while the engine keeps up: the one place discord.py awaits
        before reading the next frame."""
        if ws is not None:
            ws.poll_event = self.adapter._backlog.gate(ws.poll_event, self.is_closed)
        self._gateway = ws

    async def close(self) -> None:
        self.adapter._backlog.release()  # a paused reading loop must see the close to end
        await super().close()

    async def setup_hook(self) -> None:
        self.add_dynamic_items(CommandButton, FormButton)
        await self.adapter._first_sync()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.modal_submit:
            custom_id = str((interaction.data or {}).get("custom_id", ""))
            if custom_id.startswith(FORM_ID):
                await self.adapter._on_form_submit(interaction)

    async def on_ready(self) -> None:
        self.adapter._on_ready()

    async def on_resumed(self) -> None:
        self.adapter._on_ready()

    async def on_disconnect(self) -> None:
        self.adapter._on_disconnect()

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter._on_message(message)

    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        await self.adapter._on_membership(payload.user, joined=False)

    async def on_member_join(self, member: discord.Member) -> None:
        await self.adapter._on_membership(member, joined=True)
