"""Slash commands built from the bot's CommandSpecs, and the way back from an invocation to a spec.

Every :class:`~chatbot.commands.CommandSpec` becomes one Discord slash command: ``path[0]`` is the
top-level command and further words are sub-command groups and sub-commands (Discord allows
``/top group sub`` at most, so a path has at most three words).

**The ``show`` rule.** Discord cannot have both ``/q`` and ``/q join``: a command with
sub-commands cannot itself be invoked. So a spec whose path is the bare name of a group that
also has sub-commands is registered one level down, under its ``as_subcommand`` name (``show``
unless it says otherwise): ``("q",)`` becomes ``/q show``, ``("checkin",)`` (``as_subcommand=
"answer"``) ``/checkin answer``, and ``("session", "log")`` next to ``("session", "log", "edit")``
``/session log show``. If the group already has a real command of that name the specs cannot be
mapped and building fails loudly (rename one of them). :meth:`CommandMap.spec_path` maps an invocation's qualified name
(``"q show"``) back to the spec path (``("q",)``).

Options come from ``CommandSpec.args``: ``int`` -> integer (with min/max), ``member`` -> user
(handed to the engine as ``"discord:<user id>"``), an arg with ``choices`` -> string choices, every
other kind -> string (the engine converts it exactly as it would a typed ``!`` command).
Descriptions come from the help texts, cut to Discord's 100 characters, or are derived when empty.

**Autocomplete.** An arg that names a completion source (``Arg.complete``, e.g. ``my-mentees``) or
has more choices than Discord's 25 becomes a *string* option with autocomplete, whatever its kind:
Discord offers autocomplete only on string, integer and number options, never on a user option,
whose picker lists every member of the guild and cannot be narrowed to "your mentees". The
person picks a handle the engine offered, and the engine resolves it as it would a typed one.
A ``member`` arg without a source stays a user option: Discord's own member picker is the better
way to name anybody in the guild.

:func:`payload_problems` checks a built command against the limits Discord enforces on a whole
command (sizes, counts, depth, the 4,000 characters in all), so a declaration that would be
refused fails at start-up with a sentence instead of a 50035 from the sync.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable, Sequence, Union

import discord
from discord import app_commands

from chatbot.commands import Arg, CommandSpec
from chatbot.i18n import N_
from chatbot.wording import clip

MAX_DESCRIPTION = 100
MAX_NAME = 32
_NAME_RE = re.compile(r"^[-_\w]{1,32}$")

MAX_OPTIONS = 25
MAX_CHOICES = 25
#: name, description and value characters of a command, its options and choices, all together
MAX_COMMAND_CHARS = 4000

#: called for every slash-command invocation with the spec and its arguments as raw text
Invoke = Callable[[discord.Interaction, CommandSpec, dict[str, str]], Awaitable[None]]
#: called while a person types an autocompleted argument: (interaction, spec, arg, partial) -> values
Complete = Callable[[discord.Interaction, CommandSpec, Arg, str], Awaitable[list[str]]]

_KIND_HELP = {
    "member": N_("A member of the programme"),
    "int": N_("A whole number"),
    "duration": N_("A duration like 45m or 1h30m"),
    "date": N_("A date like 2027-01-15"),
    "time": N_("A time like 09:30"),
    "timezone": N_("A timezone like Europe/Berlin"),
    "text": N_("Free text"),
    "word": N_("One word"),
}
#: (language code, English text) -> the text in that language, or None
Localize = Callable[[str, str], "str | None"]


def describe(text: str, fallback: str) -> str:
    """Discord's 1-100 character description: the first line of ``text``, or ``fallback``."""
    text = (text or "").replace("{prefix}", "/")  # a command in a help text, as Discord users type it
    first = " ".join(text.strip().splitlines()[:1]).strip() or fallback
    return clip(first, MAX_DESCRIPTION)


def described(text: str, fallback: str) -> app_commands.locale_str:
    """A description that Discord shows in each user's language where the bot has it: the
    English one, carrying the texts it came from for :class:`CatalogTranslator`."""
    return app_commands.locale_str(describe(text, fallback), source=text, fallback=fallback)


class CatalogTranslator(app_commands.Translator):
    """Descriptions in every language the bot has a catalog for (Discord shows each user their
    own); command and option names and choices stay as people type them, in every language."""

    TRANSLATED = {
        app_commands.TranslationContextLocation.command_description,
        app_commands.TranslationContextLocation.group_description,
        app_commands.TranslationContextLocation.parameter_description,
    }

    def __init__(self, localize: Localize) -> None:
        self.localize = localize

    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContextTypes) -> str | None:
        if context.location not in self.TRANSLATED:
            return None
        source, fallback = string.extras.get("source"), string.extras.get("fallback", "")
        for code in dict.fromkeys((locale.value.replace("-", "_"), locale.value.split("-")[0])):  # pt_BR, then pt
            text = self.localize(code, source) if source else None
            backup = self.localize(code, fallback) if fallback else None
            if text or backup:
                return describe(text or "", backup or fallback)
        return None


def option_name(name: str) -> str:
    """A valid option name from an Arg name: lower case, ``[-_\\w]`` only, at most 32 characters."""
    cleaned = re.sub(r"[^-_\w]", "_", name.strip().lower())[:MAX_NAME]
    if not cleaned:
        raise ValueError(f"argument name {name!r} gives no usable Discord option name")
    return cleaned


def _check_word(word: str, spec: CommandSpec) -> None:
    if not _NAME_RE.match(word) or word != word.lower():
        raise ValueError(f"command {spec.name!r}: {word!r} is not a valid Discord command name")


@dataclass
class CommandMap:
    """Spec paths <-> Discord paths (they differ only where the ``show`` rule applies)."""

    to_discord: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    to_spec: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)

    def spec_path(self, qualified_name: str) -> tuple[str, ...] | None:
        """``"q show"`` (``interaction.command.qualified_name``) -> ``("q",)``; None if unknown."""
        return self.to_spec.get(tuple(qualified_name.split()))


def map_paths(specs: Iterable[CommandSpec]) -> CommandMap:
    """Apply the ``show`` rule to every spec path, and check that Discord can hold the result."""
    paths = [s.path for s in specs]
    by_path = {s.path: s for s in specs}
    result = CommandMap()
    for path in paths:
        spec = by_path[path]
        if not 1 <= len(path) <= 3:
            raise ValueError(f"command {spec.name!r}: Discord allows one to three words, not {len(path)}")
        for word in path:
            _check_word(word, spec)
        is_group = any(len(other) > len(path) and other[: len(path)] == path for other in paths)
        target = path + (spec.as_subcommand,) if is_group else path
        _check_word(target[-1], spec)
        if len(target) > 3:
            raise ValueError(f"command {spec.name!r} has sub-commands and is already three words deep")
        if is_group and target in by_path:
            raise ValueError(f"command {spec.name!r} needs to become /{' '.join(target)}, which is taken")
        result.to_discord[path] = target
        result.to_spec[target] = path
    return result


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class _Option:
    """One Arg as a Python parameter of the generated callback (``pN``, renamed for Discord)."""

    arg: Arg
    pyname: str
    discord_name: str
    #: a string option whose values the engine offers while the person types
    autocompleted: bool = False

    @property
    def is_member(self) -> bool:
        return self.arg.kind == "member" and not self.arg.many and not self.arg.choices and not self.autocompleted

    def annotation(self) -> Any:
        arg = self.arg
        if self.is_member:
            return discord.User
        if self.autocompleted:
            return str
        if arg.kind == "int" and not arg.choices and not arg.many:
            if arg.minimum is None and arg.maximum is None:
                return int
            return app_commands.Range[int, arg.minimum, arg.maximum]
        return str

    def choices(self) -> list[app_commands.Choice[str]] | None:
        if not self.arg.choices or len(self.arg.choices) > MAX_CHOICES or self.autocompleted:
            return None
        return [app_commands.Choice(name=c[:MAX_DESCRIPTION], value=c) for c in self.arg.choices]

    def description(self) -> app_commands.locale_str:
        if self.arg.choices:
            fallback = "One of: " + ", ".join(self.arg.choices)
        else:
            fallback = _KIND_HELP.get(self.arg.kind, self.arg.name)
        if self.arg.many:
            fallback += " (one or more, separated by spaces)"
        return described(self.arg.help, fallback)

    def render(self, value: Any) -> str:
        """What the engine gets: the raw text a ``!`` command would have carried."""
        if isinstance(value, (discord.User, discord.Member)):
            return f"discord:{value.id}"
        return str(value)


def wants_autocomplete(arg: Arg) -> bool:
    """Values come from the engine while typing: a named source, or too many choices to list."""
    return arg.complete is not None or len(arg.choices) > MAX_CHOICES


def _options(spec: CommandSpec, completing: bool) -> list[_Option]:
    if len(spec.args) > MAX_OPTIONS:
        raise ValueError(f"command {spec.name!r}: Discord allows {MAX_OPTIONS} options, not {len(spec.args)}")
    options = [_Option(arg, f"p{i}", option_name(arg.name), completing and wants_autocomplete(arg))
               for i, arg in enumerate(spec.args)]
    names = [o.discord_name for o in options]
    if len(set(names)) != len(names):
        raise ValueError(f"command {spec.name!r}: two arguments give the same option name ({names})")
    return options


def _callback(spec: CommandSpec, invoke: Invoke, complete: Complete | None) -> Callable[..., Awaitable[None]]:
    """A callback whose *signature* declares the options, so discord.py builds them the usual way."""
    options = _options(spec, complete is not None)

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        args = {o.arg.name: o.render(values[o.pyname]) for o in options if values.get(o.pyname) is not None}
        await invoke(interaction, spec, args)

    params = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)]
    for o in options:
        default = inspect.Parameter.empty if o.arg.required else None
        params.append(inspect.Parameter(o.pyname, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=o.annotation()))
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    if options:
        app_commands.describe(**{o.pyname: o.description() for o in options})(callback)
        app_commands.rename(**{o.pyname: o.discord_name for o in options})(callback)
        choices = {o.pyname: c for o in options if (c := o.choices())}
        if choices:
            app_commands.choices(**choices)(callback)
        if complete is not None:
            completers = {o.pyname: _completer(spec, o.arg, complete) for o in options if o.autocompleted}
            if completers:
                app_commands.autocomplete(**completers)(callback)
    return callback


def _completer(spec: CommandSpec, arg: Arg, complete: Complete) -> Callable[..., Awaitable[list[app_commands.Choice[str]]]]:
    async def offer(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        values = await complete(interaction, spec, arg, current or "")
        return [app_commands.Choice(name=v[:MAX_DESCRIPTION], value=v[:MAX_DESCRIPTION])
                for v in values[:MAX_CHOICES] if v]

    return offer


# --------------------------------------------------------------------------- Discord's limits


def payload_problems(payload: dict[str, Any]) -> list[str]:
    """What Discord would refuse in one top-level command's sync payload (empty: nothing)."""
    problems: list[str] = []
    name = payload.get("name", "?")

    def walk(node: dict[str, Any], depth: int, where: str) -> int:
        chars = len(node.get("name", "")) + len(node.get("description", ""))
        if not _NAME_RE.match(node.get("name", "")):
            problems.append(f"{where}: bad name {node.get('name')!r}")
        if not 1 <= len(node.get("description", "")) <= MAX_DESCRIPTION:
            problems.append(f"{where}: description must be 1-{MAX_DESCRIPTION} characters")
        options = node.get("options") or []
        if len(options) > MAX_OPTIONS:
            problems.append(f"{where}: {len(options)} options (Discord allows {MAX_OPTIONS})")
        choices = node.get("choices") or []
        if len(choices) > MAX_CHOICES:
            problems.append(f"{where}: {len(choices)} choices (Discord allows {MAX_CHOICES})")
        if choices and node.get("autocomplete"):
            problems.append(f"{where}: choices and autocomplete together")
        for choice in choices:
            chars += len(choice["name"]) + len(str(choice["value"]))
            if not 1 <= len(choice["name"]) <= MAX_DESCRIPTION:
                problems.append(f"{where}: choice name {choice['name']!r} must be 1-{MAX_DESCRIPTION} characters")
        nested = [o for o in options if o.get("type") in (1, 2)]
        if nested and len(nested) != len(options):
            problems.append(f"{where}: sub-commands mixed with options")
        if depth >= 3 and nested:
            problems.append(f"{where}: more than three levels")
        for option in options:
            if option.get("type") == 2 and depth != 1:
                problems.append(f"{where}: a sub-command group must be directly under the command")
            chars += walk(option, depth + 1, f"{where} {option.get('name')}")
        return chars

    total = walk(payload, 1, f"/{name}")
    if total > MAX_COMMAND_CHARS:
        problems.append(f"/{name}: {total} characters in names, descriptions and values (Discord allows {MAX_COMMAND_CHARS})")
    return problems


# --------------------------------------------------------------------------- the tree


AppCommand = Union[app_commands.Command, app_commands.Group]


def build_app_commands(specs: Sequence[CommandSpec], invoke: Invoke,
                       complete: Complete | None = None) -> tuple[list[AppCommand], CommandMap]:
    """The top-level slash commands (commands and groups) for ``specs``, and their path map.

    Without ``complete`` no option is autocompleted (and member args are all user options)."""
    mapping = map_paths(specs)
    by_path = {s.path: s for s in specs}
    top: dict[str, AppCommand] = {}
    groups: dict[tuple[str, ...], app_commands.Group] = {}

    def group_for(prefix: tuple[str, ...]) -> app_commands.Group:
        if prefix not in groups:
            parent = group_for(prefix[:-1]) if len(prefix) > 1 else None
            bare = by_path.get(prefix)  # the spec that went one level down ("<prefix> show"), if any
            help_text = bare.help if bare else ""
            group = app_commands.Group(name=prefix[-1], description=described(help_text, f"{' '.join(prefix)} commands"),
                                       parent=parent)
            groups[prefix] = group
            if parent is None:  # a Group made with parent= is added to it by discord.py itself
                top[prefix[0]] = group
        return groups[prefix]

    for spec in sorted(specs, key=lambda s: mapping.to_discord[s.path]):
        target = mapping.to_discord[spec.path]
        parent = group_for(target[:-1]) if len(target) > 1 else None
        command = app_commands.Command(name=target[-1], description=described(spec.help, f"/{' '.join(target)}"),
                                       callback=_callback(spec, invoke, complete), parent=parent)
        if parent is None:
            top[target[0]] = command
        else:
            parent.add_command(command)
    if len(top) > 100:  # (a group's 25 sub-commands are checked by Group.add_command)
        raise ValueError(f"Discord allows 100 top-level commands, not {len(top)}")
    return list(top.values()), mapping
