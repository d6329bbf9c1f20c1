"""Suggested pairs: the round as plain data for the matcher (``chatbot.domain.matching``),
``!match suggest`` and ``!match confirm``."""

from __future__ import annotations

import json
import re

from chatbot.commands import ActionError, UsageError
from chatbot.context import Context
from chatbot.features.rounds import matching_round
from chatbot.i18n import ENGLISH, Language
from chatbot.domain.matching import MatchResult, MenteeProfile, MentorProfile, Suggestion, suggest_matches
from storage.tables import Member, Round
from chatbot.features.matchmaking.pairs import capacity_of, make_pair
from chatbot.people import is_away



def _profiles(ctx: Context, rnd: Round, only: set[int] | None = None) -> tuple[list[MenteeProfile], list[MentorProfile], dict[int, Member]]:
    """The round as plain data for the matcher: unmatched mentees, and every mentor with their load."""
    today = ctx.now.date()
    matched = {p.mentee_id for p in ctx.repos.pairs.active(rnd.pk) if p.kind == "mentor"}
    load = ctx.repos.pairs.load(rnd.pk)
    people: dict[int, Member] = {}
    mentees, mentors = [], []
    for signup in ctx.repos.signups.active(rnd.pk, "mentee"):
        if signup.member_id in matched or (only is not None and signup.member_id not in only):
            continue
        m = ctx.repos.members.get(signup.member_id)
        if m is None or m.id is None or m.status != "active" or is_away(m, today):
            continue
        people[m.id] = m
        mentees.append(MenteeProfile(
            id=m.id, track=signup.tracks[0] if signup.tracks else "", languages=frozenset(m.languages),
            timezone=m.timezone, role_focus=m.role_focus or "", interests=frozenset(signup.skills),
            weak_skills=frozenset(ctx.repos.assessments.weak_skills(m.id)),
        ))
    for signup in ctx.repos.signups.active(rnd.pk, "mentor"):
        m = ctx.repos.members.get(signup.member_id)
        if m is None or m.id is None or m.status != "active":
            continue
        people[m.id] = m
        mentors.append(MentorProfile(
            id=m.id, tracks=frozenset(signup.tracks), languages=frozenset(m.languages), timezone=m.timezone,
            capacity=capacity_of(ctx, signup), load=load.get(m.id, 0),
            teaches=frozenset(signup.skills) | frozenset(ctx.repos.assessments.teachable_skills(m.id)),
            role_focus=m.role_focus or "", accepting=signup.accepting, away=is_away(m, today),
        ))
    return mentees, mentors, people


def _suggest(ctx: Context, rnd: Round, only: set[int] | None = None, lang: Language = ENGLISH) -> tuple[MatchResult, dict[int, Member]]:
    """The matcher's suggestions, their reasons written in ``lang``."""
    mentees, mentors, people = _profiles(ctx, rnd, only)
    history = ctx.repos.pairs.history()
    return suggest_matches(mentees, mentors, frozenset(history), lang=lang), people


def _suggestion_line(s: Suggestion, people: dict[int, Member]) -> str:
    """``alice ← bob: REASON`` (the reason is in the reader's language already)."""
    return f"{people[s.mentee_id].handle} ← {people[s.mentor_id].handle}: {s.reason}"


def _not_matched_line(result: MatchResult, people: dict[int, Member], lang: Language) -> str:
    left = ", ".join(f"{people[u.mentee_id].handle} ({u.reason})" for u in result.unmatched[:10])
    more = len(result.unmatched) - 10
    if more > 0:
        return lang.ngettext("Not matched: {mentees} and {n} more.", "Not matched: {mentees} and {n} more.", more, mentees=left)
    return lang._("Not matched: {mentees}.", mentees=left)


async def suggest(ctx: Context) -> str:
    rnd = matching_round(ctx)
    result, people = _suggest(ctx, rnd, lang=ctx.language)
    if not result.suggestions and not result.unmatched:
        if not ctx.repos.signups.counts(rnd.pk).mentees:
            return ctx._("No mentee has signed up for {round} yet.", round=rnd.name)
        return ctx._("Every mentee of {round} has a mentor.", round=rnd.name)
    saved = [[s.mentee_id, s.mentor_id] for s in result.suggestions]
    ctx.repos.kv.set("matchmaking", f"suggestions:{rnd.id}", json.dumps(saved))
    from chatbot.features.waiting_list import note_waiting  # it builds on this module

    note_waiting(ctx, rnd, result)
    lines = [f"{n}. {_suggestion_line(s, people)}" for n, s in enumerate(result.suggestions, 1)]
    if result.unmatched:
        lines.append(_not_matched_line(result, people, ctx.language))
    if result.suggestions:
        lines.append(ctx._("{prefix}match confirm all, or {prefix}match confirm 1 3 … to make them real.", prefix=ctx.prefix))
    return "\n".join(lines)


async def confirm(ctx: Context, which: list[str]) -> str:
    rnd = matching_round(ctx)
    saved = json.loads(ctx.repos.kv.get("matchmaking", f"suggestions:{rnd.id}") or "[]")
    if not saved:
        raise ActionError(ctx._("There are no suggestions to confirm; {prefix}match suggest first.", prefix=ctx.prefix))
    words = [w for part in which for w in re.split(r"[,;\s]+", part) if w and w.lower() != "and"]
    if [w.lower() for w in words] == ["all"]:
        chosen = list(range(1, len(saved) + 1))
    else:
        try:  # "1 2 5", "1,2" and "1, 2 and 5" alike
            chosen = sorted({int(w) for w in words})
        except ValueError:
            chosen = []
        if not chosen:
            raise UsageError(ctx._("say all, or the numbers of the suggestions (1 2 5)"))
        bad = [n for n in chosen if not 1 <= n <= len(saved)]
        if bad:
            raise ActionError(ctx._("There is no suggestion {number}; the last one is {last}.", number=bad[0], last=len(saved)))
    made, skipped = [], []
    for n in chosen:
        mentee, mentor = (ctx.repos.members.get(i) for i in saved[n - 1])
        if mentee is None or mentor is None:
            skipped.append(ctx._("{number} (someone left)", number=n))
            continue
        try:
            make_pair(ctx, rnd, mentee, mentor)
            made.append(f"{mentee.handle} ← {mentor.handle}")
        except ActionError as exc:  # things changed since the suggestion: say which and why
            skipped.append(f"{n} ({exc})")
    ctx.repos.kv.set("matchmaking", f"suggestions:{rnd.id}", "[]")
    if made:
        out = ctx.ngettext("Paired {n}: {pairs}.", "Paired {n}: {pairs}.", len(made), pairs=", ".join(made))
    else:
        out = ctx._("Nothing was paired.")
    if skipped:
        out += " " + ctx._("Skipped: {items}", items="; ".join(skipped))
    return out


