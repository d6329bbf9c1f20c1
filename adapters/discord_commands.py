"""Slash commands built from the bot's CommandSpecs, and the way back from an invocation to a spec.

Every :class:`~chatbot.commands.CommandSpec` becomes one Discord slash command: ``path[0]`` is the
top-level command and further words are sub-command groups and sub-commands (Discord allows
``/top group sub`` at most, so a path has at most three words).

**The ``show`` rule.** Discord cannot have both ``/q`` and ``/q join``: a command with
sub-commands cannot itself be invoked. So a spec whose path is the bare name of a group that
also has sub-commands is registered one level down, as ``show``: ``("q",)`` becomes ``/q show``
and ``("session", "log")`` next to ``("session", "log", "edit")`` becomes ``/session log show``.
If the group already has a real ``show`` command the specs cannot be mapped and building fails
loudly (rename one of them). :meth:`CommandMap.spec_path` maps an invocation's qualified name
(``"q show"``) back to the spec path (``("q",)``).

Options come from ``CommandSpec.args``: ``int`` -> integer (with min/max), ``member`` -> user
(handed to the engine as ``"discord:<user id>"``), an arg with ``choices`` -> string choices, every
other kind -> string (the engine converts it exactly as it would a typed ``!`` command).
Descriptions come from the help texts, cut to Discord's 100 characters, or are derived when empty.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable, Sequence, Union

import discord
from discord import app_commands

from chatbot.commands import Arg, CommandSpec

#: the sub-command name a bare group spec is registered under (see the module docstring)
SHOW = "show"
MAX_DESCRIPTION = 100
MAX_NAME = 32
_NAME_RE = re.compile(r"^[-_\w]{1,32}$")

#: called for every slash-command invocation with the spec and its arguments as raw text
Invoke = Callable[[discord.Interaction, CommandSpec, dict[str, str]], Awaitable[None]]

_KIND_HELP = {
    "member": "A member of the programme",
    "int": "A whole number",
    "duration": "A duration like 45m or 1h30m",
    "date": "A date like 2027-01-15",
    "time": "A time like 09:30",
    "timezone": "A timezone like Europe/Berlin",
    "text": "Free text",
    "word": "One word",
}


def describe(text: str, fallback: str) -> str:
    """Discord's 1-100 character description: the first line of ``text``, or ``fallback``."""
    first = " ".join((text or "").strip().splitlines()[:1]).strip() or fallback
    first = " ".join(first.split())
    return first if len(first) <= MAX_DESCRIPTION else first[: MAX_DESCRIPTION - 1] + "…"


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
        target = path + (SHOW,) if is_group else path
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

    @property
    def is_member(self) -> bool:
        return self.arg.kind == "member" and not self.arg.many and not self.arg.choices

    def annotation(self) -> Any:
        arg = self.arg
        if self.is_member:
            return discord.User
        if arg.kind == "int" and not arg.choices and not arg.many:
            if arg.minimum is None and arg.maximum is None:
                return int
            return app_commands.Range[int, arg.minimum, arg.maximum]
        return str

    def choices(self) -> list[app_commands.Choice[str]] | None:
        if not self.arg.choices or len(self.arg.choices) > 25:
            return None
        return [app_commands.Choice(name=c[:MAX_DESCRIPTION], value=c) for c in self.arg.choices]

    def description(self) -> str:
        if self.arg.choices:
            fallback = "One of: " + ", ".join(self.arg.choices)
        else:
            fallback = _KIND_HELP.get(self.arg.kind, self.arg.name)
        if self.arg.many:
            fallback += " (one or more, separated by spaces)"
        return describe(self.arg.help, fallback)

    def render(self, value: Any) -> str:
        """What the engine gets: the raw text a ``!`` command would have carried."""
        if isinstance(value, (discord.User, discord.Member)):
            return f"discord:{value.id}"
        return str(value)


def _options(spec: CommandSpec) -> list[_Option]:
    if len(spec.args) > 25:
        raise ValueError(f"command {spec.name!r}: Discord allows 25 options, not {len(spec.args)}")
    options = [_Option(arg, f"p{i}", option_name(arg.name)) for i, arg in enumerate(spec.args)]
    names = [o.discord_name for o in options]
    if len(set(names)) != len(names):
        raise ValueError(f"command {spec.name!r}: two arguments give the same option name ({names})")
    return options


def _callback(spec: CommandSpec, invoke: Invoke) -> Callable[..., Awaitable[None]]:
    """A callback whose *signature* declares the options, so discord.py builds them the usual way."""
    options = _options(spec)

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
    return callback


# --------------------------------------------------------------------------- the tree


AppCommand = Union[app_commands.Command, app_commands.Group]


def build_app_commands(specs: Sequence[CommandSpec], invoke: Invoke) -> tuple[list[AppCommand], CommandMap]:
    """The top-level slash commands (commands and groups) for ``specs``, and their path map."""
    mapping = map_paths(specs)
    by_path = {s.path: s for s in specs}
    top: dict[str, AppCommand] = {}
    groups: dict[tuple[str, ...], app_commands.Group] = {}

    def group_for(prefix: tuple[str, ...]) -> app_commands.Group:
        if prefix not in groups:
            parent = group_for(prefix[:-1]) if len(prefix) > 1 else None
            bare = by_path.get(prefix)  # the spec that became "<prefix> show", if any
            help_text = bare.help if bare else ""
            group = app_commands.Group(name=prefix[-1], description=describe(help_text, f"{' '.join(prefix)} commands"),
                                       parent=parent)
            groups[prefix] = group
            if parent is None:  # a Group made with parent= is added to it by discord.py itself
                top[prefix[0]] = group
        return groups[prefix]

    for spec in sorted(specs, key=lambda s: mapping.to_discord[s.path]):
        target = mapping.to_discord[spec.path]
        parent = group_for(target[:-1]) if len(target) > 1 else None
        command = app_commands.Command(name=target[-1], description=describe(spec.help, f"/{' '.join(target)}"),
                                       callback=_callback(spec, invoke), parent=parent)
        if parent is None:
            top[target[0]] = command
        else:
            parent.add_command(command)
    if len(top) > 100:  # (a group's 25 sub-commands are checked by Group.add_command)
        raise ValueError(f"Discord allows 100 top-level commands, not {len(top)}")
    return list(top.values()), mapping
