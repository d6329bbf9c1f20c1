"""The feedback interview: five questions about one pair, asked in private, one at a time (or
all at once in a Discord form), saved for the coordinators when the last is answered.

A person asked about several pairs (a mentor with two mentees, a mentee with a co-mentor) gets
one interview per pair, each following the last: finishing one starts the next that is open."""

from __future__ import annotations

from datetime import date
from typing import Any

from chatbot.context import Context
from chatbot.events import Form
from chatbot.features.feedback.answers import (
    STEP_NAMES,
    contact_help,
    flags_of,
    frequency_choices,
    parse_all,
    parse_step,
)
from chatbot.flows import Flow, Step, carried_on_by
from chatbot.i18n import N_, Language
from chatbot.wording import sentences
from chatbot.people import local_date
from storage.feedback import MENTOR_SIDE, FeedbackAnswer, FeedbackRequest
from storage.mentorship import Pair
from storage.tables import Member

FLOW = "feedback"
#: the default windows' names, for the catalogs (a window the config adds is shown as named)
WINDOW_NAMES = (N_("initial"), N_("midpoint"), N_("final"))


def window_label(lang: Language, window: str, round_name: str) -> str:
    """"midpoint, 2027 Q1"."""
    return lang._("{window}, {round}", window=lang._(window), round=round_name)


# ---------------------------------------------------------------------------- asking


def question(lang: Language, name: str, data: dict[str, Any]) -> str:
    """The question ``name`` about the pair in ``data``, in ``lang``."""
    who = data["name"]
    if name == "contact":
        return lang._("When were you last in touch with {name}?", name=who) + " " + contact_help(lang)
    if name == "often":
        return lang._("How often do you and {name} meet? A word or its number: {choices}.", name=who, choices=frequency_choices(lang))
    if name == "progress":
        if data["side"] == MENTOR_SIDE:
            return lang._("How is {name} progressing, from 1 (badly) to 5 (great)?", name=who)
        return lang._("How are you progressing, from 1 (badly) to 5 (great)?")
    if name == "risk":
        return lang._("Is anything putting this pair at risk? (or: none)")
    return lang._("Anything else the coordinators should know? (or: skip)")


def numbered_question(lang: Language, name: str, data: dict[str, Any]) -> str:
    return f"({STEP_NAMES.index(name) + 1}/{len(STEP_NAMES)}) {question(lang, name, data)}"


def form_of(lang: Language, data: dict[str, Any]) -> Form:
    """Every question at once where the platform has forms; the answers come back numbered."""
    return Form(title=lang._("Feedback"), questions=tuple(question(lang, n, data) for n in STEP_NAMES), label=lang._("Answer in a form"))


def intro(lang: Language, data: dict[str, Any]) -> str:
    """What the questions are for, and who reads the answers."""
    fields = {"name": data["name"], "when": window_label(lang, data["window"], data["round"])}
    if data["side"] == MENTOR_SIDE:
        about = lang._("Feedback time ({when}): a few questions about your mentee {name}.", **fields)
    else:
        about = lang._("Feedback time ({when}): a few questions about your mentor {name}.", **fields)
    return sentences(about, lang._("Only the coordinators read your answers."))


def about(ctx: Context, request: FeedbackRequest, pair: Pair) -> Member | None:
    """The other side of the pair: whom the respondent is asked about."""
    return ctx.repos.members.get(pair.mentee_id if request.side == MENTOR_SIDE else pair.mentor_id)


def interview_data(request: FeedbackRequest, other: Member, round_name: str) -> dict[str, Any]:
    return {"request": request.id, "name": other.handle, "side": request.side, "window": request.window, "round": round_name}


def ready(ctx: Context, member: Member) -> list[tuple[FeedbackRequest, Pair]]:
    """The member's unanswered requests whose window has begun where they live (before the
    questions' hour too: that is answering early), before the deadline, of active pairs."""
    today = local_date(member, ctx.now)
    return [(r, p) for r, p in ctx.repos.feedback.open_for(member.pk, ctx.now) if local_date(member, r.due_at) <= today]


def first_ready(ctx: Context, member: Member) -> dict[str, Any] | None:
    """The interview data of the member's first ready request, or None."""
    for request, pair in ready(ctx, member):
        other = about(ctx, request, pair)
        if other is not None:
            names = ctx.repos.feedback.round_names([request.round_id])
            return interview_data(request, other, names.get(request.round_id, ""))
    return None


def open_next(ctx: Context, member: Member, platform: str) -> dict[str, Any] | None:
    """Start the interview for the member's first ready request (they are in no other; the
    caller asks its first question); its data, or None. One they put aside stays put aside."""
    data = first_ready(ctx, member)
    if data is not None:
        ctx.open_flow(member.pk, FLOW, platform, data, keep_aside=True)
    return data


# ---------------------------------------------------------------------------- answering


def _parser(name: str):  # noqa: ANN202 - a flow parser
    def parse(ctx: Context, text: str, data: dict[str, Any]) -> Any:
        today = local_date(ctx.require_member(), ctx.now)
        every = parse_all(text, ctx.language, today)
        if every is None:
            return parse_step(name, text, ctx.language, today)
        data.update(every)
        data["_done"] = True
        return every[name]

    return parse


def record(ctx: Context, data: dict[str, Any]) -> str:
    """Save a complete answer (in this transaction) and say so; it is never shown to the pair."""
    me = ctx.require_member()
    repo = ctx.repos.feedback
    request = repo.request(int(data["request"]))
    if request is None or request.respondent_id != me.id:
        return ctx._("That feedback is no longer asked of you, so I did not save these answers.")
    if request.answered_at is not None:
        return ctx._("You have given that feedback already; thank you.")
    contact, said = data["contact"]
    last = date.fromisoformat(contact) if contact else None
    flags = flags_of(last, data["risk"], local_date(me, ctx.now), ctx.settings.feedback.stale_contact_days)
    repo.add_answer(FeedbackAnswer(
        request_id=request.pk, round_id=request.round_id, window=request.window, respondent_id=me.id, pair_id=request.pair_id,
        last_contact=last, contact_said=said, frequency=data["often"], progress=data["progress"], risk=data["risk"],
        notes=data["notes"], answered_at=ctx.now, flagged=flags.any,
    ))
    request.answered_at = ctx.now
    repo.save(request)
    return sentences(ctx._("Thanks, saved!"), ctx._("Only the coordinators will read it."))


async def _finish(ctx: Context, data: dict[str, Any]) -> str:
    closing = record(ctx, data)
    assert ctx.who is not None
    following = open_next(ctx, ctx.require_member(), ctx.who.platform)
    if following is None:
        return closing
    lang = ctx.language
    nxt = lang._("Next, your feedback about {name}:", name=following["name"])
    return "\n".join([closing, nxt, numbered_question(lang, STEP_NAMES[0], following)])


FEEDBACK = Flow(
    name=FLOW,
    steps=tuple(
        Step(name, (lambda name: lambda ctx, d: question(ctx.language, name, d))(name), _parser(name), when=lambda d: not d.get("_done"))
        for name in STEP_NAMES
    ),
    finish=_finish,
    cancelled=N_("Stopped. Nothing was saved; {prefix}feedback starts again while the feedback is open."),
    title=N_("feedback"),
    later=carried_on_by("feedback"),
    #: open until the window's deadline, not the usual interview timeout
    expires=False,
)
