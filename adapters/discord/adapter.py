"""The Discord adapter: discord.py 2.x with an app-command tree built from the CommandSpecs.

What it translates, and nothing more (no role decisions, no reply wording):

- **Slash commands** (see :mod:`adapters.discord.commands` for how specs become commands) ->
  :class:`CommandInvoked`. The interaction is answered by the engine's ``Reply`` (matched by
  ``in_reply_to == event_id``). Discord drops an interaction that is not acknowledged within
  3 s, so if no reply has come after ``defer_after`` seconds the adapter defers (ephemerally for a
  private spec) and the reply becomes the follow-up. An interaction the engine leaves without a
  reply is closed silently (the "thinking…" placeholder is removed).
- **Autocomplete** on the options :mod:`adapters.discord.commands` marks -> ``CompletionRequested``;
  the engine's list of values is the answer (nothing is offered if it fails or is slow).
- **Text**: DMs, and ``!`` commands in channels when ``message_content`` is on -> ``TextReceived``,
  verbatim but for user mentions in a command, ``<@id>``, which become ``discord:id`` (how the
  core names a person by account; it parses no platform's syntax). Bots (and the bot itself)
  are ignored.
- **Outbound**: replies and announcements to channels, direct messages through a cached DM
  channel (in memory and in ``context.kv``). New DMs (``DirectMessage``: prompts, reminders, fan-outs)
  are paced by a token bucket; a reply in a DM to what the person just wrote is not, so one
  announcement to many never slows down the conversations going on meanwhile. Everything is
  sent with ``AllowedMentions.none()`` except the one ``mention`` a Reply/Announce names.
  ``DirectMessage.buttons`` become persistent buttons (a ``DynamicItem``, so clicks still work
  after a restart) whose click reaches the engine as the ``TextReceived`` of ``Button.command``.
  ``DirectMessage.form`` becomes one more button that opens a modal with a paragraph input per
  question (Discord allows 5; a longer form is left to the text answer the message asks for). The
  submission reaches the engine as one ``TextReceived`` in the DM, numbered ``1. ...\n2. ...``
  (a blank answer is ``-``), exactly what a person would type. The form's questions are kept in
  ``context.kv`` under a digest, so a button still opens its form after a restart; submissions
  are read from the interaction itself (no modal object waits in memory).
  Error 50007 (the user does not accept DMs) -> ``Delivery("undeliverable", "50007")``, once: the
  engine does not retry it.
- **Channel labels**: ``channel_label`` names a channel ``#name`` from discord.py's cache, for
  texts that mention one (a DM saying where the queue is); no request, None when unknown.
- **Start-up**: commands are synced in ``setup_hook`` (never ``on_ready``, which fires again
  after a failed RESUME), and only when their payload changed since the last sync (a digest in
  ``context.kv``) or the server lacks one of them. Reconnects and resumes are discord.py's.
  Slash commands are optional: a failed sync (a 400, a reply without ids) is logged once with
  Discord's error, reported as ``degraded`` and retried in the background with backoff, while
  text commands and DMs go on.
- **Staying up** (the supervisor in ``chatbot.supervisor`` restarts what ends): ``stop()``
  leaves nothing behind, so ``start()`` after a failure builds a new client. A gateway event
  discord.py cannot parse (a DM ``MESSAGE_CREATE`` with ``"guild_id": null``) is logged with its
  type and dropped instead of ending the client; a client that ends anyway reports ``failed``.
- **Unknown outcomes**: a send that raised may still have been carried out (a 5xx after the
  message was made). Then the adapter looks for the message (its nonce from the gateway
  echo, else the channel's recent history) and counts it as sent if it is there; if not, the
  outbox retries with the same nonce. An interaction answer that raised is checked the same
  way (``@original``), and never deleted because of a local error. A 5xx during ``send`` fails
  at once (discord.py would retry it for ~15 s while every other message waits).
- **Mentions**: besides ``allowed_mentions``, ``@everyone``, ``@here`` and ``<@…>``/``<@&…>`` in
  outgoing text get a zero-width space after the ``@`` (:func:`defuse_mentions`), so a server
  or client that ignores ``allowed_mentions`` pings nobody either; only the ``<@id>`` the adapter
  builds itself for the event's ``mention`` is live.
"""

from __future__ import annotations

from typing import Any

from adapters.base import AdapterContext, Capabilities
from adapters.discord.command_sync import CommandSync
from adapters.discord.inbound import InboundTranslation
from adapters.discord.interactions import Interactions
from adapters.discord.lifecycle import Lifecycle
from adapters.discord.sending import Sending
from adapters.discord.settings import PLATFORM, DiscordSettings


class DiscordAdapter(Lifecycle, CommandSync, InboundTranslation, Interactions, Sending):
    """One bot application on Discord. See the module docstring for what it translates; each
    base class is one role (its module says which), over the shared state of ``DiscordState``."""

    platform = PLATFORM
    capabilities = Capabilities(direct_messages=True, ephemeral_replies=True, attachments=True, forms=True,
                                parallel_sends=4)  # discord.py keeps each route's rate limit


def create(settings: dict[str, Any], context: AdapterContext) -> DiscordAdapter:
    """The ``mentorbot.adapters`` entry point."""
    return DiscordAdapter(DiscordSettings.model_validate(settings or {}), context)


#: lets `mentorbot check-config` validate this adapter's settings without starting it
create.settings_model = DiscordSettings  # type: ignore[attr-defined]
