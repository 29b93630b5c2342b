"""Serve the dashboard on a free localhost port and look at it in headless Chromium.

Used by the browser tests and by `make dashboard-screenshots` (the README's
pictures). Playwright drives the system Chromium (`playwright install` cannot
download browsers here); Streamlit renders over a websocket, so every page is
waited for until its charts have drawn.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from retain.dashboard.common import PAGES
from retain.dashboard.serve import streamlit_command
from retain.settings import PROJECT_DIR, QUIET_ENVIRONMENT

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
START_SECONDS = 60
PAGE_SECONDS = 60
CHART = "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg.marks"
# The page's script has run to its end (Streamlit marks its root element).
SCRIPT_DONE = "[data-testid='stApp'][data-test-script-state='notRunning']"
# On a page's own URL Streamlit's frontend first probes <page>/_stcore/health and
# host-config, gets 404 and falls back to the root: not an error of the app.
PATH_PROBE = re.compile(r"/[a-z_]+/_stcore/(health|host-config)$")
METRIC = "[data-testid='stMetricValue']"
# (charts, KPI tiles) each page draws over a warehouse with every mart filled, as the
# 2k sample and the customer_success fixture have: what a visit waits for.
PAGE_ELEMENTS = {"revenue": (6, 10), "cohorts": (2, 0), "customer_success": (5, 9),
                 "worklist": (0, 2), "customer": (2, 4)}


def chromium_executable() -> Path:
    """The system Chromium (Debian package `chromium`)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise FileNotFoundError("chromium is not installed: apt-get install -y chromium")
    return Path(found)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served_dashboard(warehouse: Path, port: int | None = None) -> Iterator[str]:
    """The dashboard over `warehouse`, serving until the block ends; yields its base URL.
    Started as `retain dashboard` starts it: what is looked at is what users are served."""
    port = port or free_port()
    environment = {**os.environ, **QUIET_ENVIRONMENT, "RETAIN_DUCKDB_PATH": str(warehouse)}
    server = subprocess.Popen(streamlit_command(port), cwd=PROJECT_DIR, env=environment,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2):
                    break
            except OSError as error:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read() if server.poll() is not None else ""
                    raise RuntimeError(f"the dashboard did not start: {output}") from error
                time.sleep(0.5)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@dataclass
class PageVisit:
    """What a browser saw on one page."""

    url: str
    charts: int
    metrics: dict[str, str]
    text: str
    external_requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def launched_chromium(playwright: object) -> Browser:
    return playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=str(chromium_executable()), args=["--no-sandbox"])


def watch(page: Page, external: list[str], errors: list[str]) -> None:
    """Record requests leaving localhost (and abort them) and page errors."""
    def route(route_request: object) -> None:
        url = route_request.request.url  # type: ignore[attr-defined]
        if urlparse(url).scheme in {"http", "https", "ws", "wss"} and \
                urlparse(url).hostname not in LOCAL_HOSTS:
            external.append(url)
            route_request.abort()  # type: ignore[attr-defined]
        else:
            route_request.continue_()  # type: ignore[attr-defined]
    page.route("**/*", route)
    page.on("pageerror", lambda error: errors.append(str(error)))
    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not PATH_PROBE.search(message.location.get("url", "")):
            errors.append(f"{message.text} ({message.location.get('url')})")
    page.on("console", console)


def visited_page(page: Page, url: str, charts: int, metrics: int,
                 screenshot: Path | None = None) -> PageVisit:
    """Open url, wait until its script has run and `charts` charts and `metrics` KPI
    tiles have drawn."""
    visit = PageVisit(url=url, charts=0, metrics={}, text="")
    watch(page, visit.external_requests, visit.errors)
    page.goto(url, timeout=PAGE_SECONDS * 1000)
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=PAGE_SECONDS * 1000)
    page.wait_for_function(
        "([chart, charts, metric, metrics, done]) => document.querySelector(done) && "
        "document.querySelectorAll(chart).length >= charts && "
        "document.querySelectorAll(metric).length >= metrics",
        arg=[CHART, charts, METRIC, metrics, SCRIPT_DONE], timeout=PAGE_SECONDS * 1000)
    visit.charts = page.locator(CHART).count()
    labels = page.locator("[data-testid='stMetricLabel']").all_inner_texts()
    values = page.locator(METRIC).all_inner_texts()
    visit.metrics = dict(zip([label.strip() for label in labels],
                             [value.strip() for value in values], strict=True))
    visit.text = page.locator("[data-testid='stMain']").inner_text()
    if screenshot:
        # Streamlit scrolls inside its main element, so the window grows to show it all.
        height = page.evaluate("document.querySelector(\"[data-testid='stMain']\")"
                               ".scrollHeight")
        page.set_viewport_size({"width": page.viewport_size["width"], "height": height})
        page.wait_for_timeout(1000)  # the charts redraw at the new size
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot))
    return visit


def page_url(base_url: str, page_file: str) -> str:
    """The first page is the app's root; the others are at /<file name without .py>."""
    return base_url + "/" + ("" if page_file == PAGES[0][0] else page_file.removesuffix(".py"))


def visited_pages(base_url: str, screenshot_dir: Path | None = None,
                  width: int = 1600) -> dict[str, PageVisit]:
    """Every page of the dashboard, keyed by file name without .py."""
    visits = {}
    with sync_playwright() as playwright:
        browser = launched_chromium(playwright)
        try:
            for page_file, _ in PAGES:
                name = page_file.removesuffix(".py")
                page = browser.new_page(viewport={"width": width, "height": 900})
                visits[name] = visited_page(
                    page, page_url(base_url, page_file), *PAGE_ELEMENTS[name],
                    screenshot=screenshot_dir / f"{name}.png" if screenshot_dir else None)
                page.close()
        finally:
            browser.close()
    return visits


def main(argv: list[str] | None = None) -> int:
    """`python -m tools.browser WAREHOUSE OUT_DIR`: a screenshot of every page."""
    warehouse, out_dir = (Path(argument) for argument in (argv or sys.argv[1:]))
    with served_dashboard(warehouse.resolve()) as base_url:
        for name, visit in visited_pages(base_url, out_dir).items():
            print(f"{name}: {visit.charts} charts, {len(visit.errors)} errors, "
                  f"{len(visit.external_requests)} external requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
