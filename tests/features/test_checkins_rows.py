"""A check-in answer's storage work as prebuilt statements (issue 24): the check-in read as plain
values and answered by one UPDATE (or INSERT), the plan's misses reset by one UPDATE that
returns its schedule. What the tables hold and what ORM objects of the same rows say afterwards
is what the ORM's own flush gave, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlmodel import Session

from storage.checkins import ANSWERED, PROMPTED, Checkin, CheckinPlan, CheckinRepo
from storage.conversations import ConversationRepo, ConversationRow
from storage.tables import Member

NOON = datetime(2027, 1, 4, 12, 0, tzinfo=timezone.utc)
DUE = NOON - timedelta(hours=2)
QUESTIONS = [["mood", "scale", "How do you feel?"], ["blocker", "blocker", "Anything blocking you?"]]


def _mentee(db: Session) -> int:
    member = Member(handle="alice", display_name="Alice", timezone="Europe/Berlin", status="active", created_at=NOON)
    db.add(member)
    db.flush()
    assert member.id is not None
    return member.id


def test_an_answer_updates_the_prompted_check_in_and_the_loaded_object_keeps_up(db):
    mentee = _mentee(db)
    loaded = Checkin(mentee_id=mentee, due_at=DUE, questions=QUESTIONS, prompted_at=DUE)
    db.add(loaded)
    repo = CheckinRepo(db)
    found = repo.row_at(mentee, DUE)
    assert found is not None and (found.id, found.status, found.questions) == (loaded.id, PROMPTED, QUESTIONS)
    row = repo.answered(found, mentee, DUE, found.questions, ["4", "the CI"], 4, "the CI", NOON)
    assert (row.status, row.answers, row.rating, row.blocker, row.answered_at) == (ANSWERED, ["4", "the CI"], 4, "the CI", NOON)
    assert repo.row_at(mentee, DUE) == row  # the answer's second look: no statement, the new values
    assert not db.dirty  # the loaded object owes no flush...
    assert (loaded.status, loaded.answers, loaded.blocker, loaded.closed_at) == (ANSWERED, ["4", "the CI"], "the CI", NOON)  # ...and is not stale
    db.expire_all()
    assert (loaded.status, loaded.rating, loaded.answered_at) == (ANSWERED, 4, NOON)  # what the table holds
    assert CheckinRepo(db).status_at(mentee, DUE) == ANSWERED
    assert CheckinRepo(db).status_at(mentee, DUE + timedelta(days=3)) is None


def test_an_answer_with_no_prompt_inserts_the_check_in(db):
    mentee = _mentee(db)
    row = CheckinRepo(db).answered(None, mentee, DUE, QUESTIONS, ["5", "none"], 5, None, NOON)
    stored = db.get(Checkin, row.id)
    assert stored is not None
    assert (stored.mentee_id, stored.due_at, stored.status, stored.questions, stored.answers) == (mentee, DUE, ANSWERED, QUESTIONS, ["5", "none"])
    assert (stored.rating, stored.blocker, stored.prompted_at, stored.original) == (5, None, None, None)
    assert CheckinRepo(db).row_at(mentee, DUE) == row


def test_an_answer_resets_the_plans_misses_and_reads_its_schedule(db):
    mentee = _mentee(db)
    repo = CheckinRepo(db)
    assert repo.reset_misses(mentee) == (False, None)  # no plan yet: the caller makes one
    plan = CheckinPlan(member_id=mentee, schedule="tue 18:30", basis="tue 18:30", tz="Europe/Berlin", next_due_at=NOON, misses_in_row=2, created_at=NOON)
    db.add(plan)
    assert repo.reset_misses(mentee) == (True, "tue 18:30")
    assert plan.misses_in_row == 0 and not db.dirty
    db.expire_all()
    assert plan.misses_in_row == 0


def test_one_members_eligibility_is_that_of_the_list(db):
    mentee = _mentee(db)
    repo = CheckinRepo(db)
    assert repo.is_eligible(mentee) is False and repo.eligible([mentee]) == set()


def test_an_answer_moves_the_conversation_on_and_ends_it_with_the_loaded_object_in_step(db):
    mentee = _mentee(db)
    repo = ConversationRepo(db)
    loaded = repo.start(mentee, "checkin", "q0", "console", {"due": DUE.isoformat()}, DUE)
    assert repo.current(mentee) == ConversationRow(mentee, "checkin", "q0", {"due": DUE.isoformat()}, "console", DUE, DUE)
    repo.advance(mentee, "q1", {"due": DUE.isoformat(), "q0": "4"}, NOON)
    assert (loaded.step, loaded.data, loaded.updated_at) == ("q1", {"due": DUE.isoformat(), "q0": "4"}, NOON) and not db.dirty
    assert repo.current(mentee) == ConversationRow(mentee, "checkin", "q1", {"due": DUE.isoformat(), "q0": "4"}, "console", DUE, NOON)
    assert repo.end(mentee) is True and loaded not in db  # nothing owed for it
    assert repo.current(mentee) is None and repo.get(mentee) is None and repo.end(mentee) is False


def test_whether_a_check_in_may_be_answered_is_one_question(db):
    mentee = _mentee(db)
    repo = CheckinRepo(db)
    assert repo.answerable(mentee, DUE) == (False, None)  # no mentor, no check-in
    db.add(Checkin(mentee_id=mentee, due_at=DUE, questions=QUESTIONS, prompted_at=DUE))
    eligible, row = CheckinRepo(db).answerable(mentee, DUE)
    assert eligible is False and row == CheckinRepo(db).row_at(mentee, DUE) and row is not None and row.status == PROMPTED
