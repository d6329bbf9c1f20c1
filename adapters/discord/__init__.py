"""The Discord adapter (see :mod:`adapters.discord.adapter`): ``adapters.discord:create`` is its entry point.

Parts, one module each: ``settings`` (the config), ``state`` (what every part shares),
``lifecycle`` (start, stop, the gateway's state), ``command_sync`` (slash commands synced when
they changed), ``client`` (discord.py's client and the persistent buttons), ``inbound`` (events
in), ``interactions`` (answering within Discord's 3 s), ``sending`` (messages out, paced and
confirmed), ``text`` (mentions defused, splitting, nonces), ``failures`` (5xx and unparsable
gateway events), ``commands`` (CommandSpecs as app commands), ``forms`` (a DM's form as a modal).
"""

from adapters.discord.adapter import DiscordAdapter, create
from adapters.discord.settings import PLATFORM, DiscordConfigError, DiscordSettings
from adapters.discord.text import defuse_mentions, nonce_of, outgoing_text

__all__ = ["PLATFORM", "DiscordAdapter", "DiscordConfigError", "DiscordSettings", "create", "defuse_mentions",
           "nonce_of", "outgoing_text"]
