"""The engine: routes inbound events to feature handlers and outbound events to adapters.

Why it is shaped like this:
- **One unit of work per event.** A handler runs inside one database transaction together with
  the outbound messages it produces (written to the outbox). Either all of it commits or none of
  it does: a bug never leaves a half-written record, and an answer is stored before it is
  acknowledged. Messages are sent after the commit and marked sent afterwards.
- **Permissions in one place.** :meth:`Engine.allowed` compares a command's declared roles with
  the roles of the *member* behind the stable account id. Default deny.
- **Handlers are serialised** by one asyncio lock around the unit of work. They do no network
  I/O, so this costs little and SQLite never sees two writers from the same process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Sequence

from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import Session

from chatbot.clock import Clock
from chatbot.commands import ActionError, CommandRegistry, CommandSpec, UsageError
from chatbot.config import Settings
from chatbot.events import (
    Announce,
    Button,
    CommandInvoked,
    CompletionRequested,
    Delivery,
    DirectMessage,
    Form,
    Identity,
    Inbound,
    Outbound,
    Reply,
    Seen,
    TextReceived,
    Where,
)
from chatbot.flows import Flow
from storage.repos import Repos
from storage.tables import Member, OutboxMessage, PlatformIdentity

if TYPE_CHECKING:
    from adapters.base import Adapter

log = logging.getLogger(__name__)

#: how often a failed delivery is retried, and for how long
RETRY_DELAYS = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))
SEEN_TOUCH_INTERVAL = timedelta(minutes=5)
#: a bound on one job's batches in one tick, so a job that always says "more" cannot hold the
#: scheduler forever (500 prompts a batch: 100,000 mentees)
MAX_JOB_BATCHES = 200


@dataclass(frozen=True)
class Pending:
    """An outbound message recorded in the outbox and not yet known to be delivered."""

    outbox_id: int
    platform: str
    member_id: int | None
    event: Outbound

    @classmethod
    def of(cls, row: OutboxMessage) -> "Pending":
        assert row.id is not None
        return cls(row.id, row.platform, row.member_id, decode(row.payload))


@dataclass(frozen=True)
class Job:
    """A scheduled duty of a feature. ``run`` asks the store what is due at ``ctx.now``.

    A job with much to do handles a batch and returns True: the engine commits, sends, lets
    waiting commands in, and runs it again, so a Monday morning of check-in prompts never keeps
    people waiting for the whole fan-out."""

    name: str
    run: Callable[["Context"], Awaitable[bool | None]]


@dataclass(frozen=True)
class Feature:
    """What a feature module contributes: commands, interviews and scheduled jobs."""

    name: str
    commands: tuple[CommandSpec, ...] = ()
    flows: tuple[Flow, ...] = ()
    jobs: tuple[Job, ...] = ()
    #: deletes the feature's personal records older than the cutoff (the retention setting);
    #: returns how many went
    purge: Callable[["Context", datetime], int] | None = None
    #: completion sources named by ``Arg.complete``: (ctx, partial text) -> values to offer
    completions: dict[str, Callable[["Context", str], list[str]]] = field(default_factory=dict)
    #: told once when a platform refuses a person for good (Discord 50007): (ctx, member, platform)
    on_undeliverable: Callable[["Context", Member, str], None] | None = None
    #: a plain DM came and no interview runs: if the text answers one (all the answers of an
    #: open check-in after a !cancel, say), start that interview and return True
    resume: Callable[["Context", str], bool] | None = None


@dataclass
class Context:
    """What a handler may use. Everything it changes commits with the event, or not at all."""

    engine: "Engine"
    repos: Repos
    now: datetime
    who: Identity | None = None
    where: Where | None = None
    member: Member | None = None
    roles: frozenset[str] = frozenset()
    spec: CommandSpec | None = None
    event_id: str | None = None
    outbound: list[Outbound] = field(default_factory=list)
    #: the first question of an interview started by this command, for the engine to send
    prompt: str | None = None
    #: work that must wait until the change is committed (e.g. scrubbing the WAL after an erase)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    #: the member each queued DM is for (by id of the event), so recording needs no lookup
    recipients: dict[int, int] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.engine.settings

    @property
    def prefix(self) -> str:
        return self.engine.settings.bot.prefix

    def require_member(self) -> Member:
        if self.member is None:
            raise ActionError("You need to be logged in to an account for that.")
        return self.member

    def has_role(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles

    def roles_of(self, member: Member) -> frozenset[str]:
        return self.engine.member_roles(self.repos, member)

    def channel_label(self, where: Where) -> str:
        """A channel as people name it in a text ("#office-hours", a Matrix room's name).

        Asks the platform's adapter (its optional ``channel_label``, a lookup in the client's
        cache: see ``adapters.base.Adapter``) when it is running; else, or when it knows no
        name, the raw channel id. The label is chosen by users of that platform and may be read
        on another one, so it is made one short line here; each adapter still escapes it as
        any text (markup, mentions) on the way out."""
        raw = where.channel or ""
        lookup = getattr(self.engine.adapters.get(where.platform), "channel_label", None)
        if lookup is None or not raw:
            return raw
        try:
            label = lookup(raw)
        except Exception:  # a cache miss must never cost the message it was for
            log.exception("%s adapter failed to label channel %s", where.platform, raw)
            return raw
        label = " ".join(str(label or "").split())
        if not label:
            return raw
        return label if len(label) <= 80 else label[:79] + "…"

    def due_every(self, name: str, every: timedelta) -> bool:
        """For a scan too costly to repeat at every tick: True (and remembered, with the change)
        when ``every`` has passed since the last True for this name."""
        last = self.repos.kv.get("every", name)
        if last is not None and timedelta(0) <= self.now - datetime.fromisoformat(last) < every:
            return False
        self.repos.kv.set("every", name, self.now.isoformat())
        return True

    # -- sending -------------------------------------------------------------------------------

    def dm(
        self, member: Member, text: str, *, key: str | None = None, buttons: Iterable[Button] = (), form: Form | None = None
    ) -> bool:
        """Queue a private message to a member on their preferred platform. False if unreachable."""
        ident = self.engine.reachable_identity(self.repos, member)
        if ident is None:
            log.info("no running platform reaches member %s", member.handle)
            return False
        message = DirectMessage(to=ident, text=text, key=key, buttons=tuple(buttons), form=form)
        self.outbound.append(message)
        if member.id is not None:
            self.recipients[id(message)] = member.id
        return True

    def queue_dm(self, member_id: int, message: DirectMessage) -> None:
        """Queue a DM built for an identity chosen already (bulk jobs pick identities themselves)."""
        self.outbound.append(message)
        self.recipients[id(message)] = member_id

    def announce(self, where: Where, text: str, mention: Identity | None = None) -> None:
        self.outbound.append(Announce(where=where, text=text, mention=mention))

    def start_flow(self, name: str, data: dict[str, Any] | None = None) -> None:
        """Begin an interview in the asker's DM; the engine sends its first question."""
        member = self.require_member()
        assert self.who is not None
        flow = self.engine.flows[name]
        data = dict(data or {})
        first = flow.first(data)
        if first is None:
            raise ValueError(f"flow {name} has no steps")
        self.repos.conversations.start(member.id, name, first.name, self.who.platform, data, self.now)  # type: ignore[arg-type]
        self.prompt = self.engine.question(flow, first.name, self, data)


class Engine:
    def __init__(
        self,
        db: DbEngine,
        settings: Settings,
        clock: Clock,
        features: Sequence[Feature],
        rng: random.Random | None = None,
    ):
        self.db = db
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
        self._lock = asyncio.Lock()
        self._admins = frozenset(settings.admins)
        self._accepting = True
        self._in_flight: set[asyncio.Task[Any]] = set()
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
        self.adapters[adapter.platform] = adapter

    @property
    def specs(self) -> list[CommandSpec]:
        return list(self.registry)

    # ------------------------------------------------------------------ people and roles

    def member_roles(self, repos: Repos, member: Member, platform_roles: Iterable[str] = ()) -> frozenset[str]:
        assert member.id is not None
        return frozenset({"member"} | repos.roles.of(member.id, self._admins) | set(platform_roles))

    def reachable_identity(self, repos: Repos, member: Member) -> Identity | None:
        assert member.id is not None
        return choose_identity(member, repos.members.identities(member.id), self.adapters)

    def _member_for(self, repos: Repos, who: Identity, now: datetime) -> Member | None:
        """The member behind a stable account, created on first contact. None for anonymous."""
        if who.account is None:
            return None
        found = repos.members.identity(who.platform, who.account)
        if found is None:
            return repos.members.create(who.platform, who.account, who.display, now)
        ident, member = found
        if ident.display != who.display or now - ident.last_seen > SEEN_TOUCH_INTERVAL or ident.undeliverable_since:
            ident.undeliverable_since = None  # they write to us from here: worth trying again
            repos.members.touch(ident, who.display, now)
        return member

    def allowed(self, spec: CommandSpec, who: Identity, roles: frozenset[str]) -> bool:
        if "anyone" in spec.roles:
            return True
        if who.anonymous:
            return False
        if "member" in spec.roles or "admin" in roles:
            return True
        return bool(roles & set(spec.roles))

    def refusal(self, spec: CommandSpec, who: Identity, roles: frozenset[str]) -> str:
        if who.anonymous:
            return (
                f"{self.settings.bot.prefix}{spec.name} needs you to be logged in to your account "
                "(on IRC: identify to services first)."
            )
        needed = " or ".join(r for r in spec.roles)
        have = ", ".join(sorted(r for r in roles if r != "member")) or "no role yet"
        return f"{self.settings.bot.prefix}{spec.name} is for {needed} (you have: {have})."

    # ------------------------------------------------------------------ inbound

    async def handle(self, event: Inbound) -> Any:
        """The sink adapters call. Returns after the event's changes are committed (and, for a
        ``CompletionRequested``, with the choices)."""
        if not self._accepting:
            return None
        if isinstance(event, CompletionRequested):
            return await self._complete(event)
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            sent = await self._handle(event)
            if sent:
                await self._deliver(sent)
        finally:
            if task is not None:
                self._in_flight.discard(task)
        return None

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
        async with self._lock:
            with Session(self.db) as session:
                repos = Repos(session)
                member = None
                if event.who.account is not None:
                    member = repos.members.by_identity(event.who.platform, event.who.account)
                roles = self.member_roles(repos, member, event.platform_roles) if member else frozenset()
                if not self.allowed(spec, event.who, roles):
                    return []
                ctx = Context(self, repos, self.clock.now(), who=event.who, where=event.where, member=member, roles=roles, spec=spec)
                return source(ctx, partial)[:25]

    async def _handle(self, event: Inbound) -> list[Pending]:
        if isinstance(event, Seen):
            return await self._on_seen(event)
        async with self._lock:
            now = self.clock.now()
            with Session(self.db, expire_on_commit=False) as session:
                repos = Repos(session)
                event_id = event.event_id
                if event_id is not None and not repos.events.first_time(event.who.platform, event_id, now):
                    log.info("ignoring replayed event %s:%s", event.who.platform, event_id)
                    return []
                ctx = Context(self, repos, now, who=event.who, where=event.where, event_id=event_id)
                try:
                    handled = await self._dispatch(ctx, event)
                    if not handled:
                        session.commit()
                        return []
                    ids = self._record(ctx)
                    session.commit()
                    for fn in ctx.after_commit:
                        fn()
                    return ids
                except (UsageError, ActionError) as exc:
                    session.rollback()
                    text = self._error_text(exc, ctx)
                except Exception:
                    session.rollback()
                    ref = secrets.token_hex(3)
                    log.exception("handler failed (ref %s) for %r", ref, event)
                    text = f"Sorry, something went wrong on my side (ref {ref}). Nothing was changed; it has been logged."
                # The failed unit of work rolled back: answer (and remember the event) in a new one.
                private = ctx.spec.private if ctx.spec is not None else False
                return self._record_error_reply(event, text, now, private)

    def _error_text(self, exc: Exception, ctx: Context) -> str:
        if isinstance(exc, UsageError):
            spec = exc.spec or ctx.spec
            if spec is not None:
                return f"{exc.message} — usage: {spec.usage(self._prefix_of(ctx))}"
            return exc.message
        return str(exc)

    def _record_error_reply(self, event: TextReceived | CommandInvoked, text: str, now: datetime, private: bool) -> list[Pending]:
        with Session(self.db, expire_on_commit=False) as session:
            repos = Repos(session)
            if event.event_id is not None:
                repos.events.first_time(event.who.platform, event.event_id, now)
            self._member_for(repos, event.who, now)  # a first contact that failed still makes the person known
            ctx = Context(self, repos, now, who=event.who, where=event.where, event_id=event.event_id)
            ctx.outbound.append(self._reply(ctx, text, private=private))
            ids = self._record(ctx)
            session.commit()
            return ids

    def _prefix_of(self, ctx: Context) -> str:
        return self.settings.bot.prefix

    async def _dispatch(self, ctx: Context, event: TextReceived | CommandInvoked) -> bool:
        """Run the command or the interview answer. False when the event is not for the bot."""
        assert ctx.who is not None and ctx.where is not None
        if isinstance(event, TextReceived):
            text = event.text.strip()
            parsed = self.registry.parse(text, event.prefix) if text.startswith(event.prefix) else None
            if parsed is None:
                if not ctx.where.is_direct:
                    return False  # channel talk is not for us
                ctx.member = self._member_for(ctx.repos, ctx.who, ctx.now)
                return await self._answer(ctx, text)
            spec, raw_args = parsed.spec, parsed.args
            platform_roles = event.platform_roles
        else:
            spec, used = self.registry.find(event.path)
            if spec is None or used != len(event.path):
                raise UsageError(self.registry.unknown_hint(list(event.path)))
            raw_args = spec.bind_mapping(event.args)
            platform_roles = event.platform_roles
        ctx.spec = spec
        ctx.member = self._member_for(ctx.repos, ctx.who, ctx.now)
        ctx.roles = (
            self.member_roles(ctx.repos, ctx.member, platform_roles) if ctx.member is not None else frozenset()
        )
        if not self.allowed(spec, ctx.who, ctx.roles):
            raise ActionError(self.refusal(spec, ctx.who, ctx.roles))
        if spec.scope == "channel" and ctx.where.is_direct:
            raise ActionError(f"{ctx.prefix}{spec.name} works in a channel, not in a private message.")
        if spec.scope == "direct" and not ctx.where.is_direct:
            raise ActionError(f"Send {ctx.prefix}{spec.name} to me in a private message.")
        args = self._resolve_members(ctx, spec, raw_args)
        text = await spec.handler(ctx, **args)
        self._finish_reply(ctx, text, private=spec.private)
        return True

    def _resolve_members(self, ctx: Context, spec: CommandSpec, args: dict[str, Any]) -> dict[str, Any]:
        out = dict(args)
        for arg in spec.args:
            if arg.kind == "member" and out.get(arg.name) is not None:
                out[arg.name] = self.find_member(ctx, out[arg.name], arg.name, spec)
        return out

    def find_member(self, ctx: Context, ref: str, what: str = "person", spec: CommandSpec | None = None) -> Member:
        """A person named by handle, ``platform:account``, a Discord/Matrix mention, or a display name
        seen on the asker's platform. Ambiguity is an error, never a guess."""
        assert ctx.who is not None
        repos, text = ctx.repos, ref.strip()
        candidates: list[Member] = []
        if text.startswith("<@") and text.endswith(">"):
            text = "discord:" + text.strip("<@!>")
        if text.startswith("@") and ":" in text:
            text = "matrix:" + text
        platform, _, account = text.partition(":")
        if account and platform in {"irc", "matrix", "discord", "console", *self.adapters}:
            found = repos.members.by_identity(platform, account)
            candidates = [found] if found else []
        else:
            found = repos.members.by_handle(text.lstrip("@"))
            candidates = [found] if found else repos.members.by_display(ctx.who.platform, text.lstrip("@"))
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise UsageError(f"I don't know anyone called '{ref[:40]}'", spec)
        raise UsageError(f"'{ref[:40]}' could be several people: use their handle ({', '.join(m.handle for m in candidates[:5])})", spec)

    def _finish_reply(self, ctx: Context, text: str | None, *, private: bool) -> None:
        assert ctx.who is not None and ctx.where is not None
        if ctx.prompt is not None:
            if ctx.where.is_direct:
                text = f"{text}\n{ctx.prompt}" if text else ctx.prompt
            else:
                ctx.outbound.insert(0, self._dm_to_asker(ctx, ctx.prompt))
                text = text or "I've sent you a private message with a few questions."
        if text:
            ctx.outbound.insert(0, self._reply(ctx, text, private=private))

    def _dm_to_asker(self, ctx: Context, text: str) -> DirectMessage:
        assert ctx.who is not None
        return DirectMessage(to=ctx.who, text=text)

    def _reply(self, ctx: Context, text: str, *, private: bool) -> Outbound:
        """A reply in the place of the question; private ones become DMs where nothing else hides them."""
        assert ctx.who is not None and ctx.where is not None
        adapter = self.adapters.get(ctx.where.platform)
        caps = getattr(adapter, "capabilities", None)
        if not ctx.where.is_direct:
            lines = text.count("\n") + 1
            too_long = caps is not None and lines > caps.channel_lines
            if (private or too_long) and not (caps is not None and caps.ephemeral_replies and ctx.event_id):
                if caps is None or caps.direct_messages:
                    return DirectMessage(to=ctx.who, text=text)
        return Reply(where=ctx.where, text=text, in_reply_to=ctx.event_id, private=private, to=ctx.who)

    async def _answer(self, ctx: Context, text: str) -> bool:
        """A plain DM: the answer to the interview's current question, if there is one."""
        if ctx.member is None:
            self._finish_reply(ctx, "I only talk privately with people logged in to an account.", private=True)
            return True
        conv = ctx.repos.conversations.get(ctx.member.id)  # type: ignore[arg-type]
        if conv is None:
            for feature in self.features:
                if feature.resume is not None and feature.resume(ctx, text):
                    ctx.repos.session.flush()
                    conv = ctx.repos.conversations.get(ctx.member.id)  # type: ignore[arg-type]
                    break
        if conv is None or conv.flow not in self.flows:
            self._finish_reply(
                ctx,
                f"I'm not waiting for an answer from you right now. Commands start with {ctx.prefix}; try {ctx.prefix}help.",
                private=True,
            )
            return True
        flow = self.flows[conv.flow]
        step = flow.step(conv.step)
        data = dict(conv.data)
        ctx.roles = self.member_roles(ctx.repos, ctx.member)
        try:
            value = step.parse(ctx, text, data)
        except ValueError as exc:
            self._finish_reply(ctx, f"{exc}\n{self.question(flow, step.name, ctx, data)}", private=True)
            return True
        data[step.name] = value
        following = flow.after(step.name, data)
        if following is None:
            ctx.repos.conversations.end(ctx.member.id)  # type: ignore[arg-type]
            closing = await flow.finish(ctx, data)
            self._finish_reply(ctx, closing, private=True)
        else:
            conv.step, conv.data = following.name, data
            ctx.repos.conversations.save(conv, ctx.now)
            self._finish_reply(ctx, self.question(flow, following.name, ctx, data), private=True)
        return True

    def question(self, flow: Flow, step_name: str, ctx: Context, data: dict[str, Any]) -> str:
        n, total = flow.position(step_name, data)
        return f"({n}/{total}) {flow.step(step_name).prompt(ctx, data)}"

    # ------------------------------------------------------------------ outbox

    def _record(self, ctx: Context) -> list[Pending]:
        """Write the context's outbound messages to the outbox (same transaction as the change).

        A message whose key is recorded already (the same due message queued by an earlier
        tick) is left out, so a job may queue what is due without remembering what it sent."""
        if not ctx.outbound:
            return []
        taken = ctx.repos.outbox.existing_keys(out.key for out in ctx.outbound if out.key is not None)
        base = f"{ctx.who.platform}:{ctx.event_id}" if ctx.who is not None and ctx.event_id else None
        rows: list[dict[str, Any]] = []
        keyed: list[tuple[str, int | None, Outbound]] = []
        for n, out in enumerate(ctx.outbound):
            if out.key is not None and out.key in taken:
                continue
            key = out.key or (f"{base}:{n}" if base else f"auto:{secrets.token_hex(8)}")
            taken.add(key)
            platform = out.to.platform if isinstance(out, DirectMessage) else out.where.platform
            member_id = ctx.recipients.get(id(out))
            if member_id is None and isinstance(out, DirectMessage) and out.to.account is not None:
                m = ctx.repos.members.by_identity(out.to.platform, out.to.account)
                member_id = m.id if m else None
            event = dataclasses.replace(out, key=key)
            rows.append(dict(key=key, platform=platform, member_id=member_id, payload=encode(event), status="pending",
                             attempts=0, created_at=ctx.now, next_attempt_at=ctx.now))
            keyed.append((platform, member_id, event))
        ids = ctx.repos.outbox.insert_many(rows)
        return [Pending(row_id, platform, member_id, event) for row_id, (platform, member_id, event) in zip(ids, keyed)]

    async def _deliver(self, pending: Sequence[Pending]) -> None:
        """Send recorded messages, then record what became of each."""
        results: list[tuple[Pending, Delivery]] = []
        for item in pending:
            adapter = self.adapters.get(item.platform)
            if adapter is None:
                results.append((item, Delivery("failed", f"no {item.platform} adapter running")))
                continue
            try:
                delivery = await adapter.send(item.event)
            except Exception as exc:  # an adapter bug must not stop the other messages
                log.exception("adapter %s failed to send outbox %s", item.platform, item.outbox_id)
                delivery = Delivery("failed", f"{type(exc).__name__}: {exc}"[:200])
            results.append((item, delivery))
        if results:
            async with self._lock:
                refused = self._mark(results)
            if refused:
                await self._refused(refused)

    def _mark(self, results: Sequence[tuple[Pending, Delivery]]) -> list[tuple[int, str]]:
        """Record what became of each message; returns (member id, platform) refused for good."""
        now = self.clock.now()
        refused: list[tuple[int, str]] = []
        with Session(self.db) as session:
            outbox = Repos(session).outbox
            outbox.mark_sent([item.outbox_id for item, delivery in results if delivery.ok], now)
            for item, delivery in results:
                if delivery.ok:
                    continue
                row = outbox.get(item.outbox_id)
                if row is None:
                    continue
                row.attempts += 1
                row.last_error = (delivery.detail or delivery.status)[:300]
                if delivery.status == "offline":
                    row.status = "offline"
                elif delivery.status == "undeliverable" or row.attempts > len(RETRY_DELAYS):
                    row.status = "undeliverable" if delivery.status == "undeliverable" else "failed"
                    log.warning("outbox %s to %s given up: %s", row.key, row.platform, row.last_error)
                    if delivery.status == "undeliverable" and row.member_id is not None:
                        refused.append((row.member_id, row.platform))
                else:
                    row.status = "pending"
                    row.next_attempt_at = now + RETRY_DELAYS[row.attempts - 1]
                session.add(row)
            session.commit()
        return refused

    async def _refused(self, refused: Sequence[tuple[int, str]]) -> None:
        """A platform refused people for good: mark their identity (so DMs prefer another
        platform) and, the first time, let the features tell whoever should know."""
        async with self._lock:
            now = self.clock.now()
            with Session(self.db, expire_on_commit=False) as session:
                ctx = Context(self, Repos(session), now)
                for member_id, platform in dict.fromkeys(refused):
                    member = ctx.repos.members.get(member_id)
                    idents = [i for i in ctx.repos.members.identities(member_id) if i.platform == platform]
                    if member is None or not idents or idents[0].undeliverable_since is not None:
                        continue
                    idents[0].undeliverable_since = now
                    session.add(idents[0])
                    for feature in self.features:
                        if feature.on_undeliverable is not None:
                            feature.on_undeliverable(ctx, member, platform)
                recorded = self._record(ctx)
                session.commit()
        if recorded:
            await self._deliver(recorded)

    async def flush_outbox(self) -> int:
        """Send what is pending and due (after a restart, or retries). Returns how many were tried."""
        async with self._lock:
            with Session(self.db) as session:
                due = [Pending.of(row) for row in Repos(session).outbox.due(self.clock.now())]
        if due:
            await self._deliver(due)
        return len(due)

    async def _on_seen(self, event: Seen) -> list[Pending]:
        """Someone reappeared: what waited for them on that platform becomes due."""
        if event.who.account is None:
            return []
        async with self._lock:
            now = self.clock.now()
            with Session(self.db) as session:
                repos = Repos(session)
                member = repos.members.by_identity(event.who.platform, event.who.account)
                if member is None:
                    return []
                waiting = repos.outbox.waiting_for(member.id, event.who.platform)  # type: ignore[arg-type]
                for row in waiting:
                    row.status, row.next_attempt_at = "pending", now
                    session.add(row)
                session.commit()
                return [Pending.of(row) for row in waiting]

    # ------------------------------------------------------------------ schedule

    async def run_due(self, budget: float | None = None) -> None:
        """One scheduler tick: every job asks what is due now, then the outbox is flushed. Jobs
        with more to do take turns, a batch each, so a long fan-out never delays another job's
        duty (an office hour opening on time) by more than one batch. With a ``budget`` (seconds)
        no new round of batches starts once it is spent: the next tick goes on, and ticks never
        overlap."""
        await self._run_batches(self.jobs, None if budget is None else time.monotonic() + budget)
        await self.flush_outbox()

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
        """One batch in one transaction under the lock, then its messages are sent outside it.
        True when the job said more is due now."""
        async with self._lock:
            now = self.clock.now()
            with Session(self.db, expire_on_commit=False) as session:
                ctx = Context(self, Repos(session), now)
                try:
                    more = await job.run(ctx)
                    ids = self._record(ctx)
                    session.commit()
                    for fn in ctx.after_commit:
                        fn()
                except Exception:
                    session.rollback()
                    log.exception("job %s failed; it will run again at the next tick", job.name)
                    return False
        if ids:
            await self._deliver(ids)
        return bool(more)

    # ------------------------------------------------------------------ lifecycle

    async def drain(self) -> None:
        """Stop taking input and wait for what is in flight (clean shutdown)."""
        self._accepting = False
        current = asyncio.current_task()
        pending = [t for t in self._in_flight if t is not current]
        if pending:
            await asyncio.wait(pending, timeout=10)


# ---------------------------------------------------------------------- (de)serialising outbound

_TYPES: dict[str, type] = {"reply": Reply, "dm": DirectMessage, "announce": Announce}
_NAMES = {v: k for k, v in _TYPES.items()}


def encode(out: Outbound) -> dict[str, Any]:
    return {"type": _NAMES[type(out)], **dataclasses.asdict(out)}


def decode(payload: dict[str, Any]) -> Outbound:
    data = dict(payload)
    kind = _TYPES[data.pop("type")]
    for name in ("to", "mention"):
        if isinstance(data.get(name), dict):
            data[name] = Identity(**data[name])
    if isinstance(data.get("where"), dict):
        data["where"] = Where(**data["where"])
    if "buttons" in data:
        data["buttons"] = tuple(Button(**b) for b in data["buttons"])
    if isinstance(data.get("form"), dict):
        form = data["form"]
        data["form"] = Form(title=form["title"], questions=tuple(form["questions"]), label=form["label"])
    return kind(**data)


def choose_identity(member: Member, idents: Iterable[PlatformIdentity], running: Iterable[str]) -> Identity | None:
    """The identity to DM: on a running platform; the preferred one first, else the latest seen;
    a platform that refused the person for good comes last."""
    platforms = set(running)
    usable = [i for i in idents if i.platform in platforms]
    if not usable:
        return None
    usable.sort(key=lambda i: (i.undeliverable_since is not None, i.platform != member.preferred_platform, -i.last_seen.timestamp()))
    chosen = usable[0]
    return Identity(chosen.platform, chosen.account, chosen.display)


def _complete_members(ctx: Context, partial: str) -> list[str]:
    """Handles starting with what was typed (the default for member arguments)."""
    return ctx.repos.members.handles_starting(partial, limit=25)
