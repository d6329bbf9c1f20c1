"""Sign-in without passwords: a one-time link from ``!dashboard`` starts a session kept in a
signed cookie.

The cookie holds the member's id, when it was issued and when it expires, signed with HMAC-SHA256
under a secret from the environment; nothing else. Roles are looked up on every request, so a
role taken away counts at once. Each member has a session generation (kept in the kv store,
0 at first), written into the cookie; signing out moves it on, so "sign out" ends every session
of that person, on every browser.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

COOKIE = "mentorbot_session"
#: the kv namespace holding each member's session generation
GENERATION_NAMESPACE = "dashboard.generation"
MIN_SECRET = 32


class SecretMissing(ValueError):
    """No usable secret in the environment: the dashboard cannot sign sessions."""


def load_secret(env: str, *, ephemeral_ok: bool = False) -> bytes:
    """The signing secret from the environment variable ``env``. With ``ephemeral_ok`` (the
    console) a random one is made when it is missing: sessions then end with the process."""
    value = os.environ.get(env, "")
    if len(value) >= MIN_SECRET:
        return value.encode("utf-8")
    if ephemeral_ok:
        return secrets.token_bytes(32)
    what = "is not set" if not value else f"is shorter than {MIN_SECRET} characters"
    raise SecretMissing(f"the dashboard needs a secret: {env} {what} (e.g. `openssl rand -hex 32`)")


def new_link_token() -> str:
    """The secret part of a sign-in link (192 random bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SessionCookie:
    member_id: int
    generation: int
    expires: datetime


class Signer:
    def __init__(self, secret: bytes):
        self._key = hashlib.sha256(b"mentorbot dashboard session\0" + secret).digest()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def issue(self, member_id: int, generation: int, now: datetime, lasts: timedelta) -> str:
        body = _b64(json.dumps({"m": member_id, "g": generation, "e": int((now + lasts).timestamp())},
                               separators=(",", ":")).encode("ascii"))
        return f"{body}.{self._mac(body)}"

    def read(self, value: str, now: datetime) -> SessionCookie | None:
        """The session in a cookie, or None when it is tampered with, malformed or expired."""
        body, sep, mac = value.partition(".")
        if not sep or not hmac.compare_digest(self._mac(body), mac):
            return None
        try:
            data = json.loads(_unb64(body))
            member_id, generation, expires = int(data["m"]), int(data["g"]), int(data["e"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if expires <= now.timestamp():
            return None
        return SessionCookie(member_id, generation, datetime.fromtimestamp(expires, now.tzinfo))
