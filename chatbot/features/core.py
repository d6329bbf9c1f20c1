"""Commands every bot needs: help, cancel, identity linking, roles, whoami."""

from __future__ import annotations

from datetime import timedelta

from chatbot.commands import GRANTABLE_ROLES, ActionError, Arg, CommandSpec, Example
from chatbot.context import Context, Feature, Job
from storage.tables import Member

# ---------------------------------------------------------------------------- help


async def help_(ctx: Context, command: list[str]) -> str:
    registry, prefix = ctx.commands, ctx.prefix
    assert ctx.who is not None
    if not command:
        usable = sorted(
            {s.path[0] for s in registry if not s.hidden and ctx.may_use(s)}
        )
        return (
            f"Commands: {', '.join(prefix + n for n in usable)}\n"
            f"{prefix}help COMMAND tells more, e.g. {prefix}help signup"
        )
    words = [w.lower().lstrip(prefix) for w in command]
    group = registry.groups().get(words[0], [])
    specs = [s for s in group if tuple(words) == s.path[: len(words)]] or []
    if not specs:
        raise ActionError(registry.unknown_hint(words, prefix))
    lines = []
    for spec in specs:
        allowed = "" if ctx.may_use(spec) else f" (for {' or '.join(spec.roles)})"
        lines.append(f"{spec.usage(prefix)} — {spec.help}{allowed}")
        if len(specs) <= 3:
            for ex in spec.examples[:1]:
                lines.append(f"  e.g. {ex.line.split(': ', 1)[-1]}")
    return "\n".join(lines)


async def cancel(ctx: Context) -> str:
    member = ctx.require_member()
    conv = ctx.repos.conversations.get(member.id)  # type: ignore[arg-type]
    if conv is None:
        return "There is nothing to cancel."
    flow = ctx.flow(conv.flow)
    ctx.repos.conversations.end(member.id)  # type: ignore[arg-type]
    return flow.cancelled if flow else "Stopped."


# ---------------------------------------------------------------------------- linking


async def link(ctx: Context, code: str | None) -> str:
    member = ctx.require_member()
    assert ctx.who is not None
    minutes = ctx.settings.programme.link_code_minutes
    if code is None:
        expires = ctx.now + timedelta(minutes=minutes)
        new = ctx.repos.links.issue(member.id, ctx.who.platform, expires, ctx.rng)  # type: ignore[arg-type]
        return (
            f"Your link code is {new}. Within {minutes} minutes, send {ctx.prefix}link {new} to me from your "
            "account on another platform, and the two become one member."
        )
    row = ctx.repos.links.take(code)
    if row is None:
        raise ActionError(f"That code is not valid. Ask for a new one with {ctx.prefix}link on your other platform.")
    if row.expires_at <= ctx.now:
        raise ActionError(f"That code has expired. Ask for a new one with {ctx.prefix}link on your other platform.")
    if row.member_id == member.id:
        raise ActionError("That code was issued to this same account: send it from your other platform.")
    if row.platform == ctx.who.platform:
        raise ActionError(f"That code was issued on {row.platform}: redeem it from another platform.")
    keep = ctx.repos.members.get(row.member_id)
    assert keep is not None
    if keep.created_at > member.created_at:
        keep, gone = member, keep
    else:
        gone = member
    _check_mergeable(ctx, keep, gone)
    ctx.repos.members.merge(keep, gone)
    platforms = sorted({i.platform for i in ctx.repos.members.identities(keep.id)})  # type: ignore[arg-type]
    return f"Linked. You are {keep.handle} on {', '.join(platforms)}."


def _check_mergeable(ctx: Context, keep: Member, gone: Member) -> None:
    current = ctx.repos.rounds.current()
    if current is None:
        return
    kinds_keep = {s.kind for s in ctx.repos.signups.of(keep.id, current.id)}  # type: ignore[arg-type]
    kinds_gone = {s.kind for s in ctx.repos.signups.of(gone.id, current.id)}  # type: ignore[arg-type]
    both = kinds_keep & kinds_gone
    if both:
        raise ActionError(
            f"Both accounts are signed up as {', '.join(sorted(both))} for {current.name}: "
            f"{ctx.prefix}withdraw one of them first."
        )


# ---------------------------------------------------------------------------- roles


def _may_grant(ctx: Context, role: str) -> None:
    if role in ("coordinator", "admin") and not ctx.has_role("admin"):
        raise ActionError(f"Only admins grant or revoke the {role} role.")


async def role_grant(ctx: Context, who: Member, role: str) -> str:
    _may_grant(ctx, role)
    by = ctx.member.id if ctx.member else None
    if not ctx.repos.roles.grant(who.id, role, by, ctx.now):  # type: ignore[arg-type]
        return f"{who.handle} already has the {role} role."
    return f"{who.handle} is now {role}."


async def role_revoke(ctx: Context, who: Member, role: str) -> str:
    _may_grant(ctx, role)
    if not ctx.repos.roles.revoke(who.id, role):  # type: ignore[arg-type]
        if role == "admin":
            return f"{who.handle} is not an admin by role (admins listed in the config file stay admins)."
        return f"{who.handle} does not have the {role} role."
    return f"{who.handle} is no longer {role}."


async def role_list(ctx: Context, role: str) -> str:
    holders = sorted(m.handle for m in ctx.repos.roles.holders(role))
    if not holders:
        return f"Nobody has the {role} role."
    return f"{role} ({len(holders)}): {', '.join(holders[:40])}" + (" …" if len(holders) > 40 else "")


async def whoami(ctx: Context) -> str:
    member = ctx.require_member()
    idents = ctx.repos.members.identities(member.id)  # type: ignore[arg-type]
    roles = sorted(r for r in ctx.roles if r != "member") or ["member"]
    where = ", ".join(f"{i.platform}:{i.account}" for i in idents)
    return f"You are {member.handle} ({member.display_name}); accounts: {where}; roles: {', '.join(roles)}."


# ---------------------------------------------------------------------------- housekeeping


async def forget_old_events(ctx: Context) -> None:
    """Replays older than a week cannot happen; keep the de-duplication table small."""
    ctx.repos.events.forget_before(ctx.now - timedelta(days=7))


ROLE_ARG = Arg("role", choices=GRANTABLE_ROLES, help="the role")
WHO_ARG = Arg("who", kind="member", help="the person: handle, platform:account or mention")

FEATURE = Feature(
    name="core",
    commands=(
        CommandSpec(
            ("help",),
            "list the commands you can use, or explain one",
            roles=("anyone",),
            handler=help_,
            args=(Arg("command", required=False, many=True, help="a command name"),),
            examples=(Example("!help", r"Commands: .*!signup"), Example("!help round", r"!round open NAME START END")),
        ),
        CommandSpec(
            ("cancel",),
            "leave the interview you are in",
            roles=("member",),
            handler=cancel,
            private=True,
            examples=(Example("!cancel", r"nothing to cancel"),),
        ),
        CommandSpec(
            ("link",),
            "join your accounts on two platforms: get a code here, redeem it there",
            roles=("member",),
            handler=link,
            private=True,
            args=(Arg("code", required=False, help="a code issued on your other platform"),),
            examples=(Example("!link", r"Your link code is [A-Z2-9]{8}"), Example("!link NOPE1234", r"not valid")),
        ),
        CommandSpec(
            ("role", "grant"),
            "give someone a role",
            roles=("coordinator",),
            handler=role_grant,
            args=(WHO_ARG, ROLE_ARG),
            examples=(Example("!role grant bob host", r"bob is now host", setup=("bob: !help",)),),
        ),
        CommandSpec(
            ("role", "revoke"),
            "take a role away",
            roles=("coordinator",),
            handler=role_revoke,
            args=(WHO_ARG, ROLE_ARG),
            examples=(Example("!role revoke bob host", r"bob is no longer host", setup=("bob: !help", "!role grant bob host")),),
        ),
        CommandSpec(
            ("role", "list"),
            "who has a role",
            roles=("coordinator",),
            handler=role_list,
            args=(ROLE_ARG,),
            examples=(Example("!role list host", r"host \(1\): bob", setup=("bob: !help", "!role grant bob host")),),
        ),
        CommandSpec(
            ("whoami",),
            "your handle, linked accounts and roles",
            roles=("member",),
            handler=whoami,
            private=True,
            examples=(Example("!whoami", r"You are you .*console:you.*admin"),),
        ),
    ),
    jobs=(Job("forget-old-events", forget_old_events),),
)
