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

import os
from typing import Any

from nio.crypto import ENCRYPTION_ENABLED

from adapters.base import AdapterContext
from adapters.matrix.connection import Connection
from adapters.matrix.encryption import Encryption
from adapters.matrix.inbound import InboundTranslation
from adapters.matrix.rooms import Rooms
from adapters.matrix.sending import Sending
from adapters.matrix.settings import PLATFORM, MatrixConfigError, MatrixSettings
from adapters.matrix.sync import Sync


class MatrixAdapter(Connection, Sync, InboundTranslation, Rooms, Encryption, Sending):
    """One bot account on one homeserver. See the module docstring for the guarantees; each
    base class is one role (its module says which), over the shared state of ``MatrixState``."""

    platform = PLATFORM


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
