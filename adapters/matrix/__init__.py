"""The Matrix adapter (see :mod:`adapters.matrix.adapter`): ``adapters.matrix:create`` is its entry point."""

from adapters.matrix.adapter import KEY_DEVICE_ID, KEY_SYNC_TOKEN, PLATFORM, MatrixAdapter, MatrixConfigError, \
    MatrixSettings, create, dm_key

__all__ = ["KEY_DEVICE_ID", "KEY_SYNC_TOKEN", "PLATFORM", "MatrixAdapter", "MatrixConfigError", "MatrixSettings",
           "create", "dm_key"]
