"""Languages as people type them: codes (``en``, ``pt-br``), English names (``German``,
``Māori``) or the language's own name (``Deutsch``, ``español``), read through Babel's CLDR data.

A language is one Babel keeps locale data for, so a word that merely looks like a code (``git``)
is refused. Codes are what is stored and compared (matching); names are what people are shown.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from babel import Locale, UnknownLocaleError, localedata
from babel.core import get_global

from chatbot.i18n import ENGLISH, Language

#: names people use that CLDR does not list as a language's name
EXTRA_NAMES = {"farsi": "fa", "mandarin": "zh", "cantonese": "yue", "te reo māori": "mi", "te reo maori": "mi", "te reo": "mi"}
MOST = 8


def _plain(text: str) -> str:
    """Lower case without accents, so "Maori" finds "Māori" and "espanol" finds "español"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


@lru_cache(maxsize=1)
def _locales() -> frozenset[str]:
    return frozenset(i.lower() for i in localedata.locale_identifiers() if i != "root")


@lru_cache(maxsize=1)
def _by_name() -> dict[str, str]:
    """Every language's English name and own name (accents optional) → its code."""
    english = Locale("en").languages
    out = dict(EXTRA_NAMES)
    for code in sorted(i for i in _locales() if "_" not in i):
        names = [english.get(code)]
        try:
            names.append(Locale.parse(code).languages.get(code))
        except (UnknownLocaleError, ValueError):
            pass
        for name in filter(None, names):
            out.setdefault(name.casefold(), code)
            out.setdefault(_plain(name), code)
    return out


def _code(word: str) -> str | None:
    """The code of one language as typed, or None."""
    key = word.strip().casefold()
    if key in _by_name() or _plain(key) in _by_name():
        return _by_name().get(key) or _by_name()[_plain(key)]
    code = key.replace("_", "-")
    code = get_global("language_aliases").get(code, code).replace("_", "-").lower()
    if re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", code) and code.replace("-", "_") in _locales():
        return code
    return None


def parse_languages(text: str, lang: Language = ENGLISH) -> list[str]:
    """Codes of the languages in ``text`` (a list separated by commas, "and", or spaces); a
    ValueError says in ``lang`` what is wrong."""
    found: list[str] = []
    for item in re.split(r"[,;/&\n]+|\band\b|\bund\b", text.strip()):
        if not item.strip():
            continue
        codes = [_code(item)]
        if codes[0] is None:  # "en de": several codes or names in one item
            codes = [_code(w) for w in item.split()]
        for word, code in zip(item.split() if len(codes) > 1 else [item], codes):
            if code is None:
                raise ValueError(
                    lang._(
                        "'{word}' is not a language I know; write its name (German, Deutsch) or code (de, pt-br)",
                        word=word.strip()[:30],
                    )
                )
            if code not in found:
                found.append(code)
    if not found:
        raise ValueError(lang._("Name at least one language, e.g. English, German"))
    if len(found) > MOST:
        raise ValueError(lang._("Eight languages at most, please"))
    return found


def language_name(code: str, lang: Language = ENGLISH) -> str:
    """``de`` → German (allemand in French), ``pt-br`` → Portuguese (Brazil); the code itself
    for anything unknown."""
    try:
        return Locale.parse(code.replace("-", "_")).get_display_name(lang.code) or code
    except (UnknownLocaleError, ValueError):
        return code


def language_label(code: str, lang: Language = ENGLISH) -> str:
    """A language named for the reader and, where that differs, in itself, so that its speakers
    find it too: ``de`` → "German (Deutsch)", "allemand (Deutsch)"; "English" for an English reader."""
    name = language_name(code, lang)
    own = language_name(code, Language(code.replace("-", "_"))) if code != lang.code else name
    return name if own.casefold() == name.casefold() else lang._("{name} ({own_name})", name=name, own_name=own)


def language_names(codes: list[str], lang: Language = ENGLISH, *, own: bool = False) -> str:
    """Languages for the reader ("German, English"); with ``own``, each also in itself where that
    differs (a list of languages to choose from)."""
    name = language_label if own else language_name
    return ", ".join(name(c, lang) for c in codes)


