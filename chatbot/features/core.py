"""Commands every bot needs: help, cancel, later, identity linking, roles, whoami."""

from __future__ import annotations

from datetime import timedelta

from chatbot.commands import GRANTABLE_ROLES, ActionError, Arg, CommandSpec, Example
from chatbot.context import Context, Feature, Job
from chatbot.features.roles_ahead import Account, grant_ahead, person_or_account, revoke_ahead, waiting_line
from chatbot.i18n import N_
from chatbot.people import is_asker
from storage.tables import Member

# ---------------------------------------------------------------------------- help


async def help_(ctx: Context, command: list[str]) -> str:
    registry, prefix = ctx.commands, ctx.prefix
    assert ctx.who is not None
    if not command:
        usable = sorted(
            {s.path[0] for s in registry if not s.hidden and ctx.may_use(s)}
        )
        more, example = ctx.command("help", "COMMAND"), ctx.command("help", "signup")
        return "\n".join([
            ctx._("Commands: {commands}", commands=", ".join(ctx.command(n) for n in usable)),
            ctx._("{help} tells more, e.g. {example}", help=more, example=example),
        ])
    words = [w.lower().lstrip(prefix) for w in command]
    group = registry.groups().get(words[0], [])
    specs = [s for s in group if tuple(words) == s.path[: len(words)]] or []
    if not specs:
        unknown = registry.unknown(words, prefix)
        raise ActionError(unknown.message, **unknown.fields)  # answered as it is, without !help's usage
    lines = []
    for spec in specs:
        usage, text = spec.usage(prefix), ctx._(spec.help, prefix=prefix)
        if ctx.may_use(spec):
            lines.append(ctx._("{usage} — {help}", usage=usage, help=text))
        else:
            lines.append(ctx._("{usage} — {help} (for {roles})", usage=usage, help=text, roles=_any_of(ctx, spec.roles)))
        if len(specs) <= 3:
            for ex in spec.examples[:1]:
                typed = ex.line.split(": ", 1)[-1]  # written with "!", typed with the community's prefix
                lines.append("  " + ctx._("e.g. {example}", example=prefix + typed.removeprefix("!")))
    return "\n".join(lines)


def _any_of(ctx: Context, roles: tuple[str, ...]) -> str:
    """"mentee or mentor or coordinator": role names are command words (``!role grant bob
    host``), so they stay as they are, the "or" between them is translated."""
    text = roles[0]
    for role in roles[1:]:
        text = ctx._("{either} or {other}", either=text, other=role)
    return text


async def cancel(ctx: Context) -> str:
    """Leave the interview; one it had paused carries on (the conversations decide)."""
    told = ctx.cancel_flow()
    return told if told is not None else ctx._("There is nothing to cancel.")


async def later(ctx: Context) -> str:
    """Put the interview aside, kept with its answers; the interview says what carries it on."""
    told = ctx.later_flow()
    return told if told is not None else ctx._("You're not in the middle of any of my questions, so there is nothing to put aside.")


# ---------------------------------------------------------------------------- linking


async def link(ctx: Context, code: str | None) -> str:
    member = ctx.require_member()
    assert ctx.who is not None
    minutes = ctx.settings.programme.link_code_minutes
    if code is None:
        expires = ctx.now + timedelta(minutes=minutes)
        new = ctx.repos.links.issue(member.pk, ctx.who.platform, expires, ctx.rng)
        redeem = ctx.command("link", new)
        return ctx.ngettext(
            "Your link code is {code}. Within {n} minute, send {command} to me from your account on another platform, "
            "and the two become one member.",
            "Your link code is {code}. Within {n} minutes, send {command} to me from your account on another platform, "
            "and the two become one member.",
            minutes, code=new, command=redeem,
        )
    row = ctx.repos.links.take(code)
    if row is None:
        raise ActionError(ctx._("That code is not valid. Ask for a new one with {command} on your other platform.", command=ctx.command("link")))
    if row.expires_at <= ctx.now:
        raise ActionError(ctx._("That code has expired. Ask for a new one with {command} on your other platform.", command=ctx.command("link")))
    if row.member_id == member.id:
        raise ActionError(ctx._("That code was issued to this same account: send it from your other platform."))
    if row.platform == ctx.who.platform:
        raise ActionError(ctx._("That code was issued on {platform}: redeem it from another platform.", platform=row.platform))
    keep = ctx.repos.members.get(row.member_id)
    assert keep is not None
    if keep.created_at > member.created_at:
        keep, gone = member, keep
    else:
        gone = member
    _check_mergeable(ctx, keep, gone)
    ctx.repos.members.merge(keep, gone)
    platforms = sorted({i.platform for i in ctx.repos.members.identities(keep.pk)})
    return ctx._("Linked. You are {handle} on {platforms}.", handle=keep.handle, platforms=", ".join(platforms))


def _check_mergeable(ctx: Context, keep: Member, gone: Member) -> None:
    current = ctx.repos.rounds.current(ctx.now.date())
    if current is None:
        return
    kinds_keep = {s.kind for s in ctx.repos.signups.of(keep.pk, current.pk)}
    kinds_gone = {s.kind for s in ctx.repos.signups.of(gone.pk, current.pk)}
    both = kinds_keep & kinds_gone
    if both:
        raise ActionError(
            ctx._(
                "Both accounts are signed up as {kinds} for {round}: {command} one of them first.",
                kinds=", ".join(sorted(both)), round=current.name, command=ctx.command("withdraw"),
            )
        )


# ---------------------------------------------------------------------------- roles


def _may_grant(ctx: Context, role: str) -> None:
    if role in ("coordinator", "admin") and not ctx.has_role("admin"):
        raise ActionError(ctx._("Only admins grant or revoke the {role} role.", role=role))


async def role_grant(ctx: Context, who: str, role: str) -> str:
    _may_grant(ctx, role)
    person = person_or_account(ctx, who)
    if isinstance(person, Account):
        return grant_ahead(ctx, person, role)
    by = ctx.member.id if ctx.member else None
    you = is_asker(ctx, person)
    if not ctx.repos.roles.grant(person.pk, role, by, ctx.now):
        if you:
            return ctx._("You already have the {role} role.", role=role)
        return ctx._("{who} already has the {role} role.", who=person.handle, role=role)
    if you:
        return ctx._("You are now {role}.", role=role)
    return ctx._("{who} is now {role}.", who=person.handle, role=role)


async def role_revoke(ctx: Context, who: str, role: str) -> str:
    _may_grant(ctx, role)
    person = person_or_account(ctx, who)
    if isinstance(person, Account):
        return revoke_ahead(ctx, person, role)
    if not ctx.repos.roles.revoke(person.pk, role):
        return _not_revoked(ctx, person, role)
    if is_asker(ctx, person):
        return ctx._("You are no longer {role}.", role=role)
    return ctx._("{who} is no longer {role}.", who=person.handle, role=role)


def _not_revoked(ctx: Context, person: Member, role: str) -> str:
    """Why a role was not taken away, to the asker in the second person when it is theirs."""
    you = is_asker(ctx, person)
    if role == "admin":
        if you:
            return ctx._("You are not an admin by role (admins listed in the config file stay admins).")
        return ctx._("{who} is not an admin by role (admins listed in the config file stay admins).", who=person.handle)
    if you:
        return ctx._("You do not have the {role} role.", role=role)
    return ctx._("{who} does not have the {role} role.", who=person.handle, role=role)


async def role_list(ctx: Context, role: str) -> str:
    holders = sorted(m.handle for m in ctx.repos.roles.holders(role))
    waiting = waiting_line(ctx, role)
    if not holders:
        return "\n".join(filter(None, (ctx._("Nobody has the {role} role.", role=role), waiting)))
    shown = ", ".join(holders[:40]) + (" …" if len(holders) > 40 else "")
    listed = ctx._("{role} ({count}): {holders}", role=role, count=ctx.language.number(len(holders)), holders=shown)
    return "\n".join(filter(None, (listed, waiting)))


async def whoami(ctx: Context) -> str:
    member = ctx.require_member()
    idents = ctx.repos.members.identities(member.pk)
    roles = sorted(r for r in ctx.roles if r != "member") or ["member"]
    where = ", ".join(f"{i.platform}:{i.account}" for i in idents)
    return ctx._(
        "You are {handle} ({name}); accounts: {accounts}; roles: {roles}.",
        handle=member.handle, name=member.display_name, accounts=where, roles=", ".join(roles),
    )


# ---------------------------------------------------------------------------- housekeeping


#: how long a handled event's id is remembered, to drop a replay of it
EVENTS_KEPT = timedelta(days=7)


async def forget_old_events(ctx: Context) -> None:
    """Replays older than a week cannot happen; keep the de-duplication table small."""
    ctx.repos.events.forget_before(ctx.now - EVENTS_KEPT)
    oldest = ctx.repos.events.oldest()  # new events come with people, who wake the job
    ctx.quiet_until(oldest + EVENTS_KEPT if oldest is not None else ctx.now + EVENTS_KEPT)


ROLE_ARG = Arg("role", choices=GRANTABLE_ROLES, help=N_("the role"))
#: a person, or the account of somebody who has not written yet (their role waits for them)
WHO_ARG = Arg("who", complete="members", help=N_("the person: handle, platform:account or mention"))

FEATURE = Feature(
    name="core",
    commands=(
        CommandSpec(
            ("help",),
            N_("list the commands you can use, or explain one"),
            roles=("anyone",),
            handler=help_,
            args=(Arg("command", required=False, many=True, help=N_("a command name")),),
            examples=(Example("!help", r"Commands: .*!signup"), Example("!help round", r"!round open NAME START END")),
        ),
        CommandSpec(
            ("cancel",),
            N_("leave the interview you are in"),
            roles=("member",),
            handler=cancel,
            private=True,
            examples=(Example("!cancel", r"nothing to cancel"),),
        ),
        CommandSpec(
            ("later",),
            N_("put the interview you are in aside, with your answers, to carry on later"),
            roles=("member",),
            handler=later,
            private=True,
            examples=(Example("!later", r"nothing to put aside"),),
        ),
        CommandSpec(
            ("link",),
            N_("join your accounts on two platforms: get a code here, redeem it there"),
            roles=("member",),
            handler=link,
            private=True,
            args=(Arg("code", required=False, help=N_("a code issued on your other platform")),),
            examples=(Example("!link", r"Your link code is [A-Z2-9]{8}"), Example("!link NOPE1234", r"not valid")),
        ),
        CommandSpec(
            ("role", "grant"),
            N_("give someone a role; someone not seen yet by account, e.g. irc:ACCOUNT or discord:ID"),
            roles=("coordinator",),
            handler=role_grant,
            args=(WHO_ARG, ROLE_ARG),
            examples=(
                Example("!role grant bob host", r"bob is now host", setup=("bob: !help",)),
                Example("!role grant irc:carol coordinator", r"irc:carol has not written to me yet: they will be coordinator"),
            ),
        ),
        CommandSpec(
            ("role", "revoke"),
            N_("take a role away"),
            roles=("coordinator",),
            handler=role_revoke,
            args=(WHO_ARG, ROLE_ARG),
            examples=(Example("!role revoke bob host", r"bob is no longer host", setup=("bob: !help", "!role grant bob host")),),
        ),
        CommandSpec(
            ("role", "list"),
            N_("who has a role"),
            roles=("coordinator",),
            handler=role_list,
            args=(ROLE_ARG,),
            examples=(Example("!role list host", r"host \(1\): bob", setup=("bob: !help", "!role grant bob host")),),
        ),
        CommandSpec(
            ("whoami",),
            N_("your handle, linked accounts and roles"),
            roles=("member",),
            handler=whoami,
            private=True,
            examples=(Example("!whoami", r"You are you .*console:you.*admin"),),
        ),
    ),
    jobs=(Job("forget-old-events", forget_old_events),),
)
