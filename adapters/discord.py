"""The Discord adapter: discord.py 2.x with an app-command tree built from the CommandSpecs.

What it translates, and nothing more (no role decisions, no reply wording):

- **Slash commands** (see :mod:`adapters.discord_commands` for how specs become commands) ->
  :class:`CommandInvoked`. The interaction is answered by the engine's ``Reply`` (matched by
  ``in_reply_to == event_id``). Discord drops an interaction that is not acknowledged within
  3 s, so if no reply has come after ``defer_after`` seconds the adapter defers (ephemerally for a
  private spec) and the reply becomes the follow-up. An interaction the engine leaves without a
  reply is closed silently (the "thinking…" placeholder is removed).
- **Autocomplete** on the options :mod:`adapters.discord_commands` marks -> ``CompletionRequested``;
  the engine's list of values is the answer (nothing is offered if it fails or is slow).
- **Text**: DMs, and ``!`` commands in channels when ``message_content`` is on -> ``TextReceived``,
  verbatim but for user mentions in a command, ``<@id>``, which become ``discord:id`` (how the
  core names a person by account; it parses no platform's syntax). Bots (and the bot itself)
  are ignored.
- **Outbound**: replies and announcements to channels, direct messages through a cached DM
  channel (in memory and in ``context.kv``). New DMs (``DirectMessage``: prompts, reminders, fan-outs)
  are paced by a token bucket; a reply in a DM to what the person just wrote is not, so one
  announcement to many never slows down the conversations going on meanwhile. Everything is
  sent with ``AllowedMentions.none()`` except the one ``mention`` a Reply/Announce names.
  ``DirectMessage.buttons`` become persistent buttons (a ``DynamicItem``, so clicks still work
  after a restart) whose click reaches the engine as the ``TextReceived`` of ``Button.command``.
  ``DirectMessage.form`` becomes one more button that opens a modal with a paragraph input per
  question (Discord allows 5; a longer form is left to the text answer the message asks for). The
  submission reaches the engine as one ``TextReceived`` in the DM, numbered ``1. ...\n2. ...``
  (a blank answer is ``-``), exactly what a person would type. The form's questions are kept in
  ``context.kv`` under a digest, so a button still opens its form after a restart; submissions
  are read from the interaction itself (no modal object waits in memory).
  Error 50007 (the user does not accept DMs) -> ``Delivery("undeliverable", "50007")``, once: the
  engine does not retry it.
- **Channel labels**: ``channel_label`` names a channel ``#name`` from discord.py's cache, for
  texts that mention one (a DM saying where the queue is); no request, None when unknown.
- **Start-up**: commands are synced in ``setup_hook`` (never ``on_ready``, which fires again
  after a failed RESUME), and only when their payload changed since the last sync (a digest in
  ``context.kv``) or the server lacks one of them. Reconnects and resumes are discord.py's.
  Slash commands are optional: a failed sync (a 400, a reply without ids) is logged once with
  Discord's error, reported as ``degraded`` and retried in the background with backoff, while
  text commands and DMs go on.
- **Staying up** (the supervisor in ``chatbot.supervisor`` restarts what ends): ``stop()``
  leaves nothing behind, so ``start()`` after a failure builds a new client. A gateway event
  discord.py cannot parse (a DM ``MESSAGE_CREATE`` with ``"guild_id": null``) is logged with its
  type and dropped instead of ending the client; a client that ends anyway reports ``failed``.
- **Unknown outcomes**: a send that raised may still have been carried out (a 5xx after the
  message was made). Then the adapter looks for the message (its nonce from the gateway
  echo, else the channel's recent history) and counts it as sent if it is there; if not, the
  outbox retries with the same nonce. An interaction answer that raised is checked the same
  way (``@original``), and never deleted because of a local error. A 5xx during ``send`` fails
  at once (discord.py would retry it for ~15 s while every other message waits).
- **Mentions**: besides ``allowed_mentions``, ``@everyone``, ``@here`` and ``<@…>``/``<@&…>`` in
  outgoing text get a zero-width space after the ``@`` (:func:`defuse_mentions`), so a server
  or client that ignores ``allowed_mentions`` pings nobody either; only the ``<@id>`` the adapter
  builds itself for the event's ``mention`` is live.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import io
import json
import logging
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Sequence

import aiohttp
import discord
import yarl
from discord import app_commands
from pydantic import BaseModel, ConfigDict, Field, field_validator

from adapters.base import AdapterContext, AdapterState, Capabilities, Reporter, Sink, ignore_state
from adapters.discord_commands import CatalogTranslator, CommandMap, build_app_commands, payload_problems
from adapters.discord_forms import FORM_ID, MODAL_INPUTS, build_modal, form_answers, form_digest, load_form
from adapters.pacing import TokenBucket
from chatbot.commands import ROLES, Arg, CommandSpec
from chatbot.events import (
    SENT,
    Announce,
    Attachment,
    Button,
    CommandInvoked,
    CompletionRequested,
    Delivery,
    DirectMessage,
    Form,
    Identity,
    Inbound,
    Left,
    Outbound,
    Reply,
    Returned,
    TextReceived,
    Where,
)

log = logging.getLogger(__name__)

PLATFORM = "discord"
MAX_MESSAGE = 2000
CANNOT_DM = 50007
UNKNOWN_CHANNEL = 10003
BUTTON_ID = "mentorbot:cmd:"
#: how long an autocomplete may wait for the engine (Discord drops it after 3 s)
COMPLETE_TIMEOUT = 2.0
#: how long an interaction waits (deferred) for the sender to hand over its answers; Discord keeps
#: an interaction token 15 minutes
ANSWER_WAIT = 600
#: messages of the channel's history searched for one whose send raised
CONFIRM_LOOKBACK = 25
#: gateway events a client cannot do without: a failure there ends it (and the supervisor restarts it)
VITAL_EVENTS = frozenset({"READY"})
#: set while ``send`` runs: a 5xx then fails the request at once instead of discord.py's retries
_FAIL_FAST: contextvars.ContextVar[bool] = contextvars.ContextVar("discord_fail_fast", default=False)


class DiscordSettings(BaseModel):
    """``[adapters.discord]`` in the config. The token itself only ever comes from ``token_env``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token_env: str = "MENTORBOT_DISCORD_TOKEN"
    application_id: int | None = None
    #: guild ids to sync the slash commands to (fast to update); empty: global commands
    guilds: tuple[int, ...] = ()
    #: REST base (``.../api/v10``) and gateway (``ws://...``) of a Discord-compatible server
    api_base: str | None = None
    gateway_url: str | None = None
    prefix: str = Field("!", pattern=r"^\S+$")
    #: read ``!`` commands in channels (needs the privileged message-content intent)
    message_content: bool = False
    #: guild role name -> bot role, reported as ``platform_roles``
    role_map: dict[str, str] = Field(default_factory=dict)
    #: the members intent (privileged); default: on when ``role_map`` is set, so DMs know roles too.
    #: Without it the bot does not hear people leave the server (office hours then keep their place)
    members_intent: bool | None = None
    #: DM pacing: ``dm_burst`` at once, then ``dm_rate`` per second
    dm_rate: float = Field(5.0, gt=0)
    dm_burst: int = Field(5, ge=1)
    #: seconds to wait for the engine's reply before deferring an interaction (Discord allows 3)
    defer_after: float = Field(1.5, gt=0, le=2.5)
    #: discord.py waits this long after the last GUILD_CREATE before on_ready
    guild_ready_timeout: float = Field(2.0, ge=0)
    #: start() returns after this long even if the gateway is not ready (it keeps trying)
    start_timeout: float = Field(60.0, gt=0)
    #: seconds before a failed slash-command sync is tried again (doubling up to the maximum)
    sync_retry_delay: float = Field(30.0, gt=0)
    sync_retry_max_delay: float = Field(900.0, gt=0)

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("api_base must be an http(s) URL like https://discord.com/api/v10")
        return value.rstrip("/") if value else value

    @field_validator("gateway_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^wss?://[^/\s]+", value):
            raise ValueError("gateway_url must be a ws(s) URL like wss://gateway.discord.gg/")
        return value

    @field_validator("role_map")
    @classmethod
    def _roles(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(r for r in value.values() if r not in ROLES)
        if bad:
            raise ValueError(f"role_map maps to unknown roles {bad}; choose from {ROLES}")
        return value

    @property
    def wants_members(self) -> bool:
        return self.members_intent if self.members_intent is not None else bool(self.role_map)


class DiscordConfigError(RuntimeError, ValueError):
    """A start failure that retrying cannot fix (no token, a refused token, an intent the
    application may not use). A ValueError, which the supervisor does not retry."""


class ServerTrouble(aiohttp.ClientError):
    """Discord answered a request made by ``send`` with a 5xx. Raised from the HTTP session's
    trace hook, so the send fails at once and the outbox sets the message aside, instead of
    discord.py retrying it for ~15 s while everything else waits."""

    def __init__(self, status: int, method: str, url: str) -> None:
        super().__init__(f"{status} from {method} {url}")
        self.status = status


def _fail_fast_trace() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()

    async def on_request_end(_session: Any, _ctx: Any, params: aiohttp.TraceRequestEndParams) -> None:
        if params.response.status >= 500 and _FAIL_FAST.get():
            raise ServerTrouble(params.response.status, params.method, str(params.url.path))

    trace.on_request_end.append(on_request_end)
    return trace


def _guard_parsers(client: discord.Client) -> None:
    """Make an event discord.py cannot parse cost that event, not the connection.

    discord.py calls its parsers straight from the gateway loop, so one malformed payload
    (``"guild_id": null`` on a guild channel's MESSAGE_CREATE: ``int(None)``) ends
    ``client.start``. The parser table is discord.py's ``ConnectionState.parsers`` (the
    websocket reads the same dict), so wrapping its entries is enough."""
    parsers: dict[str, Callable[[Any], None]] = client._connection.parsers
    for event, parse in list(parsers.items()):
        if event not in VITAL_EVENTS:
            parsers[event] = _guarded(event, parse)


def _guarded(event: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
    def run(data: Any) -> None:
        try:
            parse(data)
        except Exception as exc:
            ident = data.get("id") if isinstance(data, dict) else None
            log.error("dropped a Discord %s event (id %s) that could not be handled: %r", event, ident, exc,
                      exc_info=log.isEnabledFor(logging.DEBUG))

    return run


def _error_text(exc: BaseException) -> str:
    """Discord's own error where there is one (status, code, message), else the exception."""
    if isinstance(exc, discord.HTTPException):
        return f"{exc.status} {exc.code}: {exc.text}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]


def _refused(exc: BaseException) -> bool:
    """Errors after which the message certainly does not exist (no need to look for it)."""
    return isinstance(exc, (discord.Forbidden, discord.NotFound))


class _Recent(OrderedDict):
    """A bounded set of recent keys (nonces, message ids), oldest forgotten first."""

    def __init__(self, size: int = 4096) -> None:
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any = True) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


def create(settings: dict[str, Any], context: AdapterContext) -> "DiscordAdapter":
    """The ``mentorbot.adapters`` entry point."""
    return DiscordAdapter(DiscordSettings.model_validate(settings or {}), context)


def command_digest(payload: Sequence[dict[str, Any]]) -> str:
    """A stable digest of a command-sync payload, kept to skip syncing what did not change."""
    return hashlib.sha256(json.dumps(list(payload), sort_keys=True, default=str).encode()).hexdigest()


@dataclass(eq=False)
class _Pending:
    """An interaction waiting for the engine's answer."""

    interaction: discord.Interaction
    #: deferring makes the placeholder ephemeral (a private spec)
    private: bool
    #: a slash command (defer shows "thinking…") rather than a button click (defer is silent)
    is_command: bool
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    deferred: bool = False
    answered: bool = False
    #: acknowledging failed (expired): replies take the ordinary way
    dead: bool = False
    #: answering raised, so the answer may be showing: never delete it, look before resending
    unsure: bool = False
    #: the engine's answers to it that the sender has handed over so far, and how many it recorded
    replies: int = 0
    expected: int = 0
    all_replied: asyncio.Event = field(default_factory=asyncio.Event)

    def note_reply(self) -> None:
        self.replies += 1
        if self.replies >= self.expected:
            self.all_replied.set()

    def expect(self, answers: int) -> None:
        self.expected = answers
        if self.replies >= answers:
            self.all_replied.set()


class _Dynamic:
    """What the adapter's buttons share. They are ``DynamicItem``s: any such button is handled,
    even after a restart, from its custom id alone, without keeping a View per message."""

    #: the template group holding the value the button carries
    group = ""
    value: str

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> Any:
        return cls(item.label or "", match[cls.group])  # type: ignore[call-arg]

    async def callback(self, interaction: discord.Interaction) -> None:
        adapter = getattr(interaction.client, "adapter", None)
        if isinstance(adapter, DiscordAdapter):
            await self.act(adapter, interaction)

    async def act(self, adapter: "DiscordAdapter", interaction: discord.Interaction) -> None:
        raise NotImplementedError


class _CommandButton(_Dynamic, discord.ui.DynamicItem[discord.ui.Button], template=r"^mentorbot:cmd:(?P<command>.+)$"):
    """A DM button standing for a text command."""

    group = "command"

    def __init__(self, label: str, command: str) -> None:
        custom_id = BUTTON_ID + command
        if len(custom_id) > 100:
            raise ValueError(f"button command {command!r} is too long for Discord's 100-character custom id")
        super().__init__(discord.ui.Button(label=label[:80] or command[:80], custom_id=custom_id,
                                           style=discord.ButtonStyle.primary))
        self.value = command

    async def act(self, adapter: "DiscordAdapter", interaction: discord.Interaction) -> None:
        await adapter._on_button(interaction, self.value)


class _FormButton(_Dynamic, discord.ui.DynamicItem[discord.ui.Button],
                  template=r"^mentorbot:form:(?P<digest>[0-9a-f]{16})$"):
    """The button that opens a DM's form. Only the form's digest is in the custom id; the
    questions are in ``context.kv``, so the button works after a restart too."""

    group = "digest"

    def __init__(self, label: str, digest: str) -> None:
        super().__init__(discord.ui.Button(label=label[:80] or "Answer", custom_id=FORM_ID + digest,
                                           style=discord.ButtonStyle.success))
        self.value = digest

    async def act(self, adapter: "DiscordAdapter", interaction: discord.Interaction) -> None:
        await adapter._open_form(interaction, self.value)


class _Client(discord.Client):
    def __init__(self, adapter: "DiscordAdapter", **options: Any) -> None:
        super().__init__(http_trace=_fail_fast_trace(), **options)
        self.adapter = adapter
        self.tree = app_commands.CommandTree(self)
        _guard_parsers(self)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(_CommandButton, _FormButton)
        await self.adapter._first_sync()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.modal_submit:
            custom_id = str((interaction.data or {}).get("custom_id", ""))
            if custom_id.startswith(FORM_ID):
                await self.adapter._on_form_submit(interaction)

    async def on_ready(self) -> None:
        self.adapter._on_ready()

    async def on_resumed(self) -> None:
        self.adapter._on_ready()

    async def on_disconnect(self) -> None:
        self.adapter._on_disconnect()

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter._on_message(message)

    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        await self.adapter._on_membership(payload.user, joined=False)

    async def on_member_join(self, member: discord.Member) -> None:
        await self.adapter._on_membership(member, joined=True)


class DiscordAdapter:
    platform = PLATFORM
    capabilities = Capabilities(direct_messages=True, ephemeral_replies=True, attachments=True, forms=True,
                                parallel_sends=4)  # discord.py keeps each route's rate limit

    def __init__(self, settings: DiscordSettings, context: AdapterContext) -> None:
        self.settings, self.context = settings, context
        self.commands = CommandMap()
        self._client: _Client | None = None
        self._runner: asyncio.Task[None] | None = None
        self._sink: Sink | None = None
        self._ready = asyncio.Event()
        self._stopped = False
        self._pending: dict[str, _Pending] = {}
        self._dm_channels: dict[int, int] = {}
        self._dm_lock = asyncio.Lock()
        self._pacer = TokenBucket(settings.dm_rate, settings.dm_burst)
        self._report: Reporter = ignore_state
        self._starting = False
        #: why slash commands are not synced (None: they are)
        self._sync_problem: str | None = None
        self._sync_task: asyncio.Task[None] | None = None
        #: nonces of our own messages the gateway echoed; ids of messages a send got back
        self._seen_nonces = _Recent()
        self._posted_ids = _Recent()
        #: outbox key -> the first part not yet delivered of a message whose send failed part-way
        self._partial = _Recent(1024)
        #: interactions whose answer raised, kept so that a retry looks before answering again
        self._unsure = _Recent(256)

    def bind_reporter(self, report: Reporter) -> None:
        self._report = report

    # ------------------------------------------------------------------ lifecycle

    async def start(self, sink: Sink, specs: Sequence[CommandSpec]) -> None:
        """A new client each time (after a ``stop()``, e.g. by the supervisor after a failure)."""
        if self._runner is not None and not self._runner.done():
            raise RuntimeError("the Discord adapter is already running")
        token = os.environ.get(self.settings.token_env, "").strip()
        if not token:
            raise DiscordConfigError(f"no Discord bot token: set the environment variable {self.settings.token_env}")
        self._aim()
        self._sink = sink
        if self._client is not None and not self._client.is_closed():  # a dead client nobody stopped
            await self._client.close()
        self._stopped, self._starting = False, True
        self._ready = asyncio.Event()
        self._sync_problem = None
        intents = discord.Intents.none()
        intents.guilds = intents.guild_messages = intents.dm_messages = True
        intents.message_content = self.settings.message_content
        intents.members = self.settings.wants_members
        client = self._client = _Client(self, intents=intents, application_id=self.settings.application_id,
                                        guild_ready_timeout=self.settings.guild_ready_timeout,
                                        allowed_mentions=discord.AllowedMentions.none())
        commands, self.commands = build_app_commands(specs, self._on_command, self._on_complete)
        await client.tree.set_translator(CatalogTranslator(self.context.localize))
        guilds = [discord.Object(g) for g in self.settings.guilds]
        for command in commands:
            if guilds:
                client.tree.add_command(command, guilds=guilds)
            else:
                client.tree.add_command(command)
        problems = [p for c in commands for p in payload_problems(c.to_dict(client.tree))]
        if problems:  # a declaration Discord would refuse: say which, rather than a 50035 at sync
            raise ValueError("Discord would refuse these commands: " + "; ".join(problems[:5]))
        runner = self._runner = asyncio.create_task(client.start(token), name="discord-client")
        runner.add_done_callback(self._runner_ended)
        ready = asyncio.ensure_future(self._ready.wait())
        try:
            done, _ = await asyncio.wait({runner, ready}, timeout=self.settings.start_timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            self._starting = False
        if runner in done:
            error = None if runner.cancelled() else runner.exception()
            await self.stop()
            refused = isinstance(error, (discord.LoginFailure, discord.PrivilegedIntentsRequired))
            raise (DiscordConfigError if refused else RuntimeError)(
                f"the Discord client stopped while starting: {error!r}") from error
        if not done:
            log.warning("Discord gateway not ready after %.0f s; still connecting", self.settings.start_timeout)

    def _aim(self) -> None:
        """Point discord.py at another Discord-compatible server: the only two addresses it reads."""
        if self.settings.api_base:
            discord.http.Route.BASE = self.settings.api_base
        if self.settings.gateway_url:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.settings.gateway_url)

    def _runner_ended(self, task: asyncio.Task[None]) -> None:
        """The client ended by itself: say so, and the supervisor starts a new one."""
        if self._stopped or self._starting or task is not self._runner:
            return  # stop() ended it, or start() reports it by raising
        error = None if task.cancelled() else task.exception()
        reason = f"the Discord client ended: {error!r}" if error is not None else "the Discord client ended"
        log.error("%s", reason)
        self._report(AdapterState("failed", reason))

    async def stop(self) -> None:
        """Close the client and forget it, so that ``start()`` may build a new one. Idempotent."""
        if not self._stopped:
            self._stopped = True
            if self._sync_task is not None:
                self._sync_task.cancel()
                await asyncio.gather(self._sync_task, return_exceptions=True)
                self._sync_task = None
            if self._client is not None:
                await self._client.close()
            if self._runner is not None:  # its failure, if any, was reported by _runner_ended
                await asyncio.wait({self._runner}, timeout=10)
            self._client, self._runner = None, None
        self._report(AdapterState("stopped"))

    def _on_ready(self) -> None:
        self._ready.set()
        self._report(AdapterState("degraded", self._sync_problem) if self._sync_problem else AdapterState("connected"))

    def _on_disconnect(self) -> None:
        if not self._stopped:
            self._report(AdapterState("reconnecting", "the Discord gateway connection closed"))

    async def _first_sync(self) -> None:
        """The sync at start-up. Slash commands are optional: if it fails, the client still
        connects (text commands and DMs work) and the sync is retried in the background. A 5xx
        fails at once here too, rather than hold the connection back for discord.py's retries."""
        fail_fast = _FAIL_FAST.set(True)
        try:
            await self._sync_commands()
        except Exception as exc:
            self._sync_problem = f"slash commands not synced: {_error_text(exc)}"
            log.warning("%s; text commands and DMs keep working; retrying in %.0f s",
                        self._sync_problem, self.settings.sync_retry_delay)
            self._sync_task = asyncio.create_task(self._sync_again(), name="discord-command-sync")
        finally:
            _FAIL_FAST.reset(fail_fast)

    async def _sync_again(self) -> None:
        """Retry the sync with backoff until it works (each failure after the first at DEBUG:
        the operator was told once)."""
        s, attempt = self.settings, 0
        while True:
            await asyncio.sleep(min(s.sync_retry_max_delay, s.sync_retry_delay * 2 ** min(attempt, 30)))
            attempt += 1
            try:
                await self._sync_commands()
            except Exception as exc:
                log.debug("Discord command sync failed again (attempt %d): %s", attempt, _error_text(exc))
                continue
            log.info("Discord slash commands synced after %d %s", attempt, "retry" if attempt == 1 else "retries")
            self._sync_problem = None
            if self._ready.is_set():
                self._report(AdapterState("connected"))
            return

    async def _sync_commands(self) -> None:
        """Sync each configured guild (or the global commands) only when the payload changed."""
        client = self._client
        assert client is not None
        targets: list[discord.Object | None] = [discord.Object(g) for g in self.settings.guilds] or [None]
        for guild in targets:
            translator = client.tree.translator
            assert translator is not None
            # with the descriptions' translations: a new catalog is a change to sync
            payload = [await c.get_translated_payload(client.tree, translator) for c in client.tree.get_commands(guild=guild)]
            key = f"discord.commands.{client.application_id}.{guild.id if guild else 'global'}"
            where = f"guild {guild.id}" if guild else "global"
            if self.context.kv.get(key) == command_digest(payload):
                remote = {c.name for c in await client.tree.fetch_commands(guild=guild)}
                if remote == {p["name"] for p in payload}:
                    log.info("Discord commands (%s) unchanged; not syncing", where)
                    continue
            synced = await client.tree.sync(guild=guild)
            self.context.kv.set(key, command_digest(payload))
            log.info("synced %d Discord commands (%s)", len(synced), where)

    # ------------------------------------------------------------------ inbound

    async def _deliver(self, event: Inbound) -> Any:
        """The engine's ``Handled`` for the event (None if it failed)."""
        assert self._sink is not None
        try:
            return await self._sink(event)
        except Exception:
            log.exception("the engine failed on %r", event)
            return None

    async def _on_membership(self, user: discord.abc.User, *, joined: bool) -> None:
        """Leaving the server is ``Left`` (how ``guild``) in every channel of the platform, and
        joining it ``Returned`` (member events need the members intent, ``members_intent``)."""
        if user.bot:
            return
        everywhere = Where(PLATFORM, None)
        who = self._identity(user)
        await self._deliver(Returned(who, everywhere) if joined else Left(who, everywhere, "guild"))

    def _identity(self, user: discord.abc.User) -> Identity:
        return Identity(PLATFORM, str(user.id), user.display_name)

    def _roles_of(self, user: discord.abc.User) -> frozenset[str]:
        """Mapped roles: the member's in a guild; in a DM, the union over the configured guilds."""
        role_map = self.settings.role_map
        if not role_map or self._client is None:
            return frozenset()
        if isinstance(user, discord.Member):
            members: list[discord.Member | None] = [user]
        else:
            guilds = [self._client.get_guild(g) for g in self.settings.guilds] or list(self._client.guilds)
            members = [g.get_member(user.id) for g in guilds if g is not None]
        return frozenset(role_map[r.name] for m in members if m is not None for r in m.roles if r.name in role_map)

    async def _on_message(self, message: discord.Message) -> None:
        me = self._client.user if self._client is not None else None
        if me is not None and message.author.id == me.id and message.nonce is not None:
            self._seen_nonces.put(str(message.nonce))  # the proof a send that raised went through
        if message.author.bot or message.webhook_id is not None:
            return
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        text, prefix = message.content, self.settings.prefix
        if isinstance(message.channel, discord.DMChannel):
            where = Where(PLATFORM, None)
        elif message.guild is not None and self.settings.message_content and text.startswith(prefix):
            where = Where(PLATFORM, str(message.channel.id))
        else:
            return
        if not text.strip():
            return
        if text.startswith(prefix):  # "!session log <@123> 45m": the core names people platform:account
            text = USER_MENTION.sub(lambda m: f"{PLATFORM}:{m.group(1)}", text)
        await self._deliver(TextReceived(who=self._identity(message.author), where=where, text=text,
                                         event_id=str(message.id), prefix=prefix,
                                         platform_roles=self._roles_of(message.author)))

    def _where(self, interaction: discord.Interaction) -> Where:
        """A guild channel's id; None for a DM, and for an interaction without a channel id
        (never the string 'None')."""
        if interaction.guild_id is None or interaction.channel_id is None:
            return Where(PLATFORM, None)
        return Where(PLATFORM, str(interaction.channel_id))

    async def _on_command(self, interaction: discord.Interaction, spec: CommandSpec, args: dict[str, str]) -> None:
        event = CommandInvoked(who=self._identity(interaction.user), where=self._where(interaction), path=spec.path,
                               args=args, event_id=str(interaction.id),
                               platform_roles=self._roles_of(interaction.user))
        await self._converse(interaction, event, private=spec.private, is_command=True)

    async def _on_complete(self, interaction: discord.Interaction, spec: CommandSpec, arg: Arg,
                           partial: str) -> list[str]:
        """The engine's values for an argument being typed; none if it fails or is too slow."""
        event = CompletionRequested(who=self._identity(interaction.user), where=self._where(interaction),
                                    path=spec.path, arg=arg.name, partial=partial,
                                    platform_roles=self._roles_of(interaction.user))
        assert self._sink is not None
        try:
            values = await asyncio.wait_for(self._sink(event), COMPLETE_TIMEOUT)
        except asyncio.TimeoutError:
            log.warning("the engine took over %.1f s to complete %s %s", COMPLETE_TIMEOUT, spec.name, arg.name)
            return []
        except Exception:
            log.exception("the engine failed to complete %s %s", spec.name, arg.name)
            return []
        return [str(v) for v in values or ()]

    async def _open_form(self, interaction: discord.Interaction, digest: str) -> None:
        """A form button: show its modal (the answer to the click, so within Discord's 3 s)."""
        form = load_form(self.context.kv.get(f"discord.form.{digest}"))
        try:
            if form is None:  # the kv lost it: the text answer still works
                await interaction.response.send_message("This form is no longer available; please answer with a "
                                                        "message instead.", ephemeral=True)
                return
            await interaction.response.send_modal(build_modal(form, digest))
        except discord.HTTPException as exc:
            log.warning("could not open form %s for interaction %s: %s", digest, interaction.id, exc)

    async def _on_form_submit(self, interaction: discord.Interaction) -> None:
        """A modal submission: the numbered answers, as the person would have typed them."""
        digest = str((interaction.data or {}).get("custom_id", "")).removeprefix(FORM_ID)
        form = load_form(self.context.kv.get(f"discord.form.{digest}"))
        event = TextReceived(who=self._identity(interaction.user), where=self._where(interaction),
                             text=form_answers(interaction.data or {}, form.first if form else 1), event_id=str(interaction.id),
                             prefix=self.settings.prefix, platform_roles=self._roles_of(interaction.user))
        await self._converse(interaction, event, private=False, is_command=False)

    async def _on_button(self, interaction: discord.Interaction, command: str) -> None:
        prefix = self.settings.prefix if command.startswith(self.settings.prefix) else "!"
        event = TextReceived(who=self._identity(interaction.user), where=self._where(interaction), text=command,
                             event_id=str(interaction.id), prefix=prefix,
                             platform_roles=self._roles_of(interaction.user))
        await self._converse(interaction, event, private=False, is_command=False)

    async def _converse(self, interaction: discord.Interaction, event: Inbound, *, private: bool,
                        is_command: bool) -> None:
        """Hand an interaction to the engine and make sure Discord hears back within its 3 s."""
        pending = _Pending(interaction, private, is_command)
        self._pending[str(interaction.id)] = pending
        try:
            began = asyncio.get_running_loop().time()
            handling = asyncio.create_task(self._deliver(event))
            done, _ = await asyncio.wait({handling}, timeout=self.settings.defer_after)
            if not done:
                await self._defer(pending)
            handled = await handling
            # The engine has committed its answers; the background sender hands them over (to
            # ``send``, which answers the interaction). Wait for them, deferring in time if they
            # are late, and only then close an interaction the engine left without an answer.
            pending.expect(getattr(handled, "answers", 0))
            left = self.settings.defer_after - (asyncio.get_running_loop().time() - began)
            try:
                await asyncio.wait_for(pending.all_replied.wait(), max(0.0, left))
            except asyncio.TimeoutError:
                await self._defer(pending)
                try:
                    await asyncio.wait_for(pending.all_replied.wait(), ANSWER_WAIT)
                except asyncio.TimeoutError:
                    log.warning("interaction %s: the answer was not sent within %d s", interaction.id, ANSWER_WAIT)
            await self._finish(pending)
        finally:
            self._pending.pop(str(interaction.id), None)
            if pending.unsure and not pending.answered:
                self._unsure.put(str(interaction.id), pending)

    async def _defer(self, pending: _Pending) -> None:
        async with pending.lock:
            if pending.interaction.response.is_done() or pending.dead:
                return
            try:
                if pending.is_command:
                    await pending.interaction.response.defer(ephemeral=pending.private, thinking=True)
                else:
                    await pending.interaction.response.defer()
                pending.deferred = True
            except discord.HTTPException as exc:
                log.warning("could not defer interaction %s: %s", pending.interaction.id, exc)
                pending.dead = True

    async def _finish(self, pending: _Pending) -> None:
        """The engine is done and said nothing: close the interaction without a message."""
        async with pending.lock:
            if pending.answered or pending.dead or pending.unsure:
                return  # an answer that raised may be what the person is reading: leave it
            response = pending.interaction.response
            try:
                if not pending.is_command:
                    if not response.is_done():
                        await response.defer()
                    return
                if not response.is_done():
                    await response.defer(ephemeral=True, thinking=True)
                await pending.interaction.delete_original_response()
            except discord.HTTPException as exc:
                log.warning("could not close interaction %s: %s", pending.interaction.id, exc)

    # ------------------------------------------------------------------ outbound

    def channel_label(self, channel: str) -> str | None:
        """``#name`` of a guild channel or thread from discord.py's cache (no request), for texts
        that name a channel; None for an id the cache lacks. A name never pings: everything is
        sent with ``AllowedMentions.none()``. Not ``<#id>``: the text may be read on IRC."""
        if self._client is None or not channel.isdigit():
            return None
        found = self._client.get_channel(int(channel))
        name = getattr(found, "name", None)
        return f"#{name}" if isinstance(found, (discord.abc.GuildChannel, discord.Thread)) and name else None

    async def send(self, event: Outbound) -> Delivery:
        if self._client is None or self._stopped:
            return Delivery("failed", "the Discord adapter is not running")
        fail_fast = _FAIL_FAST.set(True)
        try:
            if isinstance(event, Reply):
                return await self._send_reply(event)
            if isinstance(event, DirectMessage):
                return await self._send_dm(event.to, event.text, buttons=event.buttons, form=event.form, key=event.key,
                                           attachment=event.attachment)
            if isinstance(event, Announce):
                return await self._send_channel(event.where, event.text, mention=event.mention, key=event.key,
                                                attachment=event.attachment)
            return Delivery("failed", f"cannot send {type(event).__name__}")
        except discord.HTTPException as exc:
            if exc.code == CANNOT_DM:
                return Delivery("undeliverable", str(CANNOT_DM))
            return Delivery("failed", f"{exc.status} {exc.code}: {exc.text}"[:300])
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError) as exc:
            return Delivery("failed", f"{type(exc).__name__}: {exc}"[:300])
        except Exception:
            if self._stopped:  # stop() closed the HTTP session under an unfinished send
                return Delivery("failed", "the Discord adapter stopped")
            raise
        finally:
            _FAIL_FAST.reset(fail_fast)

    async def _send_reply(self, reply: Reply) -> Delivery:
        pending = self._pending.get(reply.in_reply_to or "") or self._unsure.get(reply.in_reply_to or "")
        if pending is not None:
            try:
                delivery = await self._answer(pending, reply)
            finally:
                pending.note_reply()
            if delivery is not None:
                return delivery
        if reply.where.is_direct or reply.private:  # never show a private reply in a channel
            if reply.to is None:
                return Delivery("failed", "a private reply needs Reply.to")
            in_reply_to = reply.in_reply_to if reply.where.is_direct else None
            return await self._send_dm(reply.to, reply.text, mention=reply.mention, in_reply_to=in_reply_to,
                                       paced=not reply.where.is_direct, key=reply.key, attachment=reply.attachment)
        return await self._send_channel(reply.where, reply.text, mention=reply.mention, in_reply_to=reply.in_reply_to,
                                        key=reply.key, attachment=reply.attachment)

    async def _answer(self, pending: _Pending, reply: Reply) -> Delivery | None:
        """The reply as the interaction's response or follow-up. None: the interaction is unusable."""
        async with pending.lock:
            if pending.dead:
                return None
            interaction, allowed = pending.interaction, _allowed(reply.mention)
            chunks = _chunks(outgoing_text(reply.text, reply.mention))
            file = _files(reply.attachment)  # with the first part
            if pending.unsure:  # an earlier try raised: if its answer is there, that was it
                if await self._answer_shows(interaction, chunks[0]):
                    pending.answered = True
                    return SENT
                return None  # the ordinary way, with the outbox key's nonce
            try:
                if not interaction.response.is_done():
                    await interaction.response.send_message(chunks[0], ephemeral=reply.private,
                                                            allowed_mentions=allowed, **file)
                elif pending.deferred and pending.is_command and not pending.answered and reply.private \
                        and not pending.private:
                    # The first follow-up fills in the public "thinking…" message and keeps its
                    # visibility; resolve it first so the private answer can be ephemeral.
                    await interaction.edit_original_response(content="…",
                                                             allowed_mentions=discord.AllowedMentions.none())
                    await interaction.followup.send(chunks[0], ephemeral=True, allowed_mentions=allowed, **file)
                    await interaction.delete_original_response()
                else:  # after a defer the first follow-up fills in the "thinking…" message
                    await interaction.followup.send(chunks[0], ephemeral=reply.private, allowed_mentions=allowed, **file)
                chunks = chunks[1:]
            except Exception as exc:
                pending.unsure = True
                if _refused(exc) or not await self._answer_shows(interaction, chunks[0]):
                    raise
                log.info("answering interaction %s raised (%s) but the answer is there", interaction.id,
                         _error_text(exc))
                chunks = chunks[1:]
            pending.answered = True  # from here on the answer is showing: never delete it
            for chunk in chunks:
                await interaction.followup.send(chunk, ephemeral=reply.private, allowed_mentions=allowed)
            return SENT

    async def _answer_shows(self, interaction: discord.Interaction, text: str) -> bool:
        """Whether the interaction's original response is ``text`` (so an answer that raised
        was posted after all). Unknown counts as no."""
        try:
            message = await interaction.original_response()
        except Exception as exc:
            log.debug("could not read interaction %s's answer: %s", interaction.id, _error_text(exc))
            return False
        return message.content == text

    async def _send_channel(self, where: Where, text: str, *, mention: Identity | None = None,
                            in_reply_to: str | None = None, key: str | None = None,
                            attachment: Attachment | None = None) -> Delivery:
        if where.channel is None:
            return Delivery("undeliverable", "no channel to send to")
        if not where.channel.isdigit():
            raise ValueError(f"not a Discord channel: {where.channel!r}")
        assert self._client is not None
        channel = self._client.get_partial_messageable(int(where.channel))
        await self._post(channel, text, mention=mention, in_reply_to=in_reply_to, key=key, attachment=attachment)
        return SENT

    async def _send_dm(self, to: Identity, text: str, *, buttons: Sequence[Button] = (), form: Form | None = None,
                       mention: Identity | None = None, in_reply_to: str | None = None, paced: bool = True,
                       key: str | None = None, attachment: Attachment | None = None) -> Delivery:
        user_id = _user_id(to)
        view = None
        if form is not None and not 1 <= len(form.questions) <= MODAL_INPUTS:
            log.info("a form of %d questions does not fit a Discord modal; the text answer stays", len(form.questions))
            form = None
        if buttons or form is not None:
            view = discord.ui.View(timeout=None)
            for button in buttons[: 25 - (form is not None)]:
                view.add_item(_CommandButton(button.label, button.command))
            if form is not None:
                view.add_item(_FormButton(form.label, self._keep_form(form)))
        if paced:
            await self._pacer.acquire()
        for attempt in (1, 2):
            channel_id = await self._dm_channel(user_id)
            assert self._client is not None
            channel = self._client.get_partial_messageable(channel_id, type=discord.ChannelType.private)
            try:
                await self._post(channel, text, mention=mention, in_reply_to=in_reply_to, view=view, key=key,
                                 attachment=attachment)
                return SENT
            except discord.NotFound as exc:  # a DM channel id kept from before that no longer exists
                if exc.code != UNKNOWN_CHANNEL or attempt == 2:
                    raise
                self._forget_dm(user_id)
        raise AssertionError("unreachable")

    async def _dm_channel(self, user_id: int) -> int:
        """The DM channel with a user: from memory, from kv (across restarts), or created once."""
        async with self._dm_lock:  # concurrent sends to one person open the channel once
            if user_id in self._dm_channels:
                return self._dm_channels[user_id]
            kept = self.context.kv.get(f"discord.dm.{user_id}")
            if kept and kept.isdigit():
                channel_id = int(kept)
            else:
                assert self._client is not None
                channel_id = (await self._client.create_dm(discord.Object(user_id))).id
                self.context.kv.set(f"discord.dm.{user_id}", str(channel_id))
            self._dm_channels[user_id] = channel_id
            return channel_id

    def _keep_form(self, form: Form) -> str:
        """Store a form's questions under its digest (once) for the button to find later."""
        digest = form_digest(form)
        key = f"discord.form.{digest}"
        if self.context.kv.get(key) is None:
            self.context.kv.set(key, json.dumps({"title": form.title, "questions": list(form.questions), "first": form.first}))
        return digest

    def _forget_dm(self, user_id: int) -> None:
        self._dm_channels.pop(user_id, None)
        self.context.kv.set(f"discord.dm.{user_id}", "")

    async def _post(self, channel: discord.PartialMessageable, text: str, *, mention: Identity | None,
                    in_reply_to: str | None = None, view: discord.ui.View | None = None, key: str | None = None,
                    attachment: Attachment | None = None) -> None:
        """Post ``text`` in as many messages as it takes, a file with the last (multipart upload,
        as discord.py sends ``file=``). With the outbox key, each message carries
        a nonce derived from it, which discord.py sends with ``enforce_nonce``: Discord then
        creates no second message for a resend within a few minutes (a kill between the send and
        the outbox's "sent" mark)."""
        chunks = _chunks(outgoing_text(text, mention))
        allowed = _allowed(mention)
        first = self._partial.pop(key, 0) if key is not None else 0  # parts out before a failure
        for i, chunk in enumerate(chunks):
            if i < first:
                continue
            options: dict[str, Any] = {"allowed_mentions": allowed}
            nonce = nonce_of(key, i) if key is not None else None
            if nonce is not None:
                options["nonce"] = nonce
            if i == 0 and in_reply_to and in_reply_to.isdigit():
                options["reference"] = discord.MessageReference(message_id=int(in_reply_to), channel_id=channel.id,
                                                                fail_if_not_exists=False)
            if i == len(chunks) - 1:
                if view is not None:
                    options["view"] = view
                options.update(_files(attachment))
            began = discord.utils.utcnow()
            try:
                message = await channel.send(chunk, **options)
            except Exception as exc:
                if _refused(exc) or not await self._posted(channel, chunk, nonce, began):
                    if key is not None and i:
                        self._partial.put(key, i)
                    raise
                log.info("a Discord send raised (%s) but the message is there; counted as sent", _error_text(exc))
            else:
                self._posted_ids.put(message.id)

    async def _posted(self, channel: discord.PartialMessageable, text: str, nonce: str | None,
                      began: datetime) -> bool:
        """Whether a message whose send raised exists: the gateway echoed its nonce, or the
        channel's recent history holds it (same nonce, or same text from us since the send
        began and not a message we already know). Unknown counts as no."""
        if nonce is not None and nonce in self._seen_nonces:
            return True
        me = self._client.user if self._client is not None else None
        if me is None:
            return False
        try:
            async for message in channel.history(limit=CONFIRM_LOOKBACK):
                if message.author.id != me.id or message.id in self._posted_ids:
                    continue
                if nonce is not None and message.nonce is not None:
                    if str(message.nonce) == nonce:
                        return True
                elif message.content == text and message.created_at >= began - timedelta(seconds=5):
                    return True
        except Exception as exc:
            log.debug("could not look for a message whose send raised: %s", _error_text(exc))
        return False


# --------------------------------------------------------------------------- helpers


def _files(attachment: Attachment | None) -> dict[str, Any]:
    """discord.py's ``file=`` keyword for an attachment (a fresh ``discord.File`` each time: it
    is read once by the upload)."""
    if attachment is None:
        return {}
    return {"file": discord.File(io.BytesIO(attachment.data), filename=attachment.name)}


def nonce_of(key: str, part: int) -> str:
    """A message's nonce: the same for the same outbox message and part, at most the 25
    characters Discord allows."""
    return hashlib.sha256(f"{key}\0{part}".encode()).hexdigest()[:25]


def _user_id(who: Identity) -> int:
    if who.platform != PLATFORM or not who.account or not who.account.isdigit():
        raise ValueError(f"not a Discord user: {who.key or who.display!r}")
    return int(who.account)


def _allowed(mention: Identity | None) -> discord.AllowedMentions:
    """Nobody may be pinged, except the one person a message explicitly mentions."""
    if mention is None or mention.platform != PLATFORM or not (mention.account or "").isdigit():
        return discord.AllowedMentions.none()
    return discord.AllowedMentions(everyone=False, roles=False, replied_user=False,
                                   users=[discord.Object(int(mention.account))])  # type: ignore[arg-type]


#: a user mention as Discord writes it in a message's content
USER_MENTION = re.compile(r"<@!?(\d+)>")
#: an ``@`` that Discord may turn into a ping: ``@everyone``, ``@here``, ``<@id>``, ``<@!id>``, ``<@&id>``
_PING = re.compile(r"@(?=everyone|here|[!&]?\d)", re.IGNORECASE)
ZWSP = "\u200b"


def defuse_mentions(text: str) -> str:
    """``text`` with every would-be ping made inert by a zero-width space after its ``@``
    (what Discord's clients show as the same text). The second line of defence, after
    ``allowed_mentions``, for a server or client that ignores that."""
    return _PING.sub("@" + ZWSP, text)


def outgoing_text(text: str, mention: Identity | None) -> str:
    """What goes out for ``text``: defused, with the one ``<@id>`` of ``mention`` in front
    (the engine cannot write Discord's mention syntax; the adapter builds it)."""
    text = defuse_mentions(text)
    if mention is None or mention.platform != PLATFORM or not (mention.account or "").isdigit():
        return text
    return f"<@{mention.account}> {text}"


def _chunks(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Discord's 2,000 characters: split at a line break where possible (the engine pages first)."""
    chunks: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return chunks


#: lets `mentorbot check-config` validate this adapter's settings without starting it
create.settings_model = DiscordSettings  # type: ignore[attr-defined]
