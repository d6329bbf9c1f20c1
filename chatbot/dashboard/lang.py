"""The language a dashboard page is written in, and the templates that write it.

The sign-in link from ``!dashboard`` carries the asker's language (``?lang=fr``); whatever page
is opened with ``?lang=`` (the language switch in every page's header) keeps that choice in a
cookie. Without either, a signed-in viewer reads their own language (``!profile set language``)
and a visitor the first of their browser's languages (``Accept-Language``) the bot speaks.

Templates are translated with Jinja2's i18n extension, through the same :class:`Language` as
the chat (``{{ _("... {name}", name=...) }}``, ``ngettext``; dates and numbers by Babel with
``lang.date(...)``), so one catalog serves the bot and its web pages. One Jinja environment per
language, made on first use: its templates are compiled once.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from pathlib import Path
from typing import Callable, Mapping

import jinja2

from chatbot.i18n import Language, Languages

#: the cookie that keeps a language chosen with ``?lang=``
LANG_COOKIE = "mentorbot_lang"
#: how long the choice is kept (a year)
LANG_COOKIE_SECONDS = 365 * 24 * 3600


def accepted(header: str) -> list[str]:
    """The language tags of an ``Accept-Language`` header, most wanted first (``q=0`` left out)."""
    ranked: list[tuple[float, int, str]] = []
    for n, item in enumerate(header.split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and tag != "*" and q > 0:
            ranked.append((-q, n, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def chosen_code(languages: Languages, query: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
    """The language the person chose on purpose (the link's or the switch's ``?lang=``, else the
    cookie that kept it), if the bot speaks it."""
    for code in (query.get("lang"), cookies.get(LANG_COOKIE)):
        if code and languages.has(code):
            return code
    return None


def lang_cookie(code: str, *, secure: bool) -> str:
    """The ``Set-Cookie`` value that keeps ``code`` (a code the bot speaks, so nothing to escape)."""
    cookie: SimpleCookie = SimpleCookie()
    cookie[LANG_COOKIE] = code
    morsel = cookie[LANG_COOKIE]
    morsel.update({"max-age": str(LANG_COOKIE_SECONDS), "path": "/", "httponly": True, "samesite": "Lax"})
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


def pick(languages: Languages, chosen: str | None, own: Language | None, accept_language: str) -> Language:
    """The page's language: chosen on purpose, else the viewer's own, else the browser's, else
    the bot's default."""
    if chosen is not None:
        return languages.get(chosen)
    if own is not None:
        return own
    return languages.get(languages.first_of(accepted(accept_language)))


class Templates:
    """The dashboard's templates in each language."""

    def __init__(self, directory: Path, languages: Languages, words: Mapping[str, str]) -> None:
        """``words``: the records' words (statuses, kinds) and their texts, for ``word(...)``."""
        self.directory, self.languages, self.words = directory, languages, words
        self._envs: dict[str, jinja2.Environment] = {}

    def env(self, lang: Language) -> jinja2.Environment:
        env = self._envs.get(lang.code)
        if env is None:
            env = jinja2.Environment(
                loader=jinja2.FileSystemLoader(self.directory), autoescape=True, undefined=jinja2.StrictUndefined,
                extensions=["jinja2.ext.i18n"],
            )
            # our own callables, not gettext's: texts have {fields}, as in the chat
            env.install_gettext_callables(gettext=lang._, ngettext=lang.ngettext, newstyle=False)  # type: ignore[attr-defined]
            switch = [(code, self.languages.get(code).name) for code in self.languages.codes]
            env.globals.update(lang=lang, languages=switch, word=self._word(lang))
            self._envs[lang.code] = env
        return env

    def _word(self, lang: Language) -> Callable[[str | None], str]:
        def word(value: str | None) -> str:
            """A word the records keep, as this language says it (unknown ones as they are)."""
            return lang._(self.words[value]) if value in self.words else (value or "")

        return word

    def render(self, name: str, lang: Language, **values: object) -> str:
        return self.env(lang).get_template(name).render(**values)
