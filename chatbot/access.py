"""Who may name whom: the declared access of a person argument, checked in one place.

A command that names a person (``!goal alice``, ``!checkins alice last 3``) declares on that
argument (``Arg(..., access=Access.of(SELF, MENTOR, COORDINATOR))``) which relationships let the
asker name them: themselves, their mentees, anyone when they coordinate (admins hold every
role). The engine's gate checks the declaration after the role check and before the handler
runs (:func:`check`), and refuses with a text the declaration gives or one written from it, so
no handler repeats "yourself, your mentee or a coordinator" and every refusal reads the same.

An "anyone" command may also declare that visitors without an account (an IRC nick not
identified to services) come in only where a setting says so (:class:`Visitors`: office hours'
``allow_anonymous``); the same gate applies it (:func:`visitors_welcome`).

Only data and lookups through ``ctx.repos`` live here: which round a mentor must have mentored
someone in, and how a free-text argument names its person, are the declaring feature's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from chatbot.commands import ActionError, Either
from chatbot.i18n import N_

if TYPE_CHECKING:
    from chatbot.commands import CommandSpec
    from chatbot.config import Settings
    from chatbot.context import Context
    from storage.tables import Member, Round


class Rel(enum.Enum):
    """A relationship between the asker and the person an argument names."""

    #: the asker themselves
    SELF = "self"
    #: the asker mentors that person now (lead or co-mentor, a pair not ended)
    MENTOR = "mentor"
    #: the asker mentored that person (lead or co-mentor) in the round the command is about
    #: (:attr:`Access.round` says which; a pair that ended since still counts)
    ROUND_MENTOR = "round mentor"
    #: the asker has the coordinator role (admins too)
    COORDINATOR = "coordinator"


SELF, MENTOR, ROUND_MENTOR, COORDINATOR = Rel.SELF, Rel.MENTOR, Rel.ROUND_MENTOR, Rel.COORDINATOR

#: the round a command is about, for a person and the round's name the argument gave (or None)
RoundOf = Callable[["Context", "Member", "str | None"], "Round | None"]
#: the person (and a round's name) a free-text argument names; None: nobody, the asker is meant
PersonOf = Callable[["Context", Any], "tuple[Member | None, str | None]"]

#: how each relationship is named in a refusal written from the declaration ("yourself or your mentees")
WHOM = {SELF: N_("yourself"), MENTOR: N_("your mentees"), ROUND_MENTOR: N_("your mentees")}


@dataclass(frozen=True)
class Access:
    """Whom a person argument may name: the asker passes with any one of ``who``."""

    who: frozenset[Rel]
    #: the refusal (``{name}``: the person named, ``{command}``); None: one written from ``who``
    refusal: str | None = None
    #: for ``ROUND_MENTOR``: the round the command is about
    round: RoundOf | None = None
    #: for an argument that is not a member: how to read the person (and a round's name) from it
    person: PersonOf | None = None

    def __post_init__(self) -> None:
        if ROUND_MENTOR in self.who and self.round is None:
            raise ValueError("a round mentor's access needs the round the command is about")

    @classmethod
    def of(cls, *who: Rel, **rest: Any) -> "Access":
        return cls(frozenset(who), **rest)

    def describe(self) -> str:
        """``self|mentor|coordinator``: the declaration as help and COMMANDS.md show it."""
        return "|".join(dict.fromkeys(r.value.split()[-1] for r in Rel if r in self.who))


@dataclass(frozen=True)
class Visitors:
    """An "anyone" command that lets visitors without an account in only where ``allowed``
    (a setting) says so; ``refusal`` is what they are told (None: the engine's usual words)."""

    allowed: Callable[["Settings"], bool]
    refusal: str | None = None


def visitors_welcome(spec: "CommandSpec", settings: "Settings") -> bool:
    """May a visitor without an account run ``spec`` (declared for "anyone")?"""
    return spec.visitors is None or spec.visitors.allowed(settings)


def check(ctx: "Context", spec: "CommandSpec", args: Mapping[str, Any]) -> None:
    """Refuse, before the handler runs, an argument naming someone the asker may not name.
    An argument left out names nobody: the handler means the asker (or everyone it may show)."""
    me = ctx.member
    for arg in spec.args:
        rule, value = arg.access, args.get(arg.name)
        if rule is None or me is None or value is None or value == []:
            continue
        person, round_name = rule.person(ctx, value) if rule.person is not None else (value, None)
        if person is not None and not may_name(ctx, rule, me, person, round_name):
            raise refusal(ctx, spec, rule, person)


def may_name(ctx: "Context", rule: Access, me: "Member", person: "Member", round_name: str | None) -> bool:
    """Does one of the declared relationships hold between the asker and ``person``?"""
    if SELF in rule.who and person.pk == me.pk:
        return True
    if COORDINATOR in rule.who and ctx.has_role("coordinator"):
        return True
    if MENTOR in rule.who and ctx.repos.pairs.mentors(me.pk, person.pk):
        return True
    if ROUND_MENTOR in rule.who and rule.round is not None:
        rnd = rule.round(ctx, person, round_name)
        return rnd is not None and ctx.repos.pairs.mentored_in(me.pk, person.pk, rnd.pk)
    return False


def refusal(ctx: "Context", spec: "CommandSpec", rule: Access, person: "Member") -> ActionError:
    """Why the asker may not name ``person``: the declared text, else one written from the
    relationships (in the asker's language, as role refusals are)."""
    fields = {"name": person.handle, "command": ctx.command(spec.name)}
    if rule.refusal is not None:
        return ActionError(rule.refusal, **fields)
    whom = Either(tuple(dict.fromkeys(ctx._(WHOM[r]) for r in Rel if r in rule.who and r in WHOM)))
    if COORDINATOR in rule.who:
        return ActionError(N_("{command} {name}: you can name only {whom} (coordinators: anyone)."), whom=whom, **fields)
    return ActionError(N_("{command} {name}: you can name only {whom}."), whom=whom, **fields)
