"""The web dashboard served by the running bot, over real HTTP on 127.0.0.1.

Pages are rendered from the seeded programme in ``tests/dashboard_seed.py`` and checked for
what a person reads and for the numbers behind each chart (each point and bar carries its value
in the SVG). Every page a role may not see answers 403; bad input a clear 4xx page.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import AsyncIterator

import aiohttp
import pytest

from chatbot.dashboard.auth import COOKIE
from chatbot.dashboard.server import CSP
from tests.dashboard_seed import SECRET, seeded_bot
from tests.harness import Bot

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/login/[A-Za-z0-9_-]+)")


@pytest.fixture
async def bot(tmp_path, monkeypatch) -> AsyncIterator[Bot]:
    monkeypatch.setenv("MENTORBOT_DASHBOARD_SECRET", SECRET)
    bot = await seeded_bot(tmp_path)
    yield bot
    await bot.stop()


async def link_for(bot: Bot, who: str) -> str:
    await bot.say(who, "!dashboard")
    found = LINK.search(bot.dm(who)[-1])
    assert found, bot.dm(who)[-1]
    return found.group(1)


async def sign_in(bot: Bot, who: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # unsafe: cookies for an IP host
    async with http.post(await link_for(bot, who)) as resp:
        assert resp.status == 200, await resp.text()
    return http


def points(html: str, chart: str) -> dict[tuple[str, str], float]:
    """(series, label) -> value of every drawn point, bar or cell of the chart ``chart``."""
    svg = re.search(rf'<figure class="chart" id="chart-{chart}">\s*(<svg.*?</svg>)', html, re.S)
    assert svg, f"no chart {chart}"
    root = ET.fromstring(svg.group(1))
    return {(e.get("data-series"), e.get("data-label")): float(e.get("data-value"))  # type: ignore[arg-type]
            for e in root.iter() if e.get("data-value") is not None}


async def get(http: aiohttp.ClientSession, bot: Bot, path: str) -> tuple[int, str, aiohttp.typedefs.LooseHeaders]:
    async with http.get(bot.engine.web_url + path, allow_redirects=True) as resp:
        return resp.status, await resp.text(), resp.headers


async def test_a_coordinator_sees_the_whole_round_with_its_numbers(bot):
    async with await sign_in(bot, "you") as http:
        status, html, headers = await get(http, bot, "/")
    assert status == 200 and "2027 Q1" in html
    assert headers["Content-Security-Policy"] == CSP and "script" not in headers["Content-Security-Policy"]
    assert "alice" in html and "carol" in html
    # answer rate per week: 2 of 3, then 1 of 2 (a skipped prompt does not count); no data is no point
    assert points(html, "answers") == {("answered", "4 Jan"): 66.7, ("answered", "11 Jan"): 50.0}
    assert points(html, "sessions") == {("sessions", "28 Dec"): 0, ("sessions", "4 Jan"): 2, ("sessions", "11 Jan"): 1,
                                        ("sessions", "18 Jan"): 0}
    risks = re.search(r'<ul class="risks">(.*?)</ul>', html, re.S).group(1)
    assert "dave and carol" in risks and "no session for 15 days" in risks and "alice" not in risks
    assert "Feedback rounds are not part of the bot yet" in html
    # what people typed is shown as text, never as markup
    assert "<script>" not in html


async def test_a_mentor_sees_only_their_own_pairs_and_is_refused_another(bot):
    async with await sign_in(bot, "bob") as http:
        status, html, _ = await get(http, bot, "/round")
        assert status == 200 and "Your own pairs only" in html
        assert "alice" in html and "carol" not in html
        assert points(html, "answers") == {("answered", "4 Jan"): 50.0, ("answered", "11 Jan"): 100.0}
        pairs = dict(re.findall(r'<a href="/pair/(\d+)">(\w+)</a>', html))
        status, own, _ = await get(http, bot, f"/pair/{next(iter(pairs))}")
        assert status == 200 and "Build MediaWiki locally" in own
        assert points(own, "mood") == {("mood", "4 Jan"): 4, ("mood", "11 Jan"): 2}
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in own
        carol_pair = int(next(iter(pairs))) + 1  # pairs are numbered in order: carol's came next
        for path in (f"/pair/{carol_pair}", f"/pair/{carol_pair}/mood.csv", "/skills", "/office-hours",
                     "/office-hours/waits.csv", "/skills/1/skills.csv"):
            status, page, headers = await get(http, bot, path)
            assert status == 403, path
            assert "Not for you" in page and "Traceback" not in page
            assert headers["Content-Security-Policy"] == CSP


async def test_a_host_sees_office_hours_only(bot):
    async with await sign_in(bot, "erin") as http:
        status, html, _ = await get(http, bot, "/")
        assert status == 200 and "<h1>Office hours</h1>" in html
        assert points(html, "waits") == {("median", "4 Jan"): 20, ("p90", "4 Jan"): 30,
                                         ("median", "11 Jan"): 4, ("p90", "11 Jan"): 4}
        heat = {k: v for k, v in points(html, "busiest-1").items() if v}
        assert heat == {("Tue", "18"): 3, ("Tue", "20"): 1}  # in Europe/Berlin, the channel's timezone
        assert "Europe/Berlin" in html
        for path in ("/round", "/round/1", "/round/1/answers.csv", "/pair/1", "/skills"):
            status, _, _ = await get(http, bot, path)
            assert status == 403, path


async def test_skills_page_shows_averages_and_the_average_change(bot):
    async with await sign_in(bot, "you") as http:
        status, html, _ = await get(http, bot, "/skills")
        assert status == 200 and "Average change: <strong>+1</strong>" in html
        assert points(html, "skills") == {("self", "docs"): 2, ("self", "git"): 1.5, ("mentor", "git"): 2,
                                          ("final", "docs"): 3, ("final", "git"): 2.5}
        # per person and skill: alice git 3-1, docs 3-2, carol git 2-2
        assert points(html, "change") == {("change", "docs"): 1, ("change", "git"): 1, ("change", "all skills"): 1}
        status, csv_text, headers = await get(http, bot, "/skills/1/skills.csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert csv_text.splitlines() == ["skill,self_avg,mentor_avg,final_avg,self_n,mentor_n,final_n",
                                     "docs,2,,3,1,0,1", "git,1.5,2,2.5,2,1,2"]
    async with await sign_in(bot, "you") as http:
        status, csv_text, _ = await get(http, bot, "/skills/1/change.csv")
    assert csv_text.splitlines() == ["skill,average_change,people", "docs,1.0,1", "git,1.0,2", "all skills,1.0,3"]


async def test_every_chart_has_its_csv(bot):
    async with await sign_in(bot, "you") as http:
        status, text, headers = await get(http, bot, "/round/1/answers.csv")
        assert status == 200 and 'filename="round-1-answers.csv"' in headers["Content-Disposition"]
        assert text.splitlines()[1:3] == ["2026-12-28,0,0,", "2027-01-04,3,2,66.7"]
        status, text, _ = await get(http, bot, "/round/1/sessions.csv")
        assert text.splitlines()[2] == "2027-01-04,2,105"
        status, text, _ = await get(http, bot, "/office-hours/waits.csv")
        assert text.splitlines()[1] == "2027-01-04,2,20.0,30.0"
        status, text, _ = await get(http, bot, "/office-hours/busiest-1.csv")
        assert text.splitlines()[1:] == ["Tue,18,3", "Tue,20,1"]
        status, text, _ = await get(http, bot, "/pair/1/mood.csv")
        assert status == 200 and text.splitlines()[0] == "due_at,status,mood,blocker"


async def test_links_work_once_and_not_after_fifteen_minutes(bot):
    link = await link_for(bot, "bob")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(link) as resp:  # a link preview only reads the page: nothing is spent
            assert resp.status == 200 and "Sign in" in await resp.text()
        async with http.post(link) as resp:
            assert resp.status == 200
        async with http.post(link) as resp:
            assert resp.status == 410 and "used already" in await resp.text()
    stale = await link_for(bot, "bob")
    bot.clock.advance(__import__("datetime").timedelta(minutes=15, seconds=1))
    async with aiohttp.ClientSession() as http:
        async with http.post(stale) as resp:
            assert resp.status == 410 and "expired" in await resp.text()
        async with http.post(bot.engine.web_url + "/login/not-a-real-token") as resp:
            assert resp.status == 404 and "not valid" in await resp.text()


async def test_the_link_is_sent_in_private_and_the_cookie_is_strict(bot):
    out = await bot.say("bob", "!dashboard", channel="#general")
    assert out[0].endswith("I've sent you a sign-in link in a private message.")
    assert not any("/login/" in t for t in bot.channel("#general"))
    link = LINK.search(bot.dm("bob")[-1]).group(1)
    assert "15 minutes" in bot.dm("bob")[-1]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(link, allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/round"
            cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1; an https public_url adds it
    out = await bot.say("alice", "!dashboard")
    assert "is for coordinator, mentor or host" in out[0]


async def test_tampered_expired_and_signed_out_sessions_are_refused(bot):
    http = await sign_in(bot, "you")
    async with http:
        cookie = next(c for c in http.cookie_jar if c.key == COOKIE)
        status, _, _ = await get(http, bot, "/round")
        assert status == 200
        body, mac = cookie.value.split(".")
        forged = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + mac
        async with aiohttp.ClientSession() as other:
            async with other.get(bot.engine.web_url + "/round", headers={"Cookie": f"{COOKIE}={forged}"}) as resp:
                assert resp.status == 401 and "!dashboard" in await resp.text()
        async with http.post(bot.engine.web_url + "/logout") as resp:
            assert resp.status == 200 and "Signed out" in await resp.text()
        async with aiohttp.ClientSession() as other:  # the old cookie, kept by somebody, no longer works
            async with other.get(bot.engine.web_url + "/round", headers={"Cookie": f"{COOKIE}={cookie.value}"}) as resp:
                assert resp.status == 401
    http = await sign_in(bot, "you")
    async with http:
        bot.clock.advance(__import__("datetime").timedelta(hours=12, seconds=1))
        status, _, _ = await get(http, bot, "/round")
        assert status == 401


async def test_bad_input_gets_a_clear_4xx_page(bot):
    async with await sign_in(bot, "you") as http:
        for path, status_wanted, words in (
            ("/pair/999", 404, "no pair number 999"),
            ("/pair/99999999999999999999999", 404, "no such page"),
            ("/round/77", 404, "no round number 77"),
            ("/round/1/nonsense.csv", 404, "no chart called nonsense"),
            ("/pair/abc", 404, "no such page"),
            ("/nowhere", 404, "no such page"),
        ):
            status, html, headers = await get(http, bot, path)
            assert status == status_wanted, path
            assert words in html.lower() or words in html, (path, html)
            assert "Traceback" not in html and headers["Content-Security-Policy"] == CSP
        async with http.post(bot.engine.web_url + "/round") as resp:
            assert resp.status == 405
