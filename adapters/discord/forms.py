"""Discord modals for ``DirectMessage.form``: built from a Form, read back as the numbered text
a person on a text platform would type.

A form is identified by a digest of its title and questions. The adapter keeps the questions
in its key-value store under that digest and puts only the digest in the button's and the
modal's custom id (Discord allows 100 characters), so a button opens its form after a restart,
and a submission needs nothing kept in memory.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import discord

from chatbot.events import Form

#: a form's button and its modal: ``mentorbot:form:<digest of the form>``
FORM_ID = "mentorbot:form:"
#: Discord's limits on a modal: inputs, title and label characters, placeholder characters
MODAL_INPUTS, MODAL_TITLE, INPUT_LABEL, PLACEHOLDER = 5, 45, 45, 100


def form_digest(form: Form) -> str:
    """16 hex digits naming a form's title and questions (the label does not change the modal)."""
    numbered = [form.first] if form.first != 1 else []  # digests of forms numbered from 1 stay as they were
    raw = json.dumps([form.title, list(form.questions), *numbered], ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def load_form(raw: str | None) -> Form | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return Form(title=str(data["title"]), questions=tuple(str(q) for q in data["questions"]), first=int(data.get("first", 1)))
    except (ValueError, KeyError, TypeError):
        return None


def _clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word where one is near, with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-?") + "…"


def build_modal(form: Form, digest: str) -> discord.ui.Modal:
    """One paragraph input per question: the label is the question cut to Discord's 45 characters
    (the whole question is the placeholder, and the description when the label had to be cut).
    Inputs are optional; a blank answer is sent as ``-``."""
    modal = discord.ui.Modal(title=_clip(form.title, MODAL_TITLE) or "Answer", custom_id=FORM_ID + digest, timeout=None)
    for i, question in enumerate(form.questions[:MODAL_INPUTS]):
        label = _clip(question, INPUT_LABEL) or f"Answer {i + 1}"
        field = discord.ui.TextInput(style=discord.TextStyle.paragraph, custom_id=f"q{i}", required=False,
                                     placeholder=_clip(question, PLACEHOLDER) or None)
        description = _clip(question, PLACEHOLDER) if label != " ".join(question.split()) else None
        modal.add_item(discord.ui.Label(text=label, description=description, component=field))
    modal.stop()  # sent, never stored: submissions are read in on_interaction, restart or not
    return modal


def form_answers(data: Any, first: int = 1) -> str:
    """``1. ...\n2. ...`` from a modal submission's inputs (``q0``, ``q1``, ...), in question order
    and numbered from ``first``; each answer on one line (a text platform sends one line per
    answer), a blank one as ``-``."""
    values: dict[int, str] = {}

    def walk(components: Any) -> None:
        for component in components or ():
            if component.get("type") == 1:
                walk(component.get("components"))
            elif component.get("type") == 18:
                walk([component.get("component") or {}])
            elif re.fullmatch(r"q\d+", str(component.get("custom_id", ""))):
                values[int(component["custom_id"][1:])] = str(component.get("value") or "")

    walk(data.get("components"))
    return "\n".join(f"{n}. {' '.join(values[i].split()) or '-'}" for n, i in enumerate(sorted(values), first))
