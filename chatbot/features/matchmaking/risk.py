"""Pairs at risk: pairs that quietly stopped meeting or never started, ``!match report``,
and the job that nudges them and tells the coordinators (once per episode)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from chatbot.context import Context
from chatbot.features.rounds import chosen_round, today, tomorrow_starts
from chatbot.i18n import Language
from chatbot.people import away_on, coordinators
from storage.mentorship import Pair
from storage.tables import Member, OutboxMessage, Round

#: risk is counted in days: the scan of every pair need not run at every tick
RISK_CHECK_EVERY = timedelta(hours=1)


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
        if logged is None and heard <= a.created_at:
            if ctx.now - a.created_at >= timedelta(days=prog.intro_days):
                found[a.pair_id] = ("intro", a.created_at)
                continue
            ctx.quiet_until(a.created_at + timedelta(days=prog.intro_days))
        # the days someone was away are not silence: count from the latest return (an absence
        # whose last day passed but which the away job has not closed yet counts as ended)
        ends = [datetime.combine(u + timedelta(days=1), time.min, timezone.utc) for u in (a.mentor_away_until, a.mentee_away_until) if u]
        activity = max(a.created_at, logged or a.created_at, a.back_at or a.created_at, *ends)
        if ctx.now - activity >= timedelta(days=prog.silence_days):
            found[a.pair_id] = ("silent", activity)
        else:
            ctx.quiet_until(activity + timedelta(days=prog.silence_days))
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
    if rnd is not None and not ctx.due_every("pair-silence", RISK_CHECK_EVERY):
        return
    # what follows the date (the running round, who is away) and each pair's coming risk,
    # noted by pairs_at_risk, are when something can next be due
    ctx.quiet_until(tomorrow_starts(ctx))
    if rnd is None:
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
        else:
            ctx.quiet_until(nudged.created_at + escalate)
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


