"""Tests of the matchmaking function: its hard constraints, its preferences, its reason line.

The property tests check the result against rules written again here, independently of the
implementation: eligibility from the profiles, and the maximum number of mentees that can be
matched from a small max-flow (Edmonds-Karp) over the same cohort.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.domain.matching import (
    ALREADY_PAIRED,
    DEFAULT_WEIGHTS,
    NO_CAPACITY,
    NO_LANGUAGE,
    NO_OPEN_MENTOR,
    NO_TRACK,
    MatchResult,
    MenteeProfile,
    MentorProfile,
    Weights,
    daytime_overlap_minutes,
    explain,
    suggest_matches,
)

EN = frozenset({"en"})


def mentee(id: int, track: str = "sec", languages: frozenset[str] = EN, timezone: str | None = "UTC",
           **kw) -> MenteeProfile:
    return MenteeProfile(id=id, track=track, languages=languages, timezone=timezone, **kw)


def mentor(id: int, tracks: frozenset[str] = frozenset({"sec"}), languages: frozenset[str] = EN,
           timezone: str | None = "UTC", capacity: int = 3, **kw) -> MentorProfile:
    return MentorProfile(id=id, tracks=tracks, languages=languages, timezone=timezone, capacity=capacity, **kw)


def pairs(result: MatchResult) -> dict[int, int]:
    return {s.mentee_id: s.mentor_id for s in result.suggestions}


def codes(result: MatchResult) -> dict[int, str]:
    return {u.mentee_id: u.code for u in result.unmatched}


# --------------------------------------------------------------------------- daytime overlap


def test_berlin_and_new_york_share_six_hours_of_daytime() -> None:
    # January: Berlin 09-21 is 08-20 UTC, New York 09-21 is 14-02 UTC.
    assert daytime_overlap_minutes("Europe/Berlin", "America/New_York") == 6 * 60
    assert daytime_overlap_minutes("Europe/Berlin", "Europe/Berlin") == 12 * 60


def test_overlap_wraps_around_midnight_utc() -> None:
    # Tokyo 09-21 is 00-12 UTC; Los Angeles 09-21 is 17-05 UTC (the previous day's evening).
    assert daytime_overlap_minutes("Asia/Tokyo", "America/Los_Angeles") == 5 * 60
    assert daytime_overlap_minutes("Etc/GMT-12", "UTC") == 0  # twelve hours apart: none


def test_reference_date_pins_daylight_saving_time() -> None:
    # Between the US (9 March) and EU (30 March) clock changes the gap is 5 h, not 6.
    assert daytime_overlap_minutes("Europe/Berlin", "America/New_York", date(2025, 3, 20)) == 7 * 60
    assert daytime_overlap_minutes("Europe/Berlin", "America/New_York") == 6 * 60


def test_unknown_timezone_is_an_error_naming_the_profile() -> None:
    with pytest.raises(ValueError, match=r"mentee 7: unknown timezone 'Mars/Olympus'"):
        suggest_matches([mentee(7, timezone="Mars/Olympus")], [mentor(1)])


def test_missing_timezone_earns_no_overlap_and_says_so() -> None:
    s = explain(mentee(1, timezone=None), mentor(2, timezone="UTC"))
    assert (s.overlap_hours, s.score) == (0.0, 0.0)
    assert s.reason == "both speak en; daytime overlap unknown"


# --------------------------------------------------------------------------- hard constraints


def test_mentee_is_never_paired_across_tracks() -> None:
    result = suggest_matches([mentee(1, track="web")], [mentor(2, tracks=frozenset({"sec", "data"}))])
    assert result.suggestions == ()
    assert [(u.code, u.reason) for u in result.unmatched] == [(NO_TRACK, "no mentor in track web")]


def test_mentee_is_never_paired_without_a_shared_language() -> None:
    result = suggest_matches([mentee(1, languages=frozenset({"fr", "es"}))],
                             [mentor(2, languages=frozenset({"en", "de"}))])
    assert result.suggestions == ()
    assert [(u.code, u.reason) for u in result.unmatched] == [(NO_LANGUAGE, "no mentor in track sec speaks es, fr")]


def test_away_or_closed_mentors_get_nobody() -> None:
    result = suggest_matches([mentee(1), mentee(2)], [mentor(3, away=True), mentor(4, accepting=False)])
    assert result.suggestions == ()
    assert codes(result) == {1: NO_OPEN_MENTOR, 2: NO_OPEN_MENTOR}
    assert result.unmatched[0].reason == (
        "no open mentor among the 2 mentors in track sec with a shared language (away or not accepting)"
    )


def test_previous_pair_is_not_repeated_and_another_mentor_is_found() -> None:
    best_fit = mentor(2, teaches=frozenset({"Forensics"}))
    other = mentor(3)
    alone = suggest_matches([mentee(1, interests=frozenset({"Forensics"}))], [best_fit], previous_pairs={(1, 2)})
    assert codes(alone) == {1: ALREADY_PAIRED}
    assert alone.unmatched[0].reason == (
        "already paired in earlier rounds with every open mentor in track sec with a shared language"
    )
    both = suggest_matches([mentee(1, interests=frozenset({"Forensics"}))], [best_fit, other], previous_pairs={(1, 2)})
    assert pairs(both) == {1: 3}


def test_capacity_counts_the_mentees_already_assigned() -> None:
    result = suggest_matches([mentee(i) for i in range(1, 5)], [mentor(9, capacity=3, load=2)])
    assert len(result.suggestions) == 1
    assert codes(result) == {2: NO_CAPACITY, 3: NO_CAPACITY, 4: NO_CAPACITY}
    assert result.unmatched[0].reason == "no capacity left among the 1 open mentor in track sec with a shared language"


def test_names_compare_without_case_or_spaces_and_keep_the_mentees_spelling() -> None:
    e = mentee(1, track="Security ", languages=frozenset({"EN"}), interests=frozenset({"Web Security"}))
    r = mentor(2, tracks=frozenset({"security"}), languages=frozenset({"en"}), teaches=frozenset({"web security"}))
    [s] = suggest_matches([e], [r]).suggestions
    assert (s.shared_skills, s.shared_languages) == (("Web Security",), ("en",))


def test_duplicate_ids_and_negative_weights_are_rejected() -> None:
    with pytest.raises(ValueError, match="mentor id 2 appears twice"):
        suggest_matches([mentee(1)], [mentor(2), mentor(2)])
    with pytest.raises(ValueError, match="weight spread must be >= 0"):
        Weights(spread=-1)


# --------------------------------------------------------------------------- preferences


def test_a_weak_skill_taught_outweighs_an_interest() -> None:
    e = mentee(1, interests=frozenset({"Cloud"}), weak_skills=frozenset({"Crypto"}))
    result = suggest_matches([e], [mentor(2, teaches=frozenset({"Cloud"})), mentor(3, teaches=frozenset({"Crypto"}))])
    assert pairs(result) == {1: 3}
    assert result.suggestions[0].weak_skills_covered == ("Crypto",)


def test_shared_role_focus_and_daytime_break_a_skills_tie() -> None:
    e = mentee(1, timezone="Europe/Berlin", role_focus="SOC Analyst")
    far = mentor(2, timezone="Asia/Tokyo")
    near = mentor(3, timezone="Europe/Paris")
    same_role_far = mentor(4, timezone="Asia/Tokyo", role_focus="soc analyst")
    assert pairs(suggest_matches([e], [far, near])) == {1: 3}
    # The role (1.5) outweighs the full daytime overlap (at most 1).
    assert pairs(suggest_matches([e], [far, near, same_role_far])) == {1: 4}


def test_load_spreads_between_equal_mentors_but_not_against_a_better_fit() -> None:
    mentees = [mentee(i, interests=frozenset({"Logs"})) for i in range(1, 5)]
    equal = [mentor(10, capacity=5), mentor(11, capacity=5)]
    assert Counter(pairs(suggest_matches(mentees, equal)).values()) == {10: 2, 11: 2}
    no_spread = suggest_matches(mentees, equal, weights=Weights(spread=0))
    assert Counter(pairs(no_spread).values()) == {10: 4}
    better = [mentor(10, capacity=5), mentor(11, capacity=5, teaches=frozenset({"Logs"}))]
    assert Counter(pairs(suggest_matches(mentees, better)).values()) == {11: 4}


def test_augmenting_path_moves_a_flexible_mentee_so_everyone_is_matched() -> None:
    # Mentee 1 fits mentor 10 best, and greedy gives it 10's only slot; mentee 2 can only
    # have 10 (language). The result must still match both: 1 moves to 11.
    flexible = mentee(1, languages=frozenset({"en", "es"}), interests=frozenset({"Logs", "Cloud"}))
    only_es = mentee(2, languages=frozenset({"es"}))
    ten = mentor(10, languages=frozenset({"en", "es"}), capacity=1, teaches=frozenset({"Logs", "Cloud"}))
    eleven = mentor(11, capacity=1)
    assert explain(flexible, ten).score > explain(only_es, ten).score
    result = suggest_matches([flexible, only_es], [ten, eleven])
    assert pairs(result) == {1: 11, 2: 10}
    assert result.unmatched == ()


def test_augmenting_path_through_a_mentee_whose_group_was_searched_with_a_previous_pair() -> None:
    # Mentee 2 takes A (a better fit) first; mentee 1 was paired with F before, so only A
    # is open to it. Mentee 1's search must still look past A to 2, who can move to F.
    result = suggest_matches(
        [mentee(1), mentee(2, interests=frozenset({"Logs"}))],
        [mentor(10, capacity=1, teaches=frozenset({"Logs"})), mentor(11, capacity=1)],
        previous_pairs={(1, 11)},
    )
    assert pairs(result) == {1: 10, 2: 11}


def test_a_failed_search_does_not_stop_a_later_augmentation() -> None:
    # Mentee 2 (web) cannot be matched: the one web slot is taken. Mentee 4 (sec) then needs
    # mentee 3 moved from mentor 10 to mentor 11.
    web = [mentee(1, track="web"), mentee(2, track="web")]
    flexible = mentee(3, languages=frozenset({"en", "es"}), interests=frozenset({"Logs"}))
    only_es = mentee(4, languages=frozenset({"es"}))
    mentors = [
        mentor(9, tracks=frozenset({"web"}), capacity=1),
        mentor(10, languages=frozenset({"en", "es"}), capacity=1, teaches=frozenset({"Logs"})),
        mentor(11, capacity=1),
    ]
    result = suggest_matches([*web, flexible, only_es], mentors)
    assert pairs(result) == {1: 9, 3: 11, 4: 10}
    assert codes(result) == {2: NO_CAPACITY}


def test_a_failed_search_with_a_previous_pair_does_not_close_its_group() -> None:
    # Mentee 2 (previously with 11) can only have 10, whose mentee 1 cannot move: its search
    # fails. Mentee 3, same group but no previous pair, still gets 11 by moving 4 to 12.
    result = suggest_matches(
        [
            mentee(1, languages=frozenset({"es"}), interests=frozenset({"Logs"})),
            mentee(2),
            mentee(3),
            mentee(4, languages=frozenset({"fr"}), interests=frozenset({"Cloud"})),
        ],
        [
            mentor(10, languages=frozenset({"en", "es"}), capacity=1, teaches=frozenset({"Logs"})),
            mentor(11, languages=frozenset({"en", "fr"}), capacity=1, teaches=frozenset({"Cloud"})),
            mentor(12, languages=frozenset({"fr"}), capacity=1),
        ],
        previous_pairs={(2, 11)},
    )
    assert pairs(result) == {1: 10, 3: 11, 4: 12}
    assert codes(result) == {2: NO_CAPACITY}


def test_the_load_a_mentor_starts_with_is_penalised_once() -> None:
    # Spread 1: mentor 10 starts half loaded (-0.5), 11 empty. Equal fits otherwise, so each
    # mentee goes where the penalty is lowest, ties to the lower id: 11, 11, 10, 11, 10, 11.
    result = suggest_matches(
        [mentee(i) for i in range(1, 7)], [mentor(10, capacity=4, load=2), mentor(11, capacity=4)],
        weights=Weights(spread=1.0),
    )
    assert pairs(result) == {1: 11, 2: 11, 3: 10, 4: 11, 5: 10, 6: 11}


def test_ties_go_to_the_lower_ids() -> None:
    result = suggest_matches([mentee(5), mentee(3)], [mentor(9, capacity=1), mentor(8, capacity=0)])
    assert pairs(result) == {3: 9}
    assert pairs(suggest_matches([mentee(1)], [mentor(9), mentor(8)])) == {1: 8}


def test_a_tie_after_the_load_penalty_also_goes_to_the_lower_id() -> None:
    # Mentor 10 fits 0.5 better but is half loaded (penalty 0.5 at spread 1): a tie with 9.
    weights = Weights(interest=0.5, spread=1.0)
    logs = frozenset({"Logs"})
    mentors = [mentor(9), mentor(10, capacity=2, load=1, teaches=logs)]
    result = suggest_matches([mentee(1, interests=logs)], mentors, weights=weights)
    assert pairs(result) == {1: 9}


# --------------------------------------------------------------------------- the reason line


def test_reason_line_names_weak_spots_role_languages_and_daytime() -> None:
    e = mentee(1, languages=frozenset({"en", "de"}), timezone="Europe/Berlin", role_focus="SOC Analyst",
               interests=frozenset({"Web Security", "Cloud"}), weak_skills=frozenset({"Log Interpretation"}))
    r = mentor(2, languages=frozenset({"de", "en", "fr"}), timezone="America/New_York", role_focus="SOC analyst",
               teaches=frozenset({"Web Security", "Log Interpretation", "Malware"}))
    s = explain(e, r)
    assert s.reason == (
        "shares Log Interpretation (weak spot), Web Security; same role focus: SOC Analyst; "
        "both speak de, en; 6 h of overlapping daytime"
    )
    assert s.shared_skills == ("Log Interpretation", "Web Security")
    assert (s.shared_languages, s.overlap_hours) == (("de", "en"), 6.0)
    assert s.score == 2 + 1 + 1.5 + 0.5


def test_reason_line_shortens_long_skill_lists_and_half_hours() -> None:
    skills = frozenset({"A", "B", "C", "D", "E", "F"})
    s = explain(mentee(1, timezone="Asia/Kolkata", interests=skills), mentor(2, teaches=skills))
    assert s.reason == "shares A, B, C, D and 2 more; both speak en; 6.5 h of overlapping daytime"
    far = explain(mentee(1, timezone="Etc/GMT-12"), mentor(2))
    assert far.reason == "both speak en; no overlapping daytime"


# --------------------------------------------------------------------------- properties

Pairs = frozenset[tuple[int, int]]
Cohort = tuple[list[MenteeProfile], list[MentorProfile], Pairs]
TRACKS = ["sec", "web"]
LANGUAGES = ["en", "es", "fr"]
ZONES = [None, "UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Asia/Kolkata"]
SKILLS = ["logs", "web", "crypto", "net", "forensics", "cloud"]
ROLES = ["", "analyst", "engineer"]


def pick(pool: list[str], mask: int) -> frozenset[str]:
    return frozenset(x for i, x in enumerate(pool) if mask >> i & 1)


@st.composite
def cohorts(draw: st.DrawFn, max_mentees: int = 9, max_mentors: int = 5) -> Cohort:
    """Small random cohorts. Sets are drawn as bit masks: few draws keep generation fast."""
    def index(pool: list) -> st.SearchStrategy[int]:
        return st.integers(0, len(pool) - 1)

    mask = st.integers(0, 2 ** len(SKILLS) - 1)
    mentee_rows = draw(st.lists(
        st.tuples(st.integers(1, 99), index(TRACKS), st.integers(0, 7), index(ZONES), index(ROLES), mask, mask),
        max_size=max_mentees, unique_by=lambda row: row[0]))
    mentor_rows = draw(st.lists(st.tuples(st.integers(100, 199), st.integers(0, 3), st.integers(0, 7), index(ZONES),
                                          st.integers(0, 3), st.integers(0, 1), mask, index(ROLES), st.integers(0, 7)),
                                max_size=max_mentors, unique_by=lambda row: row[0]))
    mentees = [
        MenteeProfile(id=i, track=TRACKS[t], languages=pick(LANGUAGES, langs), timezone=ZONES[z],
                      role_focus=ROLES[role], interests=pick(SKILLS, interests), weak_skills=pick(SKILLS, weak))
        for i, t, langs, z, role, interests, weak in mentee_rows
    ]
    mentors = [
        MentorProfile(id=i, tracks=pick(TRACKS, tracks), languages=pick(LANGUAGES, langs), timezone=ZONES[z],
                      capacity=capacity, load=load, teaches=pick(SKILLS, teaches), role_focus=ROLES[role],
                      accepting=state != 1, away=state == 2)
        for i, tracks, langs, z, capacity, load, teaches, role, state in mentor_rows
    ]
    previous: Pairs = frozenset()
    if mentees and mentors:
        chosen = draw(st.lists(st.tuples(index(mentees), index(mentors)), max_size=6))
        previous = frozenset((mentees[e].id, mentors[r].id) for e, r in chosen)
    return mentees, mentors, previous


def allowed(e: MenteeProfile, r: MentorProfile, previous: Pairs) -> bool:
    """The hard constraints, restated (capacity aside)."""
    return (e.track in r.tracks and bool(e.languages & r.languages) and r.accepting and not r.away
            and (e.id, r.id) not in previous)


def slots(r: MentorProfile) -> int:
    return max(0, r.capacity - r.load) if r.accepting and not r.away else 0


def max_matchable(mentees: list[MenteeProfile], mentors: list[MentorProfile], previous: Pairs) -> int:
    """Edmonds-Karp max flow: source -> mentee (1) -> allowed mentor (1) -> sink (free slots)."""
    source, sink = ("s",), ("t",)
    cap: dict[tuple, dict[tuple, int]] = {source: {}, sink: {}}

    def edge(a: tuple, b: tuple, c: int) -> None:
        cap.setdefault(a, {})[b] = c
        cap.setdefault(b, {}).setdefault(a, 0)

    for e in mentees:
        edge(source, ("e", e.id), 1)
        for r in mentors:
            if allowed(e, r, previous):
                edge(("e", e.id), ("r", r.id), 1)
    for r in mentors:
        edge(("r", r.id), sink, slots(r))
    flow = 0
    while True:
        parent = {source: source}
        queue = deque([source])
        while queue and sink not in parent:
            a = queue.popleft()
            for b, c in cap[a].items():
                if c > 0 and b not in parent:
                    parent[b] = a
                    queue.append(b)
        if sink not in parent:
            return flow
        b = sink
        while b != source:
            a = parent[b]
            cap[a][b] -= 1
            cap[b][a] += 1
            b = a
        flow += 1


def check_hard_constraints(mentees: list[MenteeProfile], mentors: list[MentorProfile],
                           previous: Pairs, result: MatchResult) -> None:
    by_id_e = {e.id: e for e in mentees}
    by_id_r = {r.id: r for r in mentors}
    matched = [s.mentee_id for s in result.suggestions]
    unmatched = [u.mentee_id for u in result.unmatched]
    assert sorted(matched + unmatched) == sorted(by_id_e), "every mentee is matched once or reported unmatched"
    assert matched == sorted(matched) and unmatched == sorted(unmatched)
    for s in result.suggestions:
        assert allowed(by_id_e[s.mentee_id], by_id_r[s.mentor_id], previous), s
    for mentor_id, n in Counter(s.mentor_id for s in result.suggestions).items():
        assert n <= slots(by_id_r[mentor_id]), f"mentor {mentor_id} above capacity"


@settings(max_examples=250, deadline=None)
@given(cohorts(), st.integers(0, 2**32))
def test_result_obeys_constraints_and_matches_as_many_as_possible(cohort, seed) -> None:
    mentees, mentors, previous = cohort
    result = suggest_matches(mentees, mentors, previous)
    check_hard_constraints(mentees, mentors, previous, result)
    assert len(result.suggestions) == max_matchable(mentees, mentors, previous)

    # Deterministic, whatever the input order.
    shuffled_e, shuffled_r = mentees[:], mentors[:]
    random.Random(seed).shuffle(shuffled_e)
    random.Random(seed).shuffle(shuffled_r)
    assert suggest_matches(shuffled_e, shuffled_r, set(previous)) == result

    by_id_e = {e.id: e for e in mentees}
    by_id_r = {r.id: r for r in mentors}
    left = {r.id: slots(r) for r in mentors}
    for s in result.suggestions:
        left[s.mentor_id] -= 1
        assert s == explain(by_id_e[s.mentee_id], by_id_r[s.mentor_id])
    for s in result.suggestions:
        # No mentee could just move to a free mentor fitting clearly better (greedy by score;
        # "clearly": by more than the load-spreading penalty can explain).
        e = by_id_e[s.mentee_id]
        for r in mentors:
            if left[r.id] > 0 and allowed(e, r, previous):
                assert explain(e, r).score <= s.score + DEFAULT_WEIGHTS.spread + 1e-9
    for u in result.unmatched:
        e = by_id_e[u.mentee_id]
        fitting = [r for r in mentors if allowed(e, r, previous)]
        assert not any(left[r.id] > 0 for r in fitting), "an unmatched mentee had a free mentor"
        assert (u.code == NO_CAPACITY) == bool(fitting), u
        assert (u.code == NO_TRACK) == (not any(e.track in r.tracks for r in mentors)), u


@settings(max_examples=120, deadline=None)
@given(cohorts())
def test_with_room_for_all_each_mentee_gets_its_best_fitting_mentor(cohort) -> None:
    mentees, mentors, previous = cohort
    roomy = [MentorProfile(**{**vars(r), "capacity": 99, "load": 0}) for r in mentors]
    result = suggest_matches(mentees, roomy, previous, weights=Weights(spread=0))
    got = pairs(result)
    for e in mentees:
        fitting = [r for r in roomy if allowed(e, r, previous)]
        if not fitting:
            assert e.id not in got
            continue
        best = max(fitting, key=lambda r: (explain(e, r).score, -r.id))
        assert got[e.id] == best.id


def test_a_larger_balanced_cohort_is_matched_to_the_maximum() -> None:
    """Slots about equal to demand and narrow languages: here greedy alone matched 143 of the
    150, so augmenting paths (some long, some failing) do the rest."""
    rng = random.Random(0)
    mentees = [
        MenteeProfile(id=i, track=rng.choice(TRACKS), languages=frozenset(rng.sample(LANGUAGES, rng.choice([1, 1, 2]))),
                      timezone=rng.choice(ZONES), role_focus=rng.choice(ROLES),
                      interests=frozenset(rng.sample(SKILLS, 2)), weak_skills=frozenset(rng.sample(SKILLS, 1)))
        for i in range(1, 151)
    ]
    mentors = [
        MentorProfile(id=1000 + i, tracks=frozenset(rng.sample(TRACKS, rng.choice([1, 2]))),
                      languages=frozenset(rng.sample(LANGUAGES, 1)), timezone=rng.choice(ZONES),
                      capacity=rng.randint(1, 4), load=rng.choice([0, 1]), teaches=frozenset(rng.sample(SKILLS, 3)),
                      role_focus=rng.choice(ROLES), away=rng.random() < 0.1)
        for i in range(80)
    ]
    previous = frozenset((e.id, r.id) for e in mentees for r in mentors if rng.random() < 0.05)
    result = suggest_matches(mentees, mentors, previous)
    check_hard_constraints(mentees, mentors, previous, result)
    assert len(result.suggestions) == max_matchable(mentees, mentors, previous) == 150
