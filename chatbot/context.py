"""What a feature sees of the bot: its declarations (:class:`Feature`, :class:`Job`) and the
:class:`Context` a handler, an interview step or a job runs with.

Features import this module, never the engine. A context is one unit of work: everything a
handler changes (rows, outbound messages, conversation state) commits together with the event,
or not at all; the engine records the outbound messages and the senders deliver them later.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable

from chatbot.commands import ActionError, CommandRegistry, CommandSpec
from chatbot.config import Settings
from chatbot.delivery.records import Recipient, choose_identity
from chatbot.i18n import N_, Language, Languages
from chatbot.people import find_member
from chatbot.events import Announce, Attachment, Button, DirectMessage, Form, Identity, Outbound, Presence, Reply, Where
from storage.repos import Repos
from storage.tables import Conversation, Member, PlatformIdentity
from chatbot.wording import clip

if TYPE_CHECKING:
    from adapters.base import Capabilities
    from chatbot.delivery.fairness import Pending
    from chatbot.engine import Engine
    from chatbot.flows import Flow, Openings
    from storage.aside import AsideInterview

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """A scheduled duty of a feature. ``run`` asks the store what is due at ``ctx.now``.

    A job with much to do handles a batch and returns True: the engine commits, hands the
    messages to the senders, lets waiting commands in, and runs it again, so a Monday morning of
    check-in prompts never keeps people waiting for the whole fan-out."""

    name: str
    run: Callable[["Context"], Awaitable[bool | None]]


@dataclass(frozen=True)
class Feature:
    """What a feature module contributes: commands, interviews and scheduled jobs."""

    name: str
    commands: tuple[CommandSpec, ...] = ()
    flows: tuple["Flow", ...] = ()
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
    #: a person left, came back or changed name (``ctx.who``/``ctx.where`` say who and where)
    on_presence: Callable[["Context", Presence], None] | None = None


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
    #: a scheduled job's context: its direct messages go after people's answers
    bulk: bool = False
    #: the messages as the engine recorded them in the outbox, for the senders
    recorded: list["Pending"] = field(default_factory=list)
    #: a scheduled job found nothing due before this time (``quiet_until``)
    quiet: datetime | None = None

    # -- the bot's configuration and declarations ----------------------------------------------

    @property
    def settings(self) -> Settings:
        return self.engine.settings

    @property
    def prefix(self) -> str:
        return self.engine.settings.bot.prefix

    def command(self, *words: str) -> str:
        """A command as the person types it, ``ctx.command("round", "close")`` → ``!round close``
        (the community's prefix; never translated), for a ``{command}`` field of a text."""
        return self.prefix + " ".join(words)

    @property
    def rng(self) -> random.Random:
        """Randomness for codes; seeded only where output must be reproducible (scripts)."""
        return self.engine.rng

    @property
    def commands(self) -> CommandRegistry:
        return self.engine.registry

    @property
    def features(self) -> list[Feature]:
        return self.engine.features

    def flow(self, name: str) -> "Flow | None":
        return self.engine.flows.get(name)

    def may_use(self, spec: CommandSpec) -> bool:
        """Whether the asker passes ``spec``'s declared roles (the engine's one gate)."""
        assert self.who is not None
        return self.engine.allowed(spec, self.who, self.roles)

    # -- platforms -------------------------------------------------------------------------------

    @property
    def platforms(self) -> list[str]:
        """The platforms this process runs, by name."""
        return sorted(self.engine.adapters)

    @property
    def web_url(self) -> str | None:
        """Where this process serves the web dashboard (None: it does not)."""
        return self.engine.web_url

    def capabilities(self, platform: str) -> "Capabilities | None":
        """What ``platform`` can do (None when it does not run here)."""
        return getattr(self.engine.adapters.get(platform), "capabilities", None)

    def channel_label(self, where: Where) -> str:
        """A channel as people name it in a text ("#office-hours", a Matrix room's name).

        Asks the platform's adapter (``channel_label``, a lookup in the client's cache) when it
        is running; else, or when it knows no name, the raw channel id. The label is chosen by
        users of that platform and may be read on another one, so it is made one short line
        here; each adapter still escapes it as any text (markup, mentions) on the way out."""
        raw = where.channel or ""
        adapter = self.engine.adapters.get(where.platform)
        if adapter is None or not raw:
            return raw
        try:
            label = adapter.channel_label(raw)
        except Exception:  # a cache miss must never cost the message it was for
            log.exception("%s adapter failed to label channel %s", where.platform, raw)
            return raw
        return clip(str(label or ""), 80) or raw

    # -- language --------------------------------------------------------------------------------

    @property
    def language(self) -> Language:
        """The language of this answer: the asker's in a DM, the channel's in a channel (but
        the asker's for a command answered privately, which goes to them alone)."""
        private = self.spec is not None and self.spec.private
        return self.engine.language_for(None if private else self.where, self.member)

    def _(self, text: str, /, **fields: Any) -> str:
        """``text`` in the language of this answer (see :mod:`chatbot.i18n`)."""
        return self.language._(text, **fields)

    def ngettext(self, singular: str, plural: str, n: int, /, **fields: Any) -> str:
        return self.language.ngettext(singular, plural, n, **fields)

    @property
    def languages(self) -> Languages:
        """Every language the bot has a catalog for (the shipped ones and the community's)."""
        return self.engine.languages

    def channel_language(self, where: Where) -> Language:
        """The language of a text posted in a channel: the answer's when the command was said
        there, else the channel's own (``[[channels]] language``, else the bot's), for a
        scheduled job's announcement or a queue closed from elsewhere."""
        return self.language if self.where == where else self.engine.language_for(where, None)

    def language_of(self, member: Recipient) -> Language:
        """The language ``member`` reads in private, for a DM to them."""
        return self.engine.languages.get(member.language)

    # -- people ----------------------------------------------------------------------------------

    def require_member(self) -> Member:
        if self.member is None:
            raise ActionError(N_("You need to be logged in to an account for that."))
        return self.member

    def has_role(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles

    def roles_of(self, member: Member) -> frozenset[str]:
        return self.engine.member_roles(self.repos, member)

    def find_member(self, ref: str, what: str = "person") -> Member:
        """A person named by handle, ``platform:account`` or a display name (see the engine)."""
        return find_member(self, ref, what, self.spec)

    def pick_identity(self, member: Member, idents: Iterable[PlatformIdentity]) -> Identity | None:
        """The identity a DM to ``member`` goes to, from rows loaded already (bulk jobs)."""
        return choose_identity(member, idents, self.engine.platforms)

    # -- scheduling ------------------------------------------------------------------------------

    def due_every(self, name: str, every: timedelta) -> bool:
        """For a scan too costly to repeat at every tick: True (and remembered, with the change)
        when ``every`` has passed since the last True for this name."""
        last = self.repos.kv.get("every", name)
        if last is not None and timedelta(0) <= self.now - datetime.fromisoformat(last) < every:
            return False
        self.repos.kv.set("every", name, self.now.isoformat())
        return True

    def quiet_until(self, when: datetime) -> None:
        """For a job that looked at everything: nothing of it falls due before ``when`` unless
        the rows it read change. Its ticks are skipped until then, or until somebody does
        something (``chatbot.rests``). The earliest of several calls counts."""
        self.quiet = when if self.quiet is None else min(self.quiet, when)

    def scrub_after_commit(self) -> None:
        """Fold deleted text out of the database files once this unit of work commits."""
        from storage.db import checkpoint

        database = self.engine.database
        self.after_commit.append(lambda: checkpoint(database))

    # -- sending -------------------------------------------------------------------------------

    def dm(
        self, member: Recipient, text: str, *, key: str | None = None, buttons: Iterable[Button] = (), form: Form | None = None
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

    def dm_file(
        self, member: Member, text: str, attachment: Callable[[], Attachment], otherwise: str, *, key: str | None = None
    ) -> bool | None:
        """Queue a private message with a file (made by ``attachment`` only when needed) where
        the member's platform takes files, else ``otherwise``, the same said in words. True: the
        file goes; False: the words; None: no running platform reaches them."""
        ident = self.engine.reachable_identity(self.repos, member)
        if ident is None:
            return None
        caps = self.capabilities(ident.platform)
        takes_files = caps is not None and caps.attachments
        message = DirectMessage(to=ident, text=text if takes_files else otherwise, key=key,
                                attachment=attachment() if takes_files else None)
        self.queue_dm(member.pk, message)
        return takes_files

    def queue_dm(self, member_id: int, message: DirectMessage) -> None:
        """Queue a DM built for an identity chosen already (bulk jobs pick identities themselves)."""
        self.outbound.append(message)
        self.recipients[id(message)] = member_id

    def reply_with(self, text: str, attachment: Attachment) -> None:
        """Answer where the command was said with a file (a chart), for a handler that returns
        None. Only where the platform takes files (``Capabilities.attachments``): elsewhere a
        handler answers in words."""
        assert self.where is not None and self.who is not None
        self.outbound.append(Reply(where=self.where, text=text, in_reply_to=self.event_id, to=self.who, attachment=attachment))

    def announce(self, where: Where, text: str, mention: Identity | None = None) -> None:
        self.outbound.append(Announce(where=where, text=text, mention=mention))

    def continue_flow(self, name: str, **same: Any) -> dict[str, Any] | None:
        """If the asker is in interview ``name``, ask its current question again (the engine sends
        it as it sends a first question) and return the answers so far; one they put aside with
        ``!later`` carries on the same way when its answers agree with ``same``; else None."""
        member = self.require_member()
        conv = self.repos.conversations.get(member.pk)
        flow = self.flow(name)
        if conv is None or conv.flow != name or flow is None:
            return self.resume_aside(name, **same)
        self.prompt = self.engine.conversations.question(flow, conv.step, self, dict(conv.data))
        return dict(conv.data)

    def resume_aside(self, name: str, **same: Any) -> dict[str, Any] | None:
        """Carry on interview ``name`` the asker put aside with ``!later``, when its answers agree
        with ``same``: the engine asks its question; returns the answers so far, or None."""
        member = self.require_member()
        assert self.who is not None
        found = self.engine.conversations.resume_aside(self, member, name, self.who.platform, same)
        if found is None:
            return None
        data, self.prompt = found
        return data

    def reopen_aside(self, row: "AsideInterview", platform: str) -> Conversation:
        """Put an interview set aside back in place without asking it (the caller's message asks)."""
        return self.engine.conversations.reopen_aside(self, row, platform)

    def later_flow(self) -> str | None:
        """Put the asker's interview aside (``!later``): what to tell them, or None when they
        were in none."""
        return self.engine.conversations.later(self, self.require_member())

    def cancel_flow(self) -> str | None:
        """End the asker's interview (``!cancel``): what to tell them (with the question of an
        interview it had paused, which carries on), or None when they were in none."""
        return self.engine.conversations.cancel(self, self.require_member())

    def open_flow(
        self, member_id: int, name: str, platform: str, data: dict[str, Any], openings: "Openings | None" = None,
        keep_aside: bool = False,
    ) -> None:
        """Put ``member_id`` at the first step of interview ``name`` without asking it (the
        caller's message asks); one of that kind put aside is replaced unless ``keep_aside``.
        Flows are the only writer of conversation state."""
        self.engine.conversations.open(self, member_id, name, platform, data, openings, keep_aside)

    def end_flow(self, member_id: int, *names: str) -> bool:
        """End ``member_id``'s interview (only one of ``names`` when given) because what it asks
        about is over; nothing is said. False when none ended."""
        return self.engine.conversations.end(self, member_id, *names)

    def drop_aside(self, member_ids: Iterable[int], name: str) -> None:
        """Forget these members' interviews of kind ``name`` put aside with ``!later``."""
        self.engine.conversations.drop_aside(self, member_ids, name)

    def amend_flow(self, member_id: int, name: str, answers: dict[str, Any]) -> None:
        """Replace answers interview ``name`` took already (the one ``member_id`` is in, one they
        put aside) with ``answers`` given another way since."""
        self.engine.conversations.amend(self, member_id, name, answers)

    def start_flow(self, name: str, data: dict[str, Any] | None = None) -> None:
        """Begin an interview in the asker's DM; the engine sends its first question."""
        member = self.require_member()
        assert self.who is not None
        self.prompt = self.begin_flow(member, name, self.who.platform, data)

    def begin_flow(self, member: Member, name: str, platform: str, data: dict[str, Any] | None = None) -> str:
        """Begin interview ``name`` for ``member`` on ``platform`` (a scheduled job asking
        somebody, not the asker); its first question, for the caller to send. Another interview
        they are in is paused and carries on afterwards."""
        return self.engine.conversations.start(self, member, name, platform, data)
