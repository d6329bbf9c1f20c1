"""Issue 22, item 1: after ``!mydata delete`` the round's figures stay, and nothing of the person.

The round's records are kept as an anonymous leaver's (``storage.leavers``): every figure a
coordinator sees (``!round report``, ``!checkins overview``, ``!session totals``, the dashboard's
figures, the outcome figures) reads the same before and after, while no text of theirs remains
in any table and ``mentorbot export mydata`` finds nobody.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, String, cast, or_, select
from sqlmodel import Session, SQLModel

from chatbot.cli import main
from chatbot.dashboard import figures
from chatbot.outcomes import outcome_rows
from storage.leavers import KEPT, OWN, member_columns
from storage.repos import Repos
from tests.dashboard_seed import NOW, seeded_bot
from tests.harness import Bot

#: what alice typed, or was written about her, in the seeded round
HERS = ("Read the contributor guide", "Stuck on <script>", "Build MediaWiki locally", "Send a first patch",
        "alice's first patch", "Ship the MediaWiki skin fix")


def test_every_column_that_points_at_a_member_says_whether_it_stays():
    """A table added later with a member column must say whether its rows go with the person."""
    assert member_columns() == OWN | KEPT
    assert not OWN & KEPT


async def _figures(bot: Bot) -> dict[str, Any]:
    """Every figure a coordinator sees of the round, in chat and on the dashboard."""
    out: dict[str, Any] = {
        "report": await bot.say("you", "!round report 2027 Q1"),
        "checkins": await bot.say("you", "!checkins overview 2027 Q1"),
        "sessions": (await bot.say("you", "!session totals 2027 Q1"))[0].split(" in all.")[0],  # then who left, per mentor
    }
    with Session(bot.app.database) as s:
        repos = Repos(s)
        rnd = repos.rounds.not_closed()[0] if repos.rounds.not_closed() else repos.reports.rounds()[0]
        assert rnd.id is not None
        mentees = {p.mentee_id for p in repos.round_reports.pairs(rnd.id)}
        today = NOW.date()
        charts = [
            figures.answers(rnd, repos.reports.checkin_statuses(mentees, *figures.round_span(rnd)), today),
            figures.sessions(rnd, repos.reports.sessions(rnd.id), today),
            *figures.skills(rnd, repos.reports.scores(rnd.id))[:2],
            figures.waits(repos.reports.waits()),
        ]
        out["dashboard"] = [(f.name, f.rows, f.summary) for f in charts]
        out["skill_change"] = figures.skills(rnd, repos.reports.scores(rnd.id))[2]
        rows = outcome_rows(repos, rnd, today)
        out["outcomes"] = [r for r in rows if r.scope in ("round", "retention")]
        out["per_person"] = sorted((r.scope, r.metric, str(r.value)) for r in rows if r.scope not in ("round", "retention"))
    return out


def _texts(bot: Bot, needles: tuple[str, ...]) -> list[str]:
    """Tables and rows where any of these texts still stands."""
    found = []
    with Session(bot.app.database) as s:
        for table in SQLModel.metadata.sorted_tables:
            texts = [c for c in table.columns if isinstance(c.type, (String, JSON))]
            if not texts:
                continue
            hit = or_(*(cast(c, String).contains(n) for c in texts for n in needles))
            found += [f"{table.name}: {dict(row._mapping).get('payload', dict(row._mapping))}" for row in s.execute(select(table).where(hit))]
    return found


async def _erase(bot: Bot, handle: str) -> None:
    asked = (await bot.say(handle, "!mydata delete"))[0]
    code = re.search(r"send !mydata delete ([A-Z2-9]{6})", asked)[1]  # type: ignore[index]
    assert (await bot.say(handle, f"!mydata delete {code}"))[0].startswith("Done: everything stored about")


async def test_a_mentees_erasure_leaves_every_figure_of_the_round_and_nothing_of_hers(tmp_path: Path, monkeypatch, capsys):
    bot = await seeded_bot(tmp_path, listen=None)
    try:
        await bot.say("alice", "!goal set Ship the MediaWiki skin fix")
        await bot.say("you", "!round close 2027 Q1")
        before = await _figures(bot)
        assert "3 sessions, 2h15m" in before["sessions"] and "check-ins answered: 60% (3 of 5)" in before["report"][0]
        assert _texts(bot, HERS)  # the seeded round holds her text
        await _erase(bot, "alice")
        assert await _figures(bot) == before
        assert _texts(bot, HERS) == []
        url = bot.settings.database.url
        assert main(["export", "mydata", "alice", "--json", "-", "--db", url]) == 2
        capsys.readouterr()
        with Session(bot.app.database) as s:
            leaver = Repos(s).members.by_handle("(left 1)")
            assert leaver is not None and leaver.status == "left"
            assert Repos(s).members.identities(leaver.id) == []  # type: ignore[arg-type]
            export = Repos(s).privacy.export(leaver.id)  # type: ignore[arg-type]
        assert "alice" not in json.dumps(export)
    finally:
        await bot.stop()


async def test_in_a_running_round_the_leaver_is_withdrawn_and_nothing_they_did_is_lost(tmp_path: Path):
    """The pair ends as a withdrawal would end it (bob is free to mentor again); the counts of
    what was done stay."""
    bot = await seeded_bot(tmp_path, listen=None)
    try:
        before = await _figures(bot)
        await _erase(bot, "alice")
        after = await _figures(bot)
        assert after["dashboard"] == before["dashboard"] and after["outcomes"] == before["outcomes"]
        assert after["sessions"] == before["sessions"] and after["checkins"] == before["checkins"]
        assert "1 mentee and 2 mentors signed up, 1 withdrawn" in after["report"][0]
        assert "2 pairs, 1 ended" in after["report"][0]
        assert (await bot.say("bob", "!mentees"))[0].startswith("You have no mentees yet.")
    finally:
        await bot.stop()
