"""The Matrix adapter: matrix-nio's AsyncClient translated to and from the core's events.

Exactly once across restarts: the sync token (``matrix:next_batch`` in ``context.kv``) is saved
only after every event of its batch went through ``await sink(event)``, and the sink returns
after the engine committed. A crash mid-batch therefore re-delivers that batch, and the engine
drops what it already saw by ``event_id`` (the Matrix event id). On the very first start the
bot syncs once, drops that timeline and saves the token, so it never answers old history.

Bot output is ``m.notice`` (other bots must not answer it, and this adapter ignores notices in
return), with ``formatted_body`` built from escaped text only and an explicit ``m.mentions``,
so nothing a user typed pings anybody. The exception is what must make one person look: a DM,
or a room message naming the person it is for (which starts with their name as a pill). The
default push rules never notify for a notice, so these go as ``m.text`` (``alerts_as_text``),
and their ``m.mentions`` names that one person. Sends use the outbox key as transaction id: the
homeserver de-duplicates a resend from the same device, which is why the device id is kept.

End-to-end encryption (matrix-nio's ``e2e`` extra, vodozemac) is used when it is installed and
a pickle key is in the environment: keys live in ``context.state_dir`` and encrypted rooms
work like any other (DMs the bot opens are encrypted too). A message whose room key has not
arrived yet is kept in memory, its key requested, and delivered once it can be decrypted; if
the bot restarts before that, that one message is lost. Without E2E the bot says once per
encrypted room that it cannot read it, and reads nothing there.

Power levels become ``platform_roles`` only in rooms the operator named (``rooms``,
``room_power_roles``): anyone is the most powerful member of a room they create.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import time
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from aiohttp import ClientError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DirectRoomsResponse,
    ErrorResponse,
    InviteMemberEvent,
    JoinResponse,
    LocalProtocolError,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    ProfileGetError,
    ReactionEvent,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomMemberEvent,
    RoomMessagesResponse,
    RoomMessageText,
    RoomResolveAliasResponse,
    RoomSendResponse,
    SyncResponse,
    UnknownAccountDataEvent,
    UploadResponse,
    WhoamiResponse,
)
from nio.api import Api, MessageDirection, RoomPreset
from nio.crypto import ENCRYPTION_ENABLED
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.matrix import formatting as fmt
from adapters.base import AdapterContext, AdapterState, Capabilities, Reporter, Sink, ignore_state
from adapters.pacing import backoff_delay
from chatbot.commands import ROLES, CommandSpec
from chatbot.events import (
    Announce,
    Attachment,
    Delivery,
    DirectMessage,
    Identity,
    Inbound,
    Left,
    Outbound,
    Reply,
    Returned,
    Seen,
    TextReceived,
    Where,
)

log = logging.getLogger("adapters.matrix")

PLATFORM = "matrix"
KEY_SYNC_TOKEN = "matrix:next_batch"
KEY_DEVICE_ID = "matrix:device_id"
MEGOLM = "m.megolm.v1.aes-sha2"
#: the transaction-id part of a message's file (its text takes parts 0, 1, ...)
FILE_PART = 1000


def dm_key(user_id: str) -> str:
    """kv key remembering the direct room with one person."""
    return f"matrix:dm:{user_id}"


def e2e_notice_key(room_id: str) -> str:
    """kv key marking that the cannot-read-encrypted notice was posted in a room."""
    return f"matrix:e2e_notice:{room_id}"


class MatrixConfigError(ValueError):
    """A problem retrying cannot fix: wrong password, revoked token, another account's token."""


class MatrixSettings(BaseModel):
    """The ``[adapters.matrix]`` settings. Secrets are never here: only env var names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    homeserver: str
    user_id: str = Field(pattern=r"^@[^:\s]+:[^\s]+$")
    #: the device to log in as; remembered in kv after the first password login if unset
    device_id: str | None = None
    device_name: str = "mentorbot"
    token_env: str = "MENTORBOT_MATRIX_TOKEN"
    password_env: str = "MENTORBOT_MATRIX_PASSWORD"
    pickle_key_env: str = "MENTORBOT_MATRIX_PICKLE_KEY"
    #: None: encrypt when matrix-nio[e2e] is installed and the pickle key env var is set
    e2e: bool | None = None
    #: with e2e on, direct rooms the bot opens are encrypted
    encrypt_direct_rooms: bool = True
    #: room ids or aliases to join at start
    rooms: list[str] = Field(default_factory=list)
    #: servers whose users' invites are accepted; None = the bot's own server
    invite_servers: list[str] | None = None
    prefix: str = Field("!", min_length=1, max_length=3)
    #: role -> minimum power level, applied in the configured ``rooms`` only
    power_roles: dict[str, int] = Field(default_factory=dict)
    #: room id or alias -> {role: level}; replaces ``power_roles`` in that room
    room_power_roles: dict[str, dict[str, int]] = Field(default_factory=dict)
    sync_timeout_ms: int = Field(30_000, ge=0, le=300_000)
    sync_timeline_limit: int = Field(50, ge=1, le=1000)
    #: most events fetched to fill one room's gap after a long downtime
    max_backfill: int = Field(1000, ge=0)
    max_limit_exceeded: int = Field(3, ge=0, le=20)
    request_timeout: float = Field(30.0, gt=0)
    reconnect_min_delay: float = Field(1.0, gt=0)
    reconnect_max_delay: float = Field(60.0, gt=0)
    #: how long start() waits for the first sync before returning (the loop keeps trying)
    start_timeout: float = Field(30.0, gt=0)
    #: how long stop() lets the event being handled finish before cancelling it
    stop_grace: float = Field(5.0, ge=0)
    #: deliveries of one event that may raise before it is skipped as poison
    max_event_failures: int = Field(5, ge=1)
    max_message_length: int = Field(16_000, ge=100, le=30_000)
    #: send a DM or a message that names the person it is for as m.text, so their default push
    #: rules notify them (a notice never notifies); False: everything is m.notice
    alerts_as_text: bool = True
    encrypted_room_notice: str = (
        "I cannot read encrypted rooms, so I will not see messages here. "
        "Please talk to me in an unencrypted room."
    )

    @field_validator("homeserver")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("homeserver must be an http(s) URL")
        return v.rstrip("/")

    @field_validator("power_roles")
    @classmethod
    def _roles(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(v) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown roles {unknown}; choose from {ROLES}")
        return v

    @field_validator("room_power_roles")
    @classmethod
    def _room_roles(cls, v: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        for thresholds in v.values():
            cls._roles(thresholds)
        return v

    @model_validator(mode="after")
    def _delays(self) -> "MatrixSettings":
        if self.reconnect_max_delay < self.reconnect_min_delay:
            raise ValueError("reconnect_max_delay must be >= reconnect_min_delay")
        return self

    @property
    def server(self) -> str:
        return fmt.server_name(self.user_id)


class _Stopping(Exception):
    """Raised inside the loop when stop() asked it to end between two events."""


class _Transient(Exception):
    """A homeserver answer worth retrying (5xx, M_UNKNOWN_TOKEN before a re-login)."""


def _status(resp: ErrorResponse) -> int | None:
    transport = getattr(resp, "transport_response", None)
    return getattr(transport, "status", None)


def _refusal(resp: ErrorResponse, what: str) -> Delivery:
    """A homeserver error -> ``failed`` (may work later) or ``undeliverable`` (never will)."""
    status = _status(resp)
    detail = f"{what}: {resp.status_code or status} {resp.message}"
    retryable = status is None or status >= 500 or status in (401, 408, 429)
    if resp.status_code in ("M_LIMIT_EXCEEDED", "M_UNKNOWN_TOKEN") or retryable:
        return Delivery("failed", detail)
    return Delivery("undeliverable", detail)


class _LRU(OrderedDict):
    """A bounded dict: recent event ids only (ours, and where inbound ones were said)."""

    def __init__(self, size: int = 2048) -> None:
        super().__init__()
        self.size = size

    def put(self, key: str, value: Any = True) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class MatrixAdapter:
    """One bot account on one homeserver. See the module docstring for the guarantees."""

    platform = PLATFORM

    def __init__(
        self,
        settings: MatrixSettings,
        context: AdapterContext,
        *,
        token: str | None,
        password: str | None,
        pickle_key: str | None,
        e2e: bool,
    ) -> None:
        self.settings = settings
        self._kv = context.kv
        self._state_dir = Path(context.state_dir)
        self._token_secret = token
        self._password = password
        self._pickle_key = pickle_key
        self.e2e = e2e
        self.capabilities = Capabilities(
            direct_messages=True,
            ephemeral_replies=False,
            attachments=True,
            parallel_sends=4,  # one request each; Synapse takes several rooms' messages at once
        )
        self._client: AsyncClient | None = None
        self._sink: Sink | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self._closed = False
        self._logged_in = False
        self._prepared = False
        self._synced = False
        self._since: str | None = self._kv.get(KEY_SYNC_TOKEN)
        self._invite_servers = set(settings.invite_servers or [settings.server])
        self._aliases: dict[str, str] = {}
        self._thresholds: dict[str, dict[str, int]] = {}
        self._dms = fmt.DirectRooms()
        #: dm_key(user) -> room id as in kv (None: kv has none). This adapter is the only writer
        #: of those keys, so the cache is the truth once read; kv stays the durable copy.
        self._kept_dms: dict[str, str | None] = {}
        self._dm_locks: dict[str, asyncio.Lock] = {}
        self._sent = _LRU()  # event ids of our own messages (reactions answer them)
        self._said_in = _LRU()  # inbound event id -> room id (for reply relations)
        self._failures: dict[str, int] = {}
        self._creators: dict[str, set[str]] = {}  # room id -> creators (room v12+)
        self._undecrypted: list[tuple[float, MegolmEvent]] = []
        self._report: Reporter = ignore_state

    def bind_reporter(self, report: Reporter) -> None:
        """Connection changes go to ``report`` (synced, retrying, the loop ended, stopped)."""
        self._report = report

    # ------------------------------------------------------------------ lifecycle

    async def start(self, sink: Sink, specs: Sequence[CommandSpec]) -> None:
        """Log in and begin syncing; returns after the first sync (or ``start_timeout``).

        Raises :class:`MatrixConfigError` for a refused login; an unreachable homeserver is
        retried in the background instead."""
        if self._task is not None and not self._closed:
            return
        if self._closed:  # started again after stop(): a new client, logged in and synced afresh
            self._closed = self._stopping = False
            self._logged_in = self._prepared = self._synced = False
            self._ready = asyncio.Event()
        self._sink = sink
        self._client = self._make_client()
        self._task = asyncio.create_task(self._run(), name="matrix-sync")
        self._task.add_done_callback(self._run_ended)
        ready = asyncio.create_task(self._ready.wait())
        try:
            await asyncio.wait(
                {ready, self._task},
                timeout=self.settings.start_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            ready.cancel()
        if self._task.done() and not self._task.cancelled() and self._task.exception():
            error = self._task.exception()
            await self.stop()
            raise error  # type: ignore[misc]
        if not self._ready.is_set():
            log.warning("matrix: first sync not done after %.0fs; still trying", self.settings.start_timeout)

    async def stop(self) -> None:
        """Stop between two events (waiting ``stop_grace`` for the current one), disconnect."""
        if self._closed:
            self._report(AdapterState("stopped"))  # whoever asks again means it too
            return
        self._closed = True
        self._stopping = True
        if self._task is not None:
            if not self._idle.is_set():
                try:
                    await asyncio.wait_for(self._idle.wait(), self.settings.stop_grace)
                except asyncio.TimeoutError:
                    log.warning("matrix: handler still busy after %.1fs; cancelling it", self.settings.stop_grace)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        self._report(AdapterState("stopped"))

    def _run_ended(self, task: asyncio.Task[None]) -> None:
        """The sync loop ended though nobody stopped the adapter: the supervisor restarts it."""
        if self._stopping or task is not self._task:
            return
        error = None if task.cancelled() else task.exception()
        self._report(AdapterState("failed", f"matrix: the sync loop ended: {error!r}"))

    def _make_client(self) -> AsyncClient:
        s = self.settings
        config = AsyncClientConfig(
            max_limit_exceeded=s.max_limit_exceeded,
            max_timeouts=0,  # our loop retries, with jitter; a send reports "failed"
            request_timeout=s.request_timeout,
            encryption_enabled=self.e2e,
            pickle_key=self._pickle_key or "",
            store_sync_tokens=False,  # the token is ours: saved after the engine committed
        )
        store = ""
        if self.e2e:
            path = self._state_dir / "e2e-store"
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            store = str(path)
        return AsyncClient(s.homeserver, s.user_id, store_path=store, config=config)

    @property
    def client(self) -> AsyncClient:
        assert self._client is not None, "start() first"
        return self._client

    @property
    def user_id(self) -> str:
        return self.settings.user_id

    # ------------------------------------------------------------------ the sync loop

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                if not self._logged_in:
                    await self._login()
                if not self._prepared:
                    await self._prepare()
                await self._sync_once()
                attempt = 0
                self._report(AdapterState("connected"))
            except asyncio.CancelledError:
                raise
            except _Stopping:
                return
            except MatrixConfigError:
                if not self._ready.is_set():
                    raise
                log.exception("matrix: login refused; retrying slowly")
                self._report(AdapterState("reconnecting", "login refused"))
                await asyncio.sleep(self.settings.reconnect_max_delay)
            except Exception as e:  # an outage, a 5xx, a sink that failed: retry the batch
                delay = backoff_delay(attempt, self.settings.reconnect_min_delay, self.settings.reconnect_max_delay)
                attempt += 1
                expected = isinstance(e, (ClientError, asyncio.TimeoutError, OSError, _Transient))
                log.warning("matrix: %s: %s; retrying in %.1fs", type(e).__name__, e, delay, exc_info=not expected)
                self._report(AdapterState("reconnecting", f"{type(e).__name__}: {e}"[:300]))
                await asyncio.sleep(delay)

    async def _login(self) -> None:
        c = self.client
        s = self.settings
        if self._token_secret:
            c.access_token = self._token_secret
            who = await c.whoami()
            if not isinstance(who, WhoamiResponse):
                c.access_token = ""
                self._raise_for(who, "access token")
            if who.user_id != s.user_id:
                raise MatrixConfigError(f"the access token belongs to {who.user_id}, not {s.user_id}")
            if s.device_id and who.device_id != s.device_id:
                raise MatrixConfigError(f"the access token is for device {who.device_id}, not {s.device_id}")
            c.restore_login(who.user_id, who.device_id, self._token_secret)
        else:
            c.device_id = s.device_id or self._kv.get(KEY_DEVICE_ID) or None
            resp = await c.login(self._password, device_name=s.device_name)
            if not isinstance(resp, LoginResponse):
                self._raise_for(resp, "password login")
            if not s.device_id:
                self._kv.set(KEY_DEVICE_ID, resp.device_id)
        if self.e2e and c.olm is None:
            raise MatrixConfigError("end-to-end encryption needs a device id (use a device-bound token)")
        self._logged_in = True
        log.info("matrix: logged in as %s (device %s, e2e %s)", c.user_id, c.device_id, self.e2e)

    async def _prepare(self) -> None:
        """Once per start: keys up (E2E), the DM list, the configured rooms."""
        await self._crypto_housekeeping()
        await self._load_m_direct()
        await self._join_configured()
        self._prepared = True

    @staticmethod
    def _raise_for(resp: ErrorResponse, what: str) -> None:
        status = _status(resp)
        if status in (401, 403) or resp.status_code in ("M_FORBIDDEN", "M_UNKNOWN_TOKEN", "M_USER_DEACTIVATED"):
            raise MatrixConfigError(f"{what} refused: {resp.status_code} {resp.message}")
        raise _Transient(f"{what}: {resp}")

    def _timeline_filter(self, limit: int) -> dict[str, Any]:
        return {"room": {"timeline": {"limit": limit}}}

    async def _sync(self, timeout_ms: int, *, full_state: bool = False, limit: int | None = None) -> SyncResponse:
        c = self.client
        # nio ignores a response whose next_batch equals the one it last saw. A retried batch
        # must be processed again (state, decryption), and so must a full-state sync that
        # brings no new events, so it is never allowed to think it has seen one.
        c.next_batch = ""
        resp = await c.sync(
            timeout=timeout_ms,
            since=self._since,
            full_state=full_state or None,
            sync_filter=self._timeline_filter(limit or self.settings.sync_timeline_limit),
        )
        if not isinstance(resp, SyncResponse):
            if resp.status_code == "M_UNKNOWN_TOKEN" and self._password:
                self._logged_in = False  # log in again on the next round
            raise _Transient(f"sync: {resp}")
        return resp

    async def _sync_once(self) -> None:
        """One sync round. The first after start loads full room state (nothing is cached)."""
        if not self._synced:
            if self._since is None:  # very first start: learn state, answer no history
                resp = await self._sync(0, full_state=True, limit=1)
                self._note_creators(resp)
                self._apply_account_data(resp)
                await self._handle_invites(resp)
                self._save_token(resp.next_batch)
                self._synced = True
                self._ready.set()
                return
            resp = await self._sync(0, full_state=True)
            self._synced = True
            self._ready.set()
        else:
            resp = await self._sync(self.settings.sync_timeout_ms)
        await self._handle_batch(resp)
        self._save_token(resp.next_batch)

    def _save_token(self, token: str) -> None:
        if token != self._since:
            self._kv.set(KEY_SYNC_TOKEN, token)
            self._since = token

    async def _handle_batch(self, resp: SyncResponse) -> None:
        """Hand every event of one sync response to the sink, in timeline order per room."""
        self._note_creators(resp)
        self._apply_account_data(resp)
        await self._handle_invites(resp)
        for room_id in resp.rooms.leave:
            self._dms.forget(room_id)
        for room_id, info in resp.rooms.join.items():
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            if room.encrypted and not self.e2e:
                await self._cannot_read(room_id)
                continue
            events = list(info.timeline.events)
            fresh = self._after_own_join(events)
            if fresh is events and info.timeline.limited and info.timeline.prev_batch and self._since:
                fresh = self._after_own_join(await self._backfill(room_id, info.timeline.prev_batch) + events)
            for event in fresh:
                for inbound in await self._translate(room, event):
                    await self._deliver(inbound)
        await self._retry_undecrypted()
        await self._crypto_housekeeping()

    def _after_own_join(self, events: list[Any]) -> list[Any]:
        """Drop what was said before the bot joined a room (history, never to be answered)."""
        for i in range(len(events) - 1, -1, -1):
            e = events[i]
            if (
                isinstance(e, RoomMemberEvent)
                and e.state_key == self.user_id
                and e.membership == "join"
                and e.prev_membership != "join"
            ):
                return events[i + 1 :]
        return events

    async def _backfill(self, room_id: str, prev_batch: str) -> list[Any]:
        """Fetch the events a ``limited`` timeline left out, back to our saved token.

        After a long downtime a busy room has more new events than one sync returns; without
        this they would be skipped, breaking "nothing is lost"."""
        found: list[Any] = []
        start = prev_batch
        while len(found) < self.settings.max_backfill:
            resp = await self.client.room_messages(
                room_id, start=start, end=self._since, direction=MessageDirection.back, limit=100
            )
            if not isinstance(resp, RoomMessagesResponse):
                raise _Transient(f"backfill {room_id}: {resp}")
            found.extend(resp.chunk)
            if not resp.chunk or not resp.end or resp.end == start:
                break
            start = resp.end
        if len(found) >= self.settings.max_backfill:
            log.warning("matrix: %s: gap longer than %d events; older ones skipped", room_id, len(found))
        found.reverse()
        return found

    async def _deliver(self, inbound: Inbound) -> None:
        """``await sink(inbound)``; a raise leaves the batch unsaved, so it is retried."""
        if self._stopping:
            raise _Stopping
        assert self._sink is not None
        self._idle.clear()
        try:
            await self._sink(inbound)
        except asyncio.CancelledError:
            raise
        except Exception:
            event_id = getattr(inbound, "event_id", None)
            if event_id is None:
                log.exception("matrix: handling %r failed; skipped", inbound)
                return
            n = self._failures[event_id] = self._failures.get(event_id, 0) + 1
            if n >= self.settings.max_event_failures:
                log.exception("matrix: event %s failed %d times; skipped", event_id, n)
                self._failures.pop(event_id, None)
                return
            raise
        finally:
            self._idle.set()
        if getattr(inbound, "event_id", None):
            self._failures.pop(inbound.event_id, None)  # type: ignore[union-attr]

    # ------------------------------------------------------------------ inbound translation

    def _identity(self, room: MatrixRoom, user_id: str) -> Identity:
        user = room.users.get(user_id)
        return Identity(PLATFORM, user_id, (user.display_name if user else None) or user_id)

    def _is_direct(self, room: MatrixRoom, sender: str) -> bool:
        """A DM: marked direct (m.direct, an is_direct invite, made by us) with this person,
        and nobody else has joined since."""
        return self._dms.user_of.get(room.room_id) == sender and room.joined_count <= 2

    def _note_creators(self, resp: SyncResponse) -> None:
        """Remember each room's creators where they outrank every power level (room v12+).

        nio reads only ``users`` of m.room.power_levels, where v12 forbids listing creators, so
        without this a room's own creator would count as a default member. The create event
        arrives with the full state of the first sync after start, or when the bot joins."""
        for room_id, info in resp.rooms.join.items():
            for event in (*info.state, *info.timeline.events):
                source = getattr(event, "source", None) or {}
                if source.get("type") == "m.room.create" and source.get("state_key") == "":
                    content = source.get("content") or {}
                    if fmt.creators_privileged(str(content.get("room_version", "1"))):
                        extra = content.get("additional_creators") or []
                        self._creators[room_id] = {source.get("sender", ""), *extra}
                    else:
                        self._creators.pop(room_id, None)

    def _platform_roles(self, room_id: str, room: MatrixRoom, sender: str) -> frozenset[str]:
        """Power levels -> roles, only in rooms the operator configured (anyone is admin of
        a room they create, so an arbitrary room's power levels vouch for nothing)."""
        thresholds = self._thresholds.get(room_id)
        if thresholds is None:
            return frozenset()
        if sender in self._creators.get(room_id, ()):
            return fmt.roles_for_level(fmt.CREATOR_LEVEL, thresholds)
        return fmt.roles_for_level(room.power_levels.get_user_level(sender), thresholds)

    def _membership(self, room: MatrixRoom, event: RoomMemberEvent, who: Identity) -> list[Inbound]:
        """A join is ``Seen`` and ``Returned``; leaving a room (or being kicked or banned from
        it) is ``Left``, so office hours can keep the person's place for a while."""
        member, here = event.state_key, Where(PLATFORM, room.room_id)
        if event.membership in ("leave", "ban"):
            if self._dms.user_of.get(room.room_id) == member:
                self._dms.forget(room.room_id)  # the person left: no longer a DM to write to
            if event.prev_membership != "join" or member == self.user_id:
                return []  # an invite declined, or the bot itself put out: nobody left a line
            display = (event.prev_content or {}).get("displayname") or member
            how = "leave" if event.sender == member else "kick"
            return [Left(Identity(PLATFORM, member, display), here, how)]
        if event.membership == "join" and event.prev_membership != "join":
            return [Seen(who), Returned(who, here)]
        return []

    async def _translate(self, room: MatrixRoom, event: Any) -> list[Inbound]:
        sender = getattr(event, "sender", None)
        if not sender or sender == self.user_id:
            return []
        who = self._identity(room, sender)
        if isinstance(event, RoomMemberEvent):
            return self._membership(room, event, who)
        if isinstance(event, MegolmEvent):
            await self._undecryptable(event)
            return []
        direct = self._is_direct(room, sender)
        if isinstance(event, RoomMessageText):
            relation = event.source.get("content", {}).get("m.relates_to") or {}
            if relation.get("rel_type") == "m.replace":
                return []  # an edit; the original was already handled
            text = event.body
            if "m.in_reply_to" in relation:
                text = fmt.strip_reply_fallback(text)
            self._said_in.put(event.event_id, room.room_id)
            text = fmt.command_mentions(text, self.settings.prefix)
            if direct:
                self._remember_dm_local(sender, room.room_id)
                return [TextReceived(who, Where(PLATFORM, None), text, event.event_id, self.settings.prefix)]
            roles = self._platform_roles(room.room_id, room, sender)
            return [TextReceived(who, Where(PLATFORM, room.room_id), text, event.event_id, self.settings.prefix, roles)]
        if isinstance(event, ReactionEvent) and direct:
            digit = fmt.reaction_digit(event.key)
            if digit and await self._sent_by_us(room.room_id, event.reacts_to):
                return [TextReceived(who, Where(PLATFORM, None), digit, event.event_id, self.settings.prefix)]
        return []  # notices (other bots), emotes, media, state: nothing for the engine

    async def _sent_by_us(self, room_id: str, event_id: str) -> bool:
        if event_id in self._sent:
            return True
        resp = await self.client.room_get_event(room_id, event_id)
        return isinstance(resp, RoomGetEventResponse) and resp.event.sender == self.user_id

    # ------------------------------------------------------------------ invites, rooms, DMs

    async def _handle_invites(self, resp: SyncResponse) -> None:
        for room_id, info in resp.rooms.invite.items():
            mine = [
                e
                for e in info.invite_state
                if isinstance(e, InviteMemberEvent) and e.state_key == self.user_id and e.membership == "invite"
            ]
            if not mine or room_id in self.client.rooms:
                continue
            inviter, is_direct = mine[-1].sender, bool(mine[-1].content.get("is_direct"))
            if fmt.server_name(inviter) not in self._invite_servers:
                log.info("matrix: ignoring invite to %s from %s", room_id, inviter)
                continue
            joined = await self.client.join(room_id)
            if not isinstance(joined, JoinResponse):
                log.warning("matrix: could not join %s: %s", room_id, joined)
                continue
            if is_direct:
                await self._remember_dm(inviter, room_id)

    async def _join_configured(self) -> None:
        s = self.settings
        for ref in s.rooms:
            joined = await self.client.join(ref)
            if not isinstance(joined, JoinResponse):
                if _status(joined) in (None, 429) or (_status(joined) or 0) >= 500:
                    raise _Transient(f"join {ref}: {joined}")
                log.error("matrix: cannot join configured room %s: %s", ref, joined)
                continue
            if ref != joined.room_id:
                self._aliases[ref] = joined.room_id
            self._thresholds.setdefault(joined.room_id, dict(s.power_roles))
        for ref, thresholds in s.room_power_roles.items():
            room_id = await self._room_id(ref)
            if room_id:
                self._thresholds[room_id] = dict(thresholds)

    async def _room_id(self, ref: str) -> str | None:
        """A room id for a room id or ``#alias:server`` (aliases resolved once, then cached)."""
        if not ref.startswith("#"):
            return ref
        if ref not in self._aliases:
            resp = await self.client.room_resolve_alias(ref)
            if not isinstance(resp, RoomResolveAliasResponse):
                log.warning("matrix: cannot resolve %s: %s", ref, resp)
                return None
            self._aliases[ref] = resp.room_id
        return self._aliases[ref]

    async def _load_m_direct(self) -> None:
        resp = await self.client.list_direct_rooms()
        if isinstance(resp, DirectRoomsResponse):
            self._dms.merge(resp.rooms)

    def _apply_account_data(self, resp: SyncResponse) -> None:
        for event in resp.account_data_events:
            if isinstance(event, UnknownAccountDataEvent) and event.type == "m.direct":
                self._dms.merge(event.content)

    def _kept_dm(self, user_id: str) -> str | None:
        """The DM room kept in kv for ``user_id``, read from the database once per process.

        Every direct message asks (``_translate``, and ``_direct_room`` for the reply): a kv read
        is a session and a SELECT, about 1.1 ms, where this is a dict lookup."""
        if user_id not in self._kept_dms:
            self._kept_dms[user_id] = self._kv.get(dm_key(user_id)) or None
        return self._kept_dms[user_id]

    def _remember_dm_local(self, user_id: str, room_id: str) -> None:
        """The room this person last talked to us in privately is where replies go (written
        through to kv, so a restart replies in the same room)."""
        if self._kept_dm(user_id) != room_id:
            self._kv.set(dm_key(user_id), room_id)
            self._kept_dms[user_id] = room_id

    async def _remember_dm(self, user_id: str, room_id: str) -> None:
        """Record a DM in kv and in the account's ``m.direct`` (which clients also read)."""
        self._remember_dm_local(user_id, room_id)
        if not self._dms.merge({user_id: [room_id]}):
            return
        c = self.client
        path = Api._build_path(["user", c.user_id, "account_data", "m.direct"])
        headers = {"Authorization": f"Bearer {c.access_token}", "Content-Type": "application/json"}
        try:
            answer = await c.send("PUT", path, json.dumps(self._dms.by_user), headers)
            if answer.status != 200:
                log.warning("matrix: could not update m.direct: HTTP %s", answer.status)
        except (ClientError, asyncio.TimeoutError) as e:  # kv still knows the room
            log.warning("matrix: could not update m.direct: %s", e)

    def _usable_dm(self, room_id: str | None, user_id: str) -> bool:
        if not room_id:
            return False
        if room_id in self._dms.created:
            return True
        room = self.client.rooms.get(room_id)
        return room is not None and user_id in room.users and room.member_count <= 2

    async def _direct_room(self, user_id: str) -> str | Delivery:
        """The DM room with ``user_id``: remembered, listed in m.direct, an existing room of
        just the two of us, or a new one (created once: concurrent sends wait on a lock)."""
        lock = self._dm_locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            candidates = [self._kept_dm(user_id), *self._dms.candidates(user_id)]
            for room_id in candidates:
                if self._usable_dm(room_id, user_id):
                    return room_id  # type: ignore[return-value]
            for room_id, room in self.client.rooms.items():
                if room.is_group and set(room.users) == {self.user_id, user_id}:
                    await self._remember_dm(user_id, room_id)
                    return room_id
            return await self._create_dm(user_id)

    async def _create_dm(self, user_id: str) -> str | Delivery:
        profile = await self.client.get_profile(user_id)
        if isinstance(profile, ProfileGetError):  # Synapse invites unknown users without complaint
            return _refusal(profile, f"no such user {user_id}")
        encrypted = self.e2e and self.settings.encrypt_direct_rooms
        initial = [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}]
        resp = await self.client.room_create(
            is_direct=True,
            preset=RoomPreset.trusted_private_chat,
            invite=[user_id],
            initial_state=initial if encrypted else (),
        )
        if not isinstance(resp, RoomCreateResponse):
            return _refusal(resp, f"opening a DM with {user_id}")
        self._dms.created.add(resp.room_id)
        if encrypted:
            self._register_encrypted_room(resp.room_id, user_id)
        await self._remember_dm(user_id, resp.room_id)
        return resp.room_id

    def _register_encrypted_room(self, room_id: str, invitee: str) -> None:
        """Let nio encrypt into a room it has not synced yet (the sync loop may be waiting on
        the very handler that is sending): its members are us and the invitee."""
        c = self.client
        room = MatrixRoom(room_id, self.user_id, encrypted=True)
        room.add_member(self.user_id, None, None)
        room.add_member(invitee, None, None, invited=True)
        c.rooms[room_id] = room
        c.encrypted_rooms.add(room_id)
        assert c.olm is not None
        c.olm.update_tracked_users(room)

    # ------------------------------------------------------------------ encryption

    async def _cannot_read(self, room_id: str) -> None:
        """Without E2E: say once per room (remembered in kv) that the bot cannot read it."""
        if self._kv.get(e2e_notice_key(room_id)):
            return
        notice = fmt.Post(self.settings.encrypted_room_notice, key=f"e2e-notice-{room_id}")
        done = await self._post(room_id, notice, in_room=True)
        if done.ok:
            self._kv.set(e2e_notice_key(room_id), "1")
        else:
            log.warning("matrix: could not post the encryption notice in %s: %s", room_id, done.detail)

    async def _undecryptable(self, event: MegolmEvent) -> None:
        """Ask the sender's devices for the key and keep the event to try again later."""
        if not self.e2e:
            return
        self._undecrypted.append((time.monotonic(), event))
        del self._undecrypted[:-500]
        try:
            await self.client.request_room_key(event)
        except LocalProtocolError:
            pass  # already requested for this session

    async def _retry_undecrypted(self) -> None:
        if not self._undecrypted:
            return
        waiting, self._undecrypted = self._undecrypted, []
        for since, event in waiting:
            try:
                clear = self.client.decrypt_event(event)
            except Exception:
                if time.monotonic() - since < 3600:
                    self._undecrypted.append((since, event))
                continue
            room = self.client.rooms.get(event.room_id)
            if room is not None:
                for inbound in await self._translate(room, clear):
                    await self._deliver(inbound)

    async def _crypto_housekeeping(self) -> None:
        """What nio's sync_forever does between syncs for E2E: keys up, keys queried/claimed."""
        c = self.client
        if c.olm is None:
            return
        await c.send_to_device_messages()
        if c.should_upload_keys:
            await c.keys_upload()
        if c.should_query_keys:
            await c.keys_query()
        if c.should_claim_keys:
            await c.keys_claim(c.get_users_for_key_claiming())

    # ------------------------------------------------------------------ outbound

    def channel_label(self, channel: str) -> str | None:
        """A room's name (else its canonical alias) from nio's room cache, for texts that name a
        room; no request, None when the bot knows neither. Room names are anyone's text: like
        every body, it reaches clients escaped in ``formatted_body`` and pings nobody."""
        if self._client is None:
            return None
        room_id = self._aliases.get(channel, channel)
        room = self._client.rooms.get(room_id)
        return room.named_room_name() if room is not None else None

    async def send(self, event: Outbound) -> Delivery:
        """Post one outbound event; never raises for a platform refusal.

        Answers and announcements are ``m.notice``. What is meant to make one person look (a
        DM, a message naming the person it is for) is ``m.text`` unless ``alerts_as_text`` is
        off, because the default push rules never notify for a notice."""
        if self._client is None or not self._logged_in:
            return Delivery("failed", "not connected to the homeserver")
        try:
            if isinstance(event, DirectMessage):
                return await self._send_direct(event.to, fmt.Post(event.text, key=event.key, alert=True,
                                                                  attachment=event.attachment))
            mention = self._mention(event.mention)
            post = fmt.Post(event.text, mention, key=event.key, alert=mention is not None, attachment=event.attachment)
            if isinstance(event, Reply):
                post = replace(post, in_reply_to=event.in_reply_to)
                if event.where.is_direct:
                    if event.to is None:
                        return Delivery("undeliverable", "a direct reply needs a recipient")
                    return await self._send_direct(event.to, post)
                return await self._send_channel(event.where, post)
            if isinstance(event, Announce):
                return await self._send_channel(event.where, post)
            return Delivery("undeliverable", f"unsupported event {type(event).__name__}")
        except (ClientError, asyncio.TimeoutError, OSError, _Transient) as e:
            return Delivery("failed", f"homeserver unreachable: {type(e).__name__}: {e}")
        except LocalProtocolError as e:
            return Delivery("failed", f"matrix client: {e}")

    @staticmethod
    def _mention(who: Identity | None) -> fmt.Mention | None:
        if who is None or who.platform != PLATFORM or not who.account:
            return None
        return fmt.Mention(who.account, who.display or who.account)

    async def _send_channel(self, where: Where, post: fmt.Post) -> Delivery:
        if where.platform != PLATFORM or where.channel is None:
            return Delivery("undeliverable", f"not a Matrix room: {where}")
        room_id = await self._room_id(where.channel)
        if room_id is None:
            return Delivery("undeliverable", f"unknown room {where.channel}")
        return await self._post(room_id, post, in_room=True)

    async def _send_direct(self, to: Identity, post: fmt.Post) -> Delivery:
        if to.platform != PLATFORM or not to.account:
            return Delivery("undeliverable", f"not a Matrix user: {to}")
        room = await self._direct_room(to.account)
        if isinstance(room, Delivery):
            return room
        return await self._post(room, post, in_room=False)

    async def _post(self, room_id: str, post: fmt.Post, *, in_room: bool) -> Delivery:
        """room_send each piece of the text; the outbox key is the transaction id.

        A reply in a room relates to the question, which was said in that very room, even when
        it is sent from the outbox after a restart (this process never saw the question). A
        direct reply goes to the DM room, which may not be where the question was asked: it
        relates only to a question seen in that room."""
        in_reply_to = post.in_reply_to
        if in_reply_to and not in_room and self._said_in.get(in_reply_to) != room_id:
            in_reply_to = None
        msgtype = fmt.ALERT_MSGTYPE if post.alert and self.settings.alerts_as_text else fmt.BOT_MSGTYPE
        for part, piece in enumerate(fmt.split_text(post.text, self.settings.max_message_length)):
            first = part == 0  # the name, the ping and the relation once, on the first piece
            content = fmt.message_content(
                piece,
                post.mention if first else None,
                in_reply_to if first else None,
                addressed=in_room,
                msgtype=msgtype,
            )
            resp = await self.client.room_send(
                room_id, "m.room.message", content, tx_id=fmt.txn_id(post.key, part), ignore_unverified_devices=True
            )
            if not isinstance(resp, RoomSendResponse):
                if resp.status_code == "M_UNKNOWN_TOKEN" and self._password:
                    self._logged_in = False
                return _refusal(resp, f"sending to {room_id}")
            self._sent.put(resp.event_id)
        if post.attachment is not None:
            return await self._post_file(room_id, post.attachment, fmt.txn_id(post.key, FILE_PART))
        return Delivery("sent")

    async def _post_file(self, room_id: str, attachment: Attachment, tx_id: str | None) -> Delivery:
        """Upload the file to the media repository (encrypted in an encrypted room), then post it
        as m.image or m.file. A resend after a crash uploads again (an unused upload is harmless)
        but posts once: the transaction id is the outbox key's."""
        room = self.client.rooms.get(room_id)
        encrypt = bool(room is not None and room.encrypted)
        uploaded, keys = await self.client.upload(
            io.BytesIO(attachment.data), content_type=attachment.media_type, filename=attachment.name,
            encrypt=encrypt, filesize=len(attachment.data),
        )
        if not isinstance(uploaded, UploadResponse):
            return _refusal(uploaded, f"uploading {attachment.name}")
        content = fmt.file_content(attachment, uploaded.content_uri, keys if encrypt else None)
        resp = await self.client.room_send(room_id, "m.room.message", content, tx_id=tx_id, ignore_unverified_devices=True)
        if not isinstance(resp, RoomSendResponse):
            return _refusal(resp, f"sending {attachment.name} to {room_id}")
        self._sent.put(resp.event_id)
        return Delivery("sent")


def create(settings: dict[str, Any], context: AdapterContext) -> MatrixAdapter:
    """The ``mentorbot.adapters`` factory: validate settings and secrets' presence, build."""
    s = MatrixSettings.model_validate(settings)
    token = os.environ.get(s.token_env) or None
    password = os.environ.get(s.password_env) or None
    if not token and not password:
        raise MatrixConfigError(f"set {s.token_env} (access token) or {s.password_env} (password)")
    pickle_key = os.environ.get(s.pickle_key_env) or None
    if s.e2e and not ENCRYPTION_ENABLED:
        raise MatrixConfigError('e2e = true needs matrix-nio[e2e] (pip install "matrix-nio[e2e]")')
    if s.e2e and not pickle_key:
        raise MatrixConfigError(f"e2e = true needs a pickle key in {s.pickle_key_env}")
    e2e = bool(ENCRYPTION_ENABLED and pickle_key) if s.e2e is None else s.e2e
    return MatrixAdapter(s, context, token=token, password=password, pickle_key=pickle_key, e2e=e2e)


#: lets `mentorbot check-config` validate this adapter's settings without starting it
create.settings_model = MatrixSettings  # type: ignore[attr-defined]
