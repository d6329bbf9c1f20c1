"""The Matrix adapter (see :mod:`adapters.matrix.adapter`): ``adapters.matrix:create`` is its entry point.

Parts, one module each: ``settings`` (the config, constants, kv keys), ``state`` (what every
part shares), ``connection`` (login and the retrying loop), ``sync`` (exactly-once batches),
``inbound`` (events in), ``rooms`` (invites, configured rooms, DM rooms), ``encryption`` (E2E
housekeeping), ``sending`` (messages and files out), ``answers`` (what homeserver errors mean),
``formatting`` (pure helpers: message content, transaction ids, reactions, roles).
"""

from adapters.matrix.adapter import MatrixAdapter, create
from adapters.matrix.settings import KEY_DEVICE_ID, KEY_SYNC_TOKEN, PLATFORM, MatrixConfigError, MatrixSettings, dm_key

__all__ = ["KEY_DEVICE_ID", "KEY_SYNC_TOKEN", "PLATFORM", "MatrixAdapter", "MatrixConfigError", "MatrixSettings",
           "create", "dm_key"]
