"""What a homeserver's answers mean to the adapter: retry, give up, or fix the configuration.

matrix-nio returns an ``ErrorResponse`` instead of raising, so every part of the adapter asks
these few functions the same questions: is this worth retrying (``Transient``), is it the
operator's to fix (``MatrixConfigError``), and what does the outbox record (``refusal``).
"""

from __future__ import annotations

from nio import ErrorResponse

from adapters.matrix.settings import MatrixConfigError
from chatbot.events import Delivery


class Stopping(Exception):
    """Raised inside the loop when stop() asked it to end between two events."""


class Transient(Exception):
    """A homeserver answer worth retrying (5xx, M_UNKNOWN_TOKEN before a re-login)."""


def status_of(resp: ErrorResponse) -> int | None:
    transport = getattr(resp, "transport_response", None)
    return getattr(transport, "status", None)


def refusal(resp: ErrorResponse, what: str) -> Delivery:
    """A homeserver error -> ``failed`` (may work later) or ``undeliverable`` (never will)."""
    status = status_of(resp)
    detail = f"{what}: {resp.status_code or status} {resp.message}"
    retryable = status is None or status >= 500 or status in (401, 408, 429)
    if resp.status_code in ("M_LIMIT_EXCEEDED", "M_UNKNOWN_TOKEN") or retryable:
        return Delivery("failed", detail)
    return Delivery("undeliverable", detail)


def raise_for(resp: ErrorResponse, what: str) -> None:
    """A refused login or token is the operator's to fix; anything else is retried."""
    status = status_of(resp)
    if status in (401, 403) or resp.status_code in ("M_FORBIDDEN", "M_UNKNOWN_TOKEN", "M_USER_DEACTIVATED"):
        raise MatrixConfigError(f"{what} refused: {resp.status_code} {resp.message}")
    raise Transient(f"{what}: {resp}")
