"""The Discord adapter (see :mod:`adapters.discord.adapter`): ``adapters.discord:create`` is its entry point."""

from adapters.discord.adapter import (
    FORM_ID,
    DiscordAdapter,
    DiscordConfigError,
    DiscordSettings,
    _chunks,
    create,
    defuse_mentions,
    discord,
    form_digest,
    nonce_of,
    outgoing_text,
)

__all__ = ["FORM_ID", "DiscordAdapter", "DiscordConfigError", "DiscordSettings", "_chunks", "create",
           "defuse_mentions", "discord", "form_digest", "nonce_of", "outgoing_text"]
