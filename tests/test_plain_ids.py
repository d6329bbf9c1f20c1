"""Features use ``row.pk``, a plain ``int``: a stored row has it, an unsaved one fails loudly, and
no ``type: ignore`` creeps back into the features to paper over an ``Optional`` id."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import Session

from storage.db import open_database
from storage.repos import Repos
from storage.stored import UnsavedRow
from storage.tables import Member

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def test_a_row_a_repository_returns_has_its_id_as_pk(tmp_path, database):
    with Session(open_database(database.new(tmp_path))) as db:
        member = Repos(db).members.create("irc", "alice", "Alice", NOW)
        assert isinstance(member.pk, int)
        assert member.pk == member.id
        assert Repos(db).members.by_handle(member.handle).pk == member.pk


def test_an_unsaved_row_says_so_instead_of_giving_none():
    with pytest.raises(UnsavedRow, match="Member has no id yet"):
        _ = Member(handle="bob", display_name="Bob").pk

