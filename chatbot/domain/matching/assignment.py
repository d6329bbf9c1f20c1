"""Matching's assignment: who gets which mentor, as many mentees as possible (greedy by score,
then augmenting paths), and :func:`suggest_matches`, the package's entry point. The why is in the
package's docstring."""

from __future__ import annotations

import heapq
import sys
from array import array
from datetime import date
from itertools import chain, compress
from operator import attrgetter
from typing import Collection, Iterable, Sequence

from chatbot.i18n import ENGLISH, Language
from chatbot.domain.matching.model import (
    ALREADY_PAIRED, DEFAULT_WEIGHTS, NO_CAPACITY, NO_LANGUAGE, NO_OPEN_MENTOR, NO_TRACK, REFERENCE_DATE,
    _POPS_BEFORE_SORT, MatchResult, MenteeProfile, MentorProfile, Unmatched, Weights,
)
from chatbot.domain.matching.scoring import (
    _MenteeView, _MentorView, _overlap_of_offsets, _Points, _suggestion, utc_offset_minutes,
)


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
        self._extra: list[int] = []  # greedy's: the load penalty each mentor gained in this run
        self._start: list[int] = []  # greedy's: per twin, the mentors before this are full

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
        nm, pts, slots = self.n_mentors, self.pts, self.slots
        load = [m.load for m in self.mentors]
        capacity = [m.capacity for m in self.mentors]
        initial = [pts.penalty(load[i], capacity[i]) for i in range(nm)]  # already in the keys
        self._extra = extra = [0] * nm  # penalty added since, by this run's assignments
        self._start = [0] * len(self.ranked)  # mentors before this are full: skipped for good
        version = [0] * nm
        next_member = [0] * len(self.ranked)
        best = self._best

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

    def _more(self, t: int) -> bool:
        """Move twin ``t``'s next best key(s) onto its sorted prefix; False if none left."""
        rest, keys = self.pending[t], self.ranked[t]
        if not rest:
            return False
        if len(keys) < _POPS_BEFORE_SORT:
            keys.append(heapq.heappop(rest))
        else:  # a deep scan (its mentors are filling up): sorting the rest is cheaper
            keys.extend(sorted(rest))
            rest.clear()
        return True

    def _best(self, t: int) -> tuple[int, int] | None:
        """(effective score, mentor) of twin ``t``'s best open pair, ties to the lower id
        (during :meth:`greedy`, which keeps ``_start`` and ``_extra``)."""
        if not self.group_open[self.twin_group[t]]:
            return None  # every mentor of the group is full: no need to scan
        nm, top, slots, extra, more = self.n_mentors, self.top, self.slots, self._extra, self._more
        keys, i = self.ranked[t], self._start[t]
        while True:
            while i < len(keys) and not slots[keys[i] % nm]:
                i += 1
            if i < len(keys) or not more(t):
                break
        self._start[t] = i
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
        dead = bytearray(self.n_mentors)
        failed_groups: set[int] = set()  # every mentor of these is dead: their mentees fail
        for root in range(len(self.mentees)):
            t = self.twin_of[root]
            if self.assigned_to[root] >= 0 or self.twin_group[t] in failed_groups:
                continue
            free, reached_from, explored_groups = self._search(root, dead)
            if free < 0:
                for m in reached_from:
                    dead[m] = 1
                failed_groups |= explored_groups  # all their mentors were reached: all dead
                continue
            self._shift(free, reached_from)

    def _search(self, root: int, dead: bytearray) -> tuple[int, dict[int, int], set[int]]:
        """One BFS from ``root``: a mentor with a free slot (-1 if none), how each mentor was
        reached (from which mentee), and the groups explored in full."""
        nm, slots = self.n_mentors, self.slots
        reached_from: dict[int, int] = {}
        explored_groups: set[int] = set()
        queue = [root]
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
                    return m, reached_from, explored_groups
                queue.extend(self.mentees_of[m])
        return -1, reached_from, explored_groups

    def _shift(self, free: int, reached_from: dict[int, int]) -> None:
        """Take ``free``'s slot and move each mentee on the path found one step along it."""
        self.slots[free] -= 1
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
