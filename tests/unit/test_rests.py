"""Which jobs rest (chatbot/rests.py): until the time they gave, never once the clock went back,
and never after something happened."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chatbot.rests import Rests

NOON = datetime(2027, 1, 4, 12, 0, tzinfo=timezone.utc)


def test_a_job_rests_from_its_run_until_the_time_it_gave_and_no_longer():
    rests = Rests()
    rests.rest("checkins", NOON, NOON + timedelta(hours=3))
    assert rests.resting("checkins", NOON + timedelta(hours=2, minutes=59))
    assert not rests.resting("checkins", NOON + timedelta(hours=3))
    assert not rests.resting("feedback", NOON)


def test_a_clock_set_back_before_the_rest_began_wakes_the_job():
    rests = Rests()
    rests.rest("checkins", NOON, NOON + timedelta(hours=3))
    assert not rests.resting("checkins", NOON - timedelta(minutes=1))


def test_a_time_past_or_none_leaves_the_job_awake():
    rests = Rests()
    rests.rest("checkins", NOON, NOON + timedelta(hours=3))
    rests.rest("checkins", NOON, NOON)
    assert not rests.resting("checkins", NOON)
    rests.rest("feedback", NOON, None)
    assert not rests.resting("feedback", NOON)


def test_a_new_message_recorded_wakes_every_job_and_the_same_one_does_not():
    rests = Rests()
    rests.note_last_recorded(7)
    rests.rest("checkins", NOON, NOON + timedelta(hours=3))
    rests.note_last_recorded(7)
    assert rests.resting("checkins", NOON)
    rests.note_last_recorded(8)
    assert not rests.resting("checkins", NOON)
