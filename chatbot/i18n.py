"""The one translation layer: every text a person reads goes through a :class:`Language`.

Texts are written in English in the code, with named fields (``"{name} mentors you."``), and
looked up in gettext catalogs: the ones shipped in ``chatbot/locale/<code>/LC_MESSAGES/mentorbot.po``
and any a community drops into the directory its config names (``[i18n] locale_dir``). Catalogs
are read as ``.po`` files at start-up and compiled in memory, so adding a language is adding a
file, with no build step and no code.

Who hears which language is decided by the engine (the person's own choice for their DMs, the
channel's for a channel); a handler only says ``ctx._("...")``. Markers for Babel's extraction
(``pybabel extract -F babel.cfg``): ``_``, ``ngettext``, ``N_`` (a text declared as data, such as
help texts and interview questions, translated where it is shown).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from datetime import date, datetime, time
from gettext import NullTranslations
from io import BytesIO
from pathlib import Path
from typing import Any, Iterable

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

log = logging.getLogger(__name__)

DOMAIN = "mentorbot"
#: the catalogs that ship with the bot
SHIPPED = Path(__file__).parent / "locale"
#: the language the code is written in
SOURCE = "en"
#: the locale whose date and number formats a language uses, where it is not the language's own
FORMATS = {"en": "en_GB"}


def N_(text: str) -> str:
    """Marks a text declared as data for extraction; it is translated where it is shown."""
    return text


class _Fields(dict[str, Any]):
    """Format fields that leave an unknown ``{name}`` as it is, so a translator's typo in a
    field name shows as that name instead of losing the whole message."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class Language:
    """One language's texts, plural forms and date formats."""

    code: str
    translations: NullTranslations = field(default_factory=NullTranslations, compare=False, repr=False)

    @cached_property
    def locale(self) -> Locale:
        """Babel's locale for dates and numbers (English as most of the world writes it:
        "Thu 10 Dec", a 24-hour clock). Parsed once: Babel takes ~170 us a parse."""
        return Locale.parse(FORMATS.get(self.code, self.code))

    @property
    def name(self) -> str:
        """The language's name in itself ("français"), as its speakers look for it."""
        return Locale.parse(self.code).get_display_name(self.code) or self.code

    def _(self, text: str, /, **fields: Any) -> str:
        """``text`` in this language, its ``{fields}`` filled in."""
        return _fill(self.translations.gettext(text), text, fields)

    def ngettext(self, singular: str, plural: str, n: int, /, **fields: Any) -> str:
        """The form for ``n`` by this language's plural rules; ``{n}`` is filled in too."""
        chosen = self.translations.ngettext(singular, plural, n)
        source = singular if n == 1 else plural
        return _fill(chosen, source, {"n": self.number(n), **fields})

    def number(self, n: int | float) -> str:
        return format_decimal(n, locale=self.locale)

    def signed(self, n: int | float) -> str:
        """A change, with its sign ("+1", "-0.5", "+1,5" in French)."""
        return ("+" if n > 0 else "") + self.number(n)

    def date(self, day: date, skeleton: str = "yMMMEd") -> str:
        """A date as people of this language write it ("Thu, 10 Dec 2026", "jeu. 10 déc. 2026")."""
        return format_skeleton(skeleton, day, locale=self.locale)

    def short_date(self, day: date) -> str:
        """A date within the year ("Thu 10 Dec", "jeu. 10 déc.")."""
        return format_skeleton("MMMEd", day, locale=self.locale)

    def time(self, moment: time | datetime) -> str:
        """A time of day in this language's clock ("10:00", "10:00 AM")."""
        return format_time(moment, format="short", locale=self.locale)

    def long_date(self, day: date) -> str:
        return format_date(day, format="long", locale=self.locale)

    def either(self, items: Iterable[str]) -> str:
        """"a, b or c" in this language: the choices a question offers."""
        from babel.lists import format_list

        items = list(items)
        return format_list(items, style="or", locale=self.locale) if items else ""

    def join(self, items: Iterable[str]) -> str:
        """"a, b and c" in this language."""
        from babel.lists import format_list

        items = list(items)
        return format_list(items, locale=self.locale) if items else ""


def _fill(text: str, source: str, fields: dict[str, Any]) -> str:
    if not fields:
        return text
    try:
        return text.format_map(_Fields(fields))
    except (ValueError, IndexError, AttributeError):  # a translation with broken braces
        log.warning("translation of %r does not format; using the source text", source)
        return source.format_map(_Fields(fields))


def _read_catalog(path: Path, *, to_change: bool = False) -> NullTranslations:
    """The catalog at ``path``: one object shared by every engine of the process, unless the
    caller changes it (``to_change``: a community's catalog gets a fallback set)."""
    stat = path.stat()
    version = (str(path), stat.st_mtime_ns, stat.st_size)
    return _translations(*version) if to_change else _shared(*version)


def _translations(path: str, mtime_ns: int, size: int) -> NullTranslations:
    return Translations(fp=BytesIO(_compiled(path, mtime_ns, size)), domain=DOMAIN)


#: reading the compiled bytes into a catalog took a hundredth of a second a catalog, three at
#: every engine's start: read once per version of the file, as ``_compiled`` compiles it
_shared = lru_cache(maxsize=64)(_translations)


@lru_cache(maxsize=64)
def _compiled(path: str, mtime_ns: int, size: int) -> bytes:
    """A ``.po`` file compiled to ``.mo`` bytes, once per version of the file: parsing one takes
    a tenth of a second, and every engine (each test's bot, a restart) reads every catalog. The
    caller builds new ``Translations`` from the bytes, since a community's catalog is changed
    (its fallback set) after reading."""
    with open(path, "rb") as f:
        catalog = read_po(f)
    buf = BytesIO()
    write_mo(buf, catalog)  # fuzzy entries are left out: a guess is not a translation
    return buf.getvalue()


def _catalogs(directory: Path | None) -> dict[str, Path]:
    """The ``.po`` files of a catalog directory, by language code."""
    if directory is None or not directory.is_dir():
        return {}
    return {po.parts[-3]: po for po in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))}


@lru_cache(maxsize=16)
def available(extra_dir: str | None = None) -> tuple[str, ...]:
    """The language codes the bot can speak with ``extra_dir``'s catalogs (config checks)."""
    return tuple(sorted({SOURCE, *_catalogs(SHIPPED), *_catalogs(Path(extra_dir) if extra_dir else None)}))


class Languages:
    """The languages the bot speaks: English, the shipped catalogs and a community's own (which
    may also override some texts of a shipped language: what it leaves out is as shipped)."""

    def __init__(self, default: str = SOURCE, extra_dir: str | Path | None = None) -> None:
        self._by_code: dict[str, Language] = {SOURCE: Language(SOURCE)}
        for directory in (SHIPPED, Path(extra_dir) if extra_dir else None):
            for code, po in _catalogs(directory).items():
                try:
                    Locale.parse(code)
                except (UnknownLocaleError, ValueError):
                    log.warning("%s: '%s' is not a language code Babel knows; skipped", po, code)
                    continue
                shipped = self._by_code.get(code)
                translations = _read_catalog(po, to_change=shipped is not None)
                if shipped is not None:  # a community's catalog overrides some texts; the rest as shipped
                    translations.add_fallback(shipped.translations)
                self._by_code[code] = Language(code, translations)
        if default not in self._by_code:
            raise ValueError(f"no catalog for the default language '{default}' (have: {', '.join(self.codes)})")
        self.default = self._by_code[default]

    @property
    def codes(self) -> list[str]:
        return sorted(self._by_code)

    def get(self, code: str | None) -> Language:
        """The language ``code`` names, else the bot's default."""
        if code:
            found = self._by_code.get(code) or self._by_code.get(code.split("_")[0].split("-")[0])
            if found is not None:
                return found
        return self.default

    def translation(self, code: str, text: str) -> str | None:
        """``text`` as ``code``'s catalog has it, or None (no such catalog, or not translated)."""
        lang = self._by_code.get(code)
        if lang is None or code == SOURCE:
            return None
        translated = lang.translations.gettext(text)
        return translated if translated != text else None

    def has(self, code: str) -> bool:
        return code in self._by_code

    def first_of(self, codes: Iterable[str]) -> str | None:
        """The first of a person's languages the bot speaks (for the sign-up's offer)."""
        for code in codes:
            base = code.split("_")[0].split("-")[0].lower()
            if base in self._by_code:
                return base
        return None


def extract_skills(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterable[tuple[int, str, str, list[str]]]:
    """Babel's extractor for the shipped skills catalogue (``chatbot/data/skills.csv``): each
    skill's title and description are texts people read in an assessment, translated like any
    other (a community's own catalogue, in its own language, needs none)."""
    import csv
    import io

    rows = csv.DictReader(io.TextIOWrapper(fileobj, encoding="utf-8"))
    for line, row in enumerate(rows, start=2):
        for column in ("title", "description"):
            if row.get(column):
                yield line, "_", row[column], [f"TRANSLATORS: the skills catalogue's {column}"]


#: English, for texts made where nobody in particular reads them (logs, the command reference)
ENGLISH = Language(SOURCE)
