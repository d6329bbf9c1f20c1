"""Real headless Chromium for the dashboard's browser test (Debian's chromium and
chromium-driver, driven by Selenium; ``.ci/run`` and ``./dev test`` install them).

Chromium and chromedriver run in their own process group, killed by its id after ``quit()``,
so a failing test leaves no browser behind. Selenium's calls block: the test awaits them in a
worker thread (:func:`call`) while the bot, and so the dashboard, keeps serving in the loop.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}


def missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is not installed (apt-get install chromium chromium-driver; ./dev test does it)"
    return None


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    problem = missing()
    if problem:  # a hard failure, not a skip: the browser is part of the test environment
        pytest.fail(problem)
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--window-size=1280,800", "--hide-scrollbars"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    service = Service(CHROMEDRIVER, popen_kw={"start_new_session": True})
    d = webdriver.Chrome(service=service, options=options)
    d.set_page_load_timeout(20)
    d.downloads = downloads  # type: ignore[attr-defined]
    group = service.process.pid
    try:
        yield d
    finally:
        try:
            d.quit()
        finally:
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass


async def call(fn: Callable[..., Any], *args: Any) -> Any:
    """A blocking Selenium call, run beside the event loop that serves the pages."""
    return await asyncio.to_thread(fn, *args)


async def downloaded(folder: Path, name: str, timeout: float = 10.0) -> Path:
    """The file once Chromium has finished writing it (no ``.crdownload`` left)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        path = folder / name
        if path.exists() and not list(folder.glob("*.crdownload")):
            return path
        await asyncio.sleep(0.05)  # polling a folder, with a deadline
    raise AssertionError(f"{name} was not downloaded within {timeout} s (have: {sorted(p.name for p in folder.iterdir())})")


async def showing(d: Any, words: str, timeout: float = 10.0) -> str:
    """The page's main text once it shows ``words`` (after a click that navigates, the old
    page may still be there for a moment)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def main_text(_: Any) -> str | bool:
        try:
            found = d.find_element(By.TAG_NAME, "main").text
        except (NoSuchElementException, StaleElementReferenceException):
            return False
        return found if words in found else False

    try:
        return await call(WebDriverWait(d, timeout).until, main_text)
    except Exception as exc:
        raise AssertionError(f"the page at {d.current_url} did not show {words!r}") from exc


def keep(shot: Path, name: str) -> None:
    """Copy a screenshot to $MENTORBOT_SCREENSHOTS (the README's tour) when it is set."""
    target = os.environ.get("MENTORBOT_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(target) / name)
