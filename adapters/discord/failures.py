"""How the adapter lives with Discord's failures: 5xx that fail fast, gateway events it cannot
parse, and errors said the way Discord says them.

discord.py retries a 5xx for ~15 s while every other message waits, and ends the whole client
on one malformed gateway payload; both are turned into something the outbox and the supervisor
handle (a failed send, a dropped event) here.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any, Callable

import aiohttp
import discord

log = logging.getLogger("adapters.discord")

CANNOT_DM = 50007
UNKNOWN_CHANNEL = 10003
#: gateway events a client cannot do without: a failure there ends it (and the supervisor restarts it)
VITAL_EVENTS = frozenset({"READY"})
#: set while ``send`` runs: a 5xx then fails the request at once instead of discord.py's retries
FAIL_FAST: contextvars.ContextVar[bool] = contextvars.ContextVar("discord_fail_fast", default=False)


class ServerTrouble(aiohttp.ClientError):
    """Discord answered a request made by ``send`` with a 5xx. Raised from the HTTP session's
    trace hook, so the send fails at once and the outbox sets the message aside, instead of
    discord.py retrying it for ~15 s while everything else waits."""

    def __init__(self, status: int, method: str, url: str) -> None:
        super().__init__(f"{status} from {method} {url}")
        self.status = status


def fail_fast_trace() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()

    async def on_request_end(_session: Any, _ctx: Any, params: aiohttp.TraceRequestEndParams) -> None:
        if params.response.status >= 500 and FAIL_FAST.get():
            raise ServerTrouble(params.response.status, params.method, str(params.url.path))

    trace.on_request_end.append(on_request_end)
    return trace


def guard_parsers(client: discord.Client) -> None:
    """Make an event discord.py cannot parse cost that event, not the connection.

    discord.py calls its parsers straight from the gateway loop, so one malformed payload
    (``"guild_id": null`` on a guild channel's MESSAGE_CREATE: ``int(None)``) ends
    ``client.start``. The parser table is discord.py's ``ConnectionState.parsers`` (the
    websocket reads the same dict), so wrapping its entries is enough."""
    parsers: dict[str, Callable[[Any], None]] = client._connection.parsers
    for event, parse in list(parsers.items()):
        if event not in VITAL_EVENTS:
            parsers[event] = guarded(event, parse)


def guarded(event: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
    def run(data: Any) -> None:
        try:
            parse(data)
        except Exception as exc:
            ident = data.get("id") if isinstance(data, dict) else None
            log.error("dropped a Discord %s event (id %s) that could not be handled: %r", event, ident, exc,
                      exc_info=log.isEnabledFor(logging.DEBUG))

    return run


def error_text(exc: BaseException) -> str:
    """Discord's own error where there is one (status, code, message), else the exception."""
    if isinstance(exc, discord.HTTPException):
        return f"{exc.status} {exc.code}: {exc.text}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]


def refused(exc: BaseException) -> bool:
    """Errors after which the message certainly does not exist (no need to look for it)."""
    return isinstance(exc, (discord.Forbidden, discord.NotFound))
