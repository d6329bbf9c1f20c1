"""The Matrix adapter's settings, constants and kv keys, and the error that retrying cannot fix.

Kept apart so that ``mentorbot check-config`` and every part of the adapter read one definition,
and so the settings can be read without matrix-nio's client code.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.matrix import formatting as fmt
from chatbot.commands import ROLES

PLATFORM = "matrix"
KEY_SYNC_TOKEN = "matrix:next_batch"
KEY_DEVICE_ID = "matrix:device_id"
MEGOLM = "m.megolm.v1.aes-sha2"
#: the transaction-id part of a message's file (its text takes parts 0, 1, ...)
FILE_PART = 1000


def dm_key(user_id: str) -> str:
    """kv key remembering the direct room with one person."""
    return f"matrix:dm:{user_id}"


def e2e_notice_key(room_id: str) -> str:
    """kv key marking that the cannot-read-encrypted notice was posted in a room."""
    return f"matrix:e2e_notice:{room_id}"


class MatrixConfigError(ValueError):
    """A problem retrying cannot fix: wrong password, revoked token, another account's token."""


class MatrixSettings(BaseModel):
    """The ``[adapters.matrix]`` settings. Secrets are never here: only env var names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    homeserver: str
    user_id: str = Field(pattern=r"^@[^:\s]+:[^\s]+$")
    #: the device to log in as; remembered in kv after the first password login if unset
    device_id: str | None = None
    device_name: str = "mentorbot"
    token_env: str = "MENTORBOT_MATRIX_TOKEN"
    password_env: str = "MENTORBOT_MATRIX_PASSWORD"
    pickle_key_env: str = "MENTORBOT_MATRIX_PICKLE_KEY"
    #: None: encrypt when matrix-nio[e2e] is installed and the pickle key env var is set
    e2e: bool | None = None
    #: with e2e on, direct rooms the bot opens are encrypted
    encrypt_direct_rooms: bool = True
    #: room ids or aliases to join at start
    rooms: list[str] = Field(default_factory=list)
    #: servers whose users' invites are accepted; None = the bot's own server
    invite_servers: list[str] | None = None
    prefix: str = Field("!", min_length=1, max_length=3)
    #: role -> minimum power level, applied in the configured ``rooms`` only
    power_roles: dict[str, int] = Field(default_factory=dict)
    #: room id or alias -> {role: level}; replaces ``power_roles`` in that room
    room_power_roles: dict[str, dict[str, int]] = Field(default_factory=dict)
    sync_timeout_ms: int = Field(30_000, ge=0, le=300_000)
    sync_timeline_limit: int = Field(50, ge=1, le=1000)
    #: most events fetched to fill one room's gap after a long downtime
    max_backfill: int = Field(1000, ge=0)
    max_limit_exceeded: int = Field(3, ge=0, le=20)
    request_timeout: float = Field(30.0, gt=0)
    reconnect_min_delay: float = Field(1.0, gt=0)
    reconnect_max_delay: float = Field(60.0, gt=0)
    #: how long start() waits for the first sync before returning (the loop keeps trying)
    start_timeout: float = Field(30.0, gt=0)
    #: how long stop() lets the event being handled finish before cancelling it
    stop_grace: float = Field(5.0, ge=0)
    #: deliveries of one event that may raise before it is skipped as poison
    max_event_failures: int = Field(5, ge=1)
    max_message_length: int = Field(16_000, ge=100, le=30_000)
    #: send a DM or a message that names the person it is for as m.text, so their default push
    #: rules notify them (a notice never notifies); False: everything is m.notice
    alerts_as_text: bool = True
    encrypted_room_notice: str = (
        "I cannot read encrypted rooms, so I will not see messages here. "
        "Please talk to me in an unencrypted room."
    )

    @field_validator("homeserver")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("homeserver must be an http(s) URL")
        return v.rstrip("/")

    @field_validator("power_roles")
    @classmethod
    def _roles(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(v) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown roles {unknown}; choose from {ROLES}")
        return v

    @field_validator("room_power_roles")
    @classmethod
    def _room_roles(cls, v: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        for thresholds in v.values():
            cls._roles(thresholds)
        return v

    @model_validator(mode="after")
    def _delays(self) -> "MatrixSettings":
        if self.reconnect_max_delay < self.reconnect_min_delay:
            raise ValueError("reconnect_max_delay must be >= reconnect_min_delay")
        return self

    @property
    def server(self) -> str:
        return fmt.server_name(self.user_id)
