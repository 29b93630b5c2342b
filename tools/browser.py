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
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from retain.dashboard.common import PAGES
from retain.dashboard.serve import streamlit_command
from retain.settings import PROJECT_DIR, QUIET_ENVIRONMENT

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
START_SECONDS = 60
PAGE_SECONDS = 60
TABLE_SECONDS = 10
CHART = "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg.marks"
# The page's script has run to its end (Streamlit marks its root element).
SCRIPT_DONE = "[data-testid='stApp'][data-test-script-state='notRunning']"
# On a page's own URL Streamlit's frontend first probes <page>/_stcore/health and
# host-config, gets 404 and falls back to the root: not an error of the app.
PATH_PROBE = re.compile(r"/[a-z_]+/_stcore/(health|host-config)$")
METRIC = "[data-testid='stMetricValue']"
# The tables (st.dataframe, st.data_editor) draw on a canvas; their accessible grid holds
# the cells in view as text, the values unformatted.
TABLE = "[data-testid='stDataFrame']"
TABLE_CELL = f"{TABLE} [role='gridcell']"
SCREENSHOT_RESIZES = 4
# (charts, KPI tiles, tables) each page draws over a warehouse with every mart filled, as
# the 2k sample has: what a visit waits for. The customer_success fixture fills every page
# but trials (no trial) and churn (no churn in a complete month: no reasons); the
# trials_renewals fixture every page but customer_success (no usage events).
PAGE_ELEMENTS = {"revenue": (10, 10, 2), "churn": (3, 5, 2), "trials": (2, 6, 1),
                 "cohorts": (2, 0, 1), "customer_success": (5, 9, 2), "renewals": (1, 5, 1),
                 "worklist": (0, 2, 1), "customer": (2, 4, 2)}
# KPI tile values whose text does not fit their tile (the browser cuts it with "..."):
# the element or one inside it is wider than the box it is shown in.
TRUNCATED_METRICS = """metric => [...document.querySelectorAll(metric)].filter(value =>
    [value, ...value.querySelectorAll('*')].some(element =>
        element.scrollWidth > element.clientWidth + 1)).map(value => value.innerText)"""


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
    truncated_metrics: list[str] = field(default_factory=list)
    table_cells: list[str] = field(default_factory=list)


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


def visited_page(page: Page, url: str, charts: int, metrics: int, tables: int = 0,
                 screenshot: Path | None = None) -> PageVisit:
    """Open url, wait until its script has run and `charts` charts, `metrics` KPI tiles
    and `tables` tables have drawn."""
    visit = PageVisit(url=url, charts=0, metrics={}, text="")
    watch(page, visit.external_requests, visit.errors)
    page.goto(url, timeout=PAGE_SECONDS * 1000)
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=PAGE_SECONDS * 1000)
    page.wait_for_function(
        "([chart, charts, metric, metrics, table, tables, done]) => "
        "document.querySelector(done) && document.querySelectorAll(chart).length >= charts "
        "&& document.querySelectorAll(metric).length >= metrics "
        "&& document.querySelectorAll(table).length >= tables",
        arg=[CHART, charts, METRIC, metrics, TABLE, tables, SCRIPT_DONE],
        timeout=PAGE_SECONDS * 1000)
    visit.charts = page.locator(CHART).count()
    labels = page.locator("[data-testid='stMetricLabel']").all_inner_texts()
    values = page.locator(METRIC).all_inner_texts()
    visit.metrics = dict(zip([label.strip() for label in labels],
                             [value.strip() for value in values], strict=True))
    visit.text = page.locator("[data-testid='stMain']").inner_text()
    visit.truncated_metrics = page.evaluate(TRUNCATED_METRICS, METRIC)
    if tables:
        try:  # the grid fills its cells after it has drawn; an empty table has none
            page.wait_for_selector(TABLE_CELL, state="attached",
                                   timeout=TABLE_SECONDS * 1000)
        except PlaywrightTimeoutError:
            pass
    visit.table_cells = page.locator(TABLE_CELL).all_text_contents()
    if screenshot:
        # Streamlit scrolls inside its main element, so the window grows to show it all;
        # the charts redraw at the new size, which can change the height again.
        for _ in range(SCREENSHOT_RESIZES):
            height = page.evaluate("document.querySelector(\"[data-testid='stMain']\")"
                                   ".scrollHeight")
            if height == page.viewport_size["height"]:
                break
            page.set_viewport_size({"width": page.viewport_size["width"], "height": height})
            page.wait_for_timeout(1000)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot))
    return visit


def page_url(base_url: str, page_file: str) -> str:
    """The first page is the app's root; the others are at /<file name without .py>."""
    return base_url + "/" + ("" if page_file == PAGES[0][0] else page_file.removesuffix(".py"))


def visited_pages(base_url: str, screenshot_dir: Path | None = None,
                  width: int = 1400, names: Iterable[str] | None = None,
                  elements: Mapping[str, tuple[int, int, int]] | None = None
                  ) -> dict[str, PageVisit]:
    """The dashboard's pages (`names`, file names without .py; all by default), keyed by
    name; each visit waits for `elements` of the page (PAGE_ELEMENTS by default)."""
    wanted = set(names) if names is not None else None
    visits = {}
    with sync_playwright() as playwright:
        browser = launched_chromium(playwright)
        try:
            for page_file, _ in PAGES:
                name = page_file.removesuffix(".py")
                if wanted is not None and name not in wanted:
                    continue
                page = browser.new_page(viewport={"width": width, "height": 900})
                visits[name] = visited_page(
                    page, page_url(base_url, page_file),
                    *{**PAGE_ELEMENTS, **(elements or {})}[name],
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
                  f"{len(visit.external_requests)} external requests, "
                  f"{len(visit.truncated_metrics)} tiles cut off")
    return 0


if __name__ == "__main__":
    sys.exit(main())
