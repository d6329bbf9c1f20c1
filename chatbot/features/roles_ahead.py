"""Roles given ahead of time: ``!role grant irc:carol coordinator`` before carol has written.

The gate trusts stable account ids, so a grant for somebody the bot has not met names their
account on a platform, never a nick or a display name. It waits in ``pending_role`` and becomes
a role in the transaction that makes the account a member (see ``storage.pending_roles``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbot.commands import UsageError
from chatbot.context import Context
from storage.tables import Member

#: what an account looks like on each platform (others: a plain services-style account name)
_SHAPES = {
    "matrix": re.compile(r"@[^\s:]+:[^\s]+"),
    "discord": re.compile(r"\d{5,25}"),
}
_PLAIN = re.compile(r"[A-Za-z0-9_\-\[\]\\`^{|}.]{1,64}")
_FIXED_PLATFORMS = ("irc", "matrix", "discord", "console")


@dataclass(frozen=True)
class Account:
    """A platform account nobody has written to the bot from yet."""

    platform: str
    account: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.account}"


def _platform_account(ctx: Context, ref: str) -> tuple[str, str] | None:
    platform, _, account = ref.strip().partition(":")
    if not account or platform not in {*_FIXED_PLATFORMS, *ctx.platforms}:
        return None
    return platform, account


def person_or_account(ctx: Context, ref: str) -> Member | Account:
    """The member ``ref`` names, or, for ``platform:account`` of an account not seen yet, that
    account (checked to look like one of that platform's, so a typo is not kept as a grant)."""
    found = _platform_account(ctx, ref)
    if found is None:
        return ctx.find_member(ref, "who")
    platform, account = found
    member = ctx.repos.pending_roles.known(platform, account)
    if member is not None:
        return member
    if not (_SHAPES.get(platform) or _PLAIN).fullmatch(account):
        raise UsageError(ctx._("'{account}' is not an account on {platform}", account=account[:40], platform=platform), ctx.spec)
    return Account(platform, account)


def grant_ahead(ctx: Context, who: Account, role: str) -> str:
    by = ctx.member.id if ctx.member else None
    if not ctx.repos.pending_roles.grant(who.platform, who.account, role, by, ctx.now):
        return ctx._("{account} already has the {role} role waiting for their first message.", account=str(who), role=role)
    return ctx._("{account} has not written to me yet: they will be {role} as soon as they do.", account=str(who), role=role)


def revoke_ahead(ctx: Context, who: Account, role: str) -> str:
    if not ctx.repos.pending_roles.revoke(who.platform, who.account, role):
        return ctx._("{who} does not have the {role} role.", who=str(who), role=role)
    return ctx._("{account} will not be {role} when they first write to me.", account=str(who), role=role)


def waiting_line(ctx: Context, role: str) -> str | None:
    """The accounts given ``role`` ahead of time, for ``!role list`` (None: there are none)."""
    accounts = [f"{p.platform}:{p.account}" for p in ctx.repos.pending_roles.of_role(role)]
    if not accounts:
        return None
    return ctx._("Waiting for their first message: {accounts}", accounts=", ".join(accounts))
