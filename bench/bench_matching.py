"""Benchmark of chatbot.domain.matching on generated cohorts; prints figures, asserts nothing.

Why generated and seeded: real cohorts are small and private; a seeded generator with realistic
shapes (six tracks, sixteen zones, mostly English plus a few other languages, a skill catalogue
per track, some previous pairs, some mentors away, closed or partly loaded) gives repeatable
figures at any size. Wall time on a shared machine depends on what else runs, so the CPU time
of this process and the load average are printed too.

Usage: python bench/bench_matching.py [--sizes 1000x250,10000x2500] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import random
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chatbot.domain.matching import (  # noqa: E402
    DEFAULT_WEIGHTS,
    REFERENCE_DATE,
    MenteeProfile,
    MentorProfile,
    suggest_matches,
)
from chatbot.domain.matching.assignment import _Assignment  # noqa: E402
from chatbot.domain.matching.scoring import _Points  # noqa: E402

Cohort = tuple[list[MenteeProfile], list[MentorProfile], frozenset[tuple[int, int]]]

TRACKS = ["Security", "Web", "Data", "Cloud", "Mobile", "DevOps"]
SKILLS = {t: [f"{t} skill {i}" for i in range(12)] for t in TRACKS}
GENERAL = ["Git", "Linux", "Writing", "Public Speaking", "Code Review", "Testing"]
OTHER_LANGUAGES = ["es", "fr", "de", "pt", "ru", "hi", "zh"]
ROLES = ["Engineer", "Analyst", "Architect", "Researcher", "Manager", "Consultant", "SRE", "Pentester"]
ZONES = {
    "Europe/Berlin": 5, "Europe/London": 4, "America/New_York": 5, "America/Los_Angeles": 3,
    "America/Sao_Paulo": 2, "Asia/Kolkata": 4, "Asia/Tokyo": 1, "Asia/Singapore": 1,
    "Australia/Sydney": 1, "Africa/Lagos": 1, "Europe/Madrid": 2, "America/Chicago": 2,
    "Asia/Shanghai": 1, "Europe/Moscow": 1, "America/Mexico_City": 1, "UTC": 1,
}


def languages(rng: random.Random, english: float) -> frozenset[str]:
    spoken = {"en"} if rng.random() < english else set()
    spoken.update(rng.sample(OTHER_LANGUAGES, rng.choice([0, 0, 1, 1, 2]) if spoken else 1))
    return frozenset(spoken)


def zone(rng: random.Random) -> str:
    return rng.choices(list(ZONES), list(ZONES.values()))[0]


def cohort(n_mentees: int, n_mentors: int, seed: int = 1) -> Cohort:
    rng = random.Random(seed)
    mentors = []
    for i in range(n_mentors):
        tracks = rng.sample(TRACKS, rng.choice([1, 1, 2, 2, 3]))
        capacity = rng.randint(2, 6)
        mentors.append(MentorProfile(
            id=10_000_000 + i, tracks=frozenset(tracks), languages=languages(rng, 0.9), timezone=zone(rng),
            capacity=capacity, load=rng.choice([0, 0, 0, 1, 2]) if capacity > 2 else 0,
            teaches=frozenset(rng.sample([s for t in tracks for s in SKILLS[t]] + GENERAL, rng.randint(4, 10))),
            role_focus=rng.choice(ROLES), accepting=rng.random() < 0.92, away=rng.random() < 0.04,
        ))
    by_track = {t: [m.id for m in mentors if t in m.tracks] for t in TRACKS}
    mentees = []
    previous = set()
    for i in range(1, n_mentees + 1):
        track = rng.choice(TRACKS)
        mentees.append(MenteeProfile(
            id=i, track=track, languages=languages(rng, 0.85), timezone=zone(rng), role_focus=rng.choice(ROLES),
            interests=frozenset(rng.sample(SKILLS[track] + GENERAL, rng.randint(2, 6))),
            weak_skills=frozenset(rng.sample(SKILLS[track], rng.randint(0, 4))),
        ))
        if rng.random() < 0.3 and by_track[track]:
            previous.update((i, m) for m in rng.sample(by_track[track], min(2, len(by_track[track]))))
    return mentees, mentors, frozenset(previous)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{platform.python_implementation()} {platform.python_version()} on {platform.platform()}\n"
            f"{cpu}, {os.cpu_count()} CPUs; load average {load} (other work on the machine slows wall time)")


def phases(mentees: list[MenteeProfile], mentors: list[MentorProfile], previous: frozenset[tuple[int, int]]) -> str:
    """CPU time per internal phase (the public call runs all four), and the work they saw."""
    marks = [time.process_time()]
    run = _Assignment(sorted(mentees, key=lambda m: m.id), sorted(mentors, key=lambda m: m.id), previous,
                      _Points.of(DEFAULT_WEIGHTS), REFERENCE_DATE)
    marks.append(time.process_time())
    run.greedy()
    after_greedy = sum(1 for m in run.assigned_to if m >= 0)
    marks.append(time.process_time())
    run.augment()
    marks.append(time.process_time())
    run.result()
    marks.append(time.process_time())
    names = ["index and score", "greedy", "augment", "output"]
    parts = ", ".join(f"{n} {1000 * (b - a):.0f} ms" for n, a, b in zip(names, marks, marks[1:]))
    pairs = sum((len(r) + len(p)) * len(m) for r, p, m in zip(run.ranked, run.pending, run.twin_members))
    augmented = sum(1 for m in run.assigned_to if m >= 0) - after_greedy
    return (f"  CPU by phase: {parts}\n"
            f"  allowed pairs {pairs:,}; distinct mentee profiles {len(run.ranked):,}; "
            f"greedy matched {after_greedy:,}, augmenting paths {augmented:,}")


def bench(n_mentees: int, n_mentors: int, runs: int, profile: bool) -> None:
    mentees, mentors, previous = cohort(n_mentees, n_mentors)
    slots = sum(m.free_slots for m in mentors)
    print(f"\n{n_mentees:,} mentees x {n_mentors:,} mentors ({slots:,} free slots, {len(previous):,} previous pairs)")
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        result = suggest_matches(mentees, mentors, previous)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(f"  suggest_matches over {runs} runs: wall min {min(wall) * 1000:.0f} ms, "
          f"median {statistics.median(wall) * 1000:.0f} ms; CPU min {min(cpu) * 1000:.0f} ms")
    mean = statistics.fmean(s.score for s in result.suggestions) if result.suggestions else 0.0
    why = dict(Counter(u.code for u in result.unmatched))
    print(f"  matched {len(result.suggestions):,}, unmatched {len(result.unmatched):,} {why}; mean score {mean:.2f}")
    print(phases(mentees, mentors, previous))
    print(f"  peak RSS of this process so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if profile:
        prof = cProfile.Profile()
        prof.runcall(suggest_matches, mentees, mentors, previous)
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000x250,10000x2500", help="MENTEESxMENTORS, comma-separated")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile summary per size")
    args = parser.parse_args()
    print(machine())
    for size in args.sizes.split(","):
        n_mentees, n_mentors = (int(x) for x in size.split("x"))
        bench(n_mentees, n_mentors, runs=5 if n_mentees <= 2000 else 3, profile=args.profile)


if __name__ == "__main__":
    main()
