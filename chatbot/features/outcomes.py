"""``!round outcomes [ROUND]``: what a round achieved, for coordinators (the figures and their
definitions: ``chatbot.outcomes`` and the README's "Outcome metrics")."""

from __future__ import annotations

from chatbot.commands import CommandSpec, Example
from chatbot.context import Context, Feature
from chatbot.features.rounds import OPEN_EXAMPLE, ROUND_ARG, chosen_round
from chatbot.i18n import N_, Language
from chatbot.outcomes import RETENTION_WEEKS, MenteeOutcome, RoundOutcomes, Share, SkillChange, compute, gather, mean_change

#: mentees named one by one; the rest are counted (the export has them all)
MENTEES_LISTED = 20


def share_text(lang: Language, share: Share | None) -> str:
    """"50% (1 of 2)"; "not yet" for a window not over; "–" when there is nothing to count."""
    if share is None:
        return lang._("not yet")
    if share.percent is None:
        return "–"
    return lang._("{percent}% ({part} of {whole})", percent=lang.number(share.percent), part=share.part, whole=share.whole)


def change_text(changes: tuple[SkillChange, ...]) -> str:
    mean = mean_change(changes)
    return "–" if mean is None else f"{mean:+g}"


def _skills_line(lang: Language, out: RoundOutcomes) -> str:
    own, mentors = out.changes("self_changes"), out.changes("mentor_changes")
    return lang._(
        "Skills (0-3, first to final score, on average): {self} by self-assessment over {self_skills}, "
        "{mentor} by mentors over {mentor_skills}.",
        self=change_text(own), self_skills=lang.ngettext("{n} skill", "{n} skills", len(own)),
        mentor=change_text(mentors), mentor_skills=lang.ngettext("{n} skill", "{n} skills", len(mentors)),
    )


def _retention_lines(lang: Language, out: RoundOutcomes) -> list[str]:
    weeks = lang.join(lang.number(w) for w in RETENTION_WEEKS)
    mentees = "; ".join(share_text(lang, out.retention[w]) for w in RETENTION_WEEKS)
    visitors = "; ".join(share_text(lang, out.comparison[w]) for w in RETENTION_WEEKS)
    return [
        lang._("Mentees still active {weeks} weeks after the round: {shares}.", weeks=weeks, shares=mentees),
        lang.ngettext(
            "Office-hour visitors never mentored ({n} person), {weeks} weeks after their first visit: {shares}.",
            "Office-hour visitors never mentored ({n} people), {weeks} weeks after their first visit: {shares}.",
            out.comparison_size, weeks=weeks, shares=visitors,
        ),
    ]


def _mentee_line(lang: Language, handle: str, m: MenteeOutcome) -> str:
    if m.completed:
        status = lang._("completed")
    elif m.goal_reached:
        status = lang._("goal reached, no final check")
    elif m.final_done:
        status = lang._("final check done, goal open")
    else:
        status = lang._("not completed")
    return lang._(
        "{mentee}: {status}; skills {self} self, {mentor} mentors; check-ins {checkins}; {sessions}.",
        mentee=handle, status=status, self=change_text(m.self_changes), mentor=change_text(m.mentor_changes),
        checkins=share_text(lang, m.checkins), sessions=lang.ngettext("{n} session", "{n} sessions", m.sessions),
    )


def render(lang: Language, round_name: str, out: RoundOutcomes, handles: dict[int, str]) -> str:
    """The report, a few lines for the round and one per mentee."""
    if not out.mentees:
        return lang._("No mentee was paired in {round}, so it has no outcomes to report.", round=round_name)
    completed, goals, finals = out.share("completed"), out.share("goal_reached"), out.share("final_done")
    sessions = sum(p[3] for p in out.pairs)
    lines = [
        lang._(
            "Outcomes of {round}: {mentees}, {mentors} ({repeat} mentored in an earlier round).",
            round=round_name, mentees=lang.ngettext("{n} mentee", "{n} mentees", len(out.mentees)),
            mentors=lang.ngettext("{n} mentor", "{n} mentors", len(out.mentors)), repeat=len(out.repeat_mentors),
        ),
        lang._("Completed: {completed}; goal reached: {goals}, final check done: {finals}.",
               completed=share_text(lang, completed), goals=goals.part, finals=finals.part),
        _skills_line(lang, out),
        lang._("Check-ins answered: {checkins}.", checkins=share_text(lang, out.checkins)),
        lang._("Feedback answered: {feedback}.", feedback=share_text(lang, out.feedback)) if out.feedback else "",
        lang._("Sessions: {average} per pair ({sessions} in {pairs}).",
               average=lang.number(out.sessions_per_pair or 0), sessions=lang.ngettext("{n} session", "{n} sessions", sessions),
               pairs=lang.ngettext("{n} pair", "{n} pairs", len(out.pairs))),
        *_retention_lines(lang, out),
    ]
    lines += [_mentee_line(lang, handles.get(m.member_id, "?"), m) for m in out.mentees[:MENTEES_LISTED]]
    if len(out.mentees) > MENTEES_LISTED:
        rest = len(out.mentees) - MENTEES_LISTED
        lines.append(lang.ngettext("… and {n} more mentee.", "… and {n} more mentees.", rest))
    return "\n".join(line for line in lines if line)


async def round_outcomes(ctx: Context, round: str | None = None) -> str:
    rnd = chosen_round(ctx, round)
    out = compute(gather(ctx.repos, rnd), ctx.now.date())
    handles = ctx.repos.reports.handles(m.member_id for m in out.mentees)
    return render(ctx.language, rnd.name, out, handles)


FEATURE = Feature(
    name="outcomes",
    commands=(
        CommandSpec(
            ("round", "outcomes"),
            N_("what a round achieved: completion, skills, answer rates, sessions, retention"),
            roles=("coordinator",),
            handler=round_outcomes,
            args=(ROUND_ARG,),
            examples=(Example("!round outcomes", r"No mentee was paired in 2027 Q1", setup=(OPEN_EXAMPLE,)),),
        ),
    ),
)
