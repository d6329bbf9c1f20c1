"""The web dashboard from chat: ``!dashboard`` sends a sign-in link, ``!round chart`` sends a
chart as an image where the platform takes files, and says it in one line elsewhere.

The charts are the dashboard's own figures (``chatbot.dashboard.figures``), drawn as SVG and
turned into PNG, so what a coordinator sees in chat is what the web page shows.
"""

from __future__ import annotations

from datetime import timedelta

from chatbot.commands import ActionError, Arg, CommandSpec, Example
from chatbot.context import Context, Feature
from chatbot.dashboard import charts, figures
from chatbot.dashboard.auth import new_link_token
from chatbot.dashboard.figures import CHAT_CHARTS, Figure
from chatbot.events import Attachment
from chatbot.i18n import N_
from chatbot.features.rounds import OPEN_EXAMPLE
from storage.tables import Round

NOT_SERVED = N_("The web dashboard is not turned on here: an operator sets [dashboard] listen in the bot's config.")


async def dashboard_link(ctx: Context) -> str:
    """A one-time sign-in link, always in private: whoever holds it is signed in as you."""
    member = ctx.require_member()
    assert ctx.where is not None
    if ctx.web_url is None:
        raise ActionError(NOT_SERVED)
    minutes = ctx.settings.dashboard.link_minutes
    token = new_link_token()
    ctx.repos.dashboard_links.add(token, member.pk, ctx.now, ctx.now + timedelta(minutes=minutes))
    lang = ctx.language_of(member)
    link = f"{ctx.web_url}/login/{token}?lang={lang.code}"  # the page opens in the asker's language
    text = lang.ngettext(
        "Here is your dashboard sign-in link. It works once, for {n} minute; don't share it: {link}",
        "Here is your dashboard sign-in link. It works once, for {n} minutes; don't share it: {link}",
        minutes, link=link)
    if ctx.where.is_direct:
        return text
    if not ctx.dm(member, text):
        raise ActionError(N_("I can't reach you in private on any platform, so I can't send you a sign-in link."))
    return ctx._("I've sent you a sign-in link in a private message.")


def chart_figure(ctx: Context, rnd: Round, name: str) -> tuple[Figure, str]:
    """The whole round's figure called ``name`` (in the asker's language) and the dashboard
    page that shows it."""
    reports, today, lang = ctx.repos.reports, ctx.now.date(), ctx.language
    if name == "skills":
        return figures.skills(rnd, reports.scores(rnd.pk), lang)[0], f"/skills/{rnd.pk}"
    start, end = figures.round_span(rnd)
    if name == "waits":
        return figures.waits(reports.waits(start), lang), "/office-hours"
    if name == "sessions":
        return figures.sessions(rnd, reports.sessions(rnd.pk), today, lang), f"/round/{rnd.pk}"
    pairs = reports.pairs(rnd.pk)
    statuses = reports.checkin_statuses({p.mentee_id for p in pairs}, start, end)
    return figures.answers(rnd, statuses, today, lang), f"/round/{rnd.pk}"


async def round_chart(ctx: Context, chart: str | None = None) -> str | None:
    rnd = ctx.repos.rounds.running(ctx.now.date()) or ctx.repos.rounds.latest_started(ctx.now.date())
    if rnd is None:
        raise ActionError(N_("No round has been opened yet, so there is nothing to chart. "
                             "A coordinator opens one with {prefix}round open NAME START END."), prefix=ctx.prefix)
    figure, page = chart_figure(ctx, rnd, chart or CHAT_CHARTS[0])
    assert ctx.where is not None
    caps = ctx.capabilities(ctx.where.platform)
    if caps is not None and caps.attachments:
        image = Attachment(f"{figure.name}-{rnd.name.replace(' ', '-')}.png", "image/png", charts.png(figure.svg()))
        ctx.reply_with(figure.summary, image)
        return None
    if ctx.web_url is None:
        return figure.summary
    link = f"{ctx.web_url}{page}"
    return ctx._("{summary} Chart: {link}", summary=figure.summary, link=link)


FEATURE = Feature(
    name="dashboard",
    commands=(
        CommandSpec(
            ("dashboard",),
            N_("a private link that signs you in to the web dashboard"),
            roles=("coordinator", "mentor", "host"),
            handler=dashboard_link,
            examples=(Example("!dashboard", r"sign-in link|not turned on"),),
        ),
        CommandSpec(
            ("round", "chart"),
            N_("a chart of the round: check-in answers, sessions, office-hour waits or skills"),
            roles=("coordinator",),
            handler=round_chart,
            args=(Arg("chart", choices=CHAT_CHARTS, required=False, help=N_("which chart (default: answers)")),),
            examples=(Example("!round chart sessions", r"Sessions in 2027 Q1: 0 sessions", setup=(OPEN_EXAMPLE,)),),
        ),
    ),
)
