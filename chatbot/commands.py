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
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from chatbot.i18n import ENGLISH, N_, Language
from chatbot.wording import clip

if TYPE_CHECKING:
    from chatbot.access import Access, Visitors

#: Every role a command may require. ``anyone`` includes visitors the platform cannot vouch for
#: (an IRC nick without a services account); ``member`` is anybody with a stable account.
ROLES = ("anyone", "member", "mentee", "mentor", "host", "coordinator", "admin")
GRANTABLE_ROLES = ("mentee", "mentor", "host", "coordinator", "admin")


class Refusal(Exception):
    """A text for the person, in English with its ``{fields}`` apart, so that whoever answers
    can put it into the reader's language (:meth:`in_language`). A handler with a context at
    hand may as well raise it already translated (``ctx._(...)``): a text no catalog knows is
    left as it is."""

    def __init__(self, message: str, /, **fields: Any):
        self.message = message
        self.fields = fields
        super().__init__(self.in_language(ENGLISH))  # str(exc): the English text, for logs and old callers

    def in_language(self, lang: Language) -> str:
        return lang._(self.message, **_fields_in(self.fields, lang))


class UsageError(Refusal):
    """Bad input from a person. The engine answers with the message and the command's usage."""

    def __init__(self, message: str, spec: "CommandSpec | None" = None, /, **fields: Any):
        super().__init__(message, **fields)
        self.spec = spec


class ActionError(Refusal):
    """A well-formed command that cannot be done now ("no round is open"). Answered as is."""


class Invalid(ValueError):
    """A value that does not parse, said so in a text for the person (``{fields}`` apart, as
    :class:`Refusal`): what argument converters and interview parsers raise."""

    def __init__(self, message: str, /, **fields: Any):
        self.message = message
        self.fields = fields
        super().__init__(ENGLISH._(message, **_fields_in(fields, lang=ENGLISH)))

    def in_language(self, lang: Language) -> str:
        return lang._(self.message, **_fields_in(self.fields, lang))


@dataclass(frozen=True)
class Either:
    """A field that reads "a, b or c" in whichever language the text is put into."""

    items: tuple[str, ...]

    def in_language(self, lang: Language) -> str:
        return lang.either(self.items)


def _fields_in(fields: dict[str, Any], lang: Language) -> dict[str, Any]:
    """Fields that are themselves refusals (a converter's, inside an argument's) or choices
    (:class:`Either`) put into the language too."""
    return {k: in_language(v, lang) if isinstance(v, (Exception, Either)) else v for k, v in fields.items()}


def in_language(exc: "Exception | Either", lang: Language) -> str:
    """What a refusal, a bad value or a choice says, in ``lang`` (a plain exception: its text)."""
    return exc.in_language(lang) if isinstance(exc, (Refusal, Invalid, Either)) else str(exc)


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
            raise Invalid(N_("'{text}' is not a duration like 45m or 1h30m"), text=text)
        minutes = int(m.group(1) or 0) * 60 + int(m.group(2) or 0)
    if minutes <= 0:
        raise Invalid(N_("'{text}' must be longer than zero minutes"), text=text)
    if minutes > 24 * 60:
        raise Invalid(N_("'{text}' is longer than a day"), text=text)
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
        raise Invalid(N_("'{text}' is not a date like 2027-01-15"), text=text) from None


def parse_time(text: str) -> time:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise Invalid(N_("'{text}' is not a time like 09:30"), text=text)
    return time(int(m.group(1)), int(m.group(2)))


def parse_timezone(text: str) -> str:
    """An IANA timezone name, returned in its canonical spelling."""
    name = text.strip()
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]{1,64}", name) or name.startswith("/") or ".." in name:
        raise Invalid(N_("'{text}' is not a timezone name like Europe/Berlin"), text=text)
    try:
        ZoneInfo(name)
    except Exception:
        from zoneinfo import available_timezones

        lowered = {tz.lower(): tz for tz in available_timezones()}
        if name.lower() in lowered:
            return lowered[name.lower()]
        hint = difflib.get_close_matches(name, list(lowered.values()), n=1)
        if hint:
            raise Invalid(N_("'{text}' is not a timezone name like Europe/Berlin (did you mean {hint}?)"), text=text, hint=hint[0]) from None
        raise Invalid(N_("'{text}' is not a timezone name like Europe/Berlin"), text=text) from None
    return name


def parse_int(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise Invalid(N_("'{text}' is not a whole number"), text=text) from None
    if not -(2**63) <= value < 2**63:  # what a database integer holds
        raise Invalid(N_("'{text}' is too large"), text=text)
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
    #: whom a person argument may name (``chatbot.access``: yourself, your mentees, ...),
    #: checked by the engine before the handler runs
    access: "Access | None" = None

    def __post_init__(self) -> None:
        if self.kind not in CONVERTERS:
            raise ValueError(f"unknown argument kind {self.kind!r}")
        if self.access is not None and self.kind != "member" and self.access.person is None:
            raise ValueError(f"argument {self.name}: access on a {self.kind} needs the way to read its person")

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
                raise Invalid(N_("{arg} must be one of {choices}, not '{raw}'"), arg=self.name, choices=", ".join(self.choices), raw=raw)
            return value
        try:
            value = CONVERTERS[self.kind](raw)
        except ValueError as exc:
            raise Invalid("{arg}: {why}", arg=self.name, why=exc) from None
        if isinstance(value, int):
            if self.minimum is not None and value < self.minimum:
                raise Invalid(N_("{arg} must be at least {minimum}"), arg=self.name, minimum=self.minimum)
            if self.maximum is not None and value > self.maximum:
                raise Invalid(N_("{arg} must be at most {maximum}"), arg=self.name, maximum=self.maximum)
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
    #: for an "anyone" command: visitors without an account come in only where this says so
    visitors: "Visitors | None" = None

    def __post_init__(self) -> None:
        if not self.roles or any(r not in ROLES for r in self.roles):
            raise ValueError(f"command {self.name}: roles must be chosen from {ROLES}")
        if self.visitors is not None and "anyone" not in self.roles:
            raise ValueError(f"command {self.name}: only an 'anyone' command lets visitors in")
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
                    raise UsageError(N_("{arg} is missing"), self, arg=arg.name)
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
                raise _bad_value(exc, self) from None
        if i < len(tokens):
            extra = " ".join(t.text for t in tokens[i:])
            raise UsageError(N_("too many arguments: '{extra}'"), self, extra=clip(extra, 40))
        return values

    def bind_mapping(self, raw: Mapping[str, str]) -> dict[str, Any]:
        """The same conversion for structured invocations (slash commands)."""
        unknown = set(raw) - {a.name for a in self.args}
        if unknown:
            raise UsageError(N_("unknown option {name}"), self, name=sorted(unknown)[0])
        values: dict[str, Any] = {}
        for arg in self.args:
            text = raw.get(arg.name)
            if text is None or str(text).strip() == "":
                if arg.required:
                    raise UsageError(N_("{arg} is missing"), self, arg=arg.name)
                values[arg.name] = [] if arg.many else None
                continue
            try:
                if arg.many:
                    values[arg.name] = [arg.convert(w) for w in str(text).split()]
                else:
                    values[arg.name] = arg.convert(str(text))
            except ValueError as exc:
                raise _bad_value(exc, self) from None
        return values


def _bad_value(exc: ValueError, spec: CommandSpec) -> UsageError:
    """A converter's refusal as the command's usage error, its text still translatable."""
    if isinstance(exc, Invalid):
        return UsageError(exc.message, spec, **exc.fields)
    return UsageError("{why}", spec, why=str(exc))


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
                raise UsageError(N_("a quote is not closed"))
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
            raise self.unknown(words, prefix)
        return Parsed(spec, spec.bind(tokens[used:], line))

    def unknown(self, words: Sequence[str], prefix: str = "!") -> UsageError:
        """The answer to a command that does not exist: what was meant, if it can tell."""
        first = words[0].lower() if words else ""
        group = self.groups().get(first)
        if group:  # a known group with an unknown sub-command
            subs = ", ".join(" ".join(s.path[1:]) or "(alone)" for s in group)
            return UsageError(N_("{prefix}{group} has: {subs}. Try {prefix}help {group}."), prefix=prefix, group=first, subs=subs)
        close = difflib.get_close_matches(first, list(self.groups()), n=1)
        if close:
            return UsageError(
                N_("Unknown command {prefix}{name}. Did you mean {prefix}{close}? Try {prefix}help."),
                prefix=prefix, name=clip(first, 20), close=close[0],
            )
        return UsageError(N_("Unknown command {prefix}{name}. Try {prefix}help."), prefix=prefix, name=clip(first, 20))

    def unknown_hint(self, words: Sequence[str], prefix: str = "!") -> str:
        """:meth:`unknown` in English (for modules not yet on the translation layer)."""
        return str(self.unknown(words, prefix))


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
        lines.append(f"| `{usage}` | {' or '.join(spec.roles)} | {spec.help.replace('{prefix}', prefix)} |")
    return "\n".join(lines) + "\n"
