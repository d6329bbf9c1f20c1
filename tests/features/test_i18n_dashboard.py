"""The web dashboard in the viewer's language: the link from ``!dashboard`` opens it in the
asker's language, the switch in the header changes it (kept in a cookie), and a visitor who is
not signed in reads their browser's language. A French coordinator's pages, charts included,
have no stretch of the code's English (the check of ``test_i18n_languages``)."""

from __future__ import annotations

import html as entities
import re
from datetime import date

import aiohttp
from babel.dates import format_skeleton

from chatbot.dashboard.lang import LANG_COOKIE, accepted
from tests.harness import Bot
from tests.features.test_dashboard import bot  # noqa: F401 - the seeded bot with its dashboard, a fixture
from tests.features.test_i18n_languages import english_in

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/login/[A-Za-z0-9_-]+\?lang=\w+)")


def visible(page: str) -> str:
    """What a person reads on a page: its text, the charts' titles, legends and hover texts."""
    return entities.unescape(re.sub(r"<[^>]+>", "\n", page))


async def signed_in(bot: Bot, who: str) -> tuple[aiohttp.ClientSession, str]:
    """A browser signed in with the link ``who`` got from ``!dashboard``, and that link."""
    await bot.say(who, "!dashboard")
    link = LINK.search(bot.dm(who)[-1])
    assert link, bot.dm(who)[-1]
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(link.group(1)) as resp:
        assert resp.status == 200
        form = re.search(r'<form method="post" action="([^"]+)"', await resp.text())
    assert form
    async with http.post(bot.engine.web_url + entities.unescape(form.group(1))) as resp:
        assert resp.status == 200, await resp.text()
    return http, link.group(1)


async def text_of(http: aiohttp.ClientSession, bot: Bot, path: str, **headers: str) -> tuple[int, str]:
    async with http.get(bot.engine.web_url + path, headers=headers) as resp:
        return resp.status, await resp.text()


async def test_a_french_coordinator_reads_every_page_in_french(bot):
    await bot.say("you", "!profile set language fr")
    http, link = await signed_in(bot, "you")
    async with http:
        assert link.endswith("?lang=fr")
        pages = {path: await text_of(http, bot, path)
                 for path in ("/round", "/skills", "/office-hours", "/pair/1", "/pair/999", "/round/77")}
    assert [status for status, _ in pages.values()] == [200, 200, 200, 200, 404, 404]
    for path, (_, page) in pages.items():
        assert '<html lang="fr">' in page, path
        slipped = english_in(visible(page))
        assert not slipped, f"English on {path}: {slipped}"
    overview, skills = pages["/round"][1], pages["/skills"][1]
    assert "Binômes en difficulté" in overview and "pas de séance depuis 15 jours" in overview
    assert "Check-ins avec réponse par semaine" in overview  # a chart's title
    assert format_skeleton("MMMd", date(2027, 1, 4), locale="fr") in overview  # "4 janv."
    assert "Évolution moyenne :" in skills and "<strong>+1</strong>" in skills
    assert "Il n'y a pas de binôme numéro 999." in visible(pages["/pair/999"][1])


async def test_the_switch_changes_the_language_and_keeps_it(bot):
    http, link = await signed_in(bot, "you")
    async with http:
        assert link.endswith("?lang=en")
        _, page = await text_of(http, bot, "/round")
        assert "Pairs at risk" in page and 'href="?lang=pt"' in page  # the switch, in every page's header
        _, page = await text_of(http, bot, "/round?lang=pt")
        assert "Pares em risco" in page
        assert any(c.key == LANG_COOKIE and c.value == "pt" for c in http.cookie_jar)
        status, page = await text_of(http, bot, "/skills")
        assert status == 200 and "Variação média:" in page  # kept without ?lang=
        _, page = await text_of(http, bot, "/round?lang=xx")  # a language the bot has no catalog for
        assert "Pares em risco" in page


async def test_a_visitor_reads_their_browsers_language(bot):
    async with aiohttp.ClientSession() as http:
        status, page = await text_of(http, bot, "/round", **{"Accept-Language": "de-DE, es;q=0.8, en;q=0.5"})
        assert status == 401 and "Entra primero: escribe !dashboard al bot" in page
        status, page = await text_of(http, bot, "/round", **{"Accept-Language": "de"})
        assert status == 401 and "Sign in first: type !dashboard to the bot" in page


def test_accept_language_is_read_by_preference():
    assert accepted("fr;q=0.5, pt-BR, es;q=0.9, *;q=0.1, de;q=0") == ["pt-BR", "es", "fr"]
    assert accepted("") == [] and accepted("en;q=nonsense") == []
