"""The Adapter protocol: the whole contract between a chat platform and the core.

An adapter translates and nothing more. It turns platform events into the core's inbound
events (``chatbot.events``) and hands them to ``sink``; it turns outbound events into
platform calls in ``send``. Business rules (who may do what, what to answer) live in the
engine. Third-party adapters register a factory under the ``mentorbot.adapters``
entry-point group::

    [project.entry-points."mentorbot.adapters"]
    zulip = "mentorbot_zulip:create"

A factory is called as ``factory(settings: dict, context: AdapterContext)`` and returns an
object satisfying :class:`Adapter`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Literal, Protocol, Sequence, runtime_checkable

from chatbot.commands import CommandSpec
from chatbot.events import Delivery, Inbound, Outbound

#: What an adapter calls for every inbound event. It returns once the engine has handled the
#: event *and committed* what it changed (not once the answers were sent: background senders
#: call ``send`` for those), so an adapter may acknowledge the platform (persist a sync token)
#: after the await. It returns a ``chatbot.events.Handled`` (how many answers to the event were
#: recorded, for an adapter that must answer in place), and for a ``CompletionRequested`` the
#: list of choices. Calls may overlap: the engine commits the events waiting together, in the
#: order the calls were made. When the engine is far behind, the call waits before it accepts
#: the event, so an adapter that awaits it reads slower rather than dropping anything.
Sink = Callable[[Inbound], Awaitable[Any]]


@dataclass(frozen=True)
class Capabilities:
    """What a platform can do, so the engine adapts replies without asking which one it is."""

    direct_messages: bool = True
    #: replies visible to the asker only (Discord interactions)
    ephemeral_replies: bool = False
    #: a message may carry a file (``chatbot.events.Attachment``), shown inline when it is an
    #: image; without it the core says the same in words (and links to it where it can)
    attachments: bool = False
    #: a DM may offer its questions as a form (``DirectMessage.form``; Discord modals, 5 inputs)
    forms: bool = False
    #: lines a channel reply should not exceed before the engine summarises or moves it to DM
    channel_lines: int = 10
    #: messages the sender hands to ``send`` at once (each recipient's still one at a time, in
    #: order); 1 where the platform paces every line anyway (IRC) or order across recipients
    #: should be kept (the console)
    parallel_sends: int = 1


@dataclass(frozen=True)
class AdapterContext:
    """What the composition root gives an adapter besides its own settings."""

    #: a directory the adapter may keep state in (Matrix device/sync store, caches)
    state_dir: Path
    #: a small persistent key-value store backed by the bot's database (sync tokens etc.)
    kv: "KeyValue"
    extra: dict[str, Any] = field(default_factory=dict)
    #: (language code, English text) -> that text in the language, or None where the bot has
    #: no translation: for texts a platform shows in each user's language (Discord's command
    #: descriptions); the adapter only maps the platform's locale names onto the codes
    localize: Callable[[str, str], str | None] = lambda code, text: None


class KeyValue(Protocol):
    """Durable per-adapter key-value state, stored in the bot's database."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...


#: What an adapter may say about its connection; see :class:`AdapterState`.
Phase = Literal["starting", "connected", "degraded", "reconnecting", "failed", "stopped"]


@dataclass(frozen=True)
class AdapterState:
    """One report an adapter makes about its connection, so the app can say truthfully which
    platforms work (``mentorbot health``) and restart a client that died.

    - ``connected``: talking to the platform, everything working.
    - ``degraded``: talking to the platform, but an optional part fails (``reason`` says which,
      e.g. Discord's slash-command sync); text commands and DMs still work.
    - ``reconnecting``: the link is down and the adapter's own loop is getting it back.
    - ``failed``: the client ended and will not come back by itself. The supervisor then calls
      ``stop()`` and, after a backoff, ``start()`` again.
    - ``stopped``: ``stop()`` ran. Whoever called it meant it: nothing restarts the adapter.

    ``starting`` is the supervisor's own word for an adapter that has not reported yet.
    """

    phase: Phase
    reason: str | None = None


#: Where an adapter sends its :class:`AdapterState` reports (a plain call: never blocks).
Reporter = Callable[[AdapterState], None]


def ignore_state(state: AdapterState) -> None:
    """The reporter an adapter holds until a supervisor binds one (e.g. started alone in a test)."""


@runtime_checkable
class Adapter(Protocol):
    """What every adapter provides.

    Optional, and deliberately not a member of this protocol (an adapter without it still
    loads and satisfies ``isinstance(x, Adapter)``; the engine looks it up with ``getattr``):

    ``bind_reporter(self, report: Reporter) -> None``
        The supervisor calls it once, before the first ``start``; from then on the adapter
        calls ``report(AdapterState(...))`` whenever its connection changes (connected,
        degraded, reconnecting, failed, stopped). An adapter without it is taken to be
        connected once ``start`` returns, and nobody can tell when its client ends, so it is
        retried only until ``start`` succeeds.

    Restarts: ``start`` may be called again after ``stop`` (the supervisor does so after a
    failed start or a ``failed`` report), and must then build fresh client state rather than
    refuse or reuse a dead client. A ``start`` that raises ``ValueError``/``LookupError``
    means a configuration error, which retrying cannot fix: it is not retried.
    """

    #: platform name used in identities ("irc", "matrix", "discord", "console")
    platform: str
    capabilities: Capabilities

    async def start(self, sink: Sink, specs: Sequence[CommandSpec]) -> None:
        """Connect and begin delivering inbound events to ``sink``.

        Returns once the adapter is running (it may keep reconnecting in a background task);
        raises only for a configuration error that retrying cannot fix."""

    async def send(self, event: Outbound) -> Delivery:
        """Deliver one outbound event. Never raises for a platform refusal: report it."""

    async def stop(self) -> None:
        """Stop taking input, flush what is queued, disconnect. Idempotent."""

    def channel_label(self, channel: str) -> str | None:
        """How people on the platform name a channel, for texts that mention one
        ("#office-hours" on Discord, a Matrix room's name), given the ``Where.channel`` the
        adapter reports. Synchronous: answered from the client's own cache, never the network,
        since handlers do no I/O. None when the adapter does not know one (the core then shows
        the raw channel id). The label is user-controlled text; the core makes it one line,
        and each adapter escapes outgoing text as it always does. Where the channel id *is*
        its name (IRC, the console) it is returned as it is."""
