"""Features use ``row.pk``, a plain ``int``: a stored row has it, an unsaved one fails loudly, and
no ``type: ignore`` creeps back into the features to paper over an ``Optional`` id."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlmodel import Session

from storage.db import open_database
from storage.repos import Repos
from storage.stored import UnsavedRow
from storage.tables import Member

ROOT = Path(__file__).resolve().parents[2]
assert (ROOT / "chatbot" / "features").is_dir()  # the greps below would find nothing anywhere else
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


def test_features_silence_no_type_checks():
    """An ``Optional`` id was the usual reason; ``.pk`` or a typed helper is the cure."""
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "chatbot" / "features").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "type: ignore" in line
    ]
    assert found == []


def test_the_core_asserts_no_ids_into_existence():
    asserting = re.compile(r"assert .*\.id is not None")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "chatbot").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if asserting.search(line)
    ]
    assert found == []
