"""Scores as people type them in an assessment: one (``2``, ``N/A``), several in order from the
skill asked (``2 3 1 0 N/A``), or several by the skills' numbers (``5: 2, 7-9: 1``, and what a
Discord form sends back: ``6. 2\n7. -``); and the form offered where the platform has forms.

Twenty-one questions one at a time, each with the scale, made about 63 messages per mentee over
a round's three passes; a message may now answer as many skills as the person likes. Pure text
in, ``{skill index: score}`` out; a ValueError says (in the reader's language) why not.
"""

from __future__ import annotations

import re

from typing import Any

from chatbot.context import Context
from chatbot.events import DirectMessage, Form
from chatbot.i18n import Language
from chatbot.domain.skills import parse_level

#: "5: 2", "5=2", "5) 2", "5. 2", "7-9: 1", "7–9: N/A"
_NUMBERED = re.compile(r"(\d{1,3})(?:\s*[-–]\s*(\d{1,3}))?\s*(?:[:=)]|\.(?=\s))\s*(n\s*/\s*a|na|[0-9]+|-)(?![\w/])", re.I)
#: a box of a form left blank comes back as "-": that skill is not rated
BLANK = "-"
_SEPARATORS = re.compile(r"[\s,;]+")


def read_scores(text: str, at: int, total: int, lang: Language, keywords: dict[str, str]) -> dict[int, int | None]:
    """The scores in ``text`` by skill index (0-based): a lone score is the skill ``at``'s."""
    stripped = text.strip()
    found = list(_NUMBERED.finditer(stripped))
    if found and not _SEPARATORS.sub("", _NUMBERED.sub("", stripped)):
        return _by_number(found, total, lang, keywords)
    tokens = [t for t in _SEPARATORS.split(stripped) if t]
    levels = [_level(t, lang, keywords) for t in tokens] if tokens else [_level(stripped, lang, keywords)]
    if at + len(levels) > total:
        raise ValueError(lang.ngettext(
            "I read {count} scores, but only {n} skill is left from this one; to rate others, give their numbers (e.g. 2: 3, 5-7: 1).",
            "I read {count} scores, but only {n} skills are left from this one; to rate others, give their numbers (e.g. 2: 3, 5-7: 1).",
            total - at, count=lang.number(len(levels)),
        ))
    return {at + i: level for i, level in enumerate(levels)}


def _by_number(found: list[re.Match[str]], total: int, lang: Language, keywords: dict[str, str]) -> dict[int, int | None]:
    out: dict[int, int | None] = {}
    for m in found:
        first, last = int(m[1]), int(m[2] or m[1])
        if not 1 <= first <= last <= total:
            raise ValueError(lang._(
                "There is no skill {number} here: the skills are numbered 1 to {total}.",
                number=m[0].split(":")[0].strip(), total=lang.number(total),
            ))
        if m[3] == BLANK:
            continue
        level = _level(m[3], lang, keywords)
        out.update({i - 1: level for i in range(first, last + 1)})
    return out


def _level(token: str, lang: Language, keywords: dict[str, str]) -> int | None:
    try:
        return parse_level(token, lang)
    except ValueError:
        raise ValueError(lang._(
            "'{answer}' is not on the scale: answer 0, 1, 2, 3 or N/A (or {skip}, {stop}).", answer=token.strip()[:20], **keywords,
        )) from None


#: skills in one form: a Discord modal holds five inputs
FORM_SIZE = 5


def offer_form(ctx: Context, data: dict[str, Any], at: int) -> None:
    """Where the platform has forms (Discord), the next unanswered skills from ``at`` (up to
    five in a row) in one form beside the question; its answers come back numbered as skills."""
    skills = data["skills"]
    caps = ctx.capabilities(ctx.who.platform) if ctx.who is not None else None
    member = ctx.member
    if caps is None or not caps.forms or member is None or member.id is None or not 0 <= at < len(skills):
        return
    answered = ctx.repos.assessments.answers(data["assessment"])
    group: list[int] = []
    for index in range(at, min(at + FORM_SIZE, len(skills))):
        if skills[index] in answered:
            break
        group.append(index)
    if len(group) < 2:
        return  # one skill: the question is the form
    first, last = group[0] + 1, group[-1] + 1
    form = Form(title=ctx._("Skills {first}-{last}", first=first, last=last), questions=tuple(ctx._(skills[i]) for i in group),
                label=ctx._("Rate them in a form"), first=first)
    text = ctx._("Or rate skills {first}-{last} in a form (0, 1, 2, 3 or N/A in each box; a blank box is left for later).",
                 first=first, last=last)
    assert ctx.who is not None
    ctx.queue_dm(member.id, DirectMessage(to=ctx.who, text=text, form=form))
