"""Feedback's pure parts: when windows fall in a round, and reading each answer (an answer must
fit its question, with a clear re-ask when it does not)."""

from __future__ import annotations

from datetime import date

import pytest

from chatbot.config import ConfigError, from_dict
from chatbot.features.feedback.answers import (
    flags_of,
    parse_all,
    parse_contact,
    parse_frequency,
    parse_notes,
    parse_progress,
    parse_risk,
)
from chatbot.features.feedback.dates import parse_window
from chatbot.i18n import ENGLISH

START, END = date(2027, 1, 1), date(2027, 3, 31)
TODAY = date(2027, 1, 14)  # a Thursday


@pytest.mark.parametrize("when,expected", [
    ("week 2", date(2027, 1, 14)),
    ("midpoint", date(2027, 2, 14)),
    ("last week", date(2027, 3, 25)),
    ("start+20d", date(2027, 1, 21)),
    ("end - 10 days", date(2027, 3, 21)),
    ("2027-02-15", date(2027, 2, 15)),
    ("week 30", END),  # past the round: its last day
    ("2026-12-01", START),
])
def test_a_window_falls_on_its_date_in_the_round(when, expected):
    assert parse_window(f"w: {when}").on(START, END) == expected


def test_the_default_windows_are_week_2_the_midpoint_and_the_last_week():
    windows = from_dict({}).feedback.windows
    assert [parse_window(w).on(START, END) for w in windows] == [date(2027, 1, 14), date(2027, 2, 14), date(2027, 3, 25)]


@pytest.mark.parametrize("windows,problem", [
    (["midpoint"], "'midpoint' is not a window"),
    (["mid: sometime"], "'mid: sometime' is not a window"),
    (["Mid Point: week 2"], "is not a window"),
    (["a: week 2", "a: week 4"], "window names must differ"),
])
def test_a_bad_window_is_the_operators_to_fix(windows, problem):
    with pytest.raises(ConfigError, match=problem):
        from_dict({"feedback": {"windows": windows}})


@pytest.mark.parametrize("setting", [{"answer_within": "0h"}, {"time": "25:00"}, {"reminder_after": "soon"}])
def test_bad_spans_and_hours_are_refused(setting):
    with pytest.raises(ConfigError):
        from_dict({"feedback": setting})


@pytest.mark.parametrize("text,expected", [
    ("2027-01-12", ["2027-01-12", None]),
    ("today", ["2027-01-14", "today"]),
    ("Yesterday.", ["2027-01-13", "yesterday"]),
    ("this week", ["2027-01-11", "this-week"]),
    ("none", [None, "none"]),
    ("not yet", [None, "none"]),
])
def test_last_contact(text, expected):
    assert parse_contact(text, ENGLISH, TODAY) == expected


@pytest.mark.parametrize("text", ["hi", "?", "", "soon", "2027-02-30", "2027-01-15", "12"])
def test_a_last_contact_that_is_not_one_is_asked_again(text):
    with pytest.raises(ValueError):
        parse_contact(text, ENGLISH, TODAY)


@pytest.mark.parametrize("text,expected", [
    ("1", "weekly"), ("weekly", "weekly"), ("every two weeks", "biweekly"), ("2", "biweekly"),
    ("fortnightly", "biweekly"), ("monthly", "monthly"), ("less", "less"), ("5", "not-yet"), ("not yet", "not-yet"),
])
def test_how_often_as_a_word_or_its_number(text, expected):
    assert parse_frequency(text, ENGLISH) == expected


@pytest.mark.parametrize("text", ["6", "0", "hello", "?", "sometimes"])
def test_how_often_refuses_what_is_not_a_choice(text):
    with pytest.raises(ValueError, match="1 weekly, 2 every two weeks, 3 monthly, 4 less often, 5 not yet"):
        parse_frequency(text, ENGLISH)


def test_progress_risk_and_notes():
    assert parse_progress("4/5", ENGLISH) == 4
    with pytest.raises(ValueError):
        parse_progress("great", ENGLISH)
    assert parse_risk("none", ENGLISH) is None and parse_risk("no, all good", ENGLISH) is None
    assert parse_risk("she has exams", ENGLISH) == "she has exams"
    for bare in ("?", "hi", "!!"):
        with pytest.raises(ValueError):
            parse_risk(bare, ENGLISH)
        with pytest.raises(ValueError):
            parse_notes(bare, ENGLISH)
    assert parse_notes("skip", ENGLISH) is None and parse_notes("Going well.", ENGLISH) == "Going well."


def test_every_answer_at_once_as_a_form_sends_them():
    got = parse_all("1. today\n2. 1\n3. 5\n4. none\n5. skip", ENGLISH, TODAY)
    assert got == {"contact": ["2027-01-14", "today"], "often": "weekly", "progress": 5, "risk": None, "notes": None}
    with pytest.raises(ValueError, match="Answer 3"):
        parse_all("1. today\n2. 1\n3. great\n4. none\n5. skip", ENGLISH, TODAY)
    assert parse_all("1. today", ENGLISH, TODAY) is None


def test_what_flags_an_answer():
    assert flags_of(None, None, TODAY, 14).any
    assert not flags_of(date(2027, 1, 1), None, TODAY, 14).any  # 13 days
    assert flags_of(date(2026, 12, 31), None, TODAY, 14).days_since == 14
    assert flags_of(date(2026, 12, 31), None, TODAY, 14).stale
    assert flags_of(TODAY, "exams", TODAY, 14).any
