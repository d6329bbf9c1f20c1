"""A small programme with known numbers, for the dashboard's tests, its browser test and the
README's screenshots.

Two pairs signed up and matched through the real interviews (bob mentors alice, dave mentors
carol), then a few weeks of records written straight to the database so every figure below is
known exactly. ``you`` is the admin (a coordinator), ``erin`` hosts office hours.

Check-ins (weeks start Monday; the round's first week is that of 2027-01-01, 2026-12-28):
  week 01-04: alice answered (mood 4), alice missed, carol answered (mood 5) -> 2 of 3, 66.7 %
  week 01-11: alice answered (mood 2), alice skipped (not counted), carol missed -> 1 of 2, 50 %
Sessions: bob/alice held 01-05 and 01-12, dave/carol 01-06 (logged the same days), so at NOW
(Fri 01-22) carol's pair has had no session for 15 days: at risk; alice's only 9: fine.
Skills (0-3), latest per kind: alice self git 1 docs 2, mentor git 2, final git 3 docs 3;
carol self git 2, final git 2 -> averages git 1.5/2/2.5, docs 2/-/3; change (2 + 1 + 0) / 3 = 1.
Office hours in console:#oh (Europe/Berlin): waits 10 and 30 min in week 01-04 (median 20,
p90 30), 4 min in week 01-11, one person never called; Tue 18:00 Berlin 3 joins, Tue 20:00 1.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlmodel import Session

from chatbot.config import embedded_default
from storage.assessments import Assessment, AssessmentAnswer
from storage.checkins import ANSWERED, MISSED, SKIPPED, Checkin
from storage.office_hours import OhEntry, OfficeHour
from storage.progress import GoalStep, MentoringSession
from storage.repos import Repos
from tests.harness import Bot

SECRET = "dashboard-test-secret-0123456789abcdef"
NOW = datetime(2027, 1, 22, 9, 0, tzinfo=timezone.utc)


def utc(day: str, hm: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}:00+00:00")


def config(listen: str = "127.0.0.1:0") -> dict[str, Any]:
    raw = embedded_default().model_dump()
    raw["admins"] = ["console:you", "files:you"]  # files: a platform that takes images, in the chart tests
    raw["dashboard"] = {"listen": listen}
    raw["office_hours"] = {"schedule": [{"channel": "console:#oh", "days": "tue", "time": "18:00",
                                         "timezone": "Europe/Berlin", "hosts": ["erin"]}]}
    return raw


async def seeded_bot(tmp_path: Path, listen: str | None = "127.0.0.1:0") -> Bot:
    """The bot with the dashboard on a free port of 127.0.0.1 (None: no dashboard) and the
    programme above. The caller sets MENTORBOT_DASHBOARD_SECRET (monkeypatch) before."""
    raw = config()
    if listen is None:
        raw.pop("dashboard")
    else:
        raw["dashboard"]["listen"] = listen
    bot = await Bot.prepared(tmp_path, ("dashboard seed", listen), programme, config=raw)
    bot.clock.set(NOW)
    return bot


async def programme(bot: Bot) -> None:
    """The programme above, on a new bot (played once a test process, then copied)."""
    await bot.pair("alice", "bob")
    await bot.pair("carol", "dave")
    await bot.say("erin", "!help")
    await bot.say("you", "!role grant erin host")
    with Session(bot.engine.database) as s:
        seed(Repos(s))
        s.commit()


def ids(repos: Repos) -> dict[str, int]:
    return {h: repos.members.by_handle(h).id for h in ("you", "alice", "bob", "carol", "dave", "erin")}  # type: ignore[union-attr]


def seed(repos: Repos) -> None:
    s, m = repos.db, ids(repos)
    rnd = repos.rounds.not_closed()[0]
    assert rnd is not None and rnd.id is not None
    q = [["done", "text", "What did you do?"], ["mood", "scale", "How is it going?"]]
    for who, day, status, rating, answers in (
        ("alice", "2027-01-04", ANSWERED, 4, ["Read the contributor guide", "4"]),
        ("alice", "2027-01-07", MISSED, None, []),
        ("carol", "2027-01-04", ANSWERED, 5, ["Set up the dev wiki", "5"]),
        ("alice", "2027-01-11", ANSWERED, 2, ["Stuck on <script>alert(1)</script> tests", "2"]),
        ("alice", "2027-01-14", SKIPPED, None, []),
        ("carol", "2027-01-11", MISSED, None, []),
    ):
        due = utc(day)
        s.add(Checkin(mentee_id=m[who], due_at=due, status=status, questions=q, answers=answers, rating=rating,
                      prompted_at=due, answered_at=due + timedelta(hours=2) if status == ANSWERED else None))
    for mentor, mentee, day, minutes in (("bob", "alice", "2027-01-05", 60), ("bob", "alice", "2027-01-12", 30),
                                         ("dave", "carol", "2027-01-06", 45)):
        s.add(MentoringSession(round_id=rnd.id, mentor_id=m[mentor], mentee_id=m[mentee], held_on=date.fromisoformat(day),
                         minutes=minutes, topic=f"{mentee}'s first patch", logged_at=utc(day, "20:00")))
    signup = repos.signups.of(m["alice"], rnd.id, "mentee")[0]
    s.add(GoalStep(signup_id=signup.id, text="Build MediaWiki locally", created_at=utc("2027-01-05"), done_at=utc("2027-01-08")))
    s.add(GoalStep(signup_id=signup.id, text="Send a first patch", created_at=utc("2027-01-05")))
    for who, assessor, kind, scores in (
        ("alice", "alice", "self", {"git": 1, "docs": 2}),
        ("alice", "bob", "mentor", {"git": 2}),
        ("alice", "bob", "final", {"git": 3, "docs": 3}),
        ("carol", "carol", "self", {"git": 2}),
        ("carol", "dave", "final", {"git": 2}),
    ):
        a = Assessment(member_id=m[who], assessor_id=m[assessor], kind=kind, round_id=rnd.id, role_focus="Generalist",
                       skills=list(scores), started_at=utc("2027-01-10"), completed_at=utc("2027-01-10"))
        s.add(a)
        s.flush()
        for skill, score in scores.items():
            s.add(AssessmentAnswer(assessment_id=a.id, skill=skill, score=score, answered_at=utc("2027-01-10")))
    for day in ("2027-01-05", "2027-01-12"):
        oh = OfficeHour(platform="console", channel="#oh", opened_by=m["erin"], opened_at=utc(day, "17:00"),
                       closed_at=utc(day, "21:00"), close_reason="closed")
        s.add(oh)
        s.flush()
        waits = {"2027-01-05": [("17:10", "17:20"), ("17:15", "17:45")],
                 "2027-01-12": [("17:05", "17:09"), ("19:30", None)]}[day]
        for n, (joined, called) in enumerate(waits):
            s.add(OhEntry(session_id=oh.id, member_id=m["alice"] if n == 0 else m["carol"], platform="console",
                          account="alice", nick="alice", status="ended", outcome="helped" if called else "left",
                          joined_at=utc(day, joined), called_at=utc(day, called) if called else None,
                          host_id=m["erin"], ended_at=utc(day, "20:00")))
