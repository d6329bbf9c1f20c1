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

from chatbot.commands import Arg, CommandRegistry, CommandSpec
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


def declared_allows(roles: tuple[str, ...], kind: str | None) -> bool:
    """The documented meaning of a declaration, written out independently of the engine."""
    if "anyone" in roles:
        return True
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
        with Session(self.bot.app.db) as s:
            repos = Repos(s)
            member = repos.members.create("console", name, name, self.bot.clock.now())
            if kind:
                repos.roles.grant(member.id, kind, None, self.bot.clock.now())  # type: ignore[arg-type]
            s.commit()
        return Identity("console", name, name)


def refusal_pattern(spec: CommandSpec, kind: str | None) -> str:
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
        "who may run a command changed; if that is meant, update POLICY in tests/test_permissions.py:\n"
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
        if declared_allows(spec.roles, kind):
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
        allowed = next(k for k in reversed(KINDS) if declared_allows(spec.roles, k))
        denied = [k for k in reversed(KINDS) if not declared_allows(spec.roles, k)][:1]
        cases = [(allowed, True)] + [(k, False) for k in denied]
        for kind, admit in cases:
            who = people.make(kind)
            event = CommandInvoked(who, where_for(spec), spec.path, sample_args(spec), event_id=f"c{next(people.counter)}")
            out = await send(bot, event)
            refused = any(re.search(refusal_pattern(spec, kind), o) for o in out)
            if refused == admit:
                wrong.append(f"/{spec.name} by {kind if kind is not None else 'a visitor'}: {out}")
    assert wrong == [], "\n".join(wrong)
