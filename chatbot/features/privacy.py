"""A person's own data: ``!mydata export`` sends all of it, ``!mydata delete`` erases it.

Also the retention setting: every feature that keeps personal records (check-in answers, queue
logs) says how to purge them (``Feature.purge``); a daily job applies the configured age.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from chatbot.commands import Arg, CommandSpec, Example
from chatbot.context import Context, Feature, Job


async def export(ctx: Context) -> str:
    member = ctx.require_member()
    data = ctx.repos.privacy.export(member.id)  # type: ignore[arg-type]
    count = sum(len(rows) for rows in data.values())
    lines = [f"Everything stored about you: {count} records in {len(data)} tables (JSON, one record a line)."]
    for table, rows in data.items():
        for row in rows:
            lines.append(f"{table}: {json.dumps(row, ensure_ascii=False, sort_keys=True)}")
    return "\n".join(lines)


async def delete(ctx: Context, confirm: str | None) -> str:
    member = ctx.require_member()
    if confirm is None:
        return (
            "This deletes everything stored about you, on every platform you linked: profile, sign-ups, "
            "pairs, answers and logs. It cannot be undone. "
            f"Send {ctx.prefix}mydata delete confirm to go ahead ({ctx.prefix}mydata export first for a copy)."
        )
    handle = member.handle
    ctx.repos.privacy.erase(member)
    ctx.member = None
    ctx.scrub_after_commit()
    return f"Done: everything stored about {handle} is deleted. If you write again you start as a new member."


async def purge_expired(ctx: Context) -> None:
    days = ctx.settings.privacy.retention_days
    if days is None:
        return
    cutoff: datetime = ctx.now - timedelta(days=days)
    for feature in ctx.features:
        if feature.purge is not None:
            feature.purge(ctx, cutoff)


def purge_outbox(ctx: Context, cutoff: datetime) -> int:
    return ctx.repos.outbox.purge_sent_before(cutoff)


FEATURE = Feature(
    name="privacy",
    commands=(
        CommandSpec(
            ("mydata", "export"),
            "everything the bot stores about you, sent to you privately",
            roles=("member",),
            handler=export,
            private=True,
            examples=(Example("alice: !mydata export", r'member: \{.*"handle": "alice"', setup=("alice: !help",)),),
        ),
        CommandSpec(
            ("mydata", "delete"),
            "erase everything the bot stores about you (asks for confirmation)",
            roles=("member",),
            handler=delete,
            private=True,
            args=(Arg("confirm", choices=("confirm",), required=False, help="confirm"),),
            examples=(Example("alice: !mydata delete confirm", r"everything stored about alice is deleted"),),
        ),
    ),
    jobs=(Job("retention", purge_expired),),
    purge=purge_outbox,
)
