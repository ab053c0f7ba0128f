"""The web UI in a real browser: Debian's chromium driven by Playwright, on `kubetrail ui` run as
a user runs it (its own process, real HTTP, the login URL it prints). Every page is opened and
the pivots clicked through (incidents → incident → pod → timeline → event → original record),
with no console error (a script the Content-Security-Policy blocked shows up there) and no
failed request. A screenshot of every page goes to build/screenshots/."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = Path(os.environ.get("KUBETRAIL_CHROMIUM", "/usr/bin/chromium"))
SHOTS = ROOT / "build" / "screenshots"
STORY = "alice@example.com"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
)


@dataclass
class Trouble:
    """What the browser saw go wrong."""

    console: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def login_url(ui_db: Path) -> Iterator[str]:
    """`kubetrail ui` on the stories' store: the URL it prints."""
    cmd = [sys.executable, "-m", "kubetrail", "ui", "--db", str(ui_db), "--listen", "127.0.0.1:0"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            found = re.search(r"(http://127\.0\.0\.1:\d+/ui/login\?token=\S+)", line)
            assert found, f"kubetrail ui printed {line!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
            yield found.group(1)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


def watched(browser: object) -> tuple[object, Trouble]:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    trouble = Trouble()
    page.on("console", lambda m: trouble.console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: trouble.console.append(f"page error: {e}"))
    # A request cancelled by the next navigation (net::ERR_ABORTED, e.g. the favicon) did not fail.
    page.on(
        "requestfailed",
        lambda r: trouble.failed.append(f"{r.url}: {r.failure}") if "ERR_ABORTED" not in (r.failure or "") else None,
    )
    page.on("response", lambda r: trouble.failed.append(f"{r.url}: {r.status}") if r.status >= 400 else None)
    return page, trouble


def shot(page: object, name: str) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_pivots_from_an_incident_to_the_original_record(browser: object, login_url: str) -> None:
    from playwright.sync_api import Page, expect

    page, trouble = watched(browser)
    assert isinstance(page, Page)
    page.goto(login_url)
    expect(page).to_have_url(re.compile(r"/ui/incidents$"))  # the token is gone from the address bar
    expect(page.locator("p.banner")).to_contain_text("older than the default window")
    story = page.locator("table.incidents tbody tr", has_text=STORY).first
    expect(story).to_be_visible()
    shot(page, "01-incidents")

    story.locator("td a").first.click()
    expect(page.locator("dl.facts dt").first).to_have_text("Initiator")
    expect(page.locator("dl.facts dd").first).to_have_text(STORY)
    lanes = page.locator("figure.lanes svg")
    expect(lanes).to_be_visible()
    for lane in ("audit", "runtime", "network", "trace"):
        expect(lanes).to_contain_text(lane)
    expect(page.locator("figure.graph svg")).to_be_visible()
    shot(page, "02-incident")

    page.locator("dl.facts dd a[href*='/ui/timeline?pod=']").first.click()
    expect(page).to_have_url(re.compile(r"/ui/timeline\?pod="))
    rows = page.locator("table tbody tr")
    expect(rows.first).to_be_visible()
    shot(page, "03-pod-timeline")

    page.locator("table tbody td a[href^='/ui/events/']").first.click()
    expect(page.locator("pre.original")).to_be_visible()
    expect(page.locator("h2#orig-title")).to_contain_text("Original record")
    shot(page, "04-event")

    assert trouble.console == [] and trouble.failed == [], trouble


PAGES = (
    ("05-secrets", "/ui/ask/secrets?at=latest&since=24h"),
    ("06-processes", "/ui/ask/processes?at=latest&since=24h&unexpected=true"),
    ("07-actor", "/ui/ask/actor?at=latest&since=24h&name=alice%40example.com"),
    ("08-egress", "/ui/ask/egress?at=latest&since=24h&external=true"),
    ("09-trace-form", "/ui/ask/trace"),
    ("10-who", "/ui/who?ip=10.244.1.5&at=latest"),
    ("11-status", "/ui/status"),
)


def test_every_page_opens_without_an_error_and_its_tables_sort(browser: object, login_url: str) -> None:
    from playwright.sync_api import Page, expect

    page, trouble = watched(browser)
    assert isinstance(page, Page)
    page.goto(login_url)
    base = login_url.split("/ui/", 1)[0]
    for name, path in PAGES:
        page.goto(base + path)
        expect(page.locator("h1")).to_be_visible()
        shot(page, name)
    page.goto(base + "/ui/ask/processes?at=latest&since=24h&unexpected=true")
    header = page.locator("table.sortable thead th").nth(1)
    header.locator("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    assert trouble.console == [] and trouble.failed == [], trouble


def test_times_switch_to_local_time_and_the_keyboard_reaches_the_content(browser: object, login_url: str) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    context = browser.new_context(timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.goto(login_url)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    first = page.locator("time[datetime]").first
    utc = first.inner_text()
    page.locator("#tz").click()
    expect(page.locator("#tz")).to_have_attribute("aria-pressed", "true")
    assert first.inner_text() != utc and first.inner_text().endswith("+09:00")
    context.close()
