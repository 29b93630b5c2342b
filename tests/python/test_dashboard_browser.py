"""The dashboard served on localhost and the static report, looked at in headless Chromium:
charts drawn, the marts' numbers on screen, no request leaving 127.0.0.1, no page error.
Screenshots go to test-output/ (git-ignored)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import sync_playwright

from retain.dashboard import data
from retain.dashboard.report import write_report
from retain.settings import PROJECT_DIR
from retain.summary import formatted_value
from tests.python.conftest import FIXTURES, BuildWarehouse, query
from tests.python.test_dashboard import AS_OF
from tools import browser

SCREENSHOTS = PROJECT_DIR / "test-output" / "browser"
INSTALL_SECONDS = 600


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The system Chromium, installed from Debian when missing (CI runs as root)."""
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        assert os.geteuid() == 0, "chromium is missing: apt-get install -y chromium (as root)"
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"],
                        ["apt-get", "install", "-y", "-qq", "chromium"]):
            subprocess.run(command, check=True, env=environment, timeout=INSTALL_SECONDS,
                           capture_output=True)
    return browser.chromium_executable()


@pytest.fixture(scope="module")
def warehouse(build_warehouse: BuildWarehouse) -> Path:
    return build_warehouse(FIXTURES / "customer_success", AS_OF)


@pytest.fixture(scope="module")
def base_url(warehouse: Path) -> Iterator[str]:
    with browser.served_dashboard(warehouse) as url:
        yield url


def test_every_page_draws_the_marts_numbers_offline(chromium: Path, base_url: str,
                                                    warehouse: Path) -> None:
    visits = browser.visited_pages(base_url, SCREENSHOTS)

    for name, visit in visits.items():
        assert visit.errors == [], name
        assert visit.external_requests == [], name
        assert visit.charts >= browser.PAGE_ELEMENTS[name][0], name
        assert "2024-04 (to 15 Apr)" in visit.text, name  # the month in progress is marked
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000, name

    march = query(warehouse, "select ending_mrr, paying_customers from metrics_revenue_monthly "
                             "where month = '2024-03-01'")[0]
    assert visits["revenue"].metrics["MRR"] == formatted_value(march[0], "money")
    assert visits["revenue"].metrics["Paying customers"] == formatted_value(march[1], "count")
    dau, mau = query(warehouse, "select dau, mau from metrics_engagement_daily "
                                "where date_day = ?", [AS_OF])[0]
    assert visits["customer_success"].metrics[f"DAU on {AS_OF}"] == str(dau)
    assert visits["customer_success"].metrics["MAU"] == str(mau)
    customers, at_risk = data.churn_risk_totals(warehouse)
    assert visits["worklist"].metrics == {"Customers at risk": str(customers),
                                          "MRR at risk": formatted_value(at_risk, "money")}
    first_mrr = query(warehouse, "select mrr_at_risk from rpt_churn_risk_worklist "
                                 "where priority_rank = 1")[0][0]
    assert visits["customer"].metrics["MRR"] == formatted_value(first_mrr, "money")


def test_worklist_downloads_as_csv(chromium: Path, base_url: str, warehouse: Path,
                                   tmp_path: Path) -> None:
    with sync_playwright() as playwright:
        chromium_browser = browser.launched_chromium(playwright)
        try:
            page = chromium_browser.new_page(accept_downloads=True)
            browser.visited_page(page, browser.page_url(base_url, "worklist.py"),
                                 *browser.PAGE_ELEMENTS["worklist"])
            with page.expect_download(timeout=browser.PAGE_SECONDS * 1000) as download:
                page.get_by_text("Download CSV").click()
            saved = tmp_path / "worklist.csv"
            download.value.save_as(saved)
        finally:
            chromium_browser.close()
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    expected = query(warehouse, "select customer_id, mrr_at_risk, risk_band, risk_signals "
                                "from rpt_churn_risk_worklist order by priority_rank")
    assert [(row["customer_id"], float(row["mrr_at_risk"]), row["risk_band"],
             row["risk_signals"]) for row in rows] == [
        (customer, float(mrr), band, signals) for customer, mrr, band, signals in expected]
    assert {"owner", "next_step"} <= rows[0].keys()


def test_static_report_renders_its_charts_offline(chromium: Path, warehouse: Path,
                                                  tmp_path: Path) -> None:
    report = write_report(warehouse, tmp_path / "report.html")
    screenshot = SCREENSHOTS / "report.png"
    requests: list[str] = []
    with sync_playwright() as playwright:
        chromium_browser = browser.launched_chromium(playwright)
        try:
            page = chromium_browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(report.as_uri(), timeout=browser.PAGE_SECONDS * 1000)
            charts = page.locator("figure > svg")
            sizes = [charts.nth(index).bounding_box() for index in range(charts.count())]
            marks = page.locator("figure > svg path").count()
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            chromium_browser.close()

    assert requests == [report.as_uri()]
    assert errors == []
    # Revenue: bridge + 5 trends; cohorts: 2 heatmaps; success: onboarding, 2 engagement,
    # NPS, SLA.
    assert len(sizes) == 13
    assert all(size and size["width"] > 200 and size["height"] > 60 for size in sizes), sizes
    assert marks > 13
    with Image.open(screenshot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours and len(colours) > 50, "the report's screenshot is blank"
    assert "2024-04 (to 15 Apr)" in report.read_text()
