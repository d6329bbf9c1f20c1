"""The skills catalogue: what a self-assessment asks about, and how answers are scored.

The packaged catalogue (``chatbot/data/skills.csv``) is a real community's standard of 28
skills, each with a stack area, a role focus and a one-line description of what someone who
has the skill can do. A community can load its own CSV instead; it is checked row by row, so
a mistake in it is reported with its line number when the bot starts, not as a confusing
assessment later.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from chatbot.i18n import ENGLISH, N_, Language

__all__ = [
    "COLUMNS",
    "GENERALIST",
    "SCALE",
    "Catalogue",
    "CatalogueError",
    "Level",
    "Skill",
    "SkillLookupError",
    "load_catalogue",
    "parse_level",
    "scale_help",
]

#: The role focus whose skills every assessment includes, whatever the person's own focus.
GENERALIST = "Generalist"
#: Columns a catalogue CSV may have; ``description`` may be left out (it then reads as empty).
COLUMNS = ("title", "stack_area", "role_focus", "description")
_REQUIRED = ("title", "stack_area", "role_focus")


@dataclass(frozen=True)
class Level:
    """One step of the self-assessment scale; ``value`` None means "not applicable"."""

    value: int | None
    label: str

    @property
    def code(self) -> str:
        return "N/A" if self.value is None else str(self.value)


SCALE: tuple[Level, ...] = (
    Level(0, N_("no understanding")),
    Level(1, N_("basic or supervised")),
    Level(2, N_("confident alone")),
    Level(3, N_("can teach others")),
    Level(None, N_("not applicable")),
)


def scale_help(lang: Language = ENGLISH) -> str:
    """``0 no understanding · 1 basic or supervised · … · N/A not applicable`` for prompts, the
    labels in ``lang`` (the codes are what people type, the same in every language)."""
    return " · ".join(f"{level.code} {lang._(level.label)}" for level in SCALE)


def parse_level(text: str, lang: Language = ENGLISH) -> int | None:
    """A rating as typed: ``0``-``3``, or ``n/a``/``na`` for "not applicable" (None)."""
    answer = text.strip().lower().replace(" ", "")
    if answer in ("n/a", "na", "n.a.", "-"):
        return None
    for level in SCALE:
        if level.value is not None and answer == str(level.value):
            return level.value
    raise ValueError(lang._("'{answer}' is not on the scale: answer with {scale}", answer=text.strip(), scale=scale_help(lang)))


@dataclass(frozen=True)
class Skill:
    title: str
    stack_area: str
    role_focus: str
    description: str = ""


class CatalogueError(ValueError):
    """A catalogue CSV that cannot be used; the message names the file and the line."""


class SkillLookupError(ValueError):
    """No skill, or more than one, matches what was typed; ``candidates`` holds the matches.

    Raised with the English text (marked for translation) and its fields, so the handler that
    answers translates it into the reader's language with :meth:`in_language`; ``str()`` is
    the English text."""

    def __init__(self, message: str, candidates: tuple[Skill, ...] = (), /, **fields: Any):
        super().__init__(ENGLISH._(message, **fields))
        self.message, self.fields, self.candidates = message, fields, candidates

    def in_language(self, lang: Language) -> str:
        return lang._(self.message, **self.fields)


@dataclass(frozen=True)
class Catalogue:
    """The skills in file order. Built by :func:`load_catalogue`, which checks titles are unique."""

    skills: tuple[Skill, ...]

    def __iter__(self) -> Iterator[Skill]:
        return iter(self.skills)

    def __len__(self) -> int:
        return len(self.skills)

    @property
    def role_focuses(self) -> tuple[str, ...]:
        """The distinct role foci in file order, Generalist last (it is not a specialism)."""
        seen = list(dict.fromkeys(skill.role_focus for skill in self.skills))
        return tuple(sorted(seen, key=lambda focus: focus == GENERALIST))

    def for_focus(self, role_focus: str) -> tuple[Skill, ...]:
        """What a self-assessment for ``role_focus`` asks: that focus's skills, then the
        Generalist ones. The focus is matched without regard to case; an unknown one raises."""
        wanted = _fold(role_focus)
        focus = next((f for f in self.role_focuses if _fold(f) == wanted), None)
        if focus is None:
            raise SkillLookupError(
                N_("unknown role focus '{focus}': choose one of {focuses}"),
                focus=role_focus.strip(), focuses=", ".join(self.role_focuses),
            )
        own = tuple(s for s in self.skills if s.role_focus == focus)
        if focus == GENERALIST:
            return own
        return own + tuple(s for s in self.skills if s.role_focus == GENERALIST)

    def find(self, text: str) -> Skill:
        """The skill whose title is ``text`` (any case), or the only one it begins."""
        wanted = _fold(text)
        if not wanted:
            raise SkillLookupError(N_("name a skill, e.g. the first words of its title"))
        exact = [s for s in self.skills if _fold(s.title) == wanted]
        if exact:
            return exact[0]
        matches = tuple(s for s in self.skills if _fold(s.title).startswith(wanted))
        if len(matches) == 1:
            return matches[0]
        if matches:
            titles = "; ".join(s.title for s in matches)
            raise SkillLookupError(
                N_("'{name}' could be any of: {titles}. Type more of the title."), matches, name=text.strip(), titles=titles,
            )
        raise SkillLookupError(N_("no skill is called '{name}'"), name=text.strip())


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """The packaged catalogue, or a community's own CSV at ``path``.

    The CSV needs a header with ``title``, ``stack_area`` and ``role_focus`` and may add
    ``description``; fields with commas are quoted as usual. Raises CatalogueError naming the
    file and line for an unknown or missing column, a row with a missing title or role focus,
    a duplicate title (compared without regard to case, as :meth:`Catalogue.find` does), a row
    with more cells than columns, or a file without any skills.
    """
    if path is None:
        source = "chatbot/data/skills.csv"
        text = resources.files("chatbot").joinpath("data/skills.csv").read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8-sig")  # -sig: spreadsheets write a BOM
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogueError(f"{source}: cannot read the skills catalogue: {exc}") from None
    return _parse(text, source)


def _parse(text: str, source: str) -> Catalogue:
    try:
        return _parse_rows(text, source)
    except csv.Error as exc:
        raise CatalogueError(f"{source}: not a readable CSV file: {exc}") from None


def _columns(header: list[str] | None, source: str) -> list[str]:
    """The header line's column names, each known, the required ones there, none twice."""
    if header is None:
        raise CatalogueError(f"{source}: the file is empty; it needs a header line: {','.join(COLUMNS)}")
    columns = [name.strip().lower() for name in header]
    for name in columns:
        if name not in COLUMNS:
            raise CatalogueError(
                f"{source}, line 1: unknown column '{name}'; the columns are {', '.join(COLUMNS)}"
            )
    for name in _REQUIRED:
        if name not in columns:
            raise CatalogueError(f"{source}, line 1: the column '{name}' is missing")
    if len(set(columns)) != len(columns):
        raise CatalogueError(f"{source}, line 1: a column is named twice")
    return columns


def _parse_rows(text: str, source: str) -> Catalogue:
    reader = csv.reader(io.StringIO(text, newline=""))
    columns = _columns(next(reader, None), source)
    skills: list[Skill] = []
    first_line: dict[str, int] = {}
    next_line = reader.line_num + 1
    for cells in reader:  # a quoted cell may span lines: report the line the row starts on
        line, next_line = next_line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are allowed, e.g. between groups
        if len(cells) > len(columns):
            raise CatalogueError(
                f"{source}, line {line}: {len(cells)} cells but {len(columns)} columns "
                "(put a value that contains a comma in double quotes)"
            )
        row = dict(zip(columns, (cell.strip() for cell in cells)))
        title = row.get("title", "")
        if not title:
            raise CatalogueError(f"{source}, line {line}: the title is missing")
        if not row.get("role_focus"):
            raise CatalogueError(f"{source}, line {line}: '{title}' has no role_focus")
        key = _fold(title)
        if key in first_line:
            raise CatalogueError(
                f"{source}, line {line}: duplicate title '{title}' (first on line {first_line[key]})"
            )
        first_line[key] = line
        skills.append(
            Skill(
                title=" ".join(title.split()),
                stack_area=row.get("stack_area", ""),
                role_focus=" ".join(row["role_focus"].split()),
                description=row.get("description", ""),
            )
        )
    if not skills:
        raise CatalogueError(f"{source}: the catalogue has a header but no skills")
    return Catalogue(tuple(skills))
