"""The Discord adapter's settings, and the start failure that retrying cannot fix.

Kept apart so that ``mentorbot check-config`` and every part of the adapter read one definition.
The token itself is never a setting: only the name of the environment variable holding it.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chatbot.commands import ROLES

PLATFORM = "discord"


class DiscordSettings(BaseModel):
    """``[adapters.discord]`` in the config. The token itself only ever comes from ``token_env``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token_env: str = "MENTORBOT_DISCORD_TOKEN"
    application_id: int | None = None
    #: guild ids to sync the slash commands to (fast to update); empty: global commands
    guilds: tuple[int, ...] = ()
    #: REST base (``.../api/v10``) and gateway (``ws://...``) of a Discord-compatible server
    api_base: str | None = None
    gateway_url: str | None = None
    prefix: str = Field("!", pattern=r"^\S+$")
    #: read ``!`` commands in channels (needs the privileged message-content intent)
    message_content: bool = False
    #: guild role name -> bot role, reported as ``platform_roles``
    role_map: dict[str, str] = Field(default_factory=dict)
    #: the members intent (privileged); default: on when ``role_map`` is set, so DMs know roles too.
    #: Without it the bot does not hear people leave the server (office hours then keep their place)
    members_intent: bool | None = None
    #: DM pacing: ``dm_burst`` at once, then ``dm_rate`` per second
    dm_rate: float = Field(5.0, gt=0)
    dm_burst: int = Field(5, ge=1)
    #: seconds to wait for the engine's reply before deferring an interaction (Discord allows 3)
    defer_after: float = Field(1.5, gt=0, le=2.5)
    #: discord.py waits this long after the last GUILD_CREATE before on_ready
    guild_ready_timeout: float = Field(2.0, ge=0)
    #: start() returns after this long even if the gateway is not ready (it keeps trying)
    start_timeout: float = Field(60.0, gt=0)
    #: seconds before a failed slash-command sync is tried again (doubling up to the maximum)
    sync_retry_delay: float = Field(30.0, gt=0)
    sync_retry_max_delay: float = Field(900.0, gt=0)

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("api_base must be an http(s) URL like https://discord.com/api/v10")
        return value.rstrip("/") if value else value

    @field_validator("gateway_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^wss?://[^/\s]+", value):
            raise ValueError("gateway_url must be a ws(s) URL like wss://gateway.discord.gg/")
        return value

    @field_validator("role_map")
    @classmethod
    def _roles(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(r for r in value.values() if r not in ROLES)
        if bad:
            raise ValueError(f"role_map maps to unknown roles {bad}; choose from {ROLES}")
        return value

    @property
    def wants_members(self) -> bool:
        return self.members_intent if self.members_intent is not None else bool(self.role_map)


class DiscordConfigError(RuntimeError, ValueError):
    """A start failure that retrying cannot fix (no token, a refused token, an intent the
    application may not use). A ValueError, which the supervisor does not retry."""
