"""The engine: routes inbound events to feature handlers, checks permissions, answers errors.

Why it is shaped like this:
- **Commit, then return.** An inbound event is handled inside a database transaction together
  with the outbound messages it produces (written to the outbox), and the adapter's ``sink``
  returns once that is committed: an answer is stored before it is acknowledged. Sending is not
  the engine's job: background senders (``chatbot.delivery``) drain the outbox beside it, so a
  platform's pacing slows sending only, never handling.
- **Group commit.** Events waiting when the engine becomes free are handled in one transaction,
  each inside its own savepoint: one failing handler rolls back alone and is answered with the
  usual polite error, while the others commit. A group is bounded in count and in time.
- **Permissions in one place.** :meth:`Engine.allowed` compares a command's declared roles with
  the roles of the *member* behind the stable account id. Default deny. Whom a person argument
  may name (yourself, your mentees, ...) is declared too and checked there (``chatbot.access``).
- **One writer.** Units of work (event groups, job batches, the senders' bookkeeping) take one
  asyncio lock, so SQLite never sees two writers from the same process. Handlers do no I/O.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from sqlalchemy.engine import Engine as DbEngine
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session

from chatbot import access
from chatbot.clock import Clock
from chatbot.commands import ActionError, CommandRegistry, CommandSpec, Either, UsageError, in_language
from chatbot.config import Settings
from chatbot.context import Context, Feature, Job
from chatbot.delivery.fairness import Pending
from chatbot.delivery.records import Recipient, choose_identity
from chatbot.delivery.recording import Recorder, due_when_seen
from chatbot.delivery.sender import Senders
from chatbot.events import (
    CommandInvoked,
    CompletionRequested,
    Handled,
    Identity,
    Inbound,
    Left,
    Presence,
    Renamed,
    Reply,
    Returned,
    Seen,
    TextReceived,
    Where,
)
from chatbot.flows import Conversations, Flow
from chatbot.i18n import N_, Language, Languages
from chatbot.replays import FirstTimes, event_key
from chatbot.people import find_member
from chatbot.replies import finish_reply, reply_for
from chatbot.rests import Rests
from storage.repos import EventRepo, Repos
from storage.tables import Member

if TYPE_CHECKING:
    from adapters.base import Adapter

log = logging.getLogger(__name__)

SEEN_TOUCH_INTERVAL = timedelta(minutes=5)
#: a bound on one job's batches in one tick, so a job that always says "more" cannot hold the
#: scheduler forever (500 prompts a batch: 100,000 mentees)
MAX_JOB_BATCHES = 200
#: events handled in one transaction at most, and the handling time after which a group
#: commits and the rest wait for the next one (one slow disk sync per group, not per event)
GROUP_EVENTS = 64
GROUP_SECONDS = 0.05
#: events accepted and not yet handled; past it an adapter's sink waits, so it reads slower
INBOX_LIMIT = 1000

_Waiting = tuple[Inbound, "asyncio.Future[Handled]"]


class Engine:
    def __init__(
        self,
        database: DbEngine,
        settings: Settings,
        clock: Clock,
        features: Sequence[Feature],
        rng: random.Random | None = None,
    ):
        self.database = database
        #: the source of link codes; seeded only where output must be reproducible (scripts)
        self.rng = rng or secrets.SystemRandom()
        self.settings = settings
        self.clock = clock
        self.registry = CommandRegistry()
        self.flows: dict[str, Flow] = {}
        self.jobs: list[Job] = []
        self.features: list[Feature] = list(features)
        self.completions: dict[str, Callable[[Context, str], list[str]]] = {"members": _complete_members}
        self.adapters: dict[str, "Adapter"] = {}
        #: platforms other processes serve over the same database (``mentorbot run --adapters``):
        #: DMs may go there too, recorded unclaimed for that process's sender to take
        self.elsewhere: frozenset[str] = frozenset()
        #: the one writer lock: event groups, job batches and the senders' bookkeeping
        self.lock = asyncio.Lock()
        #: jobs that found nothing due before a time, skipped by the ticks until then
        self.rests = Rests()
        self.senders = Senders(database, clock, self.lock, self._refused)
        #: writes a unit of work's messages to the outbox (same transaction as the change)
        self.record = Recorder(self.senders, lambda platform: platform in self.adapters)
        self.conversations = Conversations(self)
        self.languages = Languages(settings.bot.language, settings.bot.locale_dir)
        self._admins = frozenset(settings.admins)
        #: where the web dashboard is served (set by the app when it runs one): sign-in links
        #: and chart summaries point there
        self.web_url: str | None = None
        self._accepting = True
        self._inbox: asyncio.Queue[_Waiting] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._handling = 0  # events taken from the inbox and not yet answered
        self._quiet = asyncio.Event()  # set while nothing waits or is being handled
        self._quiet.set()
        for feature in features:
            self.registry.add(feature.commands)
            for flow in feature.flows:
                if flow.name in self.flows:
                    raise ValueError(f"flow {flow.name} declared twice")
                self.flows[flow.name] = flow
            self.jobs.extend(feature.jobs)
            self.completions.update(feature.completions)

    # ------------------------------------------------------------------ adapters

    def attach(self, adapter: "Adapter") -> None:
        """Serve ``adapter``'s platform: DMs may go there, and its sender starts (sending what
        an earlier run left in the outbox)."""
        self.adapters[adapter.platform] = adapter
        self.senders.add(adapter).start()

    def language_for(self, where: Where | None, member: Member | None) -> Language:
        """The language an answer is in: a DM speaks the person's, a channel its own (config),
        else the bot's default."""
        if where is not None and not where.is_direct:
            return self.languages.get(self.settings.channel_language(where.platform, where.channel or ""))
        return self.languages.get(member.language if member is not None else None)

    @property
    def platforms(self) -> frozenset[str]:
        """Every platform a DM can go out on: this process's and the other processes'."""
        return frozenset(self.adapters) | self.elsewhere

    @property
    def specs(self) -> list[CommandSpec]:
        return list(self.registry)

    # ------------------------------------------------------------------ people and roles

    def member_roles(self, repos: Repos, member: Member, platform_roles: Iterable[str] = ()) -> frozenset[str]:
        return frozenset({"member"} | repos.roles.of(member.pk, self._admins) | set(platform_roles))

    def reachable_identity(self, repos: Repos, member: Recipient) -> Identity | None:
        return choose_identity(member, repos.members.reachable(member.pk), self.platforms)

    def member_for(self, repos: Repos, who: Identity, now: datetime) -> Member | None:
        """The member behind a stable account, created on first contact. None for anonymous."""
        return self._seen(repos, who, now)[0]

    def _seen(self, repos: Repos, who: Identity, now: datetime) -> tuple[Member | None, frozenset[str] | None]:
        """The member behind a stable account (created on first contact) and their roles, read
        in the same query (the gate needs both at every command); roles None for a new member."""
        if who.account is None:
            return None, None
        found = repos.members.identity_with_roles(who.platform, who.account, self._admins)
        if found is None:
            return repos.members.create(who.platform, who.account, who.display, now), None
        ident, member, roles = found
        if ident.display != who.display or now - ident.last_seen > SEEN_TOUCH_INTERVAL or ident.undeliverable_since:
            repos.members.touch(ident.id, who.display, now)  # (clears undeliverable_since: worth trying again)
        return member, frozenset({"member"} | roles)

    def _gate_roles(self, ctx: Context, platform_roles: Iterable[str] = ()) -> None:
        """The asker as a member (``ctx.member``) and their roles (``ctx.roles``)."""
        assert ctx.who is not None
        ctx.member, roles = self._seen(ctx.repos, ctx.who, ctx.now)
        if ctx.member is None:
            ctx.roles = frozenset()
        elif roles is None:
            ctx.roles = self.member_roles(ctx.repos, ctx.member, platform_roles)
        else:
            ctx.roles = roles | set(platform_roles)

    def allowed(self, spec: CommandSpec, who: Identity, roles: frozenset[str]) -> bool:
        if "anyone" in spec.roles:
            return not who.anonymous or access.visitors_welcome(spec, self.settings)
        if who.anonymous:
            return False
        if "member" in spec.roles or "admin" in roles:
            return True
        return bool(roles & set(spec.roles))

    def refusal(self, spec: CommandSpec, who: Identity, roles: frozenset[str]) -> ActionError:
        """Why the gate said no, in words the person can act on."""
        command = self.settings.bot.prefix + spec.name
        if who.anonymous:
            return ActionError(
                spec.visitors and spec.visitors.refusal
                or N_("{command} needs you to be logged in to your account (on IRC: identify to services first)."),
                command=command,
            )
        needed = Either(spec.roles)
        have = ", ".join(sorted(r for r in roles if r != "member"))
        if not have:
            return ActionError(N_("{command} is for {needed} (you have: no role yet)."), command=command, needed=needed)
        return ActionError(N_("{command} is for {needed} (you have: {have})."), command=command, needed=needed, have=have)

    # ------------------------------------------------------------------ inbound

    async def handle(self, event: Inbound) -> Any:
        """The sink adapters call. Returns once the event's changes and answers are committed
        (not sent) with a :class:`Handled`, and for a ``CompletionRequested`` with the choices.
        When many events wait already, this waits for room first, so an adapter that awaits it
        reads slower."""
        if not self._accepting:
            return None
        if isinstance(event, CompletionRequested):
            return await self._complete(event)
        if self._inbox is None:
            self._inbox = asyncio.Queue(INBOX_LIMIT)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="engine")
        done: asyncio.Future[Handled] = asyncio.get_running_loop().create_future()
        self._quiet.clear()
        await self._inbox.put((event, done))
        return await done

    async def _work(self) -> None:
        """Take what waits, handle it as one group, repeat."""
        assert self._inbox is not None
        group: list[_Waiting] = []
        while True:
            if not group:
                group.append(await self._inbox.get())
                self._handling += 1
            while len(group) < GROUP_EVENTS and not self._inbox.empty():
                group.append(self._inbox.get_nowait())
                self._handling += 1
            try:
                rest = await self._handle_group(group)
            except Exception as exc:  # the commit itself failed: every event of the group did
                log.exception("a group of %d events could not be committed", len(group))
                rest = []
                for _event, done in group:
                    if not done.done():
                        done.set_exception(exc)
            self._handling -= len(group) - len(rest)
            group = rest
            if not group and self._inbox.empty():
                self._quiet.set()

    async def _handle_group(self, group: list[_Waiting]) -> list[_Waiting]:
        """Handle events in one transaction, a savepoint each; returns those the time bound left."""
        began = time.monotonic()
        answered: list[tuple[asyncio.Future[Handled], Handled]] = []
        recorded: list[Pending] = []
        after_commit: list[Callable[[], None]] = []
        rest: list[_Waiting] = []
        async with self.lock:
            with Session(self.database, expire_on_commit=False) as db:
                replays = FirstTimes(EventRepo(db), [event for event, _ in group], self.clock.now())
                for n, (event, done) in enumerate(group):
                    if n and time.monotonic() - began > GROUP_SECONDS:
                        rest = group[n:]
                        replays.leave(n)
                        break
                    ctx = await self._one(db, event) if replays.first_time(n) else _replayed(event)
                    answers = 0
                    if ctx is not None:
                        recorded += ctx.recorded
                        after_commit += ctx.after_commit
                        answers = sum(1 for p in ctx.recorded if _answers(p, ctx.event_id))
                    answered.append((done, Handled(answers)))
                db.commit()
        self.rests.wake_all()  # a person did something: every job looks again
        for fn in after_commit:
            fn()
        self.senders.push(recorded)
        for done, handled in answered:
            if not done.done():
                done.set_result(handled)
        return rest

    async def _one(self, db: Session, event: Inbound) -> Context | None:
        """One event in its own savepoint, its messages recorded; the context it ran in. (The
        group recorded its id, outside the savepoint: a failed event stays recorded.)"""
        repos, now = Repos(db), self.clock.now()
        if isinstance(event, Seen):
            if due_when_seen(repos, event.who, now):
                self.senders.poke()
            return None
        if isinstance(event, (Left, Returned, Renamed)):
            return self._on_presence(db, repos, event, now)
        assert isinstance(event, (TextReceived, CommandInvoked))
        ctx = Context(self, repos, now, who=event.who, where=event.where, event_id=event.event_id)
        savepoint = db.begin_nested()
        try:
            if await self._dispatch(ctx, event):
                ctx.recorded = self.record(ctx)
            savepoint.commit()
            return ctx
        except (UsageError, ActionError) as exc:
            _roll_back(db, savepoint)
            failure: Exception = exc
        except Exception as exc:
            _roll_back(db, savepoint)
            failure = exc
            ref = secrets.token_hex(3)
            log.exception("handler failed (ref %s) for %r", ref, event)
        # The failed handler rolled back alone: answer in a new savepoint.
        with db.begin_nested():
            # a first contact that failed still makes the person known (and their language)
            member = self.member_for(repos, event.who, now)
            answer = Context(self, repos, now, who=event.who, where=event.where, member=member, spec=ctx.spec, event_id=event.event_id)
            if isinstance(failure, (UsageError, ActionError)):
                text = self._error_text(failure, answer)
            else:
                text = answer._("Sorry, something went wrong on my side (ref {ref}). Nothing was changed; it has been logged.", ref=ref)
            answer.outbound.append(reply_for(answer, text, private=ctx.spec.private if ctx.spec else False))
            answer.recorded = self.record(answer)
        return answer

    async def _complete(self, event: CompletionRequested) -> list[str]:
        """Values to offer for an argument being typed; nothing the person may not see."""
        spec, used = self.registry.find(event.path)
        if spec is None or used != len(event.path):
            return []
        arg = next((a for a in spec.args if a.name == event.arg), None)
        if arg is None:
            return []
        partial = event.partial.strip().lower()
        if arg.choices:
            return [c for c in arg.choices if c.startswith(partial)][:25]
        source = self.completions.get(arg.complete or ("members" if arg.kind == "member" else ""))
        if source is None:
            return []
        async with self.lock:
            with Session(self.database) as db:
                repos = Repos(db)
                member = None
                if event.who.account is not None:
                    member = repos.members.by_identity(event.who.platform, event.who.account)
                roles = self.member_roles(repos, member, event.platform_roles) if member else frozenset()
                if not self.allowed(spec, event.who, roles):
                    return []
                ctx = Context(self, repos, self.clock.now(), who=event.who, where=event.where, member=member, roles=roles, spec=spec)
                return source(ctx, partial)[:25]

    def _error_text(self, exc: Exception, ctx: Context) -> str:
        text = in_language(exc, ctx.language)
        if isinstance(exc, UsageError):
            spec = exc.spec or ctx.spec
            if spec is not None:
                return ctx._("{error} — usage: {usage}", error=text, usage=spec.usage(self.settings.bot.prefix))
        return text

    async def _dispatch(self, ctx: Context, event: TextReceived | CommandInvoked) -> bool:
        """Run the command or the interview answer. False when the event is not for the bot."""
        assert ctx.who is not None and ctx.where is not None
        if isinstance(event, TextReceived):
            text = event.text.strip()
            parsed = self.registry.parse(text, event.prefix) if text.startswith(event.prefix) else None
            if parsed is None:
                if not ctx.where.is_direct:
                    return False  # channel talk is not for us
                self._gate_roles(ctx)
                await self.conversations.answer(ctx, text)
                return True
            spec, raw_args = parsed.spec, parsed.args
        else:
            spec, used = self.registry.find(event.path)
            if spec is None or used != len(event.path):
                raise self.registry.unknown(list(event.path), self.settings.bot.prefix)
            raw_args = spec.bind_mapping(event.args)
        ctx.spec = spec
        self._gate_roles(ctx, event.platform_roles)
        if not self.allowed(spec, ctx.who, ctx.roles):
            raise self.refusal(spec, ctx.who, ctx.roles)
        if spec.scope == "channel" and ctx.where.is_direct:
            raise ActionError(N_("{command} works in a channel, not in a private message."), command=ctx.command(spec.name))
        if spec.scope == "direct" and not ctx.where.is_direct:
            raise ActionError(N_("Send {command} to me in a private message."), command=ctx.command(spec.name))
        args = self._resolve_members(ctx, spec, raw_args)
        access.check(ctx, spec, args)
        text = await spec.handler(ctx, **args)
        finish_reply(ctx, text, private=spec.private)
        return True

    def _resolve_members(self, ctx: Context, spec: CommandSpec, args: dict[str, Any]) -> dict[str, Any]:
        out = dict(args)
        for arg in spec.args:
            if arg.kind == "member" and out.get(arg.name) is not None:
                out[arg.name] = find_member(ctx, out[arg.name], arg.name, spec)
        return out

    def _on_presence(self, db: Session, repos: Repos, event: Presence, now: datetime) -> Context:
        """Someone left, came back or changed name: every feature that cares is told, each in
        its own savepoint (a failing feature rolls back alone and is logged; nobody is answered)."""
        who = event.new if isinstance(event, Renamed) else event.who
        where = Where(who.platform, None) if isinstance(event, Renamed) else event.where
        ctx = Context(self, repos, now, who=who, where=where)
        for feature in self.features:
            if feature.on_presence is None:
                continue
            savepoint, queued = db.begin_nested(), len(ctx.outbound)
            try:
                feature.on_presence(ctx, event)
                savepoint.commit()
            except Exception:
                savepoint.rollback()
                del ctx.outbound[queued:]
                log.exception("feature %s failed on %r", feature.name, event)
        ctx.recorded = self.record(ctx)
        return ctx

    # ------------------------------------------------------------------ outbox

    async def _refused(self, refused: Sequence[tuple[int, str]]) -> None:
        """A platform refused people for good: mark their identity (so DMs prefer another
        platform) and, the first time, let the features tell whoever should know."""
        async with self.lock:
            now = self.clock.now()
            with Session(self.database, expire_on_commit=False) as db:
                ctx = Context(self, Repos(db), now)
                for member_id, platform in dict.fromkeys(refused):
                    member = ctx.repos.members.get(member_id)
                    idents = [i for i in ctx.repos.members.identities(member_id) if i.platform == platform]
                    if member is None or not idents or idents[0].undeliverable_since is not None:
                        continue
                    idents[0].undeliverable_since = now
                    db.add(idents[0])
                    for feature in self.features:
                        if feature.on_undeliverable is not None:
                            feature.on_undeliverable(ctx, member, platform)
                recorded = self.record(ctx)
                db.commit()
        self.rests.wake_all()
        self.senders.push(recorded)

    async def flush_outbox(self, timeout: float = 10.0) -> bool:
        """Have the senders read the outbox now and wait until what is due went out (start-up
        of scripts and tests; the running bot's senders read it by themselves)."""
        self.senders.poke()
        return await self.senders.settle(timeout)

    # ------------------------------------------------------------------ schedule

    async def run_due(self, budget: float | None = None) -> None:
        """One scheduler tick: every job asks what is due now, then the senders look at the
        outbox for retries that fell due. Jobs with more to do take turns, a batch each, so a
        long fan-out never delays another job's duty (an office hour opening on time) by more
        than one batch. With a ``budget`` (seconds) no new round of batches starts once it is
        spent: the next tick goes on, and ticks never overlap."""
        await self._run_batches(await self._awake_jobs(), None if budget is None else time.monotonic() + budget)
        self.senders.poke()

    async def _awake_jobs(self) -> list[Job]:
        """The jobs not resting now (see ``chatbot.rests``); a message another process recorded
        since the last tick wakes them all. (Under the lock: SQLite's transactions begin as a
        writer's, and another unit of work may be between two awaits.)"""
        async with self.lock:
            with Session(self.database) as db:
                self.rests.note_last_recorded(Repos(db).outbox.last_recorded())
        now = self.clock.now()
        return [job for job in self.jobs if not self.rests.resting(job.name, now)]

    async def run_job(self, name: str) -> None:
        await self._run_batches([next(j for j in self.jobs if j.name == name)])

    async def _run_batches(self, jobs: Sequence[Job], deadline: float | None = None) -> None:
        busy = list(jobs)
        for _ in range(MAX_JOB_BATCHES):
            busy = [job for job in busy if await self._run_job_batch(job)]
            if not busy:
                return
            if deadline is not None and time.monotonic() >= deadline:
                break
            await asyncio.sleep(0)  # one turn of the loop: what arrived meanwhile queues for the lock first
        log.info("jobs %s have more to do; the next tick goes on", ", ".join(j.name for j in busy))

    async def _run_job_batch(self, job: Job) -> bool:
        """One batch in one transaction under the lock; its messages go to the senders as bulk.
        True when the job said more is due now."""
        async with self.lock:
            now = self.clock.now()
            with Session(self.database, expire_on_commit=False) as db:
                ctx = Context(self, Repos(db), now, bulk=True)
                try:
                    more = await job.run(ctx)
                    recorded = self.record(ctx)
                    db.commit()
                    self._rest_after(job, ctx, bool(more) or bool(recorded))
                    for fn in ctx.after_commit:
                        fn()
                except Exception:
                    self.rests.rest(job.name, now, None)
                    db.rollback()
                    log.exception("job %s failed; it will run again at the next tick", job.name)
                    return False
        self.senders.push(recorded)
        return bool(more)

    def _rest_after(self, job: Job, ctx: Context, busy: bool) -> None:
        """A job that did something wakes every job (its messages and rows may matter to them);
        one that found nothing rests until the time it gave, if any."""
        if busy:
            self.rests.wake_all()
        else:
            self.rests.rest(job.name, ctx.now, ctx.quiet)

    # ------------------------------------------------------------------ lifecycle

    async def drain(self, timeout: float = 10.0) -> None:
        """Stop taking input and handle (and commit) what was accepted (clean shutdown)."""
        self._accepting = False
        if self._worker is not None and not self._worker.done():
            try:
                await asyncio.wait_for(self._quiet.wait(), timeout)
            except asyncio.TimeoutError:
                log.warning("stopping with %d events not handled", self._handling)
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None


def _replayed(event: Inbound) -> None:
    log.info("ignoring replayed event %s:%s", *(event_key(event) or ("?", "?")))


def _roll_back(db: Session, savepoint: SessionTransaction) -> None:
    """Roll back an event's savepoint and expire what the session holds: the ORM expires only
    the objects it saw change, and the repositories write some rows with prebuilt statements
    (an identity's last visit), whose loaded objects, if anything still holds them, would
    otherwise keep the undone values. Only failed events pay for it."""
    savepoint.rollback()
    db.expire_all()


def _answers(item: Pending, event_id: str | None) -> bool:
    return event_id is not None and isinstance(item.event, Reply) and item.event.in_reply_to == event_id


def _complete_members(ctx: Context, partial: str) -> list[str]:
    """Handles starting with what was typed (the default for member arguments)."""
    return ctx.repos.members.handles_starting(partial, limit=25)
