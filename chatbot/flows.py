"""Multi-step conversations as declared steps (after aiogram's FSM).

A :class:`Flow` is a named list of steps. The current step and the answers so far live in the
``conversation`` table keyed by member, so an interview resumes after a restart and each answer
is saved as it comes. One person is in at most one flow; ``!cancel`` leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

if TYPE_CHECKING:
    from chatbot.engine import Context

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
    cancelled: str = "Stopped. Nothing was saved."

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
