"""Multi-step conversations as declared steps (after aiogram's FSM).

A :class:`Flow` is a named list of steps. The current step and the answers so far live in the
``conversation`` table keyed by member, so an interview resumes after a restart and each answer
is saved as it comes. One person is in at most one flow; ``!cancel`` leaves it, ``!later`` puts
it aside (:mod:`storage.aside`) until the command that started it carries it on.
:class:`Conversations` starts interviews and takes their answers; it is the only writer of
conversation state (the ``conversation`` and ``aside_interview`` rows, issue 24), so what an
interview keeps true (the one it paused carries on, one put aside is replaced or kept) holds
whichever feature starts, ends or amends one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable

from chatbot.commands import in_language
from chatbot.i18n import N_
from chatbot.replies import finish_reply

if TYPE_CHECKING:
    from chatbot.context import Context
    from chatbot.engine import Engine
    from storage.aside import AsideInterview
    from storage.conversations import ConversationRow
    from storage.tables import Conversation, Member

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


def carried_on_by(*words: str) -> Callable[["Context", dict[str, Any]], str]:
    """A :attr:`Flow.later` text naming the command that carries the interview on; a word may
    name an answer, e.g. ``carried_on_by("signup", "{kind}")`` → ``!signup mentee``."""
    return lambda ctx, data: ctx._(
        "Put aside with your answers so far; {command} carries on where you stopped.",
        command=ctx.command(*(w.format(**data) for w in words)),
    )


@dataclass(frozen=True)
class Flow:
    name: str
    steps: tuple[Step, ...]
    #: called with every answer once the last step is answered; returns the closing message
    finish: Callable[["Context", dict[str, Any]], Awaitable[str]]
    #: what the person is told when they leave with !cancel
    cancelled: str = N_("Stopped. Nothing was saved.")
    #: what people call it ("your check-in"), when it is paused or times out
    title: str = N_("interview")
    #: does it end on its own after ``[bot] interview_timeout`` without an answer? (a check-in
    #: does not: the next prompt replaces it)
    expires: bool = True
    #: why the interview is over although nobody ended it (a check-in whose next one began, or
    #: whose mentee has no mentor any more), asked before each answer; None while it is open
    closed: Callable[["Context", dict[str, Any]], str | None] | None = None
    #: how a question is asked again after an answer that does not fit it, with the fields
    #: {n}, {total}, {question}, {cancel}, {later} (default: the question as first asked)
    reask: str | None = None
    #: what the person is told when they put it aside with ``!later``: what happens next (which
    #: command carries it on), given the answers so far
    later: Callable[["Context", dict[str, Any]], str] = lambda ctx, data: ctx._(
        "Put aside with your answers so far; the command that started it carries on where you stopped."
    )

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


@dataclass
class Openings:
    """Interviews a scheduled job opens for many people at once: their current conversations,
    loaded in one query, and the new rows, inserted in one statement by :meth:`write`."""

    loaded: dict[int, "Conversation"]
    new: list[dict[str, Any]] = field(default_factory=list)

    #: (member, flow) of every interview opened: one of that kind put aside is replaced
    opened: list[tuple[int, str]] = field(default_factory=list)

    def write(self, ctx: "Context") -> None:
        ctx.repos.conversations.insert_many(self.new)
        self.new.clear()
        for name in {flow for _, flow in self.opened}:
            ctx.repos.aside.drop((m for m, flow in self.opened if flow == name), name)
        self.opened.clear()


def _taken(data: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """Those of ``answers`` that an interview with answers ``data`` took already."""
    return {k: v for k, v in answers.items() if k in data}


#: where a new interview keeps the one it paused (flow, step, answers, platform) until it ends
PAUSED = "_paused"


class Conversations:
    """Starts interviews and takes a plain DM as the answer to the current question."""

    def __init__(self, engine: "Engine"):
        self.engine = engine

    def start(self, ctx: "Context", member: "Member", name: str, platform: str, data: dict[str, Any] | None) -> str:
        """Begin interview ``name`` for ``member``; returns its first question. Another interview
        they are in is paused, not lost: it carries on when this one ends."""
        flow = self.engine.flows[name]
        data = dict(data or {})
        first = flow.first(data)
        if first is None:
            raise ValueError(f"flow {name} has no steps")
        self.drop_aside(ctx, [member.pk], name)  # a new one replaces the one put aside
        return self._begin(ctx, member, flow, first.name, platform, data)

    def _begin(self, ctx: "Context", member: "Member", flow: Flow, step: str, platform: str, data: dict[str, Any]) -> str:
        """Put ``member`` at ``step`` of ``flow``, pausing another interview they are in; the
        question (after a line saying what was paused)."""
        note = None
        open_ = ctx.repos.conversations.get(member.pk)
        if open_ is not None and open_.flow != flow.name and open_.flow in self.engine.flows and not self._expired(open_, ctx.now):
            data[PAUSED] = {"flow": open_.flow, "step": open_.step, "data": dict(open_.data), "platform": open_.platform}
            note = ctx._("I've paused your {title}; it carries on when this one is done.", title=ctx._(self.engine.flows[open_.flow].title))
        ctx.repos.conversations.start(member.pk, flow.name, step, platform, data, ctx.now)
        question = self.question(flow, step, ctx, data)
        return f"{note}\n{question}" if note else question

    def open(
        self, ctx: "Context", member_id: int, name: str, platform: str, data: dict[str, Any], openings: Openings | None = None,
        keep_aside: bool = False,
    ) -> None:
        """Put ``member_id`` at the first step of ``name`` without asking it: the caller's own
        message asks (a check-in prompt lists every question). Replaces the interview they were in,
        and one of that kind put aside unless ``keep_aside`` (the next feedback request, opened as
        one ends: another request put aside stays). With ``openings`` (a scheduled job's batch)
        no query is made per person."""
        first = self.engine.flows[name].first(data)
        if first is None:
            raise ValueError(f"flow {name} has no steps")
        if openings is None:
            ctx.repos.conversations.reopen(member_id, name, first.name, platform, data, ctx.now)
            if not keep_aside:
                self.drop_aside(ctx, [member_id], name)
            return
        if not keep_aside:
            openings.opened.append((member_id, name))
        if member_id in openings.loaded:
            ctx.repos.conversations.reopen(member_id, name, first.name, platform, data, ctx.now, openings.loaded[member_id])
        else:
            openings.new.append(dict(
                member_id=member_id, flow=name, step=first.name, data=data, platform=platform, started_at=ctx.now, updated_at=ctx.now,
            ))

    def end(self, ctx: "Context", member_id: int, *names: str) -> bool:
        """End the interview ``member_id`` is in (only one of ``names`` when given) because what it
        asks about is over (a round closed, a withdrawal, a request no longer open): nothing is
        said and an interview it paused stays lost with it. False when none ended."""
        if names:
            conv = ctx.repos.conversations.get(member_id)
            if conv is None or conv.flow not in names:
                return False
        return ctx.repos.conversations.end(member_id)

    def drop_aside(self, ctx: "Context", member_ids: Iterable[int], name: str) -> None:
        """Forget these members' interviews of kind ``name`` put aside: a new one replaces them,
        or what they ask about is over."""
        ctx.repos.aside.drop(member_ids, name)

    def amend(self, ctx: "Context", member_id: int, name: str, answers: dict[str, Any]) -> None:
        """Replace answers interview ``name`` took already, in the one ``member_id`` is in and in
        one they put aside: an answer given another way since (``!profile set``) would be undone
        when the interview finishes. Answers it has not taken yet are left for it to ask."""
        conv = ctx.repos.conversations.get(member_id)
        if conv is not None and conv.flow == name and (taken := _taken(conv.data, answers)):
            conv.data = {**conv.data, **taken}
            ctx.repos.conversations.save(conv, ctx.now)
        row = ctx.repos.aside.get(member_id, name)
        if row is not None and (taken := _taken(row.data, answers)):
            row.data = {**row.data, **taken}
            ctx.repos.aside.save(row)

    def cancel(self, ctx: "Context", member: "Member") -> str | None:
        """End the interview ``member`` is in (``!cancel``); what they are told, with the paused
        interview's question if one carries on. None when there was nothing to cancel."""
        conv = ctx.repos.conversations.get(member.pk)
        if conv is None:
            return None
        flow = self.engine.flows.get(conv.flow)
        ctx.repos.conversations.end(member.pk)
        told = ctx._(flow.cancelled, prefix=ctx.prefix) if flow else ctx._("Stopped.")
        resumed = self._resume(ctx, member, conv.data.get(PAUSED))
        return f"{told}\n{resumed}" if resumed else told

    def later(self, ctx: "Context", member: "Member") -> str | None:
        """Put the interview ``member`` is in aside (``!later``): kept with its answers until the
        command that started it carries it on. What they are told (with the question of an
        interview it had paused, which carries on); None when nothing was open."""
        conv = ctx.repos.conversations.get(member.pk)
        if conv is None or conv.flow not in self.engine.flows:
            return None
        flow, data = self.engine.flows[conv.flow], dict(conv.data)
        paused = data.pop(PAUSED, None)
        ctx.repos.conversations.end(member.pk)
        if self._expired(conv, ctx.now):
            return None
        told = flow.closed(ctx, data) if flow.closed is not None else None
        if told is None:
            ctx.repos.aside.put(conv, data, ctx.now)
            told = flow.later(ctx, data)
        resumed = self._resume(ctx, member, paused)
        return f"{told}\n{resumed}" if resumed else told

    def resume_aside(
        self, ctx: "Context", member: "Member", name: str, platform: str, same: dict[str, Any]
    ) -> tuple[dict[str, Any], str] | None:
        """Carry on interview ``name`` that ``member`` put aside, when its answers agree with
        ``same`` (a sign-up's kind, a check-in's date): (its answers, its question), or None.
        One that expires is dropped once ``[bot] interview_timeout`` has passed since."""
        row = ctx.repos.aside.get(member.pk, name)
        flow = self.engine.flows.get(name)
        if row is None or flow is None or any(row.data.get(k) != v for k, v in same.items()):
            return None
        ctx.repos.aside.forget(row)
        if self._too_old(flow, row.put_aside_at, ctx.now):
            return None
        return dict(row.data), self._begin(ctx, member, flow, row.step, platform, dict(row.data))

    def reopen_aside(self, ctx: "Context", row: "AsideInterview", platform: str) -> "Conversation":
        """Put an interview set aside back in place without asking (the caller's message asks:
        a check-in's reminder)."""
        ctx.repos.aside.forget(row)
        return ctx.repos.conversations.start(row.member_id, row.flow, row.step, platform, dict(row.data), ctx.now)

    def _resume(self, ctx: "Context", member: "Member", paused: dict[str, Any] | None) -> str | None:
        """Reopen a paused interview where it stopped; its question, or None. Nothing paused:
        nothing to read (the hot path of every finished interview, issue 24)."""
        if not paused:
            return None
        ctx.repos.db.flush()  # the ended conversation's row goes before the same key comes back
        following = ctx.repos.conversations.get(member.pk)
        if following is not None and paused:  # the finish began another interview: the paused one waits for it
            following.data = {**following.data, PAUSED: paused}
            ctx.repos.conversations.save(following, ctx.now)
            return None
        if paused["flow"] not in self.engine.flows or following is not None:
            return None
        flow = self.engine.flows[paused["flow"]]
        ctx.repos.conversations.start(member.pk, flow.name, paused["step"], paused["platform"], paused["data"], ctx.now)
        question = self.question(flow, paused["step"], ctx, paused["data"])
        return ctx._("Back to your {title}:", title=ctx._(flow.title)) + "\n" + question

    def _span(self, ctx: "Context") -> str:
        """The timeout in words ("3 days", "12 hours")."""
        limit = self.engine.settings.bot.interview_timeout_span
        assert limit is not None
        if limit % timedelta(days=1) == timedelta(0):
            return ctx.ngettext("{n} day", "{n} days", limit.days)
        return ctx.ngettext("{n} hour", "{n} hours", max(1, round(limit / timedelta(hours=1))))

    def _expired(self, conv: "Conversation | ConversationRow", now: datetime) -> bool:
        flow = self.engine.flows.get(conv.flow)
        return flow is not None and self._too_old(flow, conv.updated_at, now)

    def _too_old(self, flow: Flow, since: datetime, now: datetime) -> bool:
        """Has ``flow``, untouched since ``since``, ended on its own (``[bot] interview_timeout``)?"""
        limit = self.engine.settings.bot.interview_timeout_span
        return flow.expires and limit is not None and now - since > limit

    def question(self, flow: Flow, step_name: str, ctx: "Context", data: dict[str, Any]) -> str:
        n, total = flow.position(step_name, data)
        return f"({n}/{total}) {flow.step(step_name).prompt(ctx, data)}"

    def again(self, flow: Flow, step_name: str, ctx: "Context", data: dict[str, Any]) -> str:
        """The question asked again after an answer that did not fit it."""
        if flow.reask is None:
            return self.question(flow, step_name, ctx, data)
        n, total = flow.position(step_name, data)
        question = flow.step(step_name).prompt(ctx, data)
        return ctx._(flow.reask, n=n, total=total, question=question, cancel=ctx.command("cancel"), later=ctx.command("later"))

    async def answer(self, ctx: "Context", text: str) -> None:
        """A plain DM: the answer to the interview's current question, if there is one."""
        reply = lambda text: finish_reply(ctx, text, private=True)  # noqa: E731
        member = ctx.member
        if member is None or member.id is None:
            return reply(ctx._("I only talk privately with people logged in to an account."))
        conv = ctx.repos.conversations.current(member.id)  # plain values: an answer owes the ORM nothing
        if conv is None:
            for feature in ctx.features:
                if feature.resume is not None and feature.resume(ctx, text):
                    conv = ctx.repos.conversations.current(member.id)
                    break
        if conv is not None and self._expired(conv, ctx.now):
            ctx.repos.conversations.end(member.id)
            title = ctx._(self.engine.flows[conv.flow].title)
            return reply(ctx._(
                "I stopped waiting for an answer to your {title} after {span}, so I did not take this message "
                "as one. Start it again whenever you like; {prefix}help lists the commands.",
                title=title, span=self._span(ctx), prefix=ctx.prefix,
            ))
        if conv is None or conv.flow not in self.engine.flows:
            return reply(ctx._("I'm not waiting for an answer from you right now. Commands start with {prefix}; try {prefix}help.", prefix=ctx.prefix))
        flow = self.engine.flows[conv.flow]
        step = flow.step(conv.step)
        data = dict(conv.data)
        ctx.roles = ctx.roles or ctx.roles_of(member)  # the engine read them with the member
        closed = flow.closed(ctx, data) if flow.closed is not None else None
        if closed is not None:
            ctx.repos.conversations.end(member.id)
            resumed = self._resume(ctx, member, data.get(PAUSED))
            return reply(f"{closed}\n{resumed}" if resumed else closed)
        try:
            value = step.parse(ctx, text, data)
        except ValueError as exc:
            return reply(f"{in_language(exc, ctx.language)}\n{self.again(flow, step.name, ctx, data)}")
        data[step.name] = value
        following = flow.after(step.name, data)
        if following is None:
            paused = data.pop(PAUSED, None)
            ctx.repos.conversations.end(member.id)
            closing = await flow.finish(ctx, data)
            resumed = self._resume(ctx, member, paused)
            return reply(f"{closing}\n{resumed}" if resumed else closing)
        ctx.repos.conversations.advance(member.id, following.name, data, ctx.now)
        reply(self.question(flow, following.name, ctx, data))
