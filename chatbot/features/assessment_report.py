"""An assessment's report: one line per skill with the self, mentor and final scores and the
change, wrapped for chat rather than cut. Pure formatting (no database), so the round's wrap-ups
and ``!assess report`` write it the same way."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Sequence

from chatbot.i18n import ENGLISH, Language
from storage.assessments import Rating

#: a report line's width before it wraps (chat clients wrap longer lines badly)
LINE_WIDTH = 72


@dataclass(frozen=True)
class SkillLine:
    """What a report says about one skill."""

    first_self: Rating | None
    latest_self: Rating | None
    mentor: Rating | None
    final: Rating | None

    @property
    def change(self) -> int | None:
        """Latest (the final check, else the latest self-assessment) minus the round's first
        self-assessment; None when there is nothing to compare."""
        current = self.final or self.latest_self
        base = self.first_self
        if base is None or current is None or current is base or base.score is None or current.score is None:
            return None
        return current.score - base.score


def code(rating: Rating | None) -> str:
    if rating is None:
        return "–"
    return "N/A" if rating.score is None else str(rating.score)


def wrapped(line: str, width: int = LINE_WIDTH) -> str:
    """A report line over ``width`` characters goes on, indented, on the next lines: a long
    skill name is shown whole ("MediaWiki Architecture…" was cut)."""
    return "\n".join(textwrap.wrap(line, width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False))


def summarise(ratings: Sequence[Rating]) -> dict[str, SkillLine]:
    """Per skill, from ratings oldest first."""
    by_skill: dict[str, list[Rating]] = {}
    for r in ratings:
        by_skill.setdefault(r.skill, []).append(r)
    out = {}
    for skill, rs in by_skill.items():
        selfs = [r for r in rs if r.kind == "self"]
        mentors = [r for r in rs if r.kind == "mentor"]
        finals = [r for r in rs if r.kind == "final"]
        out[skill] = SkillLine(
            selfs[0] if selfs else None, selfs[-1] if selfs else None,
            mentors[-1] if mentors else None, finals[-1] if finals else None,
        )
    return out


def render_report(handle: str, round_name: str | None, order: Sequence[str], ratings: Sequence[Rating], lang: Language = ENGLISH) -> str:
    """One line per rated skill in ``order`` (then any other rated ones), the unrated summed up;
    ``round_name`` None for ratings outside any round."""
    lines = summarise(ratings)
    kinds = {r.kind for r in ratings}
    skills = [*order, *(s for s in lines if s not in order)]
    if round_name is not None:
        out = [lang._("Skills of {handle} in {round} (0-3, N/A; self: first→latest):", handle=handle, round=round_name)]
    else:
        out = [lang._("Skills of {handle} outside rounds (0-3, N/A; self: first→latest):", handle=handle)]
    up = down = same = 0
    unrated = []
    for skill in skills:
        line = lines.get(skill)
        if line is None:
            unrated.append(skill)
            continue
        first, latest = code(line.first_self), code(line.latest_self)
        if first == latest:
            parts = [lang._("self {score}", score=first)]
        else:
            parts = [lang._("self {first}→{latest}", first=first, latest=latest)]
        if "mentor" in kinds:
            parts.append(lang._("mentor {score}", score=code(line.mentor)))
        if "final" in kinds:
            parts.append(lang._("final {score}", score=code(line.final)))
        change = line.change
        if change is not None:
            up, down, same = up + (change > 0), down + (change < 0), same + (change == 0)
        tail = f" ({change:+d})" if change else ""
        out.append(wrapped(f"{lang._(skill)}: {', '.join(parts)}{tail}"))
    if unrated:
        head = lang.ngettext("Not rated yet ({n}): ", "Not rated yet ({n}): ", len(unrated))
        out.append(wrapped(head + ", ".join(lang._(s) for s in unrated)))
    if up + down + same:
        out.append(lang._("Since the first self-assessment: {up} up, {down} down, {same} the same.",
                          up=lang.number(up), down=lang.number(down), same=lang.number(same)))
    return "\n".join(out)


def cut_list(text: str, n: int) -> str:
    """``text``, a comma-separated list, cut after the last item that fits in ``n`` characters."""
    return text if len(text) <= n else text[: n - 2].rsplit(", ", 1)[0] + ", …"
