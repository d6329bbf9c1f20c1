"""``!status``: how each platform's connection is doing, for admins.

The supervisor (``chatbot/supervisor.py``) records every adapter's state in the kv namespace
``health``; this reads those records, so it says the same as ``mentorbot health`` does, from
inside the chat (e.g. an admin on Matrix sees that IRC is reconnecting).
"""

from __future__ import annotations

import time

from chatbot.commands import CommandSpec, Example
from chatbot.context import Context, Feature
from chatbot.i18n import N_
from chatbot.supervisor import HEALTH_NAMESPACE, AdapterHealth, assess


async def status(ctx: Context) -> str:
    """One line a platform, as ``mentorbot health`` writes them (operators' diagnostics, in
    English on both)."""
    platforms = ctx.platforms
    if not platforms:
        return ctx._("No platform is running.")
    now, max_down = time.time(), ctx.settings.health.max_down_seconds
    lines = [assess(p, AdapterHealth.from_json(ctx.repos.kv.get(HEALTH_NAMESPACE, p)), now, max_down).line
             for p in platforms]
    return "\n".join(lines)


FEATURE = Feature(
    name="status",
    commands=(
        CommandSpec(
            ("status",),
            N_("how each platform's connection is doing"),
            roles=("admin",),
            handler=status,
            examples=(Example("!status", r"^console: "),),
        ),
    ),
)
