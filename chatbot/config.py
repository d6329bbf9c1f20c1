"""Typed configuration from TOML, with errors that name the key.

With no file at all the bot runs on the embedded default: the console adapter and
``./mentorbot.db``, with the console user ``you`` as admin so a newcomer can try everything.
Secrets never live here: adapters name the environment variables they read them from.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from chatbot.i18n import N_

if TYPE_CHECKING:
    from chatbot.i18n import Language
    from chatbot.domain.recurrence import WeeklySchedule



class ConfigError(Exception):
    """A config problem, already phrased for an operator."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSettings(Strict):
    name: str = "mentorbot"
    #: the command prefix on text platforms (an adapter may override it)
    prefix: str = "!"
    #: the language of channels without one of their own and of people who chose none
    language: str = "en"
    #: a directory of a community's own catalogs: <code>/LC_MESSAGES/mentorbot.po (see README)
    locale_dir: str | None = None
    #: an interview (sign-up, assessment) left without an answer this long ends, so a message
    #: days later is not taken as its answer ("off": never); check-ins end at their next prompt
    interview_timeout: str = "3d"

    @field_validator("interview_timeout")
    @classmethod
    def _timeout(cls, v: str) -> str:
        parse_span_setting(v)
        return v

    @property
    def interview_timeout_span(self) -> timedelta | None:
        span = parse_span_setting(self.interview_timeout)
        return span or None

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not v or len(v) > 3 or any(c.isspace() or c.isalnum() for c in v):
            raise ValueError("prefix must be 1-3 punctuation characters, like !")
        return v


class ChannelSettings(Strict):
    """A channel or room of the community's, as the config names it."""

    platform: str
    #: the platform's id for it: "#office-hours", "!abc:example.org", a Discord channel id
    channel: str
    #: the language the bot answers in there
    language: str | None = None


class DatabaseSettings(Strict):
    url: str = "sqlite:///mentorbot.db"
    #: "full": a committed answer survives a power cut; "normal": survives a killed process only
    synchronous: Literal["full", "normal"] = "full"
    busy_timeout_ms: int = Field(5000, ge=0, le=600_000)
    #: apply new migrations when the bot starts; off where `mentorbot migrate` runs before a rollout
    migrate_on_start: bool = True


class ProgrammeSettings(Strict):
    tracks: list[str] = ["programming", "documentation"]
    #: tracks as people of a language name them, by language code then track:
    #: [programme.track_names.fr] programming = "programmation"
    track_names: dict[str, dict[str, str]] = {}

    @field_validator("track_names")
    @classmethod
    def _track_names(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        _check_translations({code: "" for code in v})
        return v

    def track_name(self, track: str, lang: "Language") -> str:
        """A track as people of ``lang`` call it (its id where the config names it no other way)."""
        return self.track_names.get(lang.code, {}).get(track, track)
    role_focuses: list[str] = ["MediaWiki Specialist", "Infrastructure Specialist", "Generalist"]
    default_capacity: int = Field(5, ge=1, le=50)
    #: a pair with no session logged for this many days is nudged, then reported
    silence_days: int = Field(14, ge=1, le=365)
    #: a mentee who has not answered their mentor's introduction within this many days likewise
    intro_days: int = Field(7, ge=1, le=365)
    #: days after a nudge before the coordinators are told, if nothing changed
    escalate_days: int = Field(3, ge=1, le=60)
    #: how long a !link code stays valid
    link_code_minutes: int = Field(15, ge=1, le=24 * 60)
    #: a mentor away for more days than this has their mentees listed to the coordinators
    max_mentor_away_days: int = Field(14, ge=1, le=366)
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


class PrivacySettings(Strict):
    #: delete check-in answers, queue logs and other personal records older than this many days
    #: (none: keep them for the programme's reports)
    retention_days: int | None = Field(None, ge=1, le=36500)


class OfficeHourSchedule(Strict):
    """Office hours held every week in one channel: announced, hosts reminded, opened by a host
    (or by the bot with ``auto_open``), and a host reminded if they forget to close."""

    #: "platform:#channel", e.g. "irc:#office-hours" (a Matrix room: "matrix:!id:server")
    channel: str
    #: weekday(s), e.g. "tue,thu", "mon-fri", "weekdays"
    days: str
    #: local start time, HH:MM
    time: str
    timezone: str
    duration_minutes: int = Field(60, ge=5, le=12 * 60)
    #: the hosts' handles
    hosts: list[str]
    topic: str | None = None
    #: the topic in other languages, by code: { fr = "…" }
    topic_translations: dict[str, str] = {}
    auto_open: bool = False

    @field_validator("topic_translations")
    @classmethod
    def _translations(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_translations(v)

    def topic_in(self, lang: "Language") -> str | None:
        """The topic in ``lang`` (as written where the config gives no translation)."""
        return self.topic_translations.get(lang.code, self.topic) if self.topic else None

    @model_validator(mode="after")
    def _check(self) -> "OfficeHourSchedule":
        platform, _, channel = self.channel.partition(":")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", platform) or not channel:
            raise ValueError(f"channel '{self.channel}' must look like platform:#channel, e.g. irc:#office-hours")
        if not self.hosts:
            raise ValueError("name at least one host (by handle)")
        self.weekly()  # raises ValueError with a message for the operator
        return self

    def weekly(self) -> "WeeklySchedule":
        from chatbot.domain.recurrence import parse_schedule

        return parse_schedule(f"{self.days} {self.time}", self.timezone)

    @property
    def where(self) -> tuple[str, str]:
        platform, _, channel = self.channel.partition(":")
        return platform, channel

    @property
    def key(self) -> str:
        """Names the schedule in the record of what was sent (changing the time starts afresh)."""
        return f"{self.channel} {self.weekly()}"


class OfficeHoursSettings(Strict):
    #: may visitors without an account (IRC nicks not identified to services) join a queue?
    allow_anonymous: bool = False
    #: DM the hosts on duty when someone joins: every join, the first (into an empty line), none
    notify_hosts: Literal["every", "first", "none"] = "every"
    #: the help length wait estimates assume until a channel has history
    default_help_minutes: int = Field(10, ge=1, le=240)
    #: wait estimates use the median of this many recent helps in the channel
    estimate_from_last: int = Field(20, ge=3, le=500)
    #: how many people !q names before it summarises the rest
    list_max: int = Field(5, ge=1, le=20)
    #: a person who leaves the channel (or the network, room, server) keeps their place in
    #: line this long; back in time, same place; after it they are out of the line
    leave_grace_minutes: int = Field(10, ge=0, le=24 * 60)
    #: scheduled office hours: announce in the channel this many minutes before
    announce_lead_minutes: int = Field(15, ge=0, le=24 * 60)
    #: ... and DM the hosts this many minutes before
    host_reminder_minutes: int = Field(30, ge=0, le=24 * 60)
    #: remind the hosts to !oh close this many minutes after the scheduled end
    close_reminder_minutes: int = Field(15, ge=0, le=24 * 60)
    schedule: list[OfficeHourSchedule] = []


def _check_translations(v: dict[str, str]) -> dict[str, str]:
    from babel import Locale, UnknownLocaleError

    for code in v:
        try:
            Locale.parse(code)
        except (UnknownLocaleError, ValueError):
            raise ValueError(f"'{code}' is not a language code like fr or pt_BR") from None
    return {code: " ".join(text.split()) for code, text in v.items()}


class CheckinQuestion(Strict):
    #: a short word shown in histories and digests ("done", "next", "blocker", "mood")
    id: str
    text: str
    #: the question in other languages, by code: { fr = "…", es = "…" } (else the catalogs')
    translations: dict[str, str] = {}
    #: what an answer must look like: text (words, not a greeting or a question back); done (what
    #: was done: text, and not a number alone); plan (what comes next: likewise); blocker (an
    #: answer other than "none" alerts the mentors at once); scale (1-5)
    kind: Literal["text", "done", "plan", "blocker", "scale"] = "text"

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,15}", v):
            raise ValueError(f"question id '{v}' must be a short lowercase word")
        return v

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        v = " ".join(v.split())
        if not 3 <= len(v) <= 200:
            raise ValueError("a question is 3 to 200 characters")
        return v

    @field_validator("translations")
    @classmethod
    def _translations(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_translations(v)

    def text_in(self, lang: "Language") -> str:
        """The question in ``lang``: the config's own translation, else the catalog's (the
        default questions are in the catalogs), else as written."""
        return self.translations.get(lang.code) or lang._(self.text)


DEFAULT_CHECKIN_QUESTIONS = [
    CheckinQuestion(id="done", text=N_("What did you do since last time?"), kind="done"),
    CheckinQuestion(id="next", text=N_("What will you do next?"), kind="plan"),
    CheckinQuestion(id="blocker", text=N_("Is anything blocking you? (or: none)"), kind="blocker"),
    CheckinQuestion(id="mood", text=N_("How is it going, from 1 (badly) to 5 (great)?"), kind="scale"),
]

_DAY_OFF_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?(?:\s+(.+))?$")


def parse_day_off(text: str) -> tuple[date, date, str]:
    """``2027-12-24``, ``2027-12-24..2028-01-01`` or either followed by a label -> (first, last, label)."""
    m = _DAY_OFF_RE.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not a day off like 2027-12-24 or 2027-12-24..2028-01-01 Winter break")
    try:
        first = date.fromisoformat(m.group(1))
        last = date.fromisoformat(m.group(2)) if m.group(2) else first
    except ValueError:
        raise ValueError(f"'{text}' holds a date that does not exist") from None
    if last < first or (last - first).days > 366:
        raise ValueError(f"'{text}': a break runs forward and lasts a year at most")
    return first, last, " ".join((m.group(3) or "").split())[:60]


def parse_span_setting(text: str) -> timedelta:
    """A span like ``24h`` or ``90m``; ``0h`` or ``off`` is none."""
    from chatbot.clock import parse_span

    return timedelta(0) if text.strip().lower() == "off" else parse_span(text)


class CheckinSettings(Strict):
    """Check-ins (twice a week by default) that mentees answer in a private message."""

    #: the default schedule, in each mentee's own timezone; a mentee may choose another
    schedule: str = "mon,thu 10:00"
    questions: list[CheckinQuestion] = DEFAULT_CHECKIN_QUESTIONS
    #: programme days off (local dates): "2027-12-24" or "2027-12-24..2028-01-01 Winter break"
    days_off: list[str] = []
    #: remind a mentee who has not answered this long after the prompt ("off": never)
    reminder_after: str = "24h"
    #: a prompt the bot was down for is sent on start-up when less late than this, else skipped
    grace: str = "6h"
    #: when the daily digest reaches mentors who chose one, in each mentor's own timezone
    digest_time: str = "18:00"
    #: at most this many prompts (and as many reminders) are recorded per transaction; commands
    #: waiting meanwhile are answered between batches, and the next batch follows at once
    batch: int = Field(500, ge=1, le=100_000)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str) -> str:
        from chatbot.domain.recurrence import parse_schedule

        if "(" in v:
            raise ValueError("the default schedule has no timezone: each mentee's own is used")
        parse_schedule(v, "UTC")
        return v

    @field_validator("questions")
    @classmethod
    def _questions(cls, v: list[CheckinQuestion]) -> list[CheckinQuestion]:
        if not 1 <= len(v) <= 8:
            raise ValueError("ask 1 to 8 questions")
        ids = [q.id for q in v]
        if len(set(ids)) != len(ids):
            raise ValueError("question ids must differ")
        for kind in ("blocker", "scale"):
            if sum(q.kind == kind for q in v) > 1:
                raise ValueError(f"at most one question of kind {kind}")
        return v

    @field_validator("days_off")
    @classmethod
    def _days_off(cls, v: list[str]) -> list[str]:
        for item in v:
            parse_day_off(item)
        return v

    @field_validator("reminder_after", "grace")
    @classmethod
    def _span(cls, v: str) -> str:
        parse_span_setting(v)
        return v

    @field_validator("digest_time")
    @classmethod
    def _time(cls, v: str) -> str:
        from chatbot.commands import parse_time

        parse_time(v)
        return v


class FeedbackSettings(Strict):
    """Feedback rounds: on set dates of each round mentors and mentees answer a few questions
    about their pair, in private; only coordinators read the answers."""

    #: ask at all
    enabled: bool = True
    #: "NAME: WHEN" per window; WHEN is "week N", "midpoint", "last week", "start+Nd", "end-Nd"
    #: or a date (see chatbot/features/feedback/dates.py)
    windows: list[str] = ["initial: week 2", "midpoint: midpoint", "final: last week"]
    #: the hour the questions go out on a window's date, in each person's own timezone (after
    #: the default check-ins' hour, so the two do not arrive together)
    time: str = "14:00"
    #: remind someone who has not answered this long after the questions ("off": never)
    reminder_after: str = "3d"
    #: answers are due this long after the questions; missing ones are then reported
    answer_within: str = "7d"
    #: a last contact this many days back (or none at all) is reported to the coordinators
    stale_contact_days: int = Field(14, ge=1, le=365)
    #: at most this many requests are asked (and as many reminded) per transaction
    batch: int = Field(500, ge=1, le=100_000)

    @field_validator("windows")
    @classmethod
    def _windows(cls, v: list[str]) -> list[str]:
        from chatbot.features.feedback.dates import windows_of

        for text in v:
            try:
                windows_of([text])
            except ValueError:
                raise ValueError(
                    f"'{text}' is not a window: give 'NAME: WHEN' (a short lower-case name), WHEN being 'week N', "
                    "'midpoint', 'last week', 'start+Nd', 'end-Nd' or a date like 2027-02-15"
                ) from None
        names = [w.name for w in windows_of(v)]
        if len(set(names)) != len(names):
            raise ValueError("window names must differ")
        return v

    @field_validator("reminder_after", "answer_within")
    @classmethod
    def _spans(cls, v: str, info: ValidationInfo) -> str:
        if parse_span_setting(v) <= timedelta(0) and info.field_name == "answer_within":
            raise ValueError("give people some time to answer, e.g. 7d")
        return v

    @field_validator("time")
    @classmethod
    def _hour(cls, v: str) -> str:
        from chatbot.commands import parse_time

        return parse_time(v).strftime("%H:%M")

class LoggingSettings(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class HealthSettings(Strict):
    """What ``mentorbot health`` calls unhealthy. The running bot records each adapter's state
    in the database (every change, and every 30 s); ``health`` reads it from another process."""

    #: ``health`` exits non-zero when an enabled adapter has been down longer than this
    #: (a span like ``10m`` or ``1h``; a bot that stopped recording counts as down)
    max_down: str = "10m"

    @field_validator("max_down")
    @classmethod
    def _span(cls, v: str) -> str:
        if parse_span_setting(v).total_seconds() <= 0:
            raise ValueError("max_down must be a span like 10m or 1h")
        return v

    @property
    def max_down_seconds(self) -> float:
        return parse_span_setting(self.max_down).total_seconds()


class DashboardSettings(Strict):
    """The read-only web dashboard, served by the bot's own process (off unless ``listen`` is set)."""

    #: "host:port" to serve on, e.g. "127.0.0.1:8470" (put a TLS proxy in front to publish it)
    listen: str | None = None
    #: the address people open, when it differs from ``listen`` (behind a proxy:
    #: "https://mentors.example.org"); an https address makes the session cookie Secure
    public_url: str | None = None
    #: the environment variable holding the secret that signs session cookies (32+ characters)
    secret_env: str = "MENTORBOT_DASHBOARD_SECRET"
    #: how long a sign-in lasts
    session_hours: int = Field(12, ge=1, le=24 * 14)
    #: how long a link from !dashboard stays valid
    link_minutes: int = Field(15, ge=1, le=24 * 60)

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str | None) -> str | None:
        if v is None:
            return v
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"'{v}' must look like 127.0.0.1:8470")
        return v

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", v):
            raise ValueError(f"'{v}' must be an http(s) address like https://mentors.example.org")
        return v.rstrip("/")

    @property
    def address(self) -> tuple[str, int]:
        assert self.listen is not None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class CertificateSettings(Strict):
    """Certificates for mentees who complete a round (see the README, "Certificates")."""

    #: the programme's name as a certificate prints it
    programme: str = Field("Mentorship Programme", min_length=1, max_length=80)
    #: the environment variable holding the secret that signs verification codes (32+ characters)
    secret_env: str = "MENTORBOT_CERTIFICATE_SECRET"


_ADMIN_RE = re.compile(r"^(?P<platform>[a-z][a-z0-9_]*):(?P<account>.+)$")


class Settings(Strict):
    admins: list[str] = []
    bot: BotSettings = BotSettings()
    database: DatabaseSettings = DatabaseSettings()
    programme: ProgrammeSettings = ProgrammeSettings()
    logging: LoggingSettings = LoggingSettings()
    health: HealthSettings = HealthSettings()
    privacy: PrivacySettings = PrivacySettings()
    checkins: CheckinSettings = CheckinSettings()
    feedback: FeedbackSettings = FeedbackSettings()
    office_hours: OfficeHoursSettings = OfficeHoursSettings()
    channels: list[ChannelSettings] = []
    dashboard: DashboardSettings = DashboardSettings()
    certificates: CertificateSettings = CertificateSettings()
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

    @model_validator(mode="after")
    def _languages(self) -> "Settings":
        from chatbot.i18n import available

        have = available(self.bot.locale_dir)
        wanted = [("bot.language", self.bot.language)] + [
            (f"channels ({c.platform} {c.channel}).language", c.language) for c in self.channels if c.language
        ]
        for key, code in wanted:
            if code not in have:
                raise ValueError(f"{key}: no catalog for '{code}' (the bot has: {', '.join(have)})")
        return self

    def channel_language(self, platform: str, channel: str) -> str | None:
        """The language ``[[channels]]`` gives a channel, if any."""
        for c in self.channels:
            if c.platform == platform and c.channel == channel:
                return c.language
        return None

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

