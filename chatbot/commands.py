"""Commands as data: every command is declared once, and everything else is derived from it.

A :class:`CommandSpec` names the command, its typed arguments, the roles allowed to run it,
its help and worked examples. From the same declarations come the ``!name args`` parser used
on text platforms, the ``!help`` pages, Discord's slash commands (built by that adapter) and a
test that plays every example. Handlers never parse text themselves.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any, Awaitable, Callable, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

#: Every role a command may require. ``anyone`` includes visitors the platform cannot vouch for
#: (an IRC nick without a services account); ``member`` is anybody with a stable account.
ROLES = ("anyone", "member", "mentee", "mentor", "host", "coordinator", "admin")
GRANTABLE_ROLES = ("mentee", "mentor", "host", "coordinator", "admin")


class UsageError(Exception):
    """Bad input from a person. The engine answers with the message and the command's usage."""

    def __init__(self, message: str, spec: "CommandSpec | None" = None):
        super().__init__(message)
        self.message = message
        self.spec = spec


class ActionError(Exception):
    """A well-formed command that cannot be done now ("no round is open"). Answered as is."""


# --------------------------------------------------------------------------- argument types

_DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?:in)?)?$")


def parse_duration(text: str) -> int:
    """``45m``, ``1h30m``, ``2h`` or a bare number of minutes -> minutes (> 0, <= 24 h)."""
    raw = text.strip().lower()
    if raw.isdigit():
        minutes = int(raw)
    else:
        m = _DURATION_RE.match(raw)
        if not m or not raw or not any(m.groups()):
            raise ValueError(f"'{text}' is not a duration like 45m or 1h30m")
        minutes = int(m.group(1) or 0) * 60 + int(m.group(2) or 0)
    if minutes <= 0:
        raise ValueError(f"'{text}' must be longer than zero minutes")
    if minutes > 24 * 60:
        raise ValueError(f"'{text}' is longer than a day")
    return minutes


def format_minutes(minutes: int) -> str:
    """90 -> "1h30m", 45 -> "45m", 120 -> "2h": durations written the way they are typed."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest}m"
    return f"{hours}h{rest}m" if rest else f"{hours}h"


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a date like 2027-01-15") from None


def parse_time(text: str) -> time:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"'{text}' is not a time like 09:30")
    return time(int(m.group(1)), int(m.group(2)))


def parse_timezone(text: str) -> str:
    """An IANA timezone name, returned in its canonical spelling."""
    name = text.strip()
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]{1,64}", name) or name.startswith("/") or ".." in name:
        raise ValueError(f"'{text}' is not a timezone name like Europe/Berlin")
    try:
        ZoneInfo(name)
    except Exception:
        from zoneinfo import available_timezones

        lowered = {tz.lower(): tz for tz in available_timezones()}
        if name.lower() in lowered:
            return lowered[name.lower()]
        hint = difflib.get_close_matches(name, list(lowered.values()), n=1)
        extra = f" (did you mean {hint[0]}?)" if hint else ""
        raise ValueError(f"'{text}' is not a timezone name like Europe/Berlin{extra}") from None
    return name


def parse_int(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a whole number") from None
    if not -(2**63) <= value < 2**63:  # what a database integer holds
        raise ValueError(f"'{text}' is too large")
    return value


CONVERTERS: dict[str, Callable[[str], Any]] = {
    "word": lambda s: s,
    "text": lambda s: s,
    "member": lambda s: s,  # resolved to a member by the engine, which knows the people
    "int": parse_int,
    "duration": parse_duration,
    "date": parse_date,
    "time": parse_time,
    "timezone": parse_timezone,
}


@dataclass(frozen=True)
class Arg:
    """One argument of a command.

    ``kind`` is one of :data:`CONVERTERS` (``member`` is a person: a handle, ``platform:account``
    or a platform mention). ``rest`` takes the remainder of the line verbatim (free text);
    ``many`` takes the remaining words as a list. ``choices`` restricts the value.
    """

    name: str
    kind: str = "word"
    help: str = ""
    required: bool = True
    choices: tuple[str, ...] = ()
    rest: bool = False
    many: bool = False
    minimum: int | None = None
    maximum: int | None = None
    #: where to find values to offer while the person types (a completion source a feature
    #: declares, e.g. "my-mentees"); member arguments default to "members"
    complete: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in CONVERTERS:
            raise ValueError(f"unknown argument kind {self.kind!r}")

    @property
    def placeholder(self) -> str:
        label = "|".join(self.choices) if self.choices else self.name.upper()
        if self.many or self.rest:
            label += "…"
        return label if self.required else f"[{label}]"

    def convert(self, raw: str) -> Any:
        if self.choices:
            value = raw.strip().lower()
            if value not in self.choices:
                raise ValueError(f"{self.name} must be one of {', '.join(self.choices)}, not '{raw}'")
            return value
        try:
            value = CONVERTERS[self.kind](raw)
        except ValueError as exc:
            raise ValueError(f"{self.name}: {exc}") from None
        if isinstance(value, int):
            if self.minimum is not None and value < self.minimum:
                raise ValueError(f"{self.name} must be at least {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                raise ValueError(f"{self.name} must be at most {self.maximum}")
        return value


@dataclass(frozen=True)
class Example:
    """A worked example: shown in ``!help`` and played by the test suite.

    ``line`` and ``setup`` use the console-script format (``NAME: text`` for a DM,
    ``NAME #channel: text`` in a channel); a bare command is said by ``you`` (an admin) in a DM.
    ``expect`` is a regular expression the bot's output must match.
    """

    line: str
    expect: str
    setup: tuple[str, ...] = ()


Handler = Callable[..., Awaitable[str | None]]


@dataclass(frozen=True)
class CommandSpec:
    path: tuple[str, ...]
    help: str
    roles: tuple[str, ...]
    handler: Handler
    args: tuple[Arg, ...] = ()
    examples: tuple[Example, ...] = ()
    #: answer only the asker (ephemeral where possible, else a DM)
    private: bool = False
    #: "any", "channel" (needs a channel: office hours) or "direct" (must be said in a DM)
    scope: str = "any"
    #: may the engine read this command while a conversation waits for an answer in the DM?
    hidden: bool = False
    #: its name one level down, where a platform cannot invoke a command that has sub-commands
    #: (Discord: ``!checkin`` next to ``!checkin edit`` becomes ``/checkin answer``)
    as_subcommand: str = "show"

    def __post_init__(self) -> None:
        if not self.roles or any(r not in ROLES for r in self.roles):
            raise ValueError(f"command {self.name}: roles must be chosen from {ROLES}")
        if self.scope not in ("any", "channel", "direct"):
            raise ValueError(f"command {self.name}: bad scope {self.scope!r}")
        seen_optional = False
        for i, arg in enumerate(self.args):
            if (arg.rest or arg.many) and i != len(self.args) - 1:
                raise ValueError(f"command {self.name}: only the last argument may take the rest")
            if not arg.required:
                seen_optional = True
            elif seen_optional:
                raise ValueError(f"command {self.name}: required argument after an optional one")

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def usage(self, prefix: str = "!") -> str:
        return " ".join([prefix + self.name, *(a.placeholder for a in self.args)])

    def bind(self, tokens: Sequence["Token"], line: str) -> dict[str, Any]:
        """Convert the words after the command name into typed arguments."""
        values: dict[str, Any] = {}
        i = 0
        for arg in self.args:
            if i >= len(tokens):
                if arg.required:
                    raise UsageError(f"{arg.name} is missing", self)
                values[arg.name] = [] if arg.many else None
                continue
            try:
                if arg.rest:
                    raw = line[tokens[i].start :].strip()
                    if len(tokens) - i == 1:
                        raw = tokens[i].text  # a single quoted phrase loses its quotes
                    values[arg.name] = arg.convert(raw)
                    i = len(tokens)
                elif arg.many:
                    values[arg.name] = [arg.convert(t.text) for t in tokens[i:]]
                    i = len(tokens)
                else:
                    values[arg.name] = arg.convert(tokens[i].text)
                    i += 1
            except ValueError as exc:
                raise UsageError(str(exc), self) from None
        if i < len(tokens):
            extra = " ".join(t.text for t in tokens[i:])
            raise UsageError(f"too many arguments: '{_clip(extra)}'", self)
        return values

    def bind_mapping(self, raw: Mapping[str, str]) -> dict[str, Any]:
        """The same conversion for structured invocations (slash commands)."""
        unknown = set(raw) - {a.name for a in self.args}
        if unknown:
            raise UsageError(f"unknown option {sorted(unknown)[0]}", self)
        values: dict[str, Any] = {}
        for arg in self.args:
            text = raw.get(arg.name)
            if text is None or str(text).strip() == "":
                if arg.required:
                    raise UsageError(f"{arg.name} is missing", self)
                values[arg.name] = [] if arg.many else None
                continue
            try:
                if arg.many:
                    values[arg.name] = [arg.convert(w) for w in str(text).split()]
                else:
                    values[arg.name] = arg.convert(str(text))
            except ValueError as exc:
                raise UsageError(str(exc), self) from None
        return values


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --------------------------------------------------------------------------- tokenizer

_QUOTES = {'"': '"', "“": "”", "„": "“", "«": "»"}


@dataclass(frozen=True)
class Token:
    text: str
    start: int


def tokenize(line: str) -> list[Token]:
    """Split on white space; a word starting with a double quote runs to the closing quote.

    Apostrophes are ordinary letters (people write "it's"); an unclosed double quote is an
    error rather than a guess.
    """
    tokens: list[Token] = []
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        start = i
        if line[i] in _QUOTES:
            close = _QUOTES[line[i]]
            end = line.find(close, i + 1)
            if end == -1 and close != '"':
                end = line.find('"', i + 1)
            if end == -1:
                raise UsageError("a quote is not closed")
            tokens.append(Token(line[i + 1 : end], start))
            i = end + 1
        else:
            while i < n and not line[i].isspace():
                i += 1
            tokens.append(Token(line[start:i], start))
    return tokens


# --------------------------------------------------------------------------- registry


@dataclass
class Parsed:
    spec: CommandSpec
    args: dict[str, Any]


@dataclass
class CommandRegistry:
    """All declared commands, and the one parser for ``!name args`` text."""

    specs: dict[tuple[str, ...], CommandSpec] = field(default_factory=dict)

    def add(self, specs: Iterable[CommandSpec]) -> None:
        for spec in specs:
            if spec.path in self.specs:
                raise ValueError(f"command {spec.name} is declared twice")
            self.specs[spec.path] = spec

    def __iter__(self):
        return iter(sorted(self.specs.values(), key=lambda s: s.path))

    def groups(self) -> dict[str, list[CommandSpec]]:
        out: dict[str, list[CommandSpec]] = {}
        for spec in self:
            out.setdefault(spec.path[0], []).append(spec)
        return out

    def find(self, words: Sequence[str]) -> tuple[CommandSpec | None, int]:
        """The spec with the longest path matching the first words, and how many words it used."""
        lowered = [w.lower() for w in words]
        for length in range(min(3, len(lowered)), 0, -1):
            spec = self.specs.get(tuple(lowered[:length]))
            if spec:
                return spec, length
        return None, 0

    def parse(self, text: str, prefix: str = "!") -> Parsed | None:
        """``None`` when the text is not a command at all; raises UsageError for a bad one."""
        if not text.startswith(prefix) or len(text) <= len(prefix):
            return None
        line = text[len(prefix) :]
        if line[0].isspace() or not (line[0].isalnum()):
            return None  # "! hello", "!!!" are talk, not commands
        tokens = tokenize(line)
        words = [t.text for t in tokens[:3]]
        spec, used = self.find(words)
        if spec is None:
            raise UsageError(self.unknown_hint(words, prefix))
        return Parsed(spec, spec.bind(tokens[used:], line))

    def unknown_hint(self, words: Sequence[str], prefix: str = "!") -> str:
        first = words[0].lower() if words else ""
        group = self.groups().get(first)
        if group:  # a known group with an unknown sub-command
            subs = ", ".join(" ".join(s.path[1:]) or "(alone)" for s in group)
            return f"!{first} has: {subs}. Try {prefix}help {first}."
        close = difflib.get_close_matches(first, list(self.groups()), n=1)
        hint = f" Did you mean {prefix}{close[0]}?" if close else ""
        return f"Unknown command {prefix}{_clip(first, 20)}.{hint} Try {prefix}help."


def reference(specs: Iterable[CommandSpec], prefix: str = "!") -> str:
    """Every command as a Markdown table (COMMANDS.md is this, checked by a test)."""
    lines = [
        "# Commands",
        "",
        f"Generated from the declarations by `mentorbot commands`; `{prefix}help COMMAND` in chat says the same.",
        "On Discord each is a slash command; a command that has sub-commands sits one level down "
        "(`/q show`, `/checkin answer`).",
        "",
        "| command | who may | what it does |",
        "| --- | --- | --- |",
    ]
    for spec in sorted(specs, key=lambda s: s.path):
        usage = spec.usage(prefix).replace("|", "\\|")
        lines.append(f"| `{usage}` | {' or '.join(spec.roles)} | {spec.help} |")
    return "\n".join(lines) + "\n"
