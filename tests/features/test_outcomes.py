"""Outcome metrics: a seeded round and what happened after it, with every figure known.

Round 2027 Q1 (1 Jan - 31 Mar): bob mentors alice, dave mentors carol (the real interviews);
bob mentored erin in 2026 Q4 (a repeat mentor: 1 of 2). Records written straight to the database:
  alice: goal reached, final check done (completed); self git 1 then 2 (+1), mentor review git 1
         then final git 3 (+2; docs only in the final: nothing to compare); check-ins answered,
         answered, missed, skipped (2 of 3); 2 sessions with bob.
  carol: goal open, final check done; one self and one final rating (nothing to compare);
         check-ins answered, missed (1 of 2); 1 session with dave.
  -> completed 1 of 2 (50%), goals 1, finals 2; skills +1 self (1 skill), +2 mentors (1 skill);
     check-ins 3 of 5 (60%); 1.5 sessions per pair.
Retention, reference day 31 Mar; windows (3 Mar, 28 Apr], (26 May, 23 Jun], (1 Sep, 29 Sep]:
  alice answers a check-in on 10 Apr and visits office hours on 1 Jun; carol holds a session on
  28 Apr (the window's last day: counts) and visits on 26 May (the 12-week window's first
  excluded day) -> 4 weeks 2 of 2, 12 weeks 1 of 2, 26 weeks not yet (today is 1 Jul).
Office-hour visitors never mentored, first visit by 31 Mar: frank (1 Feb; again 15 Feb; signs up
  for a later round 20 Apr), gina (20 Mar; again 1 Jun). erin visits too but was a mentee in
  2026 Q4; hal first came on 5 Apr, after the round. Windows: frank (1 Feb, 1 Mar], (29 Mar,
  26 Apr], 26 weeks ends 2 Aug; gina (20 Mar, 17 Apr], (15 May, 12 Jun], ends 18 Sep
  -> 4 weeks 1 of 2, 12 weeks 2 of 2, 26 weeks not yet.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlmodel import Session

from chatbot.outcomes import OutcomeRow, Share, active_at, compute, gather, outcome_rows, retention
from storage.assessments import Assessment, AssessmentAnswer
from storage.checkins import ANSWERED, MISSED, SKIPPED, Checkin
from storage.feedback import FeedbackRequest
from storage.mentorship import Pair
from storage.office_hours import OhEntry, OfficeHour
from storage.progress import GoalCompletion, MentoringSession
from storage.repos import Repos
from storage.tables import Round, Signup
from tests.harness import Bot

TODAY = datetime(2027, 7, 1, 9, 0, tzinfo=timezone.utc)


def utc(day: str, hm: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}:00+00:00")


def test_a_window_counts_the_four_weeks_up_to_its_mark_and_only_once_it_is_over():
    ref = date(2027, 3, 31)
    assert active_at(ref, {date(2027, 4, 28)}, 4) and not active_at(ref, {date(2027, 3, 31)}, 4)
    assert not active_at(ref, {date(2027, 5, 26)}, 12) and active_at(ref, {date(2027, 5, 27)}, 12)
    people = {1: ref, 2: ref}
    assert retention(people, {1: {date(2027, 4, 1)}}, 4, date(2027, 4, 28)) is None  # the window's last day: not yet
    assert retention(people, {1: {date(2027, 4, 1)}}, 4, date(2027, 4, 29)) == Share(1, 2)
    assert Share(1, 2).percent == 50.0 and Share(0, 0).percent is None
    # each person counts once their own window is over
    assert retention({1: date(2027, 1, 1), 2: date(2027, 6, 1)}, {}, 4, date(2027, 3, 1)) == Share(0, 1)


def seed(repos: Repos) -> None:
    s, m = repos.db, {h: repos.members.by_handle(h).id for h in
                           ("alice", "bob", "carol", "dave", "erin", "frank", "gina", "hal")}  # type: ignore[union-attr]
    rnd = repos.rounds.by_name("2027 Q1")
    assert rnd is not None and rnd.id is not None
    earlier = Round(name="2026 Q4", starts_on=date(2026, 10, 1), ends_on=date(2026, 12, 31), status="closed",
                    opened_at=utc("2026-09-20"), closed_at=utc("2027-01-01"))
    s.add(earlier)
    s.flush()
    s.add(Pair(round_id=earlier.id, mentee_id=m["erin"], mentor_id=m["bob"], created_at=utc("2026-10-02"),
               ended_at=utc("2027-01-01"), end_reason="round closed"))
    alice = repos.signups.of(m["alice"], rnd.id, "mentee")[0]
    s.add(GoalCompletion(signup_id=alice.id, goal=alice.goal or "", done_at=utc("2027-03-20")))
    for who, assessor, kind, day, scores, done in (
        ("alice", "alice", "self", "2027-01-10", {"git": 1}, True),
        ("alice", "bob", "mentor", "2027-01-20", {"git": 1}, True),
        ("alice", "alice", "self", "2027-03-01", {"git": 2}, True),
        ("alice", "bob", "final", "2027-03-25", {"git": 3, "docs": 2}, True),
        ("carol", "carol", "self", "2027-01-10", {"git": 2}, True),
        ("carol", "dave", "final", "2027-03-25", {"git": 2}, True),
    ):
        a = Assessment(member_id=m[who], assessor_id=m[assessor], kind=kind, round_id=rnd.id, role_focus="Generalist",
                       skills=list(scores), started_at=utc(day), completed_at=utc(day) if done else None)
        s.add(a)
        s.flush()
        for skill, score in scores.items():
            s.add(AssessmentAnswer(assessment_id=a.id, skill=skill, score=score, answered_at=utc(day)))
    for who, day, status in (("alice", "2027-01-04", ANSWERED), ("alice", "2027-01-11", ANSWERED),
                             ("alice", "2027-01-18", MISSED), ("alice", "2027-01-25", SKIPPED),
                             ("carol", "2027-01-04", ANSWERED), ("carol", "2027-01-11", MISSED),
                             ("alice", "2027-04-10", ANSWERED)):
        s.add(Checkin(mentee_id=m[who], due_at=utc(day), status=status, prompted_at=utc(day),
                      answered_at=utc(day, "10:00") if status == ANSWERED else None))
    for mentor, mentee, day in (("bob", "alice", "2027-01-05"), ("bob", "alice", "2027-02-05"),
                                ("dave", "carol", "2027-01-06"), ("dave", "carol", "2027-04-28")):
        held = date.fromisoformat(day)
        s.add(MentoringSession(round_id=rnd.id, mentor_id=m[mentor], mentee_id=m[mentee], held_on=held, minutes=30,
                         topic="patches", logged_at=utc(day, "20:00")))
    oh = OfficeHour(platform="console", channel="#oh", opened_at=utc("2027-01-01"))
    s.add(oh)
    s.flush()
    for who, day in (("frank", "2027-02-01"), ("frank", "2027-02-15"), ("gina", "2027-03-20"), ("gina", "2027-06-01"),
                     ("erin", "2027-02-01"), ("hal", "2027-04-05"), ("alice", "2027-06-01"), ("carol", "2027-05-26")):
        s.add(OhEntry(session_id=oh.id, member_id=m[who], platform="console", account=who, nick=who, status="ended",
                      outcome="helped", joined_at=utc(day, "18:00"), ended_at=utc(day, "18:30")))
    later = Round(name="2027 Q2", starts_on=date(2027, 5, 1), ends_on=date(2027, 7, 31), opened_at=utc("2027-04-15"))
    s.add(later)
    s.flush()
    s.add(Signup(member_id=m["frank"], round_id=later.id, kind="mentee", created_at=utc("2027-04-20")))


async def seeded(tmp_path) -> Bot:
    bot = await Bot.start(tmp_path)
    await bot.pair("alice", "bob")
    await bot.pair("carol", "dave")
    for who in ("erin", "frank", "gina", "hal"):
        await bot.say(who, "!help")
    await bot.say("you", "!round close")
    with Session(bot.engine.database) as s:
        seed(Repos(s))
        s.commit()
    bot.clock.set(TODAY)
    return bot


async def test_the_figures_of_a_seeded_round(tmp_path, database):
    bot = await seeded(tmp_path)
    with Session(bot.engine.database) as s:
        repos = Repos(s)
        rnd = repos.rounds.by_name("2027 Q1")
        out = compute(gather(repos, rnd), TODAY.date())
        names = repos.reports.handles(m.member_id for m in out.mentees)
        assert [names[m.member_id] for m in out.mentees] == ["alice", "carol"]
        assert out.share("completed") == Share(1, 2) and out.share("goal_reached") == Share(1, 2)
        assert out.share("final_done") == Share(2, 2)
        alice, carol = out.mentees
        assert [(c.skill, c.first, c.last) for c in alice.self_changes] == [("git", 1, 2)]
        assert [(c.skill, c.first, c.last) for c in alice.mentor_changes] == [("git", 1, 3)]
        assert carol.self_changes == () and carol.mentor_changes == ()
        assert alice.checkins == Share(2, 3) and carol.checkins == Share(1, 2) and out.checkins == Share(3, 5)
        assert (alice.sessions, carol.sessions, out.sessions_per_pair) == (2, 2, 2.0)
        assert len(out.repeat_mentors) == 1 and len(out.mentors) == 2
        assert out.retention == {4: Share(2, 2), 12: Share(1, 2), 26: None}
        assert out.comparison == {4: Share(1, 2), 12: Share(2, 2), 26: None} and out.comparison_size == 2
        rows = outcome_rows(repos, rnd, TODAY.date())
    assert OutcomeRow("round", "2027 Q1", "completed", 1) in rows
    assert OutcomeRow("pair", "bob>alice", "sessions", 2) in rows
    assert OutcomeRow("retention", "mentees", "active_12w_percent", 50.0) in rows
    assert OutcomeRow("retention", "office_hours_unmentored", "active_26w_percent", "") in rows
    assert OutcomeRow("round", "2027 Q1", "feedback_answer_percent", "") in rows
    # feedback: a mentor answered, the mentee was asked and did not; nobody else was asked
    with Session(bot.engine.database) as s:
        repos = Repos(s)
        rnd = repos.rounds.by_name("2027 Q1")
        pair = repos.pairs.of_round(rnd.id, ended=True)[0]
        at = datetime(2027, 1, 14, 13, 0, tzinfo=timezone.utc)
        for who, side, answered in ((pair.mentor_id, "mentor", at), (pair.mentee_id, "mentee", None)):
            s.add(FeedbackRequest(round_id=rnd.id, window="initial", respondent_id=who, pair_id=pair.id, side=side,
                                  due_at=at, deadline_at=at + timedelta(days=7), asked_at=at, answered_at=answered))
        s.commit()
        assert compute(gather(repos, rnd), TODAY.date()).feedback == Share(1, 2)
        assert OutcomeRow("round", "2027 Q1", "feedback_answer_percent", 50.0) in outcome_rows(repos, rnd, TODAY.date())
    await bot.stop()


async def test_the_report_in_chat(tmp_path):
    bot = await seeded(tmp_path)
    out = await bot.say("you", "!round outcomes 2027 Q1")
    assert out[0].split("\n") == [
        "Outcomes of 2027 Q1: 2 mentees, 2 mentors (1 mentored in an earlier round).",
        "Completed: 50% (1 of 2); goal reached: 1, final check done: 2.",
        "Skills (0-3, first to final score, on average): +1 by self-assessment over 1 skill, +2 by mentors over 1 skill.",
        "Check-ins answered: 60% (3 of 5).",
        "Sessions: 2 per pair (4 sessions in 2 pairs).",
        "Mentees still active 4, 12 and 26 weeks after the round: 100% (2 of 2); 50% (1 of 2); not yet.",
        "Office-hour visitors never mentored (2 people), 4, 12 and 26 weeks after their first visit: "
        "50% (1 of 2); 100% (2 of 2); not yet.",
        "alice: completed; skills +1 self, +2 mentors; check-ins 66.7% (2 of 3); 2 sessions.",
        "carol: final check done, goal open; skills – self, – mentors; check-ins 50% (1 of 2); 2 sessions.",
    ]
    out = await bot.say("you", "!round outcomes")  # the running round: frank's next one
    assert out == ["No mentee was paired in 2027 Q2, so it has no outcomes to report."]
    out = await bot.say("you", "!round outcomes 2026 Q4")
    assert out[0].startswith("Outcomes of 2026 Q4: 1 mentee, 1 mentor (0 mentored in an earlier round).")
    out = await bot.say("alice", "!round outcomes")
    assert "Outcomes" not in out[0] and "coordinator" in out[0]
    await bot.stop()
