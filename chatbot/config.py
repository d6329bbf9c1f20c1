"""Typed configuration from TOML, with errors that name the key.

With no file at all the bot runs on the embedded default: the console adapter and
``./mentorbot.db``, with the console user ``you`` as admin so a newcomer can try everything.
Secrets never live here: adapters name the environment variables they read them from.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator



class ConfigError(Exception):
    """A config problem, already phrased for an operator."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSettings(Strict):
    name: str = "mentorbot"
    #: the command prefix on text platforms (an adapter may override it)
    prefix: str = "!"

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not v or len(v) > 3 or any(c.isspace() or c.isalnum() for c in v):
            raise ValueError("prefix must be 1-3 punctuation characters, like !")
        return v


class DatabaseSettings(Strict):
    url: str = "sqlite:///mentorbot.db"
    #: "full": a committed answer survives a power cut; "normal": survives a killed process only
    synchronous: Literal["full", "normal"] = "full"
    busy_timeout_ms: int = Field(5000, ge=0, le=600_000)


class ProgrammeSettings(Strict):
    tracks: list[str] = ["programming", "documentation"]
    role_focuses: list[str] = ["MediaWiki Specialist", "Infrastructure Specialist", "Generalist"]
    default_capacity: int = Field(5, ge=1, le=50)
    #: how long a !link code stays valid
    link_code_minutes: int = Field(15, ge=1, le=24 * 60)
    #: a CSV skills catalogue of the community's own (title, stack_area, role_focus, description)
    skills_file: str | None = None

    @field_validator("tracks")
    @classmethod
    def _tracks(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one track is needed")
        for t in v:
            if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", t):
                raise ValueError(f"track '{t}' must be a lowercase word")
        return v


class LoggingSettings(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


_ADMIN_RE = re.compile(r"^(?P<platform>[a-z][a-z0-9_]*):(?P<account>.+)$")


class Settings(Strict):
    admins: list[str] = []
    bot: BotSettings = BotSettings()
    database: DatabaseSettings = DatabaseSettings()
    programme: ProgrammeSettings = ProgrammeSettings()
    logging: LoggingSettings = LoggingSettings()
    #: one table per adapter; each adapter validates its own settings. ``enabled`` picks them.
    adapters: dict[str, dict[str, Any]] = {"console": {"enabled": True}}
    #: the directory adapters keep state in (relative to the working directory)
    state_dir: str = "mentorbot-state"

    @field_validator("admins")
    @classmethod
    def _admins(cls, v: list[str]) -> list[str]:
        for item in v:
            if not _ADMIN_RE.match(item):
                raise ValueError(f"'{item}' must look like platform:account, e.g. irc:alice or discord:1234")
        return v

    def enabled_adapters(self) -> list[str]:
        return [name for name, table in self.adapters.items() if table.get("enabled", False)]

    def adapter_settings(self, name: str) -> dict[str, Any]:
        return {k: v for k, v in self.adapters.get(name, {}).items() if k != "enabled"}


def embedded_default() -> Settings:
    """No config file: console only, the default user is an admin."""
    return Settings(admins=["console:you"])


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: the configuration is not valid:"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (see config.example.toml for the keys there are)"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def load(path: str | Path | None) -> Settings:
    """Read and validate a config file; ``None`` gives the embedded default."""
    if path is None:
        return embedded_default()
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return from_dict(raw, str(path))


def from_dict(raw: dict[str, Any], source: str = "config") -> Settings:
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from None


SECRET_WORDS = ("password", "token", "secret", "pickle_key", "api_key")


def masked(value: Any, key: str = "") -> Any:
    """A copy for printing: any value under a secret-sounding key is replaced by ``***``."""
    if isinstance(value, dict):
        return {k: masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, key) for v in value]
    lowered = key.lower()
    if any(w in lowered for w in SECRET_WORDS) and not lowered.endswith("_env") and value not in (None, ""):
        return "***"
    return value

