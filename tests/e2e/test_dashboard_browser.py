"""The dashboard in a real browser (headless Chromium): sign in with the link from chat, read
the overview, open a pair, download a CSV, see a mentor refused another mentor's pair, and use
it at a phone's width. Each page's screenshot is taken; with MENTORBOT_SCREENSHOTS set they are
kept there (the README's tour):

    MENTORBOT_SCREENSHOTS=docs/screenshots ./dev test tests/e2e/test_dashboard_browser.py
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.browser import PHONE, call, downloaded, driver, keep, showing  # noqa: F401 - fixture
from tests.dashboard_seed import SECRET, seeded_bot
from tests.features.test_dashboard import link_for

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def bot(tmp_path, monkeypatch):
    monkeypatch.setenv("MENTORBOT_DASHBOARD_SECRET", SECRET)
    bot = await seeded_bot(tmp_path)
    yield bot
    await bot.stop()


async def shoot(d, tmp_path: Path, name: str, whole: bool = True) -> None:  # noqa: ANN001 - a WebDriver
    """A screenshot of the page (``whole``: the window grown to the page's height first)."""
    shot = tmp_path / name
    if whole:
        height = await call(d.execute_script, "return document.documentElement.scrollHeight")
        await call(d.set_window_size, 1280, min(int(height) + 100, 4000))
    assert await call(d.save_screenshot, str(shot))
    if whole:
        await call(d.set_window_size, 1280, 800)
    assert shot.read_bytes().startswith(PNG)
    keep(shot, name)


async def test_a_coordinator_and_a_mentor_use_the_dashboard_in_a_browser(bot, driver, tmp_path):
    d = driver
    # sign in with the link from chat: the page, then its button
    await call(d.get, await link_for(bot, "you"))
    await showing(d, "Sign in to the dashboard")
    await shoot(d, tmp_path, "sign-in.png")
    await call(lambda: d.find_element(By.CSS_SELECTOR, "button.primary").click())

    # the overview: the round, its charts (inline SVG) and its pairs
    main = await showing(d, "Pairs (2)")
    assert d.current_url.endswith("/round")
    assert "2027 Q1" in main and "dave and carol" in main
    assert len(await call(d.find_elements, By.CSS_SELECTOR, "figure.chart svg")) == 2
    await shoot(d, tmp_path, "overview.png")

    # the other pages a coordinator has
    for path, words, name in (("/skills", "Average change: +1", "skills.png"),
                              ("/office-hours", "Busiest slots, console #oh (Europe/Berlin)", "office-hours.png")):
        await call(d.get, bot.engine.web_url + path)
        await showing(d, words)
        await shoot(d, tmp_path, name)

    # open a pair from the overview, download the CSV behind its chart
    await call(d.get, bot.engine.web_url + "/round")
    await call(lambda: d.find_element(By.LINK_TEXT, "alice").click())
    main = await showing(d, "mentored by bob")
    assert "Build MediaWiki locally" in main and "<script>alert(1)</script>" in main
    pair_url = d.current_url
    await shoot(d, tmp_path, "pair.png")
    await call(lambda: d.find_element(By.CSS_SELECTOR, "#chart-mood a.csv").click())
    pair_id = re.search(r"/pair/(\d+)$", pair_url).group(1)
    csv_file = await downloaded(d.downloads, f"pair-{pair_id}-mood.csv")
    assert csv_file.read_text().splitlines()[:2] == ["due_at,status,mood,blocker", "2027-01-04T09:00:00+00:00,answered,4,"]

    # at a phone's width the page fits: nothing wider than the screen
    await call(d.execute_cdp_cmd, "Emulation.setDeviceMetricsOverride", PHONE)
    await call(d.get, bot.engine.web_url + "/round")
    assert await call(d.execute_script, "return document.documentElement.scrollWidth") <= PHONE["width"]
    assert "Check-ins answered per week" in await call(d.find_element(By.TAG_NAME, "body").get_attribute, "innerHTML")
    await shoot(d, tmp_path, "overview-phone.png", whole=False)
    await call(d.execute_cdp_cmd, "Emulation.clearDeviceMetricsOverride", {})

    # sign out
    await call(lambda: d.find_element(By.CSS_SELECTOR, "form.signout button").click())
    await showing(d, "You are signed out")
    await call(d.get, pair_url)
    await showing(d, "Sign in first")

    # bob, a mentor, signs in: his own pair opens, carol's (mentored by dave) is refused
    await call(d.get, await link_for(bot, "bob"))
    await call(lambda: d.find_element(By.CSS_SELECTOR, "button.primary").click())
    main = await showing(d, "Your own pairs only")
    assert "carol" not in main
    await call(d.get, pair_url)
    await showing(d, "mentored by bob")
    await call(d.get, bot.engine.web_url + f"/pair/{int(pair_id) + 1}")
    await showing(d, "this is not one of them")
    assert "Not for you" in await call(lambda: d.find_element(By.TAG_NAME, "h1").text)
    await shoot(d, tmp_path, "refused.png")

    # the language switch in the header: the page in French, and the choice kept from then on
    await call(d.get, bot.engine.web_url + "/round")
    await call(lambda: d.find_element(By.LINK_TEXT, "français").click())
    main = await showing(d, "Uniquement vos binômes")
    assert "Check-ins avec réponse par semaine" in await call(d.find_element(By.TAG_NAME, "body").get_attribute, "innerHTML")
    await call(d.get, bot.engine.web_url + "/round")
    await showing(d, "Binômes en difficulté")
    await shoot(d, tmp_path, "overview-fr.png")
