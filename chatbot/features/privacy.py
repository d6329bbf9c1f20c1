"""A person's own data: ``!mydata export`` sends all of it, ``!mydata delete`` erases it.

Also the retention setting: every feature that keeps personal records (check-in answers, queue
logs) says how to purge them (``Feature.purge``); a daily job applies the configured age.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from chatbot.commands import ActionError, Arg, CommandSpec, Example
from chatbot.context import Context, Feature, Job
from chatbot.events import Attachment, DirectMessage
from chatbot.wording import sentences
from chatbot.i18n import N_
from chatbot.people import coordinators
from storage.tables import Member


def data_file(member: Member, data: dict[str, list[dict[str, Any]]], now: datetime) -> Attachment:
    """A person's records as one readable JSON file (by table, indented): what ``!mydata export``
    sends where the platform takes files, and ``mentorbot export mydata`` writes elsewhere."""
    document = {"handle": member.handle, "exported_at": now.isoformat(), "records": data}
    body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", member.handle).strip("-") or "member"
    return Attachment(f"mentorbot-data-{safe}-{now.date().isoformat()}.json", "application/json", body.encode())


async def export(ctx: Context) -> str:
    """A short summary in the DM and the records as a file (one 37 KB DM of raw JSON was
    unreadable); where no file can be sent, how to get it."""
    member = ctx.require_member()
    assert ctx.who is not None
    data = ctx.repos.privacy.export(member.pk)
    count = sum(len(rows) for rows in data.values())
    summary = ctx._(
        "Everything stored about you: {records} in {tables} ({counts}).",
        records=ctx.ngettext("{n} record", "{n} records", count),
        tables=ctx.ngettext("{n} table", "{n} tables", len(data)),
        counts=", ".join(f"{table} {len(rows)}" for table, rows in data.items()),
    )
    caps = ctx.capabilities(ctx.who.platform)
    if caps is not None and caps.attachments:
        file = data_file(member, data, ctx.now)
        ctx.queue_dm(member.pk, DirectMessage(to=ctx.who, text=ctx._("Your records, as a file: {name}", name=file.name), attachment=file))
        return sentences(summary, ctx._("The file follows in the next message."))
    cli = f"mentorbot export mydata {member.handle} --json FILE"
    return sentences(
        summary,
        ctx._(
            "I can't send files here: ask an admin to run {command} for you, or send {export} to me on a platform that takes files.",
            command=cli, export=ctx.command("mydata", "export"),
        ),
    )


#: how long the code that confirms an erasure stays valid
ERASE_CODE_VALID = timedelta(minutes=10)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


async def delete(ctx: Context, code: str | None) -> str:
    """Two steps, in private: the first says what goes and gives a code, the second (with the
    code, within ten minutes) erases. One mistyped command in a channel must not erase a person."""
    member = ctx.require_member()
    key = str(member.pk)
    lang = ctx.language  # the asker's, kept: after the erase there is no member to ask it of
    if code is None:
        fresh = "".join(ctx.rng.choice(_CODE_ALPHABET) for _ in range(6))
        ctx.repos.kv.set("erase-code", key, f"{fresh} {(ctx.now + ERASE_CODE_VALID).isoformat()}")
        minutes = int(ERASE_CODE_VALID.total_seconds()) // 60
        confirm = ctx.command("mydata", "delete", fresh)
        return sentences(
            lang._(
                "This erases everything stored about you, on every platform you linked: your profile, sign-ups, "
                "pairs, goals, check-in answers, assessments, session logs and office-hour records, and the "
                "messages that named you."
            ),
            lang._("What stays is the round's anonymous counts (sessions, check-ins, assessments, goals, office-hour visits), without your name or anything you wrote."),
            lang._("It cannot be undone."),
            lang._("The people you are paired with and the coordinators are told that you left the programme, not why."),
            lang.ngettext(
                "To go ahead, send {command} within {n} minute ({export} first for a copy).",
                "To go ahead, send {command} within {n} minutes ({export} first for a copy).",
                minutes, command=confirm, export=ctx.command("mydata", "export"),
            ),
        )
    stored = (ctx.repos.kv.get("erase-code", key) or "").split()
    if len(stored) != 2 or datetime.fromisoformat(stored[1]) < ctx.now:
        raise ActionError(lang._("That code has expired or was never given: send {command} for a new one.", command=ctx.command("mydata", "delete")))
    if code.strip().upper() != stored[0]:
        raise ActionError(lang._("That is not the code I gave you. Send {command} for a new one.", command=ctx.command("mydata", "delete")))
    handle = member.handle
    told = _tell_those_who_should_know(ctx, member)
    ctx.repos.kv.forget("erase-code", key)
    _leave(ctx, member.pk)
    ctx.repos.privacy.erase(member, ctx.now)
    ctx.member = None
    ctx.scrub_after_commit()
    for person in told:  # queued after the erase, so the scrub of messages naming them keeps these
        their = ctx.language_of(person)
        ctx.dm(person, their._("{handle} has left the programme.", handle=handle))
    return lang._("Done: everything stored about {handle} is erased. If you write again you start as a new member.", handle=handle)


def _leave(ctx: Context, member_id: int) -> None:
    """The person leaves first, as ``!withdraw`` would have them (without its messages, which
    name them): their pairs end and their sign-ups to rounds not closed are withdrawn. The round
    records then stay as a leaver's, and nobody is paired with, matched to or asked about one."""
    for pair in [*ctx.repos.pairs.of_mentor(member_id), *ctx.repos.pairs.of_mentee(member_id)]:
        ctx.repos.pairs.end(pair, "withdrew", ctx.now)
    for rnd in ctx.repos.rounds.not_closed():
        for signup in ctx.repos.signups.of(member_id, rnd.pk):
            if signup.status == "active":
                signup.status, signup.withdrawn_at = "withdrawn", ctx.now
                ctx.repos.signups.save(signup)


def _tell_those_who_should_know(ctx: Context, member: Member) -> list[Member]:
    """The person's mentors, mentees and the coordinators (never the person themself)."""
    people = [*ctx.repos.pairs.mentors_of(member.pk), *ctx.repos.pairs.mentees_of(member.pk), *coordinators(ctx, exclude=member)]
    return list({p.id: p for p in people if p.id is not None and p.id != member.pk}.values())


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
            N_("everything the bot stores about you, sent to you privately"),
            roles=("member",),
            handler=export,
            private=True,
            examples=(Example("alice: !mydata export", r"Everything stored about you: .* \(member 1, identity 1", setup=("alice: !help",)),),
        ),
        CommandSpec(
            ("mydata", "delete"),
            N_("erase everything the bot stores about you (in private, with a code it gives you first)"),
            roles=("member",),
            handler=delete,
            private=True,
            scope="direct",
            args=(Arg("code", required=False, help=N_("the code the first step gave you")),),
            examples=(Example("alice: !mydata delete", r"To go ahead, send !mydata delete [A-Z2-9]{6} within 10 minutes"),),
        ),
    ),
    jobs=(Job("retention", purge_expired),),
    purge=purge_outbox,
)
