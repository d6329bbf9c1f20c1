"""Away mode: ``!away until DATE [reason]``, ``!away status`` and ``!back``.

While away (``Member.away_until`` is today or later *where the member lives*), a person gets no
prompts, is not matched and is not on office-hour duty: those features read the column, through
:func:`away_now`. This module only keeps that column and tells the people concerned:

- the away person's mentors and mentees are told once when the absence starts (again only if
  the date changes) and once when it ends, whether by ``!back`` or because the date passed (the
  ``away-return`` job). Ending an absence clears the column and closes its :class:`AwayPeriod` in
  the same transaction as the notices, so a second tick or a restart finds nothing to announce;
- a mentor away for longer than ``programme.max_mentor_away_days`` has their mentees listed to
  the coordinators (by DM, once per absence), so nobody is left without a mentor silently.

The reason is private: the person sees it in ``!away status`` and coordinators in the
reassignment notice, but the notices to mentors and mentees carry only the date.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from chatbot.commands import Arg, CommandSpec, Example, UsageError
from chatbot.context import Context, Feature, Job
from chatbot.i18n import N_, Language
from chatbot.wording import sentences
from chatbot.features.matchmaking import PAIRED
from chatbot.people import away_now, local_date, named, told_text, zone_name, zone_of
from chatbot.people import coordinators as programme_coordinators
from storage.mentorship import Pair
from storage.progress import AwayPeriod
from storage.tables import Member

REASON_MAX = 200


# ---------------------------------------------------------------------------- people and local time
# (goals and sessions use these too)


def _a_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


# ---------------------------------------------------------------------------- who is told

#: what the away person is to the one told, and the news in whole sentences for each
AWAY_NOTICE = {
    "mentee": N_("Your mentee {name} is away until {until}. You'll hear when they are back."),
    "mentor": N_("Your mentor {name} is away until {until}. You'll hear when they are back."),
    "co-mentor": N_("Your co-mentor {name} is away until {until}. You'll hear when they are back."),
}
BACK_NOTICE = {
    "mentee": N_("Your mentee {name} is back."),
    "mentor": N_("Your mentor {name} is back."),
    "co-mentor": N_("Your co-mentor {name} is back."),
}


def _concerned(ctx: Context, member: Member) -> list[tuple[Member, str]]:
    """The away person's mentors and mentees, each with what the away person is to them."""
    out: dict[int, tuple[Member, str]] = {}
    for pair in ctx.repos.pairs.of_mentee(member.pk):
        mentor = ctx.repos.members.get(pair.mentor_id)
        if mentor is not None and mentor.id is not None:
            out.setdefault(mentor.id, (mentor, "mentee"))
    for pair in ctx.repos.pairs.of_mentor(member.pk):
        mentee = ctx.repos.members.get(pair.mentee_id)
        if mentee is not None and mentee.id is not None:
            out.setdefault(mentee.id, (mentee, "co-mentor" if pair.kind == "comentor" else "mentor"))
    return list(out.values())


def _ask_for_reassignment(ctx: Context, mentor: Member, period: AwayPeriod, days: int) -> str | None:
    """List a long-away mentor's mentees to the coordinators, once per absence. Returns the
    sentence for the away mentor's answer, or None."""
    limit = ctx.settings.programme.max_mentor_away_days
    pairs = ctx.repos.pairs.of_mentor(mentor.pk)
    if days <= limit or not pairs or period.reassign_notified_at is not None:
        return None
    coordinators = programme_coordinators(ctx, exclude=mentor)
    if not coordinators:
        return ctx._("That is over the {limit}-day limit, and no coordinator is set up to reassign your mentees: please tell one.", limit=limit)
    for coordinator in coordinators:
        text = _reassignment_text(ctx, ctx.language_of(coordinator), mentor, period, days, pairs)
        ctx.dm(coordinator, text, key=f"away-reassign:{period.pk}:{coordinator.id}")
    period.reassign_notified_at = ctx.now
    ctx.repos.away.save(period)
    return ctx._("That is over the {limit}-day limit, so the coordinators have been asked to look after your mentees.", limit=limit)


def _reassignment_text(ctx: Context, lang: Language, mentor: Member, period: AwayPeriod, days: int, pairs: list[Pair]) -> str:
    """What a coordinator reads (in their language) about a mentor away for too long."""
    names = []
    for pair in pairs:
        mentee = ctx.repos.members.get(pair.mentee_id)
        if mentee is not None:
            names.append(lang._("{handle} (as co-mentor)", handle=mentee.handle) if pair.kind == "comentor" else mentee.handle)
    fields = {
        "mentor": mentor.handle,
        "until": period.until,
        "reason": period.reason,
        "days": lang.ngettext("{n} day", "{n} days", days),
        "limit": ctx.settings.programme.max_mentor_away_days,
    }
    if period.reason:
        away = lang._("{mentor} (mentor) is away until {until} ({reason}): {days}, over the {limit}-day limit.", **fields)
    else:
        away = lang._("{mentor} (mentor) is away until {until}: {days}, over the {limit}-day limit.", **fields)
    return " ".join([
        away,
        lang._("Their mentees may need another mentor: {mentees}.", mentees=", ".join(names)),
        lang._(
            "{unassign}, then {assign}.",
            unassign=ctx.command("match", "unassign", "MENTEE"), assign=ctx.command("match", "assign", "MENTEE", "MENTOR"),
        ),
    ])


def _end_absence(ctx: Context, member: Member, how: str) -> list[Member]:
    """Clear the away date, close its record and tell the people concerned. Returns who was told."""
    assert member.away_until is not None
    ended = member.away_until
    period = ctx.repos.away.open_period(member.pk) or ctx.repos.away.start(
        member.pk, ended, ended, member.away_reason, ctx.now
    )
    ctx.repos.away.end(period, how, ctx.now)
    member.away_until, member.away_reason = None, None
    ctx.repos.db.add(member)
    told = []
    for person, relation in _concerned(ctx, member):
        text = ctx.language_of(person)._(BACK_NOTICE[relation], name=named(member))
        ctx.dm(person, text, key=f"back:{period.id}:{person.id}")
        told.append(person)
    if how == "date passed":
        ctx.dm(
            member,
            ctx.language_of(member)._(
                "Welcome back: your away time ended on {date}. Prompts and matching include you again.", date=ended
            ),
            key=f"back:{period.id}:self",
        )
    return told


# ---------------------------------------------------------------------------- commands


async def away_until(ctx: Context, until: date, reason: str | None) -> str:
    me = ctx.require_member()
    today = local_date(me, ctx.now)
    if until < today:
        raise UsageError(ctx._("{date} is in the past (today is {today} in {zone})", date=until, today=today, zone=zone_name(me)))
    latest = _a_year_after(today)
    if until > latest:
        raise UsageError(ctx._("{date} is more than a year ahead; the latest is {latest}", date=until, latest=latest))
    reason = " ".join(reason.split()) if reason else None
    if reason and len(reason) > REASON_MAX:
        raise UsageError(ctx._("keep the reason under {most} characters", most=REASON_MAX))
    period = ctx.repos.away.open_period(me.pk)
    if period is not None and me.away_until == until and me.away_reason == reason:
        return ctx._("You are away until {date} already. {back} ends it early.", date=until, back=ctx.command("back"))
    if period is None:
        period = ctx.repos.away.start(me.pk, today, until, reason, ctx.now)
    else:
        period.until, period.reason = until, reason
        ctx.repos.away.save(period)
    me.away_until, me.away_reason = until, reason
    ctx.repos.db.add(me)
    told = []
    for person, relation in _concerned(ctx, me):
        ctx.dm(
            person,
            ctx.language_of(person)._(AWAY_NOTICE[relation], name=named(me), until=until),
            key=f"away:{period.id}:{until.isoformat()}:{person.id}",
        )
        told.append(person)
    days = (until - today).days + 1
    tail = _ask_for_reassignment(ctx, me, period, days)
    off = _leave_duties(ctx, me)
    return sentences(
        ctx._(
            "You are away until {date} (inclusive, {zone}): no prompts, matching or office-hour duty. {back} ends it early.",
            date=until, zone=zone_name(me), back=ctx.command("back"),
        ),
        off,
        told_text(ctx.language, told),
        tail,
    )


def _leave_duties(ctx: Context, me: Member) -> str | None:
    """Away promises no office-hour duty, so a host on duty goes off it now. Returns the reply part."""
    # imported here: office hours reads away_now from this module, so this one cannot import it at the top
    from chatbot.features.office_hours.queue import leave_every_duty

    left = leave_every_duty(ctx, me)
    return ctx._("You are off duty in {channels}.", channels=", ".join(left)) if left else None


async def away_status(ctx: Context) -> str:
    me = ctx.require_member()
    if me.away_until is None or not away_now(me, ctx.now):
        return ctx._("You are not away. {command} sets it.", command=ctx.command("away", "until", "DATE", "[reason]"))
    fields = {"date": me.away_until, "zone": zone_name(me), "reason": me.away_reason, "back": ctx.command("back")}
    if me.away_reason:
        return ctx._("You are away until {date} (inclusive, {zone}). Reason: {reason}. {back} ends it.", **fields)
    return ctx._("You are away until {date} (inclusive, {zone}). {back} ends it.", **fields)


async def back(ctx: Context) -> str:
    me = ctx.require_member()
    if me.away_until is None:
        return ctx._("You are not away; nothing changed.")
    told = _end_absence(ctx, me, "back")
    return sentences(ctx._("Welcome back! Prompts and matching include you again."), told_text(ctx.language, told))


async def return_when_due(ctx: Context) -> None:
    """End every absence whose last day has passed where the member lives."""
    ctx.quiet_until(ctx.now + timedelta(days=1))  # a new absence comes with a command, which wakes the job
    for member in ctx.repos.away.members_away():
        if member.away_until is not None and member.away_until < local_date(member, ctx.now):
            _end_absence(ctx, member, "date passed")
        elif member.away_until is not None:
            ctx.quiet_until(_day_after(member, member.away_until))


def _day_after(member: Member, last: date) -> datetime:
    """When the day after ``last`` begins where the member lives."""
    return datetime.combine(last + timedelta(days=1), time.min, zone_of(member)).astimezone(timezone.utc)


FEATURE = Feature(
    name="away",
    commands=(
        CommandSpec(
            ("away", "until"),
            N_(
                "go away until a date, inclusive, in your timezone (no prompts, matching or duty); "
                "your mentors or mentees are told, the reason stays private"
            ),
            roles=("member",),
            handler=away_until,
            private=True,
            args=(
                Arg("until", kind="date", help=N_("your last day away, YYYY-MM-DD")),
                Arg("reason", kind="text", rest=True, required=False, help=N_("why (private)")),
            ),
            examples=(
                Example("alice: !away until 2027-01-15 conference", r"You are away until 2027-01-15 .* Told: bob", setup=PAIRED),
                Example("alice: !away until 2026-12-31", r"2026-12-31 is in the past"),
            ),
        ),
        CommandSpec(
            ("away", "status"),
            N_("whether you are away, and until when"),
            roles=("member",),
            handler=away_status,
            private=True,
            examples=(Example("alice: !away status", r"You are away until 2027-01-15", setup=("alice: !away until 2027-01-15",)),),
        ),
        CommandSpec(
            ("back",),
            N_("end your away time early (your mentors or mentees are told)"),
            roles=("member",),
            handler=back,
            private=True,
            examples=(Example("alice: !back", r"Welcome back! .* Told: bob", setup=(*PAIRED, "alice: !away until 2027-01-15")),),
        ),
    ),
    jobs=(Job("away-return", return_when_due),),
)
