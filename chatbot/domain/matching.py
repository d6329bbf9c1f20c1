"""Mentor–mentee matchmaking: a pure function from plain profiles to suggested pairs.

Why a pure function: the rules (hard constraints, scoring, tie-breaking) are the part of the
programme people argue about, so they live here with no database, clock or engine around them,
and can be tested exhaustively and benchmarked on their own. The feature module loads the
profiles, calls :func:`suggest_matches` and stores or announces what comes back.

Hard constraints (a pair that breaks one is never suggested):
  * the mentee's track is one of the mentor's tracks;
  * they share a language;
  * the mentor is accepting, not away, and has a free slot (``capacity - load``), never exceeded;
  * the pair is not in ``previous_pairs`` (no repeat from an earlier round).

Among the pairs allowed, the result matches as many mentees as possible (a maximum-cardinality
assignment), and prefers well-scoring pairs:
  1. global greedy by score: repeatedly take the best remaining (mentee, mentor) pair, where the
     score is the pair's fit minus a small penalty growing with the mentor's load, re-evaluated
     lazily as loads change (so load spreads across mentors "a little");
  2. augmenting paths (capacitated Kuhn with BFS) from each mentee greedy left unmatched. An
     augmentation only moves already-matched mentees to other mentors, never unmatches one, and
     when no augmenting path exists from any unmatched mentee the assignment is maximum (Berge).
The weighted optimum is not sought; that would be a min-cost flow, far slower in Python.

Fit score, in points (see :class:`Weights`): each skill the mentee wants (an interest, or their
role focus) that the mentor teaches; each skill the mentee self-assessed low (0-1) that the
mentor teaches, weighted higher; the same role focus; and the overlap of daytime (09:00-21:00
local for both) on a fixed reference date, so the result does not depend on when it runs.

Speed (bench/bench_matching.py): names are normalised and interned once; a mentee is scored
against all open mentors of its track at once with packed big-int vectors (see _Track), so
the Python work per mentee does not grow with mentors times skills; mentees with identical
profiles ("twins") share one ranking; rankings are heaps, sorted only as far as the greedy
phase reads them. Scores are integers (thousandths of a point), so ties are exact and go to
the lower id. Inputs are sorted by id first, so the output does not depend on input order.
"""

from __future__ import annotations

import heapq
import sys
from array import array
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from itertools import chain, compress
from operator import attrgetter
from typing import Collection, Iterable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chatbot.i18n import ENGLISH, Language

__all__ = [
    "ALREADY_PAIRED", "DAY_END", "DAY_START", "DEFAULT_WEIGHTS", "NO_CAPACITY", "NO_LANGUAGE", "NO_OPEN_MENTOR",
    "NO_TRACK", "REFERENCE_DATE", "MatchResult", "MenteeProfile", "MentorProfile", "Suggestion", "Unmatched",
    "Weights", "daytime_overlap_minutes", "explain", "suggest_matches", "utc_offset_minutes",
]

#: The day on which UTC offsets are read, so daylight saving time never makes a run differ.
REFERENCE_DATE = date(2025, 1, 15)
#: Daytime, local, in minutes after midnight: when both sides can reasonably meet.
DAY_START = 9 * 60
DAY_END = 21 * 60
_DAY = 24 * 60
#: Scores are computed in integer thousandths of a point, so equal scores are exactly equal.
_SCALE = 1000
#: A twin's candidates come off a heap one by one this many times, then the rest are sorted.
_POPS_BEFORE_SORT = 32
#: How many shared skills the reason line names before "and N more".
_REASON_SKILLS = 4

UnmatchedCode = str  # one of the five constants below
NO_TRACK = "no_track"
NO_LANGUAGE = "no_shared_language"
NO_OPEN_MENTOR = "no_open_mentor"
ALREADY_PAIRED = "already_paired"
NO_CAPACITY = "no_capacity"


# --------------------------------------------------------------------------- data in / out


@dataclass(frozen=True)
class MenteeProfile:
    """What matching needs to know about one mentee in this round.

    ``interests`` are skill titles or areas they want to work on; ``weak_skills`` are skills
    they self-assessed 0-1 (may be empty). ``timezone`` is an IANA name, or ``None`` when
    unknown (then the pair simply earns no daytime-overlap points).
    """

    id: int
    track: str
    languages: frozenset[str]
    timezone: str | None
    role_focus: str = ""
    interests: frozenset[str] = frozenset()
    weak_skills: frozenset[str] = frozenset()


@dataclass(frozen=True)
class MentorProfile:
    """What matching needs to know about one mentor in this round.

    ``load`` counts the mentees already assigned this round; ``teaches`` the skills they can
    teach (self-assessed 2-3). ``accepting`` is "open for new mentees"; ``away`` a pause.
    """

    id: int
    tracks: frozenset[str]
    languages: frozenset[str]
    timezone: str | None
    capacity: int
    load: int = 0
    teaches: frozenset[str] = frozenset()
    role_focus: str = ""
    accepting: bool = True
    away: bool = False

    @property
    def free_slots(self) -> int:
        """Mentees this mentor may still take in this run (0 when closed or away)."""
        if not self.accepting or self.away:
            return 0
        return max(0, self.capacity - self.load)


@dataclass(frozen=True)
class Weights:
    """Points of the fit score, counted in thousandths (finer values are rounded).

    All must be >= 0: the lazy greedy relies on penalties only ever lowering a score.

    ``daytime_overlap`` is earned in full at 12 h of shared daytime, pro rata below;
    ``spread`` is the penalty at a fully loaded mentor, pro rata to load / capacity.
    """

    interest: float = 1.0
    weak_skill: float = 2.0
    role_focus: float = 1.5
    daytime_overlap: float = 1.0
    spread: float = 0.5

    def __post_init__(self) -> None:
        for name in ("interest", "weak_skill", "role_focus", "daytime_overlap", "spread"):
            if getattr(self, name) < 0:
                raise ValueError(f"weight {name} must be >= 0")


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True)
class Suggestion:
    """One suggested pair with the reasons a person can read.

    ``score`` is the pair's fit (without the load-spreading penalty, which is about the
    allocation, not the pair). ``shared_skills`` lists the mentee's low-assessed skills the
    mentor teaches first, then the other wanted ones, each alphabetically.
    """

    mentee_id: int
    mentor_id: int
    score: float
    shared_skills: tuple[str, ...]
    shared_languages: tuple[str, ...]
    overlap_hours: float
    reason: str
    weak_skills_covered: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unmatched:
    """A mentee left without a mentor, with why: ``code`` for programs, ``reason`` for people."""

    mentee_id: int
    code: UnmatchedCode
    reason: str


@dataclass(frozen=True)
class MatchResult:
    """Suggestions and unmatched mentees, each sorted by mentee id."""

    suggestions: tuple[Suggestion, ...]
    unmatched: tuple[Unmatched, ...]

    def by_mentee(self) -> dict[int, Suggestion]:
        return {s.mentee_id: s for s in self.suggestions}


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


# --------------------------------------------------------------------------- the assignment


def _require_unique(ids: Sequence[int], kind: str) -> None:
    seen: set[int] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"{kind} id {i} appears twice")
        seen.add(i)


def _offsets(profiles: Iterable[MenteeProfile | MentorProfile], kind: str, on: date, into: dict[str, int]) -> None:
    """Read each zone's offset once, naming the profile when a zone is unknown."""
    for p in profiles:
        if p.timezone is not None and p.timezone not in into:
            try:
                into[p.timezone] = utc_offset_minutes(p.timezone, on)
            except ValueError as exc:
                raise ValueError(f"{kind} {p.id}: {exc}") from None


def _pack(values: Iterable[int]) -> int:
    """Unsigned 64-bit fields into one int, field ``i`` at bits ``64 i`` (see :class:`_Track`)."""
    fields = array("Q", values)
    if sys.byteorder == "big":
        fields.byteswap()
    return int.from_bytes(fields.tobytes(), "little")


def _unpack(vector: int, n: int) -> list[int]:
    fields = array("Q", vector.to_bytes(8 * n, "little"))
    if sys.byteorder == "big":
        fields.byteswap()
    return fields.tolist()


class _Track:
    """The open mentors of one track, and packed vectors for scoring mentees against them.

    A packed vector is one int holding a 64-bit field per mentor, so "every mentor teaching X
    earns a point" is one big-int subtraction done in C, not a Python loop over mentors. Keys
    start at ``(top + initial penalty) * n_mentors + mentor`` and only decrease, to a value
    that stays positive (``top`` exceeds any fit), so no field ever borrows from its neighbour.
    Component vectors are built on first use and shared by all mentees of the track.
    """

    def __init__(self, run: _Assignment, mentors: list[int]) -> None:
        self.run, self.mentors, self.n = run, mentors, len(mentors)
        # The penalty for the load a mentor starts with is known now, so it is in the key, and
        # the greedy phase only corrects for the load it adds (a much narrower scan).
        initial = [run.pts.penalty(run.mentors[m].load, run.mentors[m].capacity) for m in mentors]
        self.base = _pack([(run.top + p) * run.n_mentors + m for p, m in zip(initial, mentors)])
        self._zone_of = [run.mentor_zone[m] for m in mentors]
        self._points: dict[tuple[str, int], int] = {}
        self._sharing: dict[frozenset[str], list[bool]] = {}
        self._position = {m: pos for pos, m in enumerate(mentors)}

    def points(self, what: str, value: int) -> int:
        """The packed points (times n_mentors) each mentor earns from a mentee's ``what``:
        an "interest" or "weak" skill id it teaches, the mentee's "role" id, or "zone"."""
        vector = self._points.get((what, value))
        if vector is None:
            run, nm, pts = self.run, self.run.n_mentors, self.run.pts
            if what == "zone":
                row = [pts.for_overlap(minutes) * nm for minutes in run.overlap[value]]
                fields: Iterable[int] = map(row.__getitem__, self._zone_of)
            elif what == "role":
                fields = [pts.role * nm if run.mentor_role[m] == value else 0 for m in self.mentors]
            else:
                each = (pts.interest if what == "interest" else pts.weak) * nm
                fields = [each if value in run.teach_ids[m] else 0 for m in self.mentors]
            vector = self._points[(what, value)] = _pack(fields)
        return vector

    def sharing(self, languages: frozenset[str]) -> list[bool]:
        """Which mentors share one of ``languages``."""
        if languages not in self._sharing:
            ors = self.run.ors
            self._sharing[languages] = [not languages.isdisjoint(ors[m].languages) for m in self.mentors]
        return self._sharing[languages]

    def keys(
        self,
        languages: frozenset[str],
        zone: int,
        role: int,
        wanted: Iterable[int],
        weak: Iterable[int],
        previous: frozenset[int],
    ) -> list[int]:
        """Keys (see :class:`_Assignment`) of the mentors sharing a language and not paired
        with the mentee before, unsorted."""
        vector = self.base - self.points("zone", zone)
        if role >= 0:
            vector -= self.points("role", role)
        for s in wanted:
            vector -= self.points("interest", s)
        for s in weak:
            vector -= self.points("weak", s)
        allowed = self.sharing(languages)
        if previous:
            allowed = allowed[:]
            for m in previous:
                if m in self._position:
                    allowed[self._position[m]] = False
        return list(compress(_unpack(vector, self.n), allowed))


class _Assignment:
    """The working state of one run; mentees and mentors are referred to by position in id order.

    A twin's candidates are int keys ``(top - score) * n_mentors + mentor``, where score is
    the fit minus the penalty for the mentor's initial load: one int orders by score
    descending then mentor id, and decodes with ``divmod``. They are kept as a sorted
    prefix (``ranked``) and a heap of the rest (``pending``), popped onto the prefix only as
    the greedy phase reaches them: most twins never need more than a few, so sorting every
    candidate list in full would be wasted.
    """

    def __init__(
        self,
        mentees: list[MenteeProfile],
        mentors: list[MentorProfile],
        previous_pairs: Collection[tuple[int, int]],
        pts: _Points,
        on: date,
        lang: Language = ENGLISH,
    ) -> None:
        self.mentees, self.mentors, self.pts, self.lang = mentees, mentors, pts, lang
        self.ees = [_MenteeView.of(m) for m in mentees]
        self.ors = [_MentorView.of(m) for m in mentors]
        self.n_mentors = len(mentors)
        self.slots = [m.free_slots for m in mentors]
        self._intern(on)
        self.previous: dict[int, frozenset[int]] = {}
        mentor_pos = {m.id: i for i, m in enumerate(mentors)}
        mentee_pos = {m.id: i for i, m in enumerate(mentees)}
        for mentee_id, mentor_id in previous_pairs:
            if mentee_id in mentee_pos and mentor_id in mentor_pos:
                e = mentee_pos[mentee_id]
                self.previous[e] = self.previous.get(e, frozenset()) | {mentor_pos[mentor_id]}
        self.twin_of: list[int] = []
        self.twin_group: list[int] = []
        self.group_open: list[int] = []  # per group: how many of its mentors have a free slot
        self.groups_of: list[list[int]] = [[] for _ in mentors]  # per mentor: the groups it is in
        self.twin_has_previous: list[bool] = []
        self.twin_members: list[list[int]] = []
        self.ranked: list[list[int]] = []
        self.pending: list[list[int]] = []
        self._rank()
        self.assigned_to = [-1] * len(mentees)
        self.mentees_of: list[list[int]] = [[] for _ in mentors]
        self._fitting_cache: dict[tuple[str, frozenset[str]], tuple[int, int, frozenset[int]]] = {}

    def _intern(self, on: date) -> None:
        """Skills, zones and roles to small ints; the daytime overlap of every pair of zones."""
        self.skill = {s: i for i, s in enumerate(sorted({s for r in self.ors for s in r.teaches}))}
        zone_offset: dict[str, int] = {}
        _offsets(self.mentors, "mentor", on, zone_offset)
        _offsets(self.mentees, "mentee", on, zone_offset)
        zones = {tz: i for i, tz in enumerate(zone_offset)}
        self.n_zones = len(zones) + 1  # the last one is "unknown": no overlap with anything
        offsets = list(zone_offset.values())
        self.overlap = [[_overlap_of_offsets(a, b) for b in offsets] + [0] for a in offsets]
        self.overlap.append([0] * self.n_zones)
        self.mentor_zone = [zones.get(m.timezone, self.n_zones - 1) for m in self.mentors]  # type: ignore[arg-type]
        self.mentee_zone = [zones.get(m.timezone, self.n_zones - 1) for m in self.mentees]  # type: ignore[arg-type]
        self.roles = {role: i for i, role in enumerate(sorted({r.role for r in self.ors if r.role}))}
        self.mentor_role = [self.roles.get(r.role, -1) for r in self.ors]  # -1: none, matches nobody
        self.by_track: dict[str, list[int]] = {}  # all mentors, ascending, open or not
        for i, r in enumerate(self.ors):
            for track in r.tracks:
                self.by_track.setdefault(track, []).append(i)
        self.teach_ids = [frozenset(self.skill[s] for s in r.teaches) for r in self.ors]
        self.top = (self.pts.interest + self.pts.weak) * len(self.skill) + self.pts.role + self.pts.daytime + 1
        if (self.top + self.pts.spread + 1) * (self.n_mentors + 1) >= 1 << 63:
            raise ValueError("weights too large: keys would not fit in 64 bits")

    def _rank(self) -> None:
        """Sort every twin's candidates by fit: the one place that scores (mentee, mentor) pairs.

        Twins share a ranking: they are mentees of one group (track and languages: the same
        open mentors) with the same zone, role, wanted and weak skills (as far as anyone
        teaches them) and previous mentors.
        """
        tracks: dict[str, _Track] = {}
        groups: dict[tuple[str, frozenset[str]], int] = {}
        twins: dict[tuple[object, ...], int] = {}
        for e, v in enumerate(self.ees):
            track = tracks.get(v.track)
            if track is None:
                track = tracks[v.track] = _Track(self, [m for m in self.by_track.get(v.track, ()) if self.slots[m] > 0])
            g = groups.get((v.track, v.languages), -1)
            if g < 0:
                g = groups[(v.track, v.languages)] = len(groups)
                members = list(compress(track.mentors, track.sharing(v.languages)))
                self.group_open.append(len(members))
                for m in members:
                    self.groups_of[m].append(g)
            zone, role = self.mentee_zone[e], self.roles.get(v.role, -1)
            wanted = tuple(sorted(self.skill[s] for s in v.wanted if s in self.skill))
            weak = tuple(sorted(self.skill[s] for s in v.weak if s in self.skill))
            prev = self.previous.get(e, frozenset())
            twin_key = (g, zone, role, wanted, weak, prev)
            t = twins.get(twin_key)
            if t is None:
                t = twins[twin_key] = len(self.ranked)
                keys = track.keys(v.languages, zone, role, wanted, weak, prev)
                heapq.heapify(keys)
                self.ranked.append([])
                self.pending.append(keys)
                self.twin_group.append(g)
                self.twin_has_previous.append(bool(prev))
                self.twin_members.append([])
            self.twin_of.append(t)
            self.twin_members[t].append(e)

    # -- phase 1: lazy global greedy ---------------------------------------------------------

    def greedy(self) -> None:
        """Take the best (score - load penalty) pair first; ties by mentee id then mentor id.

        One heap entry per twin, keyed by its best pair's effective score and its next mentee.
        Penalties only grow, so a stale entry over-estimates: on pop, an entry whose mentor's
        load changed since it was computed is re-evaluated instead of taken.
        """
        nm, top, pts, slots = self.n_mentors, self.top, self.pts, self.slots
        load = [m.load for m in self.mentors]
        capacity = [m.capacity for m in self.mentors]
        initial = [pts.penalty(load[i], capacity[i]) for i in range(nm)]  # already in the keys
        extra = [0] * nm  # penalty added since, by this run's assignments
        version = [0] * nm
        start = [0] * len(self.ranked)  # mentors before this are full: skipped for good
        next_member = [0] * len(self.ranked)
        ranked, pending = self.ranked, self.pending

        def more(t: int) -> bool:
            """Move twin ``t``'s next best key(s) onto its sorted prefix; False if none left."""
            rest, keys = pending[t], ranked[t]
            if not rest:
                return False
            if len(keys) < _POPS_BEFORE_SORT:
                keys.append(heapq.heappop(rest))
            else:  # a deep scan (its mentors are filling up): sorting the rest is cheaper
                keys.extend(sorted(rest))
                rest.clear()
            return True

        def best(t: int) -> tuple[int, int] | None:
            """(effective score, mentor) of twin ``t``'s best open pair, ties to the lower id."""
            if not self.group_open[self.twin_group[t]]:
                return None  # every mentor of the group is full: no need to scan
            keys, i = ranked[t], start[t]
            while True:
                while i < len(keys) and not slots[keys[i] % nm]:
                    i += 1
                if i < len(keys) or not more(t):
                    break
            start[t] = i
            best_eff, best_m = 0, -1
            while i < len(keys) or more(t):
                k = keys[i]
                m, score = k % nm, top - k // nm  # fit minus the initial load penalty
                if best_m >= 0 and (score < best_eff or (score == best_eff and m > best_m)):
                    break  # the rest score no better, and added penalties only lower them
                if slots[m]:
                    eff = score - extra[m]
                    if best_m < 0 or eff > best_eff or (eff == best_eff and m < best_m):
                        best_eff, best_m = eff, m
                i += 1
            return (best_eff, best_m) if best_m >= 0 else None

        heap: list[tuple[int, int, int, int, int]] = []
        for t, members in enumerate(self.twin_members):
            b = best(t)
            if b is not None:
                heap.append((-b[0], members[0], b[1], 0, t))
        heapq.heapify(heap)
        while heap:
            _, e, m, seen_version, t = heapq.heappop(heap)
            if seen_version == version[m]:
                self._assign(e, m)
                slots[m] -= 1
                load[m] += 1
                version[m] += 1
                extra[m] = pts.penalty(load[m], capacity[m]) - initial[m]
                if not slots[m]:
                    for g in self.groups_of[m]:
                        self.group_open[g] -= 1
                next_member[t] += 1
                if next_member[t] == len(self.twin_members[t]):
                    continue
                e = self.twin_members[t][next_member[t]]
            b = best(t)
            if b is not None:
                heapq.heappush(heap, (-b[0], e, b[1], version[b[1]], t))

    def _assign(self, e: int, m: int) -> None:
        self.assigned_to[e] = m
        self.mentees_of[m].append(e)

    # -- phase 2: augmenting paths ----------------------------------------------------------

    def augment(self) -> None:
        """Grow the assignment to maximum cardinality; no matched mentee is ever unmatched.

        From each unmatched mentee, a BFS over alternating paths (mentee -> candidate mentor ->
        a mentee already with that mentor -> ...) looks for a mentor with a free slot, then
        shifts each mentee on the path one step. Two facts keep it fast: a failed search's
        mentors are "dead" for good (that region is closed and full, and augmentations never
        enter it), so are the groups a failed search explored in full; and within one search,
        mentees of a group already explored by a mentee with no previous pairs bring no new
        mentors, so they are not explored again.
        """
        nm, slots = self.n_mentors, self.slots
        dead = bytearray(nm)
        failed_groups: set[int] = set()  # every mentor of these is dead: their mentees fail
        for root in range(len(self.mentees)):
            t = self.twin_of[root]
            if self.assigned_to[root] >= 0 or self.twin_group[t] in failed_groups:
                continue
            reached_from: dict[int, int] = {}
            explored_groups: set[int] = set()
            queue = [root]
            free = -1
            for e in queue:  # the queue grows while we walk it: BFS
                t = self.twin_of[e]
                g = self.twin_group[t]
                if g in explored_groups:
                    continue
                if not self.twin_has_previous[t]:
                    explored_groups.add(g)
                for k in chain(self.ranked[t], self.pending[t]):  # roughly best-fitting first
                    m = k % nm
                    if m in reached_from or dead[m]:
                        continue
                    reached_from[m] = e
                    if slots[m]:
                        free = m
                        break
                    queue.extend(self.mentees_of[m])
                if free >= 0:
                    break
            if free < 0:
                for m in reached_from:
                    dead[m] = 1
                failed_groups |= explored_groups  # all their mentors were reached: all dead
                continue
            slots[free] -= 1
            m = free
            while True:
                e = reached_from[m]
                old = self.assigned_to[e]
                self._assign(e, m)
                if old < 0:
                    break
                self.mentees_of[old].remove(e)
                m = old

    # -- output -------------------------------------------------------------------------------

    def result(self) -> MatchResult:
        suggestions = []
        unmatched = []
        for e, m in enumerate(self.assigned_to):
            if m >= 0:
                overlap = self.overlap[self.mentee_zone[e]][self.mentor_zone[m]]
                mentee, mentor = self.mentees[e], self.mentors[m]
                suggestions.append(_suggestion(mentee, self.ees[e], mentor, self.ors[m], self.pts, overlap, self.lang))
            else:
                unmatched.append(self._why_unmatched(e))
        return MatchResult(tuple(suggestions), tuple(unmatched))

    def _why_unmatched(self, e: int) -> Unmatched:
        """The first hard constraint that rules out every mentor, or else capacity."""
        mentee, v, lang = self.mentees[e], self.ees[e], self.lang
        track = mentee.track.strip()
        in_track, speaking, open_ = self._fitting(v.track, v.languages)
        if not in_track:
            return Unmatched(mentee.id, NO_TRACK, lang._("no mentor in track {track}", track=track))
        if not speaking:
            spoken = ", ".join(sorted(v.languages))
            if spoken:
                why = lang._("no mentor in track {track} speaks {languages}", track=track, languages=spoken)
            else:
                why = lang._("no language given")
            return Unmatched(mentee.id, NO_LANGUAGE, why)
        if not open_:
            why = lang.ngettext(
                "no open mentor among the {n} mentor in track {track} with a shared language (away or not accepting)",
                "no open mentor among the {n} mentors in track {track} with a shared language (away or not accepting)",
                speaking, track=track,
            )
            return Unmatched(mentee.id, NO_OPEN_MENTOR, why)
        fresh = len(open_) - sum(1 for m in self.previous.get(e, ()) if m in open_)
        if not fresh:
            why = lang._("already paired in earlier rounds with every open mentor in track {track} with a shared language", track=track)
            return Unmatched(mentee.id, ALREADY_PAIRED, why)
        why = lang.ngettext(
            "no capacity left among the {n} open mentor in track {track} with a shared language",
            "no capacity left among the {n} open mentors in track {track} with a shared language",
            fresh, track=track,
        )
        return Unmatched(mentee.id, NO_CAPACITY, why)

    def _fitting(self, track: str, languages: frozenset[str]) -> tuple[int, int, frozenset[int]]:
        """How many mentors are in the track, how many of those speak a shared language, and
        which of those are open; cached per (track, languages), as unmatched mentees share them."""
        key = (track, languages)
        if key not in self._fitting_cache:
            in_track = self.by_track.get(track, [])
            speaking = [i for i in in_track if not languages.isdisjoint(self.ors[i].languages)]
            open_ = frozenset(i for i in speaking if self.mentors[i].accepting and not self.mentors[i].away)
            self._fitting_cache[key] = (len(in_track), len(speaking), open_)
        return self._fitting_cache[key]


def suggest_matches(
    mentees: Iterable[MenteeProfile],
    mentors: Iterable[MentorProfile],
    previous_pairs: Collection[tuple[int, int]] = frozenset(),
    *,
    weights: Weights = DEFAULT_WEIGHTS,
    reference_date: date = REFERENCE_DATE,
    lang: Language = ENGLISH,
) -> MatchResult:
    """Suggest a mentor for as many mentees as the hard constraints allow, preferring good fits.

    ``previous_pairs`` holds (mentee id, mentor id) pairs from earlier rounds; the reasons are
    written in ``lang`` (the reader's: the function itself knows no one). Raises
    ValueError on duplicate ids or an unknown time zone (naming the profile). The same input,
    in any order, gives the same result.
    """
    ees = sorted(mentees, key=attrgetter("id"))
    ors = sorted(mentors, key=attrgetter("id"))
    _require_unique([m.id for m in ees], "mentee")
    _require_unique([m.id for m in ors], "mentor")
    run = _Assignment(ees, ors, previous_pairs, _Points.of(weights), reference_date, lang)
    run.greedy()
    run.augment()
    return run.result()
