"""Matching's scoring: daytime overlap across time zones, the fit of one mentee with one
mentor in integer points, and the reason line people read (``explain``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chatbot.i18n import ENGLISH, Language
from chatbot.domain.matching.model import (
    DAY_END, DAY_START, DEFAULT_WEIGHTS, REFERENCE_DATE, _DAY, _REASON_SKILLS, _SCALE,
    MenteeProfile, MentorProfile, Suggestion, Weights,
)


# --------------------------------------------------------------------------- time zones


@lru_cache(maxsize=8192)
def _norm(text: str) -> str:
    """Names compare case- and space-insensitively ("EN " is "en"); cached, as the same
    skill titles and language codes recur across a whole cohort."""
    return text.strip().casefold()


@lru_cache(maxsize=None)
def utc_offset_minutes(tz: str, on: date = REFERENCE_DATE) -> int:
    """The zone's UTC offset at local noon on ``on``; ValueError for an unknown zone."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown timezone {tz!r}") from exc
    offset = datetime.combine(on, time(12), tzinfo=zone).utcoffset()
    assert offset is not None
    return int(offset.total_seconds()) // 60


def _overlap_of_offsets(offset_a: int, offset_b: int) -> int:
    """Minutes a day in which both local daytimes coincide.

    Daytimes recur daily, so the windows are arcs on a 24 h circle: Tokyo's morning meets Los
    Angeles' previous afternoon. Summing over shifts of one day handles the wrap-around.
    """
    a0, a1 = DAY_START - offset_a, DAY_END - offset_a
    b0, b1 = DAY_START - offset_b, DAY_END - offset_b
    return sum(max(0, min(a1, b1 + k) - max(a0, b0 + k)) for k in (-_DAY, 0, _DAY))


@lru_cache(maxsize=4096)
def daytime_overlap_minutes(tz_a: str | None, tz_b: str | None, on: date = REFERENCE_DATE) -> int:
    """Shared daytime of two IANA zones on ``on``, in minutes (0 if either is unknown).

    Cached per pair: cohorts share few zones, and each pair is asked for many times.
    """
    if tz_a is None or tz_b is None:
        return 0
    return _overlap_of_offsets(utc_offset_minutes(tz_a, on), utc_offset_minutes(tz_b, on))


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class _Points:
    """The weights in integer thousandths of a point."""

    interest: int
    weak: int
    role: int
    daytime: int
    spread: int

    @classmethod
    def of(cls, w: Weights) -> _Points:
        return cls(*(round(x * _SCALE) for x in (w.interest, w.weak_skill, w.role_focus, w.daytime_overlap, w.spread)))

    def for_overlap(self, minutes: int) -> int:
        return round(self.daytime * minutes / (DAY_END - DAY_START))

    def penalty(self, load: int, capacity: int) -> int:
        return round(self.spread * load / capacity) if capacity > 0 else self.spread


@dataclass(frozen=True)
class _MenteeView:
    """A mentee with names normalised. ``wanted`` excludes ``weak`` (weak ones score higher)."""

    track: str
    languages: frozenset[str]
    role: str
    wanted: frozenset[str]
    weak: frozenset[str]

    @classmethod
    def of(cls, m: MenteeProfile) -> _MenteeView:
        weak = frozenset(map(_norm, m.weak_skills)) - {""}
        wanted = frozenset(map(_norm, (*m.interests, m.role_focus))) - weak - {""}
        return cls(_norm(m.track), frozenset(map(_norm, m.languages)) - {""}, _norm(m.role_focus), wanted, weak)


def _spellings(m: MenteeProfile) -> dict[str, str]:
    """Normalised name -> the mentee's own spelling, for the reason line."""
    spelt: dict[str, str] = {}
    for name in sorted(m.weak_skills) + sorted(m.interests) + [m.role_focus]:
        spelt.setdefault(_norm(name), name.strip())
    return spelt


@dataclass(frozen=True)
class _MentorView:
    tracks: frozenset[str]
    languages: frozenset[str]
    role: str
    teaches: frozenset[str]

    @classmethod
    def of(cls, m: MentorProfile) -> _MentorView:
        return cls(
            frozenset(map(_norm, m.tracks)),
            frozenset(map(_norm, m.languages)) - {""},
            _norm(m.role_focus),
            frozenset(map(_norm, m.teaches)) - {""},
        )


def _fit_points(e: _MenteeView, r: _MentorView, pts: _Points, overlap: int) -> int:
    """The fit of one pair, by sets: the reference that ``_Assignment._rank`` must agree with."""
    same_role = bool(e.role) and e.role == r.role
    return (
        pts.interest * len(e.wanted & r.teaches)
        + pts.weak * len(e.weak & r.teaches)
        + (pts.role if same_role else 0)
        + pts.for_overlap(overlap)
    )


@lru_cache(maxsize=256)
def _hours(lang: Language, minutes: int) -> str:
    """Hours as the language writes numbers ("6.5", "6,5"); cached, as formatting a number
    with Babel costs far more than a run's few distinct overlaps."""
    return lang.number(minutes / 60)


def _shared_skills(named: list[str], lang: Language) -> str:
    """The reason line's skills: the first few, then how many more."""
    shown = ", ".join(named[:_REASON_SKILLS])
    more = len(named) - _REASON_SKILLS
    if more > 0:
        return lang.ngettext("shares {skills} and {n} more", "shares {skills} and {n} more", more, skills=shown)
    return lang._("shares {skills}", skills=shown)


def _suggestion(
    mentee: MenteeProfile, e: _MenteeView, mentor: MentorProfile, r: _MentorView, pts: _Points, overlap: int,
    lang: Language = ENGLISH,
) -> Suggestion:
    """The suggestion with its reason line in ``lang``: clauses a reader can take one by one,
    each a whole phrase for the translator, joined by semicolons."""
    spelt = _spellings(mentee)
    weak = sorted((spelt[n] for n in e.weak & r.teaches), key=str.casefold)
    other = sorted((spelt[n] for n in e.wanted & r.teaches), key=str.casefold)
    languages = tuple(sorted(e.languages & r.languages))
    parts = []
    named = [lang._("{skill} (weak spot)", skill=s) for s in weak] + other
    if named:
        parts.append(_shared_skills(named, lang))
    if e.role and e.role == r.role:
        parts.append(lang._("same role focus: {focus}", focus=spelt[e.role]))
    if languages:
        parts.append(lang._("both speak {languages}", languages=", ".join(languages)))
    if mentee.timezone is None or mentor.timezone is None:
        parts.append(lang._("daytime overlap unknown"))
    elif overlap:
        parts.append(lang._("{hours} h of overlapping daytime", hours=_hours(lang, overlap)))
    else:
        parts.append(lang._("no overlapping daytime"))
    return Suggestion(
        mentee_id=mentee.id,
        mentor_id=mentor.id,
        score=_fit_points(e, r, pts, overlap) / _SCALE,
        shared_skills=tuple(weak + other),
        shared_languages=languages,
        overlap_hours=overlap / 60,
        reason="; ".join(parts),
        weak_skills_covered=tuple(weak),
    )


def explain(
    mentee: MenteeProfile,
    mentor: MentorProfile,
    *,
    weights: Weights = DEFAULT_WEIGHTS,
    reference_date: date = REFERENCE_DATE,
    lang: Language = ENGLISH,
) -> Suggestion:
    """The score and reason line (in ``lang``) of any pair, allowed or not (for "why this mentor?").

    :func:`suggest_matches` builds its suggestions with this same code, so the two agree.
    """
    overlap = daytime_overlap_minutes(mentee.timezone, mentor.timezone, reference_date)
    return _suggestion(mentee, _MenteeView.of(mentee), mentor, _MentorView.of(mentor), _Points.of(weights), overlap, lang)


