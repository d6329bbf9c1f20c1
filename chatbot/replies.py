"""Where an answer goes: in the place of the question, or by DM when it is private or too
long for the channel (with a word in the channel, so it does not look ignored), and an
interview's first question with it."""

from __future__ import annotations

from chatbot.context import Context
from chatbot.events import DirectMessage, Outbound, Reply


def finish_reply(ctx: Context, text: str | None, *, private: bool) -> None:
    """Put the answer first among the context's messages (with an interview's first
    question: in the DM, or a DM of its own when the command came from a channel)."""
    assert ctx.who is not None and ctx.where is not None
    if ctx.prompt is not None:
        if ctx.where.is_direct:
            text = f"{text}\n{ctx.prompt}" if text else ctx.prompt
        else:  # the interview is private: what the command said goes with its first question
            ctx.outbound.insert(0, DirectMessage(to=ctx.who, text=f"{text}\n{ctx.prompt}" if text else ctx.prompt))
            text = ctx._("I've sent you a private message with a few questions.")
    if text:
        answer = reply_for(ctx, text, private=private)
        ctx.outbound.insert(0, answer)
        if isinstance(answer, DirectMessage) and not ctx.where.is_direct:
            # said in a room, answered in private: a word in the room (in the room's language),
            # or it looks ignored
            room = ctx.engine.language_for(ctx.where, None)
            note = room._("I've sent you the answer in a private message.") if private else \
                room._("That answer is long: I've sent it to you in a private message.")
            ctx.outbound.insert(0, Reply(where=ctx.where, text=note, in_reply_to=ctx.event_id, to=ctx.who))

def reply_for(ctx: Context, text: str, *, private: bool) -> Outbound:
    """A reply in the place of the question; private ones become DMs where nothing else hides them."""
    assert ctx.who is not None and ctx.where is not None
    caps = ctx.capabilities(ctx.where.platform)
    if not ctx.where.is_direct:
        lines = text.count("\n") + 1
        too_long = caps is not None and lines > caps.channel_lines
        if (private or too_long) and not (caps is not None and caps.ephemeral_replies and ctx.event_id):
            if caps is None or caps.direct_messages:
                return DirectMessage(to=ctx.who, text=text)
    return Reply(where=ctx.where, text=text, in_reply_to=ctx.event_id, private=private, to=ctx.who)
