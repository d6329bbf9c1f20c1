"""Verification codes of certificates: short enough to type, impossible to guess.

A code is the first 100 bits of HMAC-SHA256, under a secret from the environment, of who the
certificate is for, which round and the instant it was issued, written in base32 (A-Z, 2-7)
as five groups of four: ``K7QF-2MXA-...``. Nobody without the secret can make a code that
verifies; a code with one character changed is not found, and a row edited in the database
no longer matches its code. Typing is forgiven: lower case, spaces or no dashes, and the
digits 0, 1 and 8 for the letters O, I and B they are mistaken for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from datetime import datetime, timezone

#: characters of a code (base32 letters and digits), without the dashes
LENGTH = 20
GROUP = 4
MIN_SECRET = 32
_MISTYPED = str.maketrans({"0": "O", "1": "I", "8": "B"})
_CODE = re.compile(rf"[A-Z2-7]{{{LENGTH}}}")


def load_secret(env: str) -> bytes | None:
    """The signing secret from the environment variable ``env``; None when it is missing or
    shorter than 32 characters (then no certificate is issued or verified)."""
    value = os.environ.get(env, "")
    return value.encode("utf-8") if len(value) >= MIN_SECRET else None


def make_code(secret: bytes, member_id: int, round_id: int, issued_at: datetime) -> str:
    """The code (without dashes) of a certificate for ``member_id`` in ``round_id`` issued then."""
    instant = issued_at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    message = f"mentorbot certificate\0{member_id}\0{round_id}\0{instant}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii")[:LENGTH]


def genuine(secret: bytes, code: str, member_id: int, round_id: int, issued_at: datetime) -> bool:
    """Whether ``code`` is the one these facts give under ``secret`` (constant-time)."""
    return hmac.compare_digest(code, make_code(secret, member_id, round_id, issued_at))


def normalise(typed: str) -> str | None:
    """The code as stored from what somebody typed, or None when it cannot be one."""
    code = re.sub(r"[\s\-]", "", typed).upper().translate(_MISTYPED)
    return code if _CODE.fullmatch(code) else None


def shown(code: str) -> str:
    """``K7QF-2MXA-PL3D-...``: the code as printed and told."""
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))
