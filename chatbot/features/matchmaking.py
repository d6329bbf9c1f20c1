"""Pairs: coordinators assign mentors, mentors claim mentees, both sides are introduced.

Matching never crosses tracks, whoever makes the pair. Co-mentors see everything the lead
mentor sees, and co-mentoring counts in full against a mentor's capacity (a co-mentee gets the
same attention as a lead mentee). Capacity is never exceeded unless a coordinator says so
explicitly (``over-capacity`` on ``!match assign``/``!match comentor``), and the reply says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from chatbot.commands import ActionError, Arg, CommandSpec, Example, UsageError
from chatbot.context import Context, Feature, Job
from chatbot.features.rounds import OPEN_EXAMPLE, ROUND_ARG, chosen_round, current_round, matching_round, signed_up_round, today
from chatbot.i18n import ENGLISH, N_, Language
from chatbot.domain.matching import MatchResult, MenteeProfile, MentorProfile, Suggestion, suggest_matches
from storage.mentorship import Pair
from storage.tables import Member, OutboxMessage, Round, Signup


def capacity_freed(ctx: Context, round_id: int) -> None:
    """A mentor gained room: see ``waiting_list.capacity_freed`` (which builds on this module)."""
    from chatbot.features import waiting_list

    waiting_list.capacity_freed(ctx, round_id)


def _is_asker(ctx: Context, member: Member) -> bool:
    """Whether ``member`` is the person the answer goes to (then it says "you")."""
    return ctx.member is not None and ctx.member.id == member.id


def active_signup(ctx: Context, member: Member, rnd: Round, kind: str) -> Signup:
    for s in ctx.repos.signups.of(member.pk, rnd.pk, kind):
        if s.status == "active":
            return s
    if _is_asker(ctx, member):
        if kind == "mentor":
            raise ActionError(ctx._("You are not signed up as a mentor in {round}.", round=rnd.name))
        raise ActionError(ctx._("You are not signed up as a mentee in {round}.", round=rnd.name))
    if kind == "mentor":
        raise ActionError(ctx._("{handle} is not signed up as a mentor in {round}.", handle=member.handle, round=rnd.name))
    raise ActionError(ctx._("{handle} is not signed up as a mentee in {round}.", handle=member.handle, round=rnd.name))


#: risk is counted in days: the scan of every pair need not run at every tick
RISK_CHECK_EVERY = timedelta(hours=1)


def is_away(member: Member, today: date) -> bool:
    return away_on(member.away_until, today)


def away_on(until: date | None, today: date) -> bool:
    return until is not None and until >= today


def capacity_of(ctx: Context, signup: Signup) -> int:
    return signup.capacity or ctx.settings.programme.default_capacity


def _introduce(ctx: Context, pair: Pair, mentee: Member, mentor: Member, mentee_signup: Signup) -> None:
    """Both sides learn who the other is, where they live (in time) and the goal, each in
    their own language."""
    lang = ctx.language_of(mentee)
    if pair.kind == "comentor":
        text = N_("Meet your co-mentor, {name} ({handle}, timezone {timezone}). Your goal: {goal}. Say hello: they will get in touch too.")
    else:
        text = N_("Meet your mentor, {name} ({handle}, timezone {timezone}). Your goal: {goal}. Say hello: they will get in touch too.")
    ctx.dm(
        mentee,
        lang._(text, name=mentor.display_name, handle=mentor.handle, timezone=mentor.timezone or "?",
               goal=mentee_signup.goal or lang._("not set yet")),
        key=f"intro:{pair.id}:mentee",
    )
    lang = ctx.language_of(mentor)
    if pair.kind == "comentor":
        text = N_("You are now co-mentor of {name} ({handle}, timezone {timezone}, track {tracks}). Their goal: {goal}. Please introduce yourself.")
    else:
        text = N_("You are now mentor of {name} ({handle}, timezone {timezone}, track {tracks}). Their goal: {goal}. Please introduce yourself.")
    ctx.dm(
        mentor,
        lang._(text, name=mentee.display_name, handle=mentee.handle, timezone=mentee.timezone or "?",
               tracks=", ".join(mentee_signup.tracks), goal=mentee_signup.goal or lang._("not set yet")),
        key=f"intro:{pair.id}:mentor",
    )


#: the word a coordinator adds to pair a mentor past their capacity on purpose
OVER_CAPACITY = "over-capacity"


def load_of(ctx: Context, rnd: Round, mentor: Member, signup: Signup) -> tuple[int, int]:
    """(mentees the mentor has now, lead and co-mentored alike; their capacity)."""
    return ctx.repos.pairs.load(rnd.pk).get(mentor.pk, 0), capacity_of(ctx, signup)


def _at_capacity(ctx: Context, mentor: Member, load: int, capacity: int) -> str:
    if _is_asker(ctx, mentor):
        return ctx.ngettext("You are at capacity ({load} of {n} mentee).", "You are at capacity ({load} of {n} mentees).",
                            capacity, load=ctx.language.number(load))
    return ctx.ngettext(
        "{handle} is at capacity ({load} of {n} mentee).", "{handle} is at capacity ({load} of {n} mentees).",
        capacity, handle=mentor.handle, load=ctx.language.number(load),
    )


def make_pair(ctx: Context, rnd: Round, mentee: Member, mentor: Member, kind: str = "mentor", over: bool | None = None) -> Pair:
    """The one place pairs are made: every rule of who may mentor whom is checked here.
    ``over`` is a coordinator's explicit word that the mentor may go past their capacity
    (None where the command offers no such word). A mentor claiming a mentee is the asker:
    what is said about the mentor is then said to "you"."""
    today = ctx.now.date()
    mentee_signup = active_signup(ctx, mentee, rnd, "mentee")
    mentor_signup = active_signup(ctx, mentor, rnd, "mentor")
    you = _is_asker(ctx, mentor)
    if mentee.id == mentor.id:
        raise ActionError(ctx._("Nobody mentors themselves."))
    if not set(mentee_signup.tracks) & set(mentor_signup.tracks):
        tracks = {"mentor_tracks": ", ".join(mentor_signup.tracks), "mentee": mentee.handle, "mentee_tracks": ", ".join(mentee_signup.tracks)}
        if you:
            raise ActionError(ctx._("You mentor in {mentor_tracks}; {mentee} is in {mentee_tracks}. Matching never crosses tracks.", **tracks))
        raise ActionError(ctx._(
            "{mentor} mentors in {mentor_tracks}; {mentee} is in {mentee_tracks}. Matching never crosses tracks.",
            mentor=mentor.handle, **tracks,
        ))
    if is_away(mentor, today) and mentor.away_until is not None:
        until = mentor.away_until.isoformat()
        if you:
            raise ActionError(ctx._("You are away until {until}.", until=until))
        raise ActionError(ctx._("{handle} is away until {until}.", handle=mentor.handle, until=until))
    current = ctx.repos.pairs.of_mentee(mentee.pk)
    if any(p.mentor_id == mentor.id for p in current):
        if you:
            raise ActionError(ctx._("You mentor {mentee} already.", mentee=mentee.handle))
        raise ActionError(ctx._("{mentor} mentors {mentee} already.", mentor=mentor.handle, mentee=mentee.handle))
    lead = [p for p in current if p.kind == "mentor"]
    if kind == "mentor":
        if lead:
            name = ctx.repos.members.get(lead[0].mentor_id)
            raise ActionError(ctx._(
                "{mentee} has a mentor already ({mentor}): {prefix}match unassign {mentee} first, "
                "or add a co-mentor with {prefix}match comentor.",
                mentee=mentee.handle, mentor=name.handle if name else "?", prefix=ctx.prefix,
            ))
    elif not lead:
        raise ActionError(ctx._("{mentee} has no mentor yet; a co-mentor joins a lead mentor.", mentee=mentee.handle))
    load, capacity = load_of(ctx, rnd, mentor, mentor_signup)
    if load >= capacity and not over:
        text = _at_capacity(ctx, mentor, load, capacity)
        if over is False:
            text += " " + ctx._("Add '{word}' to the command to pair them anyway.", word=OVER_CAPACITY)
        raise ActionError(text)
    by = ctx.member.id if ctx.member else None
    pair = ctx.repos.pairs.add(rnd.pk, mentee.pk, mentor.pk, kind, by, ctx.now)
    _introduce(ctx, pair, mentee, mentor, mentee_signup)
    return pair


def _pair_by_coordinator(ctx: Context, mentee: Member, mentor: Member, kind: str, override: str | None) -> str:
    """Make the pair (in the mentee's round); when the coordinator overrode the capacity, say so in the reply."""
    rnd = signed_up_round(ctx, mentee, "mentee")
    make_pair(ctx, rnd, mentee, mentor, kind=kind, over=override == OVER_CAPACITY)
    load, capacity = load_of(ctx, rnd, mentor, active_signup(ctx, mentor, rnd, "mentor"))
    if load > capacity:
        return " " + ctx.ngettext(
            "This puts {handle} over capacity ({load} of {n} mentee), as you asked.",
            "This puts {handle} over capacity ({load} of {n} mentees), as you asked.",
            capacity, handle=mentor.handle, load=ctx.language.number(load),
        )
    return ""


async def assign(ctx: Context, mentee: Member, mentor: Member, override: str | None = None) -> str:
    over = _pair_by_coordinator(ctx, mentee, mentor, "mentor", override)
    return ctx._("{mentor} now mentors {mentee}. Both have been introduced.", mentor=mentor.handle, mentee=mentee.handle) + over


async def comentor(ctx: Context, mentee: Member, mentor: Member, override: str | None = None) -> str:
    over = _pair_by_coordinator(ctx, mentee, mentor, "comentor", override)
    return ctx._("{mentor} now co-mentors {mentee}.", mentor=mentor.handle, mentee=mentee.handle) + over


async def claim(ctx: Context, mentee: Member) -> str:
    me = ctx.require_member()
    rnd = signed_up_round(ctx, mentee, "mentee")
    if not active_signup(ctx, me, rnd, "mentor").accepting:
        raise ActionError(ctx._("You are closed to new mentees; {prefix}mentor open first.", prefix=ctx.prefix))
    make_pair(ctx, rnd, mentee, me)
    return ctx._("You now mentor {mentee}. You have both been introduced.", mentee=mentee.handle)


async def unassign(ctx: Context, mentee: Member) -> str:
    pairs = ctx.repos.pairs.of_mentee(mentee.pk)
    if not pairs:
        raise ActionError(ctx._("{mentee} has no mentor.", mentee=mentee.handle))
    names = []
    for pair in pairs:
        ctx.repos.pairs.end(pair, "unassigned", ctx.now)
        mentor = ctx.repos.members.get(pair.mentor_id)
        if mentor is not None:
            names.append(mentor.handle)
            ctx.dm(mentor, ctx.language_of(mentor)._(
                "You no longer mentor {mentee}. Thank you for your time together.", mentee=mentee.handle,
            ), key=f"unassign:{pair.id}:mentor")
    lang = ctx.language_of(mentee)
    ctx.dm(mentee, lang.ngettext(
        "{mentors} no longer mentors you; a coordinator will find you a new mentor.",
        "{mentors} no longer mentor you; a coordinator will find you a new mentor.",
        len(names), mentors=lang.join(names),
    ), key=f"unassign:{pairs[0].id}:mentee")
    capacity_freed(ctx, pairs[0].round_id)
    return ctx._("{mentee} has no mentor now (was: {mentors}).", mentee=mentee.handle, mentors=", ".join(names))


async def mentor_open(ctx: Context) -> str:
    return _set_accepting(ctx, True)


async def mentor_closed(ctx: Context) -> str:
    return _set_accepting(ctx, False)


def _set_accepting(ctx: Context, accepting: bool) -> str:
    """In every round not closed where the asker mentors (the running one and the next)."""
    me = ctx.require_member()
    signups = [s for r in ctx.repos.rounds.not_closed() for s in ctx.repos.signups.of(me.pk, r.pk, "mentor") if s.status == "active"]
    if not signups:
        active_signup(ctx, me, current_round(ctx), "mentor")  # says why
    for signup in signups:
        signup.accepting = accepting
        ctx.repos.signups.save(signup)
    if accepting:
        for signup in signups:
            capacity_freed(ctx, signup.round_id)
        return ctx._("You are open to new mentees.")
    return ctx._("You are closed to new mentees; your current mentees stay with you.")


async def my_mentors(ctx: Context) -> str:
    me = ctx.require_member()
    pairs = ctx.repos.pairs.of_mentee(me.pk)
    if not pairs:
        return ctx._("You have no mentor yet; a coordinator will match you, or a mentor may pick you.")
    lines = []
    for pair in pairs:
        m = ctx.repos.members.get(pair.mentor_id)
        if m is not None:
            if pair.kind == "comentor":
                line = N_("co-mentor: {name} ({handle}, timezone {timezone})")
            else:
                line = N_("mentor: {name} ({handle}, timezone {timezone})")
            lines.append(ctx._(line, name=m.display_name, handle=m.handle, timezone=m.timezone or "?"))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- suggestions


def coordinators(ctx: Context, exclude: Member | None = None) -> list[Member]:
    """Who runs the programme: holders of the coordinator role, else the configured admins."""
    people = ctx.repos.roles.holders("coordinator")
    if not people:
        for entry in ctx.settings.admins:
            platform, _, account = entry.partition(":")
            admin = ctx.repos.members.by_identity(platform, account)
            if admin is not None:
                people.append(admin)
    unique = {p.id: p for p in people if p.id is not None and (exclude is None or p.id != exclude.id)}
    return list(unique.values())


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


def reassignment_notice(ctx: Context, mentor: Member, mentees: list[Member]) -> None:
    """Nobody is left without a mentor silently: the coordinators get the list of the mentees
    of a mentor who withdrew, with suggestions, each in their own language."""
    rnd = ctx.repos.rounds.current(today(ctx))
    if rnd is None or not mentees:
        return
    only = {m.id for m in mentees if m.id is not None}
    texts: dict[str, str] = {}  # one matcher run per language the coordinators read
    for person in coordinators(ctx, exclude=mentor):
        lang = ctx.language_of(person)
        if lang.code not in texts:
            result, people = _suggest(ctx, rnd, only, lang)
            texts[lang.code] = "\n".join([
                lang._("{mentor} has withdrawn. These mentees need a new mentor: {mentees}.",
                       mentor=mentor.handle, mentees=", ".join(m.handle for m in mentees)),
                *(_suggestion_line(s, people) for s in result.suggestions),
                lang._("{prefix}match assign MENTEE MENTOR to pair them.", prefix=ctx.prefix),
            ])
        ctx.dm(person, texts[lang.code], key=f"reassign:{mentor.id}:{ctx.now.date()}:{person.id}")


def end_pairs_of(ctx: Context, member: Member, reason: str) -> None:
    """A person leaves: their pairs end; the other side hears of it, and orphaned mentees are listed."""
    orphans = []
    for pair in ctx.repos.pairs.of_mentor(member.pk):
        ctx.repos.pairs.end(pair, reason, ctx.now)
        mentee = ctx.repos.members.get(pair.mentee_id)
        if mentee is None:
            continue
        ctx.dm(mentee, ctx.language_of(mentee)._(
            "{mentor} can no longer mentor you; a coordinator will find you someone new.", mentor=member.handle,
        ), key=f"pair-ended:{pair.id}:mentee")
        if pair.kind == "mentor":
            orphans.append(mentee)
    for pair in ctx.repos.pairs.of_mentee(member.pk):
        ctx.repos.pairs.end(pair, reason, ctx.now)
        mentor = ctx.repos.members.get(pair.mentor_id)
        if mentor is not None:
            ctx.dm(mentor, ctx.language_of(mentor)._(
                "{mentee} has left the programme, so you no longer mentor them. Thank you!", mentee=member.handle,
            ), key=f"pair-ended:{pair.id}:mentor")
            capacity_freed(ctx, pair.round_id)
    reassignment_notice(ctx, member, orphans)


# ---------------------------------------------------------------------------- pairs at risk


@dataclass(frozen=True)
class Risk:
    pair: Pair
    mentee: Member
    mentor: Member
    #: "silent" (no session for too long) or "intro" (the mentee never answered the introduction)
    kind: str
    since: datetime


def pairs_at_risk(ctx: Context, rnd: Round) -> list[Risk]:
    """Pairs that quietly stopped meeting, or never started: the programme's most common failure.

    Decided on plain rows for every pair (two queries in all); only the pairs at risk are
    loaded with their people, since a large programme has many pairs and few stuck ones."""
    prog = ctx.settings.programme
    last_session = ctx.repos.mentoring_sessions.last_logged(rnd.pk)
    today = ctx.now.date()
    found: dict[int, tuple[str, datetime]] = {}
    for a in ctx.repos.pairs.activity(rnd.pk):
        if away_on(a.mentor_away_until, today) or away_on(a.mentee_away_until, today):
            continue  # nobody expects sessions while either side is away
        logged = last_session.get((a.mentor_id, a.mentee_id))
        heard = a.mentee_seen or a.created_at
        if logged is None and heard <= a.created_at and ctx.now - a.created_at >= timedelta(days=prog.intro_days):
            found[a.pair_id] = ("intro", a.created_at)
            continue
        # the days someone was away are not silence: count from the latest return (an absence
        # whose last day passed but which the away job has not closed yet counts as ended)
        ends = [datetime.combine(u + timedelta(days=1), time.min, timezone.utc) for u in (a.mentor_away_until, a.mentee_away_until) if u]
        activity = max(a.created_at, logged or a.created_at, a.back_at or a.created_at, *ends)
        if ctx.now - activity >= timedelta(days=prog.silence_days):
            found[a.pair_id] = ("silent", activity)
    if not found:
        return []
    return [Risk(pair, mentee, mentor, *found[pair.pk]) for pair, mentee, mentor in ctx.repos.pairs.with_people(found)]


def _describe_risk(risk: Risk, now: datetime, lang: Language) -> str:
    """What the bot saw, no more: it cannot know whether the mentee wrote to the mentor."""
    days = (now - risk.since).days
    names = {"mentor": risk.mentor.handle, "mentee": risk.mentee.handle}
    if risk.kind == "intro":
        return lang.ngettext(
            "{mentor} and {mentee}: no check-in, no session and no message from {mentee} since their introduction {n} day ago",
            "{mentor} and {mentee}: no check-in, no session and no message from {mentee} since their introduction {n} days ago",
            days, **names,
        )
    return lang.ngettext("{mentor} and {mentee}: no session for {n} day", "{mentor} and {mentee}: no session for {n} days", days, **names)


async def report(ctx: Context, round: str | None = None) -> str:
    rnd = chosen_round(ctx, round)
    if rnd.status == "closed":
        from chatbot.features.round_close import closed_report  # it builds on this module

        return closed_report(ctx, rnd)
    risks = pairs_at_risk(ctx, rnd)
    if not risks:
        return ctx._("No pair of {round} looks stuck.", round=rnd.name)
    lines = [ctx.ngettext("{n} pair at risk in {round}:", "{n} pairs at risk in {round}:", len(risks), round=rnd.name)]
    lines += [_describe_risk(r, ctx.now, ctx.language) for r in risks[:20]]
    if len(risks) > 20:
        lines.append(ctx.ngettext("… and {n} more.", "… and {n} more.", len(risks) - 20))
    return "\n".join(lines)


async def notice_silence(ctx: Context) -> None:
    """Nudge once; if nothing changes within the escalation time, tell the coordinators once.
    Hourly: see ``RISK_CHECK_EVERY``. The coordinators and the messages sent already are read
    once for all pairs, so a long list of stuck pairs costs no query per pair."""
    rnd = ctx.repos.rounds.running(today(ctx))
    if rnd is None or not ctx.due_every("pair-silence", RISK_CHECK_EVERY):
        return
    escalate = timedelta(days=ctx.settings.programme.escalate_days)
    risks = [(r, f"{r.kind}:{r.pair.id}:{r.since.date()}") for r in pairs_at_risk(ctx, rnd)]
    if not risks:
        return
    nudges = ctx.repos.outbox.by_keys(f"nudge:{episode}" for _, episode in risks)
    due: list[tuple[Risk, str, OutboxMessage]] = []
    for risk, episode in risks:
        nudged = nudges.get(f"nudge:{episode}")
        if nudged is None:
            if risk.kind == "intro":
                ctx.dm(risk.mentee, ctx.language_of(risk.mentee)._(
                    "Your mentor {mentor} introduced themselves a while ago: a short hello to them gets you started. "
                    "(Reply to them directly, or tell me with any message.)", mentor=risk.mentor.handle,
                ), key=f"nudge:{episode}")
            else:
                ctx.dm(risk.mentor, ctx.language_of(risk.mentor).ngettext(
                    "No session with {mentee} has been logged for {n} day. How are things? Log one with "
                    "{prefix}session log {mentee} 30m TOPIC, or tell a coordinator if the pairing is not working.",
                    "No session with {mentee} has been logged for {n} days. How are things? Log one with "
                    "{prefix}session log {mentee} 30m TOPIC, or tell a coordinator if the pairing is not working.",
                    (ctx.now - risk.since).days, mentee=risk.mentee.handle, prefix=ctx.prefix,
                ), key=f"nudge:{episode}")
        elif ctx.now - nudged.created_at >= escalate:
            due.append((risk, episode, nudged))
    if not due:
        return
    _escalate(ctx, due, {episode for _, episode in risks})


#: where the episodes each coordinator was told about are kept (one row: read and written once a scan)
ESCALATED = ("matchmaking", "escalated")


def _escalate(ctx: Context, due: list[tuple[Risk, str, OutboxMessage]], current: set[str]) -> None:
    """Each coordinator gets one message a scan listing the pairs they have not heard about,
    however many there are. What each was told is remembered for the episodes still at risk."""
    told: dict[str, list[str]] = json.loads(ctx.repos.kv.get(*ESCALATED) or "{}")
    remembered: dict[str, list[str]] = {}
    for person in coordinators(ctx):
        known = set(told.get(str(person.id), [])) & current
        news = [(r, e, n) for r, e, n in due if e not in known and person.id != r.mentor.id]
        if news:
            text = _escalation_text(ctx, [(r, n) for r, _, n in news], ctx.language_of(person))
            ctx.dm(person, text, key=f"escalate:{person.id}:{ctx.now.isoformat()}")
        remembered[str(person.id)] = sorted(known | {e for _, e, _ in news})
    if remembered != told:
        ctx.repos.kv.set(*ESCALATED, json.dumps(remembered))


def _escalation_text(ctx: Context, news: list[tuple[Risk, OutboxMessage]], lang: Language) -> str:
    lines = [
        lang._("{risk} (nudged {day})", risk=_describe_risk(r, ctx.now, lang), day=n.created_at.date().isoformat())
        for r, n in news
    ]
    if len(lines) == 1:
        return lang._("Pair at risk: {risk}.", risk=lines[0])
    shown = lines[:20]
    if len(lines) > 20:
        shown.append(lang.ngettext("… and {n} more: {prefix}match report lists them.", "… and {n} more: {prefix}match report lists them.",
                                   len(lines) - 20, prefix=ctx.prefix))
    return "\n".join([lang.ngettext("{n} pair at risk, nudged with no change since:", "{n} pairs at risk, nudged with no change since:", len(lines)), *shown])


def complete_my_mentees(ctx: Context, partial: str) -> list[str]:
    """The asker's mentees, for choosing one from a list while typing."""
    if ctx.member is None:
        return []
    return [m.handle for m in ctx.repos.pairs.mentees_of(ctx.member.pk) if m.handle.lower().startswith(partial)]


def complete_unmatched(ctx: Context, partial: str) -> list[str]:
    """Mentees of the round being matched without a lead mentor."""
    rnd = ctx.repos.rounds.taking_signups(today(ctx)) or ctx.repos.rounds.current(today(ctx))
    if rnd is None:
        return []
    matched = {p.mentee_id for p in ctx.repos.pairs.active(rnd.pk) if p.kind == "mentor"}
    handles = []
    for signup in ctx.repos.signups.active(rnd.pk, "mentee"):
        member = ctx.repos.members.get(signup.member_id)
        if member is not None and member.id not in matched and member.handle.lower().startswith(partial):
            handles.append(member.handle)
    return sorted(handles)


def tell_mentors_unreachable(ctx: Context, member: Member, platform: str) -> None:
    """A mentee's platform refuses the bot's DMs: their mentors hear it once, from us."""
    for mentor in ctx.repos.pairs.mentors_of(member.pk):
        ctx.dm(
            mentor,
            ctx.language_of(mentor)._(
                "I cannot send private messages to your mentee {mentee} on {platform} (they do not accept "
                "them from me), so prompts will not reach them there. Could you ask them to allow messages "
                "or to link another platform with {prefix}link?",
                mentee=member.handle, platform=platform, prefix=ctx.prefix,
            ),
            key=f"unreachable:{member.id}:{platform}:{mentor.id}:{ctx.now.date()}",
        )


MENTEE = Arg("mentee", kind="member", help=N_("the mentee"))
#: a mentee of the person typing (offered from their own mentees while they type)
MY_MENTEE = Arg("mentee", kind="member", help=N_("your mentee"), complete="my-mentees")
MENTOR = Arg("mentor", kind="member", help=N_("the mentor"))
OVERRIDE = Arg(
    "override", choices=(OVER_CAPACITY,), required=False,
    help=N_("pair past the mentor's capacity on purpose (co-mentored mentees count in full)"),
)
#: a mentee (alice) and a mentor (bob) signed up in the open round, for examples and tests
SIGNED_UP_PAIR = (
    OPEN_EXAMPLE,
    "alice: !signup mentee", "alice: Europe/Berlin", "alice: en", "alice: 3", "alice: programming",
    "alice: testing", "alice: Land my first patch in core",
    "bob: !signup mentor", "bob: America/New_York", "bob: en", "bob: 3", "bob: all", "bob: testing", "bob: 2",
)
PAIRED = (*SIGNED_UP_PAIR, "!match assign alice bob")
#: bob (capacity 2) leads alice and dave; carol has another mentor, erin
COMENTOR_FULL = (
    *PAIRED,
    *(f"{who}: {text}" for who in ("carol", "dave") for text in (
        "!signup mentee", "Europe/Berlin", "en", "3", "programming", "testing", "Land a patch")),
    "erin: !signup mentor", "erin: Europe/Berlin", "erin: en", "erin: 3", "erin: all", "erin: testing", "erin: 2",
    "!match assign dave bob", "!match assign carol erin",
)

FEATURE = Feature(
    name="matchmaking",
    commands=(
        CommandSpec(
            ("match", "suggest"),
            N_("propose mentor-mentee pairs for the open round, each with why"),
            roles=("coordinator",),
            handler=suggest,
            private=True,
            examples=(Example("!match suggest", r"1\. alice ← bob: .*both speak en", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("match", "confirm"),
            N_("make suggestions real: all, or their numbers"),
            roles=("coordinator",),
            handler=confirm,
            args=(Arg("which", many=True, help=N_("all, or numbers from {prefix}match suggest")),),
            examples=(Example("!match confirm all", r"Paired 1: alice ← bob", setup=(*SIGNED_UP_PAIR, "!match suggest")),),
        ),
        CommandSpec(
            ("match", "report"),
            N_("pairs that stopped meeting or never started (of a closed round: how its pairs did)"),
            roles=("coordinator",),
            handler=report,
            private=True,
            args=(ROUND_ARG,),
            examples=(
                Example("!match report", r"No pair of 2027 Q1 looks stuck", setup=PAIRED),
                Example("!match report 2027 Q1", r"2027 Q1 is closed: 1 pair took part; 1 logged no session: bob and alice",
                        setup=(*PAIRED, "!round close")),
            ),
        ),
        CommandSpec(
            ("match", "assign"),
            N_("make a mentor the lead mentor of a mentee"),
            roles=("coordinator",),
            handler=assign,
            args=(MENTEE, MENTOR, OVERRIDE),
            examples=(Example("!match assign alice bob", r"bob now mentors alice", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("match", "comentor"),
            N_("add a co-mentor, who sees everything the mentor sees (a co-mentee counts against capacity)"),
            roles=("coordinator",),
            handler=comentor,
            args=(MENTEE, MENTOR, OVERRIDE),
            examples=(
                Example("!match comentor alice bob", r"has no mentor yet", setup=SIGNED_UP_PAIR),
                Example(
                    "!match comentor carol bob over-capacity",
                    r"bob now co-mentors carol\. This puts bob over capacity \(3 of 2 mentees\), as you asked\.",
                    setup=COMENTOR_FULL,
                ),
            ),
        ),
        CommandSpec(
            ("match", "unassign"),
            N_("end a mentee's pairing (both sides are told)"),
            roles=("coordinator",),
            handler=unassign,
            args=(MENTEE,),
            examples=(Example("!match unassign alice", r"alice has no mentor now \(was: bob\)", setup=PAIRED),),
        ),
        CommandSpec(
            ("match", "claim"),
            N_("mentor an unmatched mentee of your track yourself"),
            roles=("mentor",),
            handler=claim,
            args=(Arg("mentee", kind="member", help=N_("the mentee"), complete="unmatched-mentees"),),
            examples=(Example("bob: !match claim alice", r"You now mentor alice", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("mentor", "open"),
            N_("take new mentees"),
            roles=("mentor",),
            handler=mentor_open,
            examples=(Example("bob: !mentor open", r"open to new mentees", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("mentor", "closed"),
            N_("take no new mentees (current ones stay)"),
            roles=("mentor",),
            handler=mentor_closed,
            examples=(Example("bob: !mentor closed", r"closed to new mentees", setup=SIGNED_UP_PAIR),),
        ),
        CommandSpec(
            ("mentor",),
            N_("who your mentors are"),
            roles=("mentee",),
            handler=my_mentors,
            private=True,
            examples=(Example("alice: !mentor", r"mentor: bob \(bob, timezone America/New_York\)", setup=PAIRED),),
        ),
    ),
    jobs=(Job("pair-silence", notice_silence),),
    completions={"my-mentees": complete_my_mentees, "unmatched-mentees": complete_unmatched},
    on_undeliverable=tell_mentors_unreachable,
)
