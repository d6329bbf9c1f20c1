"""The questions behind a round's outcome report (``chatbot.outcomes`` does the arithmetic).

Each method asks one question over the whole round, or over a set of people, and returns plain
values: which mentees reached their goal, every skills answer, the days each person was seen
doing something after a date, who used office hours without ever being mentored. Nothing here
writes, and no date arithmetic happens in SQL, so SQLite and PostgreSQL answer alike.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timezone
from typing import Iterable

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.assessments import Assessment, AssessmentAnswer, Rating
from storage.checkins import ANSWERED, Checkin
from storage.mentorship import Pair
from storage.office_hours import OhEntry
from storage.progress import GoalCompletion, MentoringSession
from storage.tables import Round, Signup


def _utc_day(instant: datetime) -> date:
    return instant.astimezone(timezone.utc).date()


class OutcomeRepo:
    def __init__(self, db: Session):
        self.db = db

    def pairs(self, round_id: int) -> list[tuple[int, int, str]]:
        """(mentor, mentee, kind) of every pair the round had, ended ones too: a mentee who
        withdrew half-way is one of the round's mentees all the same."""
        stmt = select(Pair.mentor_id, Pair.mentee_id, Pair.kind).where(Pair.round_id == round_id).order_by(col(Pair.id))
        return [(mentor, mentee, kind) for mentor, mentee, kind in self.db.exec(stmt).all()]

    def goals_reached(self, round_id: int) -> set[int]:
        """Mentees whose goal for the round is marked reached (and not reopened since)."""
        stmt = (
            select(Signup.member_id)
            .join(GoalCompletion, col(GoalCompletion.signup_id) == col(Signup.id))
            .where(Signup.round_id == round_id, Signup.kind == "mentee", col(GoalCompletion.reopened_at).is_(None))
        )
        return set(self.db.exec(stmt).all())

    def finals_done(self, round_id: int) -> set[int]:
        """People whose final check for the round is complete."""
        stmt = select(Assessment.member_id).where(
            Assessment.round_id == round_id, Assessment.kind == "final", col(Assessment.completed_at).is_not(None)
        )
        return set(self.db.exec(stmt).all())

    def ratings(self, round_id: int) -> dict[int, list[Rating]]:
        """Every skills answer given in the round, per person rated, oldest first."""
        stmt = (
            select(Assessment.member_id, Assessment.kind, AssessmentAnswer.skill, AssessmentAnswer.score, Assessment.id,
                   AssessmentAnswer.answered_at)
            .join(Assessment, col(Assessment.id) == col(AssessmentAnswer.assessment_id))
            .where(Assessment.round_id == round_id)
            .order_by(col(AssessmentAnswer.answered_at), col(Assessment.id))
        )
        out: dict[int, list[Rating]] = defaultdict(list)
        for member_id, *rating in self.db.exec(stmt).all():
            out[member_id].append(Rating(*rating))
        return dict(out)

    def earlier_mentors(self, rnd: Round) -> set[int]:
        """Everyone who mentored (lead or co-mentor) in a round that started before this one."""
        earlier = aliased(Round)
        stmt = (
            select(Pair.mentor_id)
            .join(earlier, col(earlier.id) == col(Pair.round_id))
            .where(col(earlier.starts_on) < rnd.starts_on, Pair.round_id != rnd.id)
        )
        return set(self.db.exec(stmt).all())

    def activity_days(self, member_ids: Iterable[int], after: date) -> dict[int, set[date]]:
        """Per person, the UTC days after ``after`` the bot saw them do something: answer a
        check-in, hold a session (either side), join an office-hour line, sign up for a round."""
        ids = list(set(member_ids))
        days: dict[int, set[date]] = defaultdict(set)
        if not ids:
            return {}
        since = datetime.combine(after, datetime.min.time(), timezone.utc)
        instants = (
            select(Checkin.mentee_id, Checkin.answered_at).where(
                col(Checkin.mentee_id).in_(ids), Checkin.status == ANSWERED, col(Checkin.answered_at) >= since),
            select(OhEntry.member_id, OhEntry.joined_at).where(col(OhEntry.member_id).in_(ids), col(OhEntry.joined_at) >= since),
            select(Signup.member_id, Signup.created_at).where(col(Signup.member_id).in_(ids), col(Signup.created_at) >= since),
        )
        for stmt in instants:
            for member_id, instant in self.db.exec(stmt).all():
                days[member_id].add(_utc_day(instant))
        sessions = select(MentoringSession.mentor_id, MentoringSession.mentee_id, MentoringSession.held_on).where(
            (col(MentoringSession.mentor_id).in_(ids)) | (col(MentoringSession.mentee_id).in_(ids)), col(MentoringSession.held_on) > after
        )
        wanted = set(ids)
        for mentor_id, mentee_id, held_on in self.db.exec(sessions).all():
            for member_id in {mentor_id, mentee_id} & wanted:
                days[member_id].add(held_on)
        return {m: {d for d in ds if d > after} for m, ds in days.items()}

    def first_visits_unmentored(self, until: date) -> dict[int, date]:
        """Per person who joined an office-hour line by ``until`` (UTC) and has never been a
        mentee of any round, the UTC day of their first visit."""
        mentees = select(Pair.mentee_id)
        end = datetime.combine(until, datetime.max.time(), timezone.utc)
        stmt = (
            select(OhEntry.member_id, OhEntry.joined_at)
            .where(col(OhEntry.member_id).is_not(None), col(OhEntry.joined_at) <= end, col(OhEntry.member_id).not_in(mentees))
        )
        first: dict[int, date] = {}
        for member_id, joined_at in self.db.exec(stmt).all():
            day = _utc_day(joined_at)
            if member_id not in first or day < first[member_id]:
                first[member_id] = day
        return first
