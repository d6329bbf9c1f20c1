"""Every declared command against every kind of person: the engine lets in exactly whom the
declaration names, and refuses everybody else before the handler runs.

The expectations are derived here from the declared roles with the documented rules (``anyone``
includes visitors without an account; ``member`` is anybody with one; admins may do everything
but nothing lets an anonymous visitor past a non-``anyone`` command), not from
``Engine.allowed``, so a change to either side that breaks the promise fails this test. The
commands are sent as people send them (text, and slash commands), with arguments that parse.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import pytest
from sqlmodel import Session

from chatbot.access import Access, Rel, refusal
from chatbot.commands import Arg, CommandRegistry, CommandSpec
from chatbot.config import embedded_default
from chatbot.events import CommandInvoked, Identity, TextReceived, Where
from chatbot.features import all_features
from storage.repos import Repos
from tests.harness import Bot

#: the kinds of people: None is a visitor the platform cannot vouch for, "" a plain member
KINDS = (None, "", "mentee", "mentor", "host", "coordinator", "admin")
CHANNEL = "#perm"
SPECS = sorted((s for f in all_features() for s in f.commands), key=lambda s: s.path)

#: the reviewed policy: who may run what. A change here is a change of who may do what, so it
#: is made on purpose (copy the line the failure prints), never as a side effect.
POLICY = {
    "help": ("anyone",),
    "cancel": ("member",),
    "later": ("member",),
    "link": ("member",),
    "role grant": ("coordinator",),
    "role revoke": ("coordinator",),
    "role list": ("coordinator",),
    "whoami": ("member",),
    "status": ("admin",),
    "round open": ("coordinator",),
    "round close": ("coordinator",),
    "round status": ("member",),
    "round chart": ("coordinator",),
    "round outcomes": ("coordinator",),
    "certificate issue": ("coordinator",),
    "certificate revoke": ("coordinator",),
    "certificate verify": ("anyone",),
    "round pairs": ("coordinator",),
    "round report": ("coordinator",),
    "round export": ("coordinator",),
    "checkins overview": ("coordinator",),
    "dashboard": ("coordinator", "mentor", "host"),
    "signup": ("member",),
    "signup status": ("member",),
    "profile": ("member",),
    "profile set": ("member",),
    "withdraw": ("member",),
    "match assign": ("coordinator",),
    "match comentor": ("coordinator",),
    "match unassign": ("coordinator",),
    "match claim": ("mentor",),
    "match suggest": ("coordinator",),
    "match confirm": ("coordinator",),
    "match report": ("coordinator",),
    "mentor open": ("mentor",),
    "mentor closed": ("mentor",),
    "mentor": ("mentee",),
    "mentees": ("mentor",),
    "checkin": ("mentee",),
    "checkin edit": ("mentee",),
    "checkin schedule": ("mentee",),
    "checkin digest": ("mentor",),
    "checkins": ("mentee", "mentor", "coordinator"),
    "feedback": ("mentee", "mentor"),
    "feedback status": ("coordinator",),
    "feedback show": ("coordinator",),
    "goal": ("mentee", "mentor", "coordinator"),
    "goal set": ("mentee",),
    "goal done": ("mentee",),
    "goal step add": ("mentee",),
    "goal step done": ("mentee",),
    "goal comment": ("mentor",),
    "session log": ("mentor",),
    "session list": ("mentor", "mentee", "coordinator"),
    "session edit": ("mentor",),
    "session delete": ("mentor",),
    "session totals": ("coordinator",),
    "away until": ("member",),
    "away status": ("member",),
    "back": ("member",),
    "assess": ("mentee", "mentor"),
    "assess review": ("mentor",),
    "assess final": ("mentor",),
    "assess report": ("mentee", "mentor", "coordinator"),
    "oh open": ("host",),
    "oh close": ("host", "coordinator"),
    "oh duty": ("host",),
    "oh say": ("host",),
    "oh hosts": ("anyone",),
    "oh stats": ("host", "coordinator"),
    "next": ("host",),
    "done": ("host",),
    "skip": ("host",),
    "q join": ("anyone",),
    "q leave": ("anyone",),
    "q": ("anyone",),
    "q notify": ("member",),
    "mydata export": ("member",),
    "mydata delete": ("member",),
}


def declared_allows(roles: tuple[str, ...], kind: str | None, visitors_welcome: bool = True) -> bool:
    """The documented meaning of a declaration, written out independently of the engine
    (``visitors_welcome``: what the setting a command's ``visitors`` names says)."""
    if "anyone" in roles:
        return kind is not None or visitors_welcome
    if kind is None:
        return False
    return "member" in roles or kind == "admin" or kind in roles


SAMPLE = {
    "word": "x1", "text": "a few words", "member": "target", "duration": "30m", "date": "2027-02-01",
    "time": "10:00", "timezone": "Europe/Berlin",
}


def sample(arg: Arg) -> str:
    """A value of the argument's kind that parses."""
    if arg.choices:
        return arg.choices[0]
    if arg.kind == "int":
        return str(max(arg.minimum if arg.minimum is not None else 1, 1))
    return SAMPLE[arg.kind]


def sample_args(spec: CommandSpec) -> dict[str, str]:
    return {a.name: sample(a) for a in spec.args if a.required}


def line_of(spec: CommandSpec) -> str:
    words = [f'"{v}"' if " " in v else v for v in sample_args(spec).values()]
    return " ".join(["!" + spec.name, *words])


@dataclass
class People:
    """One fresh person per (command, kind): nothing one command does changes another's rights."""

    bot: Bot
    counter: itertools.count = field(default_factory=itertools.count)

    def make(self, kind: str | None) -> Identity:
        n = next(self.counter)
        if kind is None:
            return Identity("console", None, f"visitor{n}")
        name = f"p{n}"
        with Session(self.bot.app.database) as s:
            repos = Repos(s)
            member = repos.members.create("console", name, name, self.bot.clock.now())
            if kind:
                repos.roles.grant(member.id, kind, None, self.bot.clock.now())  # type: ignore[arg-type]
            s.commit()
        return Identity("console", name, name)


def refusal_pattern(spec: CommandSpec, kind: str | None) -> str:
    if kind is None and spec.visitors is not None and spec.visitors.refusal:
        return rf"^{re.escape(spec.visitors.refusal)}$"
    if kind is None:
        return rf"^!{re.escape(spec.name)} needs you to be logged in to your account"
    return rf"^!{re.escape(spec.name)} is for .+ \(you have: {kind or 'no role yet'}\)\.$"


async def send(bot: Bot, event: TextReceived | CommandInvoked) -> list[str]:
    """What the bot said because of the event, without the channel addressee prefix."""
    before = len(bot.said)
    await bot.handle(event)
    prefix = f"{event.who.display}: "
    return [s.text.removeprefix(prefix) for s in bot.said[before:]]


def where_for(spec: CommandSpec) -> Where:
    return Where("console", CHANNEL if spec.scope == "channel" else None)


def test_the_declared_roles_are_the_reviewed_policy():
    declared = {s.name: s.roles for s in SPECS}
    changed = [f'    "{name}": {roles!r},' for name, roles in declared.items() if POLICY.get(name) != roles]
    gone = sorted(set(POLICY) - set(declared))
    assert not changed and not gone, (
        "who may run a command changed; if that is meant, update POLICY in tests/features/test_permissions.py:\n"
        + "\n".join(changed) + (f"\nno longer declared: {gone}" if gone else "")
    )


def test_sample_arguments_parse_for_every_command():
    reg = CommandRegistry()
    reg.add(SPECS)
    for spec in SPECS:
        parsed = reg.parse(line_of(spec))
        assert parsed is not None and parsed.spec.path == spec.path, line_of(spec)
        assert spec.bind_mapping(sample_args(spec)) is not None


@pytest.fixture
async def matrix_bot(tmp_path):
    bot = await Bot.start(tmp_path)
    await bot.say("you", '!round open "2027 Q1" 2027-01-01 2027-03-31')  # so handlers get further
    for name in ("target", "target2"):
        await bot.say(name, "!whoami")
    yield bot
    await bot.stop()


async def test_every_command_admits_exactly_whom_it_declares(matrix_bot):
    bot, people = matrix_bot, People(matrix_bot)
    wrong: list[str] = []
    for spec, kind in itertools.product(SPECS, KINDS):
        who = people.make(kind)
        out = await send(bot, TextReceived(who, where_for(spec), line_of(spec), event_id=f"t{next(people.counter)}"))
        label = f"{line_of(spec)!r} by {kind if kind is not None else 'a visitor'}"
        refused = [o for o in out if re.search(refusal_pattern(spec, kind), o)]
        if declared_allows(spec.roles, kind, spec.visitors is None):  # visitors: not by default
            if refused or not out or any("something went wrong" in o for o in out):
                wrong.append(f"{label} should be let in: {out}")
        elif len(out) != 1 or not refused:
            wrong.append(f"{label} should get only the refusal: {out}")
    assert wrong == [], "\n".join(wrong)


async def test_slash_commands_are_held_to_the_same_declarations(matrix_bot):
    """The structured path (Discord) checks the same roles: per command, the first kind the
    declaration refuses and the first it admits."""
    bot, people = matrix_bot, People(matrix_bot)
    wrong: list[str] = []
    for spec in SPECS:
        allowed = next(k for k in reversed(KINDS) if declared_allows(spec.roles, k, spec.visitors is None))
        denied = [k for k in reversed(KINDS) if not declared_allows(spec.roles, k, spec.visitors is None)][:1]
        cases = [(allowed, True)] + [(k, False) for k in denied]
        for kind, admit in cases:
            who = people.make(kind)
            event = CommandInvoked(who, where_for(spec), spec.path, sample_args(spec), event_id=f"c{next(people.counter)}")
            out = await send(bot, event)
            refused = any(re.search(refusal_pattern(spec, kind), o) for o in out)
            if refused == admit:
                wrong.append(f"/{spec.name} by {kind if kind is not None else 'a visitor'}: {out}")
    assert wrong == [], "\n".join(wrong)


# ---------------------------------------------------------------------------- who may name whom

#: how the asker stands to the person a command names
RELATIONSHIPS = ("self", "own mentee", "co-mentee", "someone else's mentee", "stranger")
ASKERS = ("mentee", "mentor", "coordinator", "admin")
NAMING = [(s, a) for s in SPECS for a in s.args if a.access is not None]


def may_name(who: frozenset[Rel], kind: str, relationship: str) -> bool:
    """The documented relationships, written out independently of ``chatbot.access``: coordinators
    (and admins, who hold every role) name anyone where the declaration says so; a mentor (lead
    or co-mentor) names their mentee, now or in the round the command is about (here the pairs
    are in the running round, which every command is about when no round is named)."""
    if Rel.COORDINATOR in who and kind in ("coordinator", "admin"):
        return True
    if relationship == "self":
        return Rel.SELF in who
    if relationship in ("own mentee", "co-mentee"):
        return bool({Rel.MENTOR, Rel.ROUND_MENTOR} & who)
    return False


def access_refusal(spec: CommandSpec, rule: Access, name: str) -> str:
    if rule.refusal is not None:
        return "^" + re.escape(rule.refusal.format(name=name, command="!" + spec.name)) + "$"
    return rf"^!{re.escape(spec.name)} {re.escape(name)}: you can name only .+\.$"


def naming_line(spec: CommandSpec, named: Arg, handle: str) -> dict[str, str]:
    """The command's arguments up to the one that names a person, that one naming ``handle``."""
    values: dict[str, str] = {}
    for arg in spec.args:
        if arg is named:
            values[arg.name] = handle
            return values
        values[arg.name] = sample(arg)
    return values


def related(people: People, kind: str, relationship: str) -> tuple[Identity, str]:
    """A fresh asker of ``kind`` and the handle of a fresh person standing to them as
    ``relationship`` (pairs in the running round)."""
    asker = people.make(kind)
    if relationship == "self":
        return asker, asker.account or ""
    target, lead = people.make("mentee"), people.make("mentor")
    with Session(people.bot.app.database) as s:
        repos, now = Repos(s), people.bot.clock.now()
        rnd = repos.rounds.by_name("2027 Q1")
        ids = {i.account: repos.members.by_identity("console", i.account).id for i in (asker, target, lead)}  # type: ignore[union-attr,arg-type]
        pairs = {
            "own mentee": [(asker, "mentor")], "co-mentee": [(lead, "mentor"), (asker, "comentor")],
            "someone else's mentee": [(lead, "mentor")], "stranger": [],
        }[relationship]
        for mentor, pair_kind in pairs:
            repos.pairs.add(rnd.id, ids[target.account], ids[mentor.account], pair_kind, None, now)  # type: ignore[union-attr,arg-type]
        s.commit()
    return asker, target.account or ""


async def test_person_arguments_name_exactly_whom_they_declare(matrix_bot):
    """Every command with a person argument × every relationship × every kind of asker, by text
    and as a slash command: the role refusal first, then the access refusal, else the handler."""
    bot, people = matrix_bot, People(matrix_bot)
    wrong: list[str] = []
    assert {s.name for s, _ in NAMING} >= {"goal", "session list", "checkins", "assess report", "profile"}
    for (spec, named), kind, relationship, slash in itertools.product(NAMING, ASKERS, RELATIONSHIPS, (False, True)):
        asker, handle = related(people, kind, relationship)
        values = naming_line(spec, named, handle)
        n = next(people.counter)
        event = CommandInvoked(asker, where_for(spec), spec.path, values, event_id=f"n{n}") if slash else \
            TextReceived(asker, where_for(spec), " ".join(["!" + spec.name, *values.values()]), event_id=f"n{n}")
        out = await send(bot, event)
        label = f"{'/' if slash else '!'}{spec.name} {handle} by a {kind} ({relationship})"
        assert named.access is not None
        if not declared_allows(spec.roles, kind):
            expected = refusal_pattern(spec, kind)
        elif not may_name(named.access.who, kind, relationship):
            expected = access_refusal(spec, named.access, handle)
        else:
            expected = None
        if expected is not None and (len(out) != 1 or not re.search(expected, out[0])):
            wrong.append(f"{label} should get only {expected!r}: {out}")
        if expected is None and (not out or any(re.search(access_refusal(spec, named.access, handle), o)
                                                or re.search(refusal_pattern(spec, kind), o)
                                                or "something went wrong" in o for o in out)):
            wrong.append(f"{label} should be let in: {out}")
    assert wrong == [], "\n".join(wrong)


def test_a_refusal_is_written_from_the_declaration_when_it_gives_none():
    from chatbot.i18n import ENGLISH

    class Asker:  # what the refusal reads of a context
        _ = staticmethod(ENGLISH._)

        @staticmethod
        def command(*words: str) -> str:
            return "!" + " ".join(words)

    spec = next(s for s in SPECS if s.name == "profile")
    member = type("M", (), {"handle": "carol"})()
    both = refusal(Asker(), spec, Access.of(Rel.SELF, Rel.MENTOR, Rel.COORDINATOR), member)  # type: ignore[arg-type]
    assert both.in_language(ENGLISH) == "!profile carol: you can name only yourself or your mentees (coordinators: anyone)."
    mine = refusal(Asker(), spec, Access.of(Rel.SELF), member)  # type: ignore[arg-type]
    assert mine.in_language(ENGLISH) == "!profile carol: you can name only yourself."
    assert Access.of(Rel.SELF, Rel.MENTOR, Rel.COORDINATOR).describe() == "self|mentor|coordinator"


@pytest.mark.parametrize("welcome", [False, True])
async def test_visitors_without_an_account_come_in_where_the_setting_lets_them(tmp_path, welcome):
    """The declared ``visitors`` rule (office hours' ``allow_anonymous``), by the same gate."""
    raw = embedded_default().model_dump()
    raw["office_hours"] = {**raw.get("office_hours", {}), "allow_anonymous": welcome}
    bot = await Bot.start(tmp_path, config=raw)
    try:
        declared = [s for s in SPECS if s.visitors is not None]
        assert {s.name for s in declared} == {"q join", "q leave"}
        for n, spec in enumerate(declared):
            visitor = Identity("console", None, f"guest{n}")
            out = await send(bot, TextReceived(visitor, where_for(spec), line_of(spec), event_id=f"v{n}"))
            refused = [o for o in out if re.search(refusal_pattern(spec, None), o)]
            assert (len(out) == 1 and refused) if not welcome else (out and not refused), (spec.name, out)
            if not welcome:
                assert refused == [spec.visitors.refusal]  # type: ignore[union-attr]
    finally:
        await bot.stop()
