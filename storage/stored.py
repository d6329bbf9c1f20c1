"""Plain ids for features: a stored row's primary key as an ``int``.

SQLModel declares an autoincrement key ``id: Optional[int]`` because a row has none until it is
flushed. Every row a repository hands out has been flushed, so features would otherwise repeat
``assert row.id is not None`` (or silence the type checker) at every use. ``row.pk`` says the
same once, here, and fails loudly if a row that was never saved slips through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional


class UnsavedRow(RuntimeError):
    """A row's id was asked for before the row was added and flushed (a bug, not a user error)."""


class Stored:
    """Mixin for tables keyed by an autoincrement ``id``: ``pk`` is that id, never ``None``."""

    if TYPE_CHECKING:
        id: Optional[int]

    @property
    def pk(self) -> int:
        """The row's id; raises ``UnsavedRow`` if it was never flushed to the database."""
        pk = self.id
        if pk is None:
            raise UnsavedRow(f"{type(self).__name__} has no id yet: add and flush it before using its id")
        return pk
