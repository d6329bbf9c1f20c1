"""Round exports: ``mentorbot export round`` writes one file per table, CSV or JSON, checked
against the seeded round (tests/dashboard_seed.py); ``!round export`` sends the same as a zip in
private where the platform takes files, and names the command elsewhere."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from sqlmodel import Session

from chatbot.cli import main
from storage.repos import Repos
from tests.dashboard_seed import ids, seeded_bot
from tests.features.test_charts_in_chat import with_files

#: table -> rows in the seeded round
COUNTS = {"pairs": 2, "sessions": 3, "checkins": 6, "goals": 2, "goal_steps": 2, "assessments": 5,
          "assessment_answers": 7, "office_hours": 4}
NOTE = "private words about alice"


def with_a_note(repos: Repos) -> None:
    """A mentor's private note on a session: it must not leave the bot."""
    log = repos.round_reports.mentoring_sessions(repos.rounds.by_name("2027 Q1").id)[0]  # type: ignore[union-attr]
    log.notes = NOTE
    repos.db.add(log)


@pytest.fixture
async def bot(tmp_path):
    bot = await seeded_bot(tmp_path, listen=None)
    with Session(bot.engine.database) as s:
        with_a_note(Repos(s))
        s.commit()
    yield await with_files(bot)
    await bot.stop()


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def check_records(tables: dict[str, list[dict]], m: dict[str, int], empty: object) -> None:
    """Row counts and one known record per table (``empty``: how the format writes nothing)."""
    assert {name: len(rows) for name, rows in tables.items()} == COUNTS
    assert tables["pairs"][0] == {"pair_id": tables["pairs"][0]["pair_id"], "mentee_id": m["alice"], "mentee": "alice",
                                  "mentor_id": m["bob"], "mentor": "bob", "kind": "mentor",
                                  "created_at": "2027-01-04T09:00:00Z", "ended_at": empty, "end_reason": empty}
    assert tables["sessions"][0] | {"session_id": 0} == {
        "session_id": 0, "mentor_id": m["bob"], "mentor": "bob", "mentee_id": m["alice"], "mentee": "alice",
        "held_on": "2027-01-05", "minutes": 60, "topic": "alice's first patch", "logged_at": "2027-01-05T20:00:00Z"}
    first = tables["checkins"][0]
    assert (first["mentee"], first["due_at"], first["status"], first["rating"], first["answered_at"]) == (
        "alice", "2027-01-04T09:00:00Z", "answered", 4, "2027-01-04T11:00:00Z")
    assert first["questions"] == ["What did you do?", "How is it going?"] and first["answers"] == ["Read the contributor guide", "4"]
    assert [(g["mentee"], g["steps"], g["steps_done"], g["reached_at"]) for g in tables["goals"]] == [
        ("alice", 2, 1, empty), ("carol", 0, 0, empty)]
    assert tables["goal_steps"][0]["text"] == "Build MediaWiki locally" and tables["goal_steps"][0]["done_at"] == "2027-01-08T09:00:00Z"
    final = [a for a in tables["assessments"] if a["kind"] == "final" and a["member"] == "alice"][0]
    assert (final["member_id"], final["assessor"], final["assessor_id"]) == (m["alice"], "bob", m["bob"])
    scores = {(a["skill"], a["score"]) for a in tables["assessment_answers"] if a["assessment_id"] == final["assessment_id"]}
    assert scores == {("git", 3), ("docs", 3)}
    visit = tables["office_hours"][0]
    assert (visit["person"], visit["person_id"], visit["host"], visit["joined_at"], visit["wait_minutes"]) == (
        "alice", m["alice"], "erin", "2027-01-05T17:10:00Z", 10.0)
    assert (visit["skips"], visit["help_minutes"], tables["office_hours"][-1]["called_at"]) == (0, 160.0, empty)


def typed(rows: list[dict[str, str]]) -> list[dict]:
    """CSV cells as the JSON export has them: ids and counts as numbers, lists decoded."""
    out = []
    for row in rows:
        new: dict = {}
        for k, v in row.items():
            if k in ("questions", "answers"):
                new[k] = json.loads(v)
            elif v.isdigit():
                new[k] = int(v)
            elif k.endswith("_minutes") and v:
                new[k] = float(v)
            else:
                new[k] = v
        out.append(new)
    return out


async def test_the_cli_writes_one_csv_per_table(bot, tmp_path, capsys):
    out = tmp_path / "export"
    assert main(["export", "round", "2027", "Q1", "--format", "csv", "--out", str(out), "--db", bot.settings.database.url]) == 0
    assert "wrote 9 files for round 2027 Q1" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.csv" for name in [*COUNTS, "outcomes"])
    outcomes = read_csv((out / "outcomes.csv").read_bytes())
    assert {"scope": "pair", "subject": "bob>alice", "metric": "sessions", "value": "2"} in outcomes, outcomes
    header = (out / "pairs.csv").read_text(encoding="utf-8").split("\n")[0]
    assert header == "pair_id,mentee_id,mentee,mentor_id,mentor,kind,created_at,ended_at,end_reason"
    tables = {name: typed(read_csv((out / f"{name}.csv").read_bytes())) for name in COUNTS}
    with Session(bot.engine.database) as s:
        m = ids(Repos(s))
    check_records(tables, m, "")
    assert all(NOTE not in p.read_text(encoding="utf-8") for p in out.iterdir())


async def test_the_cli_writes_json_and_refuses_a_round_that_is_not(bot, tmp_path, capsys):
    out = tmp_path / "json"
    assert main(["export", "round", "--format", "json", "--out", str(out), "--db", bot.settings.database.url]) == 0
    tables = {name: json.loads((out / f"{name}.json").read_text(encoding="utf-8")) for name in COUNTS}
    with Session(bot.engine.database) as s:
        m = ids(Repos(s))
    check_records(tables, m, None)
    assert main(["export", "round", "2031", "--out", str(out), "--db", bot.settings.database.url]) == 2
    assert "there is no round called '2031'" in capsys.readouterr().err


async def test_in_chat_the_files_come_as_a_zip_in_private_where_the_platform_takes_files(bot):
    out = await bot.say("you", "!round export", channel="#coordinators", platform="files")
    assert out[0] == "you: I've sent you the records of 2027 Q1 in a private message."
    event, files = bot.adapters["files"].files[-1]
    assert event.to.account == "you" and files.name == "round-2027-Q1.zip" and files.media_type == "application/zip"
    assert "Mentors' private session notes are not in them." in event.text
    with zipfile.ZipFile(io.BytesIO(files.data)) as z:
        names = sorted(z.namelist())
        assert names == sorted([f"csv/{n}.csv" for n in [*COUNTS, "outcomes"]] + [f"json/{n}.json" for n in [*COUNTS, "outcomes"]])
        assert len(read_csv(z.read("csv/checkins.csv"))) == COUNTS["checkins"]
        assert all(NOTE.encode() not in z.read(n) for n in names)


async def test_without_attachments_the_bot_names_the_command_and_others_are_refused(bot):
    out = await bot.say("you", "!round export 2027 Q1", channel="#coordinators")
    assert out == ['you: I can\'t send files here. On the bot\'s server, run: mentorbot export round "2027 Q1" --format csv --out DIR']
    assert "is for coordinator" in (await bot.say("bob", "!round export", platform="files"))[0]
    assert bot.adapters["files"].files == []
