"""Weekly schedules in local time: what a mentee in any timezone would notice if it went wrong."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.domain.recurrence import (
    DAY_NAMES,
    DEFAULT_CHECKIN,
    WeeklySchedule,
    format_schedule,
    next_occurrence,
    occurrences,
    parse_schedule,
    previous_occurrence,
)

UTC = timezone.utc
ZONES = sorted(available_timezones())
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold)


def local_week_span(tz: str, monday: date, weeks: int) -> tuple[datetime, datetime]:
    """From local Monday 00:00 to local Monday 00:00 ``weeks`` later (midnight exists in these zones)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(monday, time(0), tzinfo=zone)
    return start, start + timedelta(weeks=weeks)


# --------------------------------------------------------------------------- a month across DST

# (zone, a DST change in 2025); Kolkata has none, so it shows nothing moves where nothing should
DST_CHANGES = [
    ("America/Los_Angeles", date(2025, 3, 9)),  # spring forward
    ("America/Los_Angeles", date(2025, 11, 2)),  # fall back
    ("Europe/Berlin", date(2025, 3, 30)),
    ("Europe/Berlin", date(2025, 10, 26)),
    ("Pacific/Auckland", date(2025, 4, 6)),  # southern hemisphere: DST ends in April
    ("Pacific/Auckland", date(2025, 9, 28)),
    ("Asia/Kolkata", date(2025, 3, 30)),
]


@pytest.mark.parametrize(("tz", "change"), DST_CHANGES)
def test_default_checkins_stay_at_ten_local_for_a_month_across_dst(tz: str, change: date) -> None:
    schedule = parse_schedule(DEFAULT_CHECKIN, tz)
    monday = change - timedelta(days=change.weekday() + 14)
    start, end = local_week_span(tz, monday, weeks=5)

    got = occurrences(schedule, start, end)

    zone = ZoneInfo(tz)
    local_times = [t.astimezone(zone) for t in got]
    weeks = Counter(lt.isocalendar()[:2] for lt in local_times)
    assert len(weeks) == 5 and set(weeks.values()) == {2}
    assert {lt.strftime("%a %H:%M") for lt in local_times} == {"Mon 10:00", "Thu 10:00"}
    assert all(t.tzinfo is UTC for t in got)
    utc_hours = {t.strftime("%H:%M") for t in got}
    if tz == "Asia/Kolkata":
        assert utc_hours == {"04:30"}
    else:  # the check-in moved in UTC so that it could stay put locally
        assert len(utc_hours) == 2


def test_berlin_spring_gap_moves_0230_to_0330_once() -> None:
    schedule = parse_schedule("sun 02:30", "Europe/Berlin")  # 2025-03-30 02:00 -> 03:00
    got = occurrences(schedule, utc(2025, 3, 22), utc(2025, 4, 7))
    assert got == [
        local("Europe/Berlin", 2025, 3, 23, 2, 30).astimezone(UTC),
        utc(2025, 3, 30, 1, 30),  # 03:30 CEST: 02:30 moved forward by the hour that did not exist
        local("Europe/Berlin", 2025, 4, 6, 2, 30).astimezone(UTC),
    ]
    assert got[1].astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M %Z") == "03:30 CEST"


@pytest.mark.parametrize(
    ("tz", "day", "at", "expected_utc", "expected_local"),
    [
        # spring forward 02:00 -> 03:00: the missing 02:30 moves forward by the missing hour
        ("America/Los_Angeles", date(2025, 3, 9), "02:30", time(10, 30), "03:30 PDT"),
        ("Europe/Berlin", date(2025, 3, 30), "02:30", time(1, 30), "03:30 CEST"),
        # fall back: an hour that happens twice yields its first occurrence only
        ("Europe/Berlin", date(2025, 10, 26), "02:30", time(0, 30), "02:30 CEST"),
        ("America/Los_Angeles", date(2025, 11, 2), "01:30", time(8, 30), "01:30 PDT"),
        ("America/Los_Angeles", date(2025, 11, 2), "02:30", time(10, 30), "02:30 PST"),  # once here
    ],
)
def test_on_the_transition_day_exactly_one_occurrence(
    tz: str, day: date, at: str, expected_utc: time, expected_local: str
) -> None:
    schedule = parse_schedule(f"sun {at}", tz)
    midnight_utc = datetime.combine(day, time(0), tzinfo=UTC)
    got = occurrences(schedule, midnight_utc - timedelta(days=1), midnight_utc + timedelta(days=2))
    assert got == [datetime.combine(day, expected_utc, tzinfo=UTC)]
    assert got[0].astimezone(ZoneInfo(tz)).strftime("%H:%M %Z") == expected_local


def test_a_skipped_calendar_day_still_gets_its_occurrence() -> None:
    # Samoa skipped Friday 2011-12-30 when it moved across the date line.
    friday = parse_schedule("fri 10:00", "Pacific/Apia")
    got = occurrences(friday, utc(2011, 12, 20), utc(2012, 1, 10))
    assert [t.astimezone(friday.zone).strftime("%a %d %H:%M") for t in got] == [
        "Fri 23 10:00",
        "Sat 31 10:00",  # Friday the 30th did not exist; shifted by the day that went missing
        "Fri 06 10:00",
    ]
    from_saturday = occurrences(friday, local("Pacific/Apia", 2011, 12, 31, 0, 0), utc(2012, 1, 1))
    assert from_saturday == [got[1]]  # found from the day it lands on, too
    both = parse_schedule("fri,sat 10:00", "Pacific/Apia")  # the two land on one instant: once
    assert len(occurrences(both, utc(2011, 12, 29), utc(2012, 1, 1))) == 1


def test_a_gap_across_midnight_moves_the_occurrence_into_the_next_day() -> None:
    # Nuuk springs forward from Saturday 23:00 to Sunday 00:00.
    schedule = parse_schedule("sat 23:30", "America/Nuuk")
    bounds = (utc(2025, 3, 29), utc(2025, 3, 31))
    got = occurrences(schedule, *bounds)
    assert [t.astimezone(schedule.zone).strftime("%a %H:%M") for t in got] == ["Sun 00:30"]
    sunday = local("America/Nuuk", 2025, 3, 30, 0, 0)
    assert occurrences(schedule, sunday, sunday + timedelta(hours=1)) == got
    # a holiday is the day the occurrence actually happens on
    assert occurrences(schedule, *bounds, skip_dates={date(2025, 3, 30)}) == []
    assert occurrences(schedule, *bounds, skip_dates={date(2025, 3, 29)}) == got


def test_a_fall_back_across_midnight_neither_doubles_nor_hides_the_next_day() -> None:
    # Casey went from +11 to +8 at 02:00 on Friday 2010-03-05: 23:00 Thursday came round again.
    schedule = parse_schedule("fri 00:30", "Antarctica/Casey")
    first_friday_0030 = utc(2010, 3, 4, 13, 30)  # 00:30 +11
    thursday_night_again = local("Antarctica/Casey", 2010, 3, 4, 23, 45, fold=1)  # +8
    assert occurrences(schedule, utc(2010, 3, 1), thursday_night_again) == [first_friday_0030]
    assert occurrences(schedule, utc(2010, 3, 1), utc(2010, 3, 8)) == [first_friday_0030]


def test_occurrences_accept_any_aware_bounds_and_return_utc() -> None:
    schedule = parse_schedule("mon 10:00", "Europe/Berlin")
    start = local("Asia/Tokyo", 2025, 6, 2, 17, 0)  # 10:00 Berlin == 17:00 Tokyo: included
    got = occurrences(schedule, start, start + timedelta(weeks=2))
    assert got == [utc(2025, 6, 2, 8), utc(2025, 6, 9, 8)]
    assert all(t.tzinfo is UTC for t in got)
    assert occurrences(schedule, got[0] + timedelta(microseconds=1), got[1]) == []  # end excluded


# --------------------------------------------------------------------------- next / previous / skip


def test_next_is_strictly_after_and_previous_is_at_or_before() -> None:
    schedule = parse_schedule(DEFAULT_CHECKIN, "Europe/Berlin")
    monday = utc(2025, 6, 2, 8)  # Monday 10:00 CEST
    assert next_occurrence(schedule, monday) == utc(2025, 6, 5, 8)  # Thursday
    assert next_occurrence(schedule, monday - timedelta(microseconds=1)) == monday
    assert previous_occurrence(schedule, monday) == monday
    assert previous_occurrence(schedule, monday - timedelta(microseconds=1)) == utc(2025, 5, 29, 8)


def test_programme_holidays_drop_exactly_those_check_ins() -> None:
    schedule = parse_schedule(DEFAULT_CHECKIN, "America/Los_Angeles")
    june = (utc(2025, 6, 1), utc(2025, 7, 1))
    holidays = {date(2025, 6, 19), date(2025, 6, 20)}  # Thursday and Friday off
    all_june = occurrences(schedule, *june)
    kept = occurrences(schedule, *june, skip_dates=holidays)
    assert [t for t in all_june if t not in kept] == [utc(2025, 6, 19, 17)]
    assert next_occurrence(schedule, utc(2025, 6, 17), holidays) == utc(2025, 6, 23, 17)
    assert previous_occurrence(schedule, utc(2025, 6, 22), holidays) == utc(2025, 6, 16, 17)


def test_a_long_break_is_jumped_over() -> None:
    schedule = parse_schedule(DEFAULT_CHECKIN, "Asia/Kolkata")
    summer = {date(2025, 7, 1) + timedelta(days=i) for i in range(60)}
    assert next_occurrence(schedule, utc(2025, 6, 30, 5), summer) == utc(2025, 9, 1, 4, 30)
    assert previous_occurrence(schedule, utc(2025, 8, 29), summer) == utc(2025, 6, 30, 4, 30)


def test_naive_datetimes_and_datetime_skip_dates_are_refused() -> None:
    schedule = parse_schedule(DEFAULT_CHECKIN, "UTC")
    naive = datetime(2025, 6, 1)
    with pytest.raises(ValueError, match="start is a naive datetime"):
        occurrences(schedule, naive, utc(2025, 7, 1))
    with pytest.raises(ValueError, match="end is a naive datetime"):
        occurrences(schedule, utc(2025, 6, 1), naive)
    with pytest.raises(ValueError, match="naive"):
        next_occurrence(schedule, naive)
    with pytest.raises(ValueError, match="naive"):
        previous_occurrence(schedule, naive)
    with pytest.raises(ValueError, match="calendar dates"):  # would otherwise silently not skip
        occurrences(schedule, utc(2025, 6, 1), utc(2025, 7, 1), skip_dates=[utc(2025, 6, 2)])


# --------------------------------------------------------------------------- the schedule value


def test_schedule_normalises_days_and_zone_spelling() -> None:
    s = WeeklySchedule((3, 0, 3), time(10, 0), "europe/berlin")
    assert s == WeeklySchedule((0, 3), time(10, 0), "Europe/Berlin")
    assert s.days == (0, 3) and s.tz == "Europe/Berlin"
    assert hash(s) == hash(WeeklySchedule((0, 3), time(10, 0), "Europe/Berlin"))


@pytest.mark.parametrize(
    ("days", "at", "tz", "message"),
    [
        ((), time(10), "UTC", "at least one day"),
        ((7,), time(10), "UTC", "not a weekday number"),
        ((True,), time(10), "UTC", "not a weekday number"),
        ((0,), time(10, tzinfo=UTC), "UTC", "without a timezone"),
        ((0,), time(10, 0, 0, 5), "UTC", "whole number of seconds"),
        ((0,), time(10), "Mars/Olympus", "not a timezone name"),
    ],
)
def test_invalid_schedules_say_what_is_wrong(days, at, tz, message) -> None:
    with pytest.raises(ValueError, match=message):
        WeeklySchedule(days, at, tz)


@pytest.mark.parametrize(
    ("text", "days", "at"),
    [
        ("tue,fri 18:30", (1, 4), time(18, 30)),
        ("mon,thu 10:00", (0, 3), time(10, 0)),
        ("Tue Fri 18:30", (1, 4), time(18, 30)),
        ("monday,thursday 9:00", (0, 3), time(9, 0)),
        ("MONDAYS and Thursdays at 9:00", (0, 3), time(9, 0)),
        ("every tuesday and friday at 6:30 p.m.", (1, 4), time(18, 30)),
        ("thu, tue, thu 07:05", (1, 3), time(7, 5)),  # duplicates are fine
        ("18:30 tu fr", (1, 4), time(18, 30)),
        ("mon-fri 9am", (0, 1, 2, 3, 4), time(9, 0)),
        ("fri to mon 12pm", (0, 4, 5, 6), time(12, 0)),  # ranges wrap over the weekend
        ("weekends 12am", (5, 6), time(0, 0)),
        ("every day at noon", tuple(range(7)), time(12, 0)),
        ("weds 23:59:30", (2,), time(23, 59, 30)),
    ],
)
def test_parse_schedule_reads_what_people_type(text: str, days: tuple[int, ...], at: time) -> None:
    assert parse_schedule(text, "Europe/Berlin") == WeeklySchedule(days, at, "Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "say which days"),
        ("mon,thu", "no time given"),
        ("10:00", "no days given"),
        ("mon 10", "not a clear time: write 10:00 or 10am"),
        ("mon 24:00", "'24:00' is not a time of day"),
        ("mon 9:75", "'9:75' is not a time of day"),
        ("mon 13pm", "'13pm' is not a time of day"),
        ("mon 10:00 18:00", "more than one time"),
        ("mon,funday 10:00", "unknown day 'funday'"),
        ("t 10:00", "too short for a day"),
        ("mon- 10:00", "not a range of days"),
        ("mon 10:00 (Mars/Olympus)", "not a timezone name"),
    ],
)
def test_parse_schedule_explains_bad_input(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_schedule(text, "UTC")


def test_format_schedule_is_short_and_reads_back() -> None:
    s = parse_schedule("fri, tue 18:30", "Europe/Berlin")
    assert format_schedule(s) == "Tue, Fri at 18:30 (Europe/Berlin)" == str(s)
    assert parse_schedule(format_schedule(s), "UTC") == s  # the zone written in it wins


# --------------------------------------------------------------------------- properties

zones = st.sampled_from(ZONES)
weekday_sets = st.frozensets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s)))
local_times = st.times().map(lambda t: t.replace(microsecond=0))


def schedules() -> st.SearchStrategy[WeeklySchedule]:
    return st.builds(WeeklySchedule, weekday_sets, local_times, zones)


def spans(first_year: int, min_days: int = 0) -> st.SearchStrategy[tuple[datetime, datetime]]:
    starts = st.datetimes(datetime(first_year, 1, 1), datetime(2037, 12, 31), timezones=st.just(UTC))
    lengths = st.timedeltas(timedelta(days=min_days), timedelta(days=60))
    return st.tuples(starts, lengths).map(lambda p: (p[0], p[0] + p[1]))


def wall_time_exists(day: date, at: time, zone: ZoneInfo) -> bool:
    wall = datetime.combine(day, at)
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


@PROPERTY
@given(schedules(), spans(1970))
def test_property_every_scheduled_day_once_at_its_time(schedule: WeeklySchedule, span) -> None:
    """Over all zones and 1970-2037: in range, strictly increasing, each at the scheduled local
    time on a scheduled weekday unless that wall time did not exist, never doubled."""
    start, end = span
    zone = schedule.zone
    got = occurrences(schedule, start, end)

    assert all(t.tzinfo is UTC and start <= t < end for t in got)
    assert all(a < b for a, b in zip(got, got[1:]))
    walls = [t.astimezone(zone).replace(tzinfo=None) for t in got]
    assert len(set(walls)) == len(walls)  # an overlap hour never yields the same wall time twice
    if len(schedule.days) == 1:
        assert len({w.date() for w in walls}) == len(walls)  # at most one a local day
    for t, wall in zip(got, walls):
        if wall.time() == schedule.at:
            assert wall.weekday() in schedule.days
        else:  # only when the wall time fell in a gap, and then at most a day later
            nominal = [
                d
                for d in (wall.date(), wall.date() - timedelta(days=1))
                if d.weekday() in schedule.days and not wall_time_exists(d, schedule.at, zone)
            ]
            assert nominal, f"{t} is at {wall}, not at {schedule.at}, yet no gap explains it"
            assert any(
                timedelta(0) < wall - datetime.combine(d, schedule.at) <= timedelta(days=1) for d in nominal
            )
    # nothing skipped: every scheduled local date whose moment lies in range is there
    day = start.astimezone(zone).date() - timedelta(days=1)
    while day <= end.astimezone(zone).date():
        if day.weekday() in schedule.days:
            moment = datetime.combine(day, schedule.at, tzinfo=zone).astimezone(UTC)
            if start <= moment < end:
                assert moment in got
        day += timedelta(days=1)


@PROPERTY
@given(schedules(), spans(2012, min_days=18))
def test_property_len_days_occurrences_in_every_full_local_week(schedule: WeeklySchedule, span) -> None:
    """Since 2012 (after the last date-line jump) every full local week has one per day."""
    start, end = span
    zone = schedule.zone
    got = occurrences(schedule, start, end)
    per_week = Counter(t.astimezone(zone).date().isocalendar()[:2] for t in got)
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    monday = first + timedelta(days=7 - first.weekday())  # first Monday after the first local date
    assert monday + timedelta(days=8) < last, "the span always holds a full week"
    while monday + timedelta(days=8) < last:  # a day of margin each side of the week
        assert per_week[monday.isocalendar()[:2]] == len(schedule.days)
        monday += timedelta(weeks=1)


@PROPERTY
@given(schedules(), spans(1990), st.data())
def test_property_skip_dates_remove_exactly_those(schedule: WeeklySchedule, span, data) -> None:
    start, end = span
    zone = schedule.zone
    every = occurrences(schedule, start, end)
    local_dates = sorted({t.astimezone(zone).date() for t in every})
    skip = set(data.draw(st.lists(st.sampled_from(local_dates), unique=True))) if local_dates else set()
    skip |= data.draw(st.sets(st.dates(date(1990, 1, 1), date(2037, 12, 31)), max_size=3))
    kept = occurrences(schedule, start, end, skip_dates=skip)
    assert kept == [t for t in every if t.astimezone(zone).date() not in skip]


@PROPERTY
@given(schedules(), spans(1990, min_days=1))
def test_property_next_and_previous_agree_with_occurrences(schedule: WeeklySchedule, span) -> None:
    start, end = span
    got = occurrences(schedule, start, end)
    for a, b in zip(got, got[1:]):
        assert next_occurrence(schedule, a) == b
        assert previous_occurrence(schedule, b - timedelta(microseconds=1)) == a
    for t in got:
        assert previous_occurrence(schedule, t) == t
    if got:
        assert next_occurrence(schedule, start - timedelta(microseconds=1)) == got[0]
        assert previous_occurrence(schedule, end - timedelta(microseconds=1)) == got[-1]


@PROPERTY
@given(schedules())
def test_property_format_then_parse_round_trips(schedule: WeeklySchedule) -> None:
    assert parse_schedule(format_schedule(schedule), "UTC") == schedule


@PROPERTY
@given(
    weekday_sets,
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.data(),
)
def test_property_day_spellings_and_clock_styles_parse(days, at: time, data) -> None:
    spellings = []
    for d in days:
        name = DAY_NAMES[d]
        form = data.draw(st.sampled_from([name, name[:2], name[:3], name + "s", name[: 2 + d % 3]]))
        spellings.append(data.draw(st.sampled_from([form, form.lower(), form.upper()])))
    twelve = f"{(at.hour % 12) or 12}:{at.minute:02d}{'pm' if at.hour >= 12 else 'am'}"
    clock = data.draw(st.sampled_from([f"{at:%H:%M}", f"{at.hour}:{at.minute:02d}", twelve]))
    separator = data.draw(st.sampled_from([",", ", ", " ", " and ", "/"]))
    text = f"{separator.join(spellings)} {data.draw(st.sampled_from(['', 'at ']))}{clock}"
    assert parse_schedule(text, "Asia/Kolkata") == WeeklySchedule(days, at, "Asia/Kolkata")
