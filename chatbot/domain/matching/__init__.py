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

from chatbot.domain.matching.assignment import suggest_matches
from chatbot.domain.matching.model import (
    ALREADY_PAIRED, DAY_END, DAY_START, DEFAULT_WEIGHTS, NO_CAPACITY, NO_LANGUAGE, NO_OPEN_MENTOR, NO_TRACK,
    REFERENCE_DATE, MatchResult, MenteeProfile, MentorProfile, Suggestion, Unmatched, Weights,
)
from chatbot.domain.matching.scoring import daytime_overlap_minutes, explain, utc_offset_minutes

__all__ = [
    "ALREADY_PAIRED", "DAY_END", "DAY_START", "DEFAULT_WEIGHTS", "NO_CAPACITY", "NO_LANGUAGE", "NO_OPEN_MENTOR",
    "NO_TRACK", "REFERENCE_DATE", "MatchResult", "MenteeProfile", "MentorProfile", "Suggestion", "Unmatched",
    "Weights", "daytime_overlap_minutes", "explain", "suggest_matches", "utc_offset_minutes",
]
