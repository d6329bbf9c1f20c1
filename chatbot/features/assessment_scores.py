"""Scores as people type them in an assessment: one (``2``, ``N/A``), several in order from the
skill asked (``2 3 1 0 N/A``), or several by the skills' numbers (``5: 2, 7-9: 1``).

Twenty-one questions one at a time, each with the scale, made about 63 messages per mentee over
a round's three passes; a message may now answer as many skills as the person likes. Pure text
in, ``{skill index: score}`` out; a ValueError says (in the reader's language) why not.
"""

from __future__ import annotations

import re

from chatbot.i18n import Language
from chatbot.skills import parse_level

#: "5: 2", "5=2", "5) 2", "5. 2", "7-9: 1", "7–9: N/A"
_NUMBERED = re.compile(r"(\d{1,3})(?:\s*[-–]\s*(\d{1,3}))?\s*(?:[:=)]|\.(?=\s))\s*(n\s*/\s*a|na|[0-9]+)(?![\w/])", re.I)
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
