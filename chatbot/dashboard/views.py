"""What each dashboard page shows and who may see it, decided here on the server.

Each page is a function of a :class:`~chatbot.context.Context` (the same one a command gets,
read-only here) and the :class:`Viewer`; it returns the page's data, or raises
:class:`Forbidden` / :class:`NotFound`, which the server turns into a 403 / 404 page. The CSV
downloads call the same functions and take one of the page's figures, so a download can never
show more than its page.

Who sees what: a coordinator (or admin) the whole programme; a mentor the overview of their own
pairs and each of those pairs; a host the office hours. Roles are read from the database at
every request (a role taken away counts at once), by the member's id.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chatbot.context import Context
from chatbot.dashboard import figures
from chatbot.dashboard.figures import Figure
from chatbot.events import Where
from chatbot.i18n import ENGLISH, N_, Language
from storage.checkins import ANSWERED, MISSED, PROMPTED, SKIPPED
from storage.tables import Round

#: the roles that may sign in at all
DASHBOARD_ROLES = ("coordinator", "mentor", "host")
#: what stands where feedback rounds will be shown (issue 18 adds them)
FEEDBACK_PLACEHOLDER = N_("Feedback rounds are not part of the bot yet; their answer rate will appear here.")
#: the words the records keep (statuses, kinds, reasons), as pages show them: ``word(...)`` in a template
WORDS = {
    "open": N_("open"), "closed": N_("closed"),
    PROMPTED: N_("waiting"), ANSWERED: N_("answered"), MISSED: N_("missed"), SKIPPED: N_("skipped"),
    "unassigned": N_("unassigned"), "withdrew": N_("withdrew"),
    **{kind: kind for kind in figures.SKILL_KINDS},
}


class Refusal(Exception):
    """A page that cannot be shown; the text (with its fields) is translated for whoever asked."""

    def __init__(self, text: str, /, **fields: Any) -> None:
        super().__init__(text.format(**fields))
        self.text, self.fields = text, fields
        #: the language of the page that refused, once known (the viewer's)
        self.lang: Language | None = None

    def said(self, lang: Language) -> str:
        return lang._(self.text, **self.fields)


class Forbidden(Refusal):
    """The viewer may not see this page (403). The message says why, for the person."""


class NotFound(Refusal):
    """No such round, pair or chart (404)."""


@dataclass(frozen=True)
class Viewer:
    member_id: int
    handle: str
    roles: frozenset[str]
    #: the language the person reads in private: chart texts are in it
    language: Language = field(default=ENGLISH, compare=False)

    @property
    def coordinator(self) -> bool:
        return "coordinator" in self.roles or "admin" in self.roles

    @property
    def mentor(self) -> bool:
        return "mentor" in self.roles

    @property
    def host(self) -> bool:
        return "host" in self.roles

    @property
    def may_sign_in(self) -> bool:
        return self.coordinator or self.mentor or self.host

    @property
    def home(self) -> str:
        """The first page for this person."""
        return "/round" if self.coordinator or self.mentor else "/office-hours"


def viewer_of(ctx: Context, member_id: int) -> Viewer | None:
    member = ctx.repos.members.get(member_id)
    if member is None:
        return None
    return Viewer(member_id, member.handle, ctx.roles_of(member), ctx.language_of(member))


@dataclass
class Page:
    title: str
    data: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)

    def figure(self, name: str) -> Figure:
        if name not in self.figures:
            raise NotFound(N_("This page has no chart called {name}."), name=name)
        return self.figures[name]


def _round(ctx: Context, round_id: int | None) -> Round | None:
    if round_id is None:
        return ctx.repos.rounds.running(ctx.now.date()) or ctx.repos.rounds.latest_started(ctx.now.date())
    rnd = ctx.repos.reports.round(round_id)
    if rnd is None:
        raise NotFound(N_("There is no round number {number}."), number=round_id)
    return rnd


# ---------------------------------------------------------------------------- pages


def overview(ctx: Context, viewer: Viewer, round_id: int | None = None) -> Page:
    """A round at a glance: pairs, answer rate and sessions per week, pairs at risk. A mentor
    sees the same page over their own pairs only."""
    if not (viewer.coordinator or viewer.mentor):
        raise Forbidden(N_("The round overview is for coordinators and mentors."))
    rnd = _round(ctx, round_id)
    page = Page(viewer.language._("Round overview"), {"round": rnd, "rounds": ctx.repos.reports.rounds(),
                                                      "whole": viewer.coordinator,
                                                      "feedback": viewer.language._(FEEDBACK_PLACEHOLDER),
                                                      "open_command": ctx.command("round", "open")})
    if rnd is None:
        return page
    reports = ctx.repos.reports
    pairs = reports.pairs(rnd.pk, None if viewer.coordinator else viewer.member_id)
    start, end = figures.round_span(rnd)
    statuses = reports.checkin_statuses({p.mentee_id for p in pairs}, start, end)
    logs = reports.sessions(rnd.pk, None if viewer.coordinator else [(p.mentor_id, p.mentee_id) for p in pairs])
    asked = Counter(mentee for mentee, _, status in statuses if status != SKIPPED)
    answered = Counter(mentee for mentee, _, status in statuses if status == ANSWERED)
    held = Counter(s.mentee_id for s in logs)
    last = {s.mentee_id: s.held_on for s in logs}
    from chatbot.features.matchmaking.risk import pairs_at_risk  # the rule the !match report uses

    visible = {p.pair_id for p in pairs}
    risks = [r for r in pairs_at_risk(ctx, rnd) if r.pair.id in visible]
    today = ctx.now.date()
    page.data.update(
        pairs=[dict(pair=p, asked=asked[p.mentee_id], answered=answered[p.mentee_id], sessions=held[p.mentee_id],
                    last_session=last.get(p.mentee_id)) for p in pairs],
        risks=[dict(pair_id=r.pair.id, mentee=r.mentee.handle, mentor=r.mentor.handle, kind=r.kind,
                    days=(ctx.now - r.since).days) for r in risks],
    )
    page.figures = {"answers": figures.answers(rnd, statuses, today, viewer.language),
                    "sessions": figures.sessions(rnd, logs, today, viewer.language)}
    return page


def pair(ctx: Context, viewer: Viewer, pair_id: int) -> Page:
    """One pair: check-ins with mood, the goal and its steps, sessions, assessments."""
    found = ctx.repos.reports.pair(pair_id)
    if found is None:
        raise NotFound(N_("There is no pair number {number}."), number=pair_id)
    the_pair, mentee, mentor = found
    if not viewer.coordinator and not ctx.repos.pairs.mentors(viewer.member_id, mentee.pk):
        raise Forbidden(N_("You can see the pairs you mentor, and this is not one of them."))
    rnd = ctx.repos.reports.round(the_pair.round_id)
    assert rnd is not None
    start, end = figures.round_span(rnd)
    checkins = ctx.repos.reports.checkins([mentee.pk], start, end)
    signup, steps = ctx.repos.reports.goal(mentee.pk, rnd.pk)
    scores = ctx.repos.reports.scores(rnd.pk, [mentee.pk])
    by_skill: dict[str, dict[str, int]] = {}
    for s in scores:
        by_skill.setdefault(s.skill, {})[s.kind] = s.score
    page = Page(viewer.language._("{mentee} and {mentor}", mentee=mentee.handle, mentor=mentor.handle), {
        "round": rnd, "pair": the_pair, "mentee": mentee, "mentor": mentor, "checkins": checkins,
        "goal": signup.goal if signup else None, "steps": steps,
        "sessions": ctx.repos.reports.sessions(rnd.pk, mentee_id=mentee.pk),
        "skills": sorted(by_skill.items()), "kinds": figures.SKILL_KINDS,
    })
    page.figures = {"mood": figures.mood(checkins, mentee.handle, viewer.language)}
    return page


def skills(ctx: Context, viewer: Viewer, round_id: int | None = None) -> Page:
    """Self, mentor and final scores per skill, and the round's average change."""
    if not viewer.coordinator:
        raise Forbidden(N_("The skills page is for coordinators."))
    rnd = _round(ctx, round_id)
    page = Page(viewer.language._("Skills"), {"round": rnd, "rounds": ctx.repos.reports.rounds()})
    if rnd is None:
        return page
    fig, change_fig, change = figures.skills(rnd, ctx.repos.reports.scores(rnd.pk), viewer.language)
    page.data["change"] = change
    page.figures = {"skills": fig, "change": change_fig}
    return page


def channel_timezone(ctx: Context, platform: str, channel: str) -> str:
    """The timezone a channel's office hours are scheduled in (UTC when none is configured)."""
    for schedule in ctx.settings.office_hours.schedule:
        if schedule.where == (platform, channel):
            return schedule.timezone
    return "UTC"


def office_hours(ctx: Context, viewer: Viewer) -> Page:
    """Waits per week (median, p90) and the busiest slots of each channel."""
    if not (viewer.coordinator or viewer.host):
        raise Forbidden(N_("The office-hours page is for hosts and coordinators."))
    log = ctx.repos.reports.waits()
    page = Page(viewer.language._("Office hours"), {"people": len(log)})
    page.figures = {"waits": figures.waits(log, viewer.language)}
    for n, (platform, channel) in enumerate(figures.channels(log), start=1):
        where = ctx.channel_label(Where(platform, channel)) or channel
        rows = [w for w in log if (w.platform, w.channel) == (platform, channel)]
        page.figures[f"busiest-{n}"] = figures.busiest(rows, f"{platform} {where}", channel_timezone(ctx, platform, channel),
                                                       f"busiest-{n}", viewer.language)
    return page
