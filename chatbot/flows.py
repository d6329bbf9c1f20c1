"""Multi-step conversations as declared steps (after aiogram's FSM).

A :class:`Flow` is a named list of steps. The current step and the answers so far live in the
``conversation`` table keyed by member, so an interview resumes after a restart and each answer
is saved as it comes. One person is in at most one flow; ``!cancel`` leaves it.
:class:`Conversations` starts interviews and takes their answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from chatbot.commands import in_language
from chatbot.i18n import N_

if TYPE_CHECKING:
    from chatbot.context import Context
    from chatbot.engine import Engine
    from storage.tables import Member

#: parse(ctx, text, answers) -> the value to store; raise ValueError("why") to ask again
Parser = Callable[["Context", str, dict[str, Any]], Any]
#: prompt(ctx, answers) -> the question text
Prompt = Callable[["Context", dict[str, Any]], str]


@dataclass(frozen=True)
class Step:
    name: str
    prompt: Prompt
    parse: Parser
    #: skip this step for these answers (e.g. capacity only for mentors)
    when: Callable[[dict[str, Any]], bool] | None = None
    #: ask this step again while this is true of the answers: a loop over items whose number
    #: depends on the person (the skills of an assessment), where a fixed list of steps cannot do
    again: Callable[[dict[str, Any]], bool] | None = None
    #: (number, of) shown before a looping step's question, where counting steps cannot tell
    progress: Callable[[dict[str, Any]], tuple[int, int]] | None = None

    def applies(self, data: dict[str, Any]) -> bool:
        return self.when is None or self.when(data)


@dataclass(frozen=True)
class Flow:
    name: str
    steps: tuple[Step, ...]
    #: called with every answer once the last step is answered; returns the closing message
    finish: Callable[["Context", dict[str, Any]], Awaitable[str]]
    #: what the person is told when they leave with !cancel
    cancelled: str = N_("Stopped. Nothing was saved.")

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def first(self, data: dict[str, Any]) -> Step | None:
        return self.after(None, data)

    def after(self, name: str | None, data: dict[str, Any]) -> Step | None:
        """The next step that applies after ``name`` (the first one when ``name`` is None)."""
        names = [s.name for s in self.steps]
        start = 0 if name is None else names.index(name) + 1
        if name is not None:
            current = self.steps[start - 1]
            if current.again is not None and current.again(data):
                return current
        for step in self.steps[start:]:
            if step.applies(data):
                return step
        return None

    def position(self, name: str, data: dict[str, Any]) -> tuple[int, int]:
        """(1-based number of this step, steps in all) among those that apply."""
        progress = self.step(name).progress
        if progress is not None:
            return progress(data)
        applying = [s.name for s in self.steps if s.applies(data)]
        return (applying.index(name) + 1 if name in applying else 1, len(applying))


class Conversations:
    """Starts interviews and takes a plain DM as the answer to the current question."""

    def __init__(self, engine: "Engine"):
        self.engine = engine

    def start(self, ctx: "Context", member: "Member", name: str, platform: str, data: dict[str, Any] | None) -> str:
        """Begin interview ``name`` for ``member``; returns its first question."""
        flow = self.engine.flows[name]
        data = dict(data or {})
        first = flow.first(data)
        if first is None:
            raise ValueError(f"flow {name} has no steps")
        assert member.id is not None
        ctx.repos.conversations.start(member.id, name, first.name, platform, data, ctx.now)
        return self.question(flow, first.name, ctx, data)

    def question(self, flow: Flow, step_name: str, ctx: "Context", data: dict[str, Any]) -> str:
        n, total = flow.position(step_name, data)
        return f"({n}/{total}) {flow.step(step_name).prompt(ctx, data)}"

    async def answer(self, ctx: "Context", text: str) -> None:
        """A plain DM: the answer to the interview's current question, if there is one."""
        reply = lambda text: self.engine.finish_reply(ctx, text, private=True)  # noqa: E731
        member = ctx.member
        if member is None or member.id is None:
            return reply(ctx._("I only talk privately with people logged in to an account."))
        conv = ctx.repos.conversations.get(member.id)
        if conv is None:
            for feature in ctx.features:
                if feature.resume is not None and feature.resume(ctx, text):
                    ctx.repos.session.flush()
                    conv = ctx.repos.conversations.get(member.id)
                    break
        if conv is None or conv.flow not in self.engine.flows:
            return reply(ctx._("I'm not waiting for an answer from you right now. Commands start with {prefix}; try {prefix}help.", prefix=ctx.prefix))
        flow = self.engine.flows[conv.flow]
        step = flow.step(conv.step)
        data = dict(conv.data)
        ctx.roles = ctx.roles_of(member)
        try:
            value = step.parse(ctx, text, data)
        except ValueError as exc:
            return reply(f"{in_language(exc, ctx.language)}\n{self.question(flow, step.name, ctx, data)}")
        data[step.name] = value
        following = flow.after(step.name, data)
        if following is None:
            ctx.repos.conversations.end(member.id)
            return reply(await flow.finish(ctx, data))
        conv.step, conv.data = following.name, data
        ctx.repos.conversations.save(conv, ctx.now)
        reply(self.question(flow, following.name, ctx, data))
