"""Matching's data in and out: the profiles the feature hands over, the weights, the
suggestions and the reasons a mentee stays unmatched, and the constants both scoring and the
assignment read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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


