"""``!assess report`` from a coordinator without a name: the round, mentee by mentee (which
passes are done or under way), where it used to show only the coordinator's own skills."""

from __future__ import annotations

from chatbot.context import Context
from chatbot.i18n import N_
from storage.assessments import KINDS, Assessment
from storage.tables import Round

#: the state of each kind of pass, as a coordinator reads it in the round's overview
DONE = {"self": N_("self-assessment done"), "mentor": N_("mentor review done"), "final": N_("final check done")}
GOING = {"self": N_("self-assessment under way"), "mentor": N_("mentor review under way"), "final": N_("final check under way")}
#: mentees listed at most; the rest are counted
SHOWN = 40


def round_overview(ctx: Context, rnd: Round) -> str:
    """A line per mentee of the round: the passes over their skills done or under way."""
    passes: dict[int, list[Assessment]] = {}
    for assessment in ctx.repos.assessments.of_round(rnd.pk):
        passes.setdefault(assessment.member_id, []).append(assessment)
    people = [ctx.repos.members.get(s.member_id) for s in ctx.repos.signups.active(rnd.pk, "mentee")]
    mentees = sorted((m for m in people if m is not None), key=lambda m: m.handle.casefold())
    lines = [ctx.ngettext("Assessments in {round}: {n} mentee.", "Assessments in {round}: {n} mentees.", len(mentees), round=rnd.name)]
    for mentee in mentees[:SHOWN]:
        lines.append(f"{mentee.handle}: {_states(ctx, passes.get(mentee.id or 0, []))}")
    if len(mentees) > SHOWN:
        lines.append(ctx.ngettext("…and {n} more mentee", "…and {n} more mentees", len(mentees) - SHOWN))
    lines.append(ctx._("{command} shows one person's skills.", command=ctx.command("assess", "report", "NAME")))
    return "\n".join(lines)


def _states(ctx: Context, passes: list[Assessment]) -> str:
    """"self-assessment done, mentor review under way" (each kind once: a finished pass wins)."""
    states = []
    for kind in KINDS:
        of_kind = [a for a in passes if a.kind == kind]
        if any(a.completed_at is not None for a in of_kind):
            states.append(ctx._(DONE[kind]))
        elif of_kind:
            states.append(ctx._(GOING[kind]))
    return ", ".join(states) if states else ctx._("no assessment yet")
