"""The ``[adapters.irc]`` settings, validated before anything connects."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.irc import text
from chatbot.commands import ROLES

PLATFORM = "irc"


class IrcLoginError(ValueError):
    """The server refused the bot's SASL login: retrying with the same settings will not help.

    A ValueError, which the composition root treats as a configuration error (no retry)."""


class IrcSettings(BaseModel):
    """The ``[adapters.irc]`` settings. The SASL password is read from ``password_env``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int | None = Field(None, ge=1, le=65535, description="default 6697 with TLS, else 6667")
    tls: bool = False
    tls_verify: bool = True
    tls_ca_file: str | None = None
    nick: str
    username: str | None = None
    realname: str = "mentorbot"
    #: who a person is: ``services`` (their services account, from SASL/account-tag/extended-join/
    #: WHOX; not logged in = anonymous) or ``hostmask`` (their ``nick!user@host``, for networks
    #: without services; see the README for what that trusts)
    identity: Literal["services", "hostmask"] = "services"
    #: bot role -> masks (``*`` and ``?`` wildcards, e.g. ``*!*@staff.example.org``) of the people
    #: the adapter vouches for in that role (hostmask mode), as Discord's ``role_map`` does
    role_masks: dict[str, list[str]] = Field(default_factory=dict)
    sasl_account: str | None = None
    password_env: str = "MENTORBOT_IRC_PASSWORD"
    channels: list[str] = Field(default_factory=list)
    prefix: str = "!"
    #: lines sent at once, then ``rate`` lines per second: 5 and 1/s stay under stock ircd
    #: flood limits (hybrid: 5 then 1/s; InspIRCd: 10 then 1/s; solanum: similar), with room
    #: for PONGs and the bot's own JOIN/WHO/WHOIS lines.
    burst: int = Field(5, ge=1, le=1000)
    rate: float = Field(1.0, gt=0, le=10000)
    reconnect_min_delay: float = Field(2.0, gt=0)
    #: at most 30 s between tries: a bot that is away for minutes after a short outage misleads
    reconnect_max_delay: float = Field(30.0, gt=0, le=30)
    #: seconds of silence from the server before the bot sends a PING ...
    ping_interval: float = Field(90.0, gt=0)
    #: ... and seconds it waits for any reply before it calls the link dead and reconnects
    ping_timeout: float = Field(60.0, gt=0)
    #: seconds for TCP/TLS connect and for registration (001) each
    connect_timeout: float = Field(30.0, gt=0)
    #: seconds between NICK attempts to regain the configured nick (MONITOR is faster)
    regain_interval: float = Field(60.0, gt=0)
    quit_message: str = "mentorbot"

    @field_validator("nick", "username", "sasl_account")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and (not text.valid_target(value) or value[0] in "#&-0123456789"):
            raise ValueError(f"{value!r} is not a valid IRC name")
        return value

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        for channel in value:
            if not text.valid_target(channel) or channel[0] not in "#&":
                raise ValueError(f"{channel!r} is not a channel name (like #mentors)")
        return value

    @field_validator("role_masks")
    @classmethod
    def _role_masks(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        bad = sorted(r for r in value if r not in ROLES)
        if bad:
            raise ValueError(f"role_masks names unknown roles {bad}; choose from {ROLES}")
        for mask in (m for masks in value.values() for m in masks):
            if not re.fullmatch(r"[^\s!@]+![^\s!@]+@[^\s!@]+", mask):
                raise ValueError(f"{mask!r} is not a mask like nick!user@host (* and ? allowed)")
        return value

    @model_validator(mode="after")
    def _identity(self) -> "IrcSettings":
        if self.role_masks and self.identity != "hostmask":
            raise ValueError('role_masks needs identity = "hostmask" (with services, grant roles with !role)')
        return self

    @field_validator("realname", "quit_message")
    @classmethod
    def _free_text(cls, value: str) -> str:
        if text.strip_controls(value) != value:
            raise ValueError("must not contain control characters")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value or any(c.isspace() for c in value):
            raise ValueError("prefix must be non-empty and without spaces")
        return value

    @model_validator(mode="after")
    def _delays(self) -> "IrcSettings":
        if self.reconnect_max_delay < self.reconnect_min_delay:
            raise ValueError("reconnect_max_delay must be >= reconnect_min_delay")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (6697 if self.tls else 6667)

