"""The dashboard served on localhost and the static report, looked at in headless Chromium
1400 px wide: charts drawn, the marts' numbers on screen, no tile cut off, no request
leaving 127.0.0.1, no page error. Screenshots go to test-output/ (git-ignored)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from retain.dashboard import data
from retain.dashboard.common import tile_value
from retain.dashboard.report import write_report
from retain.settings import PROJECT_DIR
from retain.summary import formatted_value
from tests.python.conftest import FIXTURES, BuildWarehouse, query
from tests.python.test_dashboard import AS_OF, TRIALS_AS_OF, published_copy
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


# What the customer_success fixture draws where it differs from a full warehouse: no
# churn in March (no reasons chart), no trial.
CUSTOMER_SUCCESS_ELEMENTS = {"churn": (2, 5, 0), "trials": (0, 0, 0)}
# The new pages, over the trials_renewals fixture (every one of them filled).
REVENUE_DEPTH_PAGES = ("revenue", "churn", "trials", "renewals")
# Money of the trials_renewals fixture's metrics_revenue_monthly times this in a copy:
# an ARR in the millions, as the 2k sample has, for the tiles at 1400 px.
SCALE = 2_500
SCALED_MONEY = ("starting_mrr", "ending_mrr", "new_mrr", "reactivation_mrr", "expansion_mrr",
                "contraction_mrr", "churned_mrr", "rounding_mrr", "net_new_mrr", "arr")


@pytest.fixture(scope="module")
def base_url(warehouse: Path) -> Iterator[str]:
    with browser.served_dashboard(warehouse) as url:
        yield url


@pytest.fixture(scope="module")
def trials_warehouse(build_warehouse: BuildWarehouse,
                     tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published_copy(build_warehouse, "trials_renewals", TRIALS_AS_OF,
                          tmp_path_factory.mktemp("trials_renewals"))


@pytest.fixture(scope="module")
def trials_url(trials_warehouse: Path) -> Iterator[str]:
    with browser.served_dashboard(trials_warehouse) as url:
        yield url


def test_every_page_draws_the_marts_numbers_offline(chromium: Path, base_url: str,
                                                    warehouse: Path) -> None:
    visits = browser.visited_pages(base_url, SCREENSHOTS, width=1400,
                                   elements=CUSTOMER_SUCCESS_ELEMENTS)

    assert set(visits) == {page.removesuffix(".py") for page, _ in browser.PAGES}
    for name, visit in visits.items():
        assert visit.errors == [], name
        assert visit.external_requests == [], name
        assert visit.truncated_metrics == [], name
        assert visit.charts >= {**browser.PAGE_ELEMENTS, **CUSTOMER_SUCCESS_ELEMENTS}[name][0], \
            name
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


def test_new_pages_draw_the_marts_numbers(chromium: Path, trials_url: str,
                                          trials_warehouse: Path) -> None:
    """Churn, trials and renewals due over a fixture with churn of both types, delinquent
    MRR, trials and renewals: their charts drawn and the marts' figures on screen."""
    visits = browser.visited_pages(trials_url, SCREENSHOTS / "trials_renewals", width=1400,
                                   names=REVENUE_DEPTH_PAGES)
    assert set(visits) == set(REVENUE_DEPTH_PAGES)
    for name, visit in visits.items():
        assert visit.errors == [], name
        assert visit.external_requests == [], name
        assert visit.truncated_metrics == [], name
        assert visit.charts >= browser.PAGE_ELEMENTS[name][0], name
        assert "2024-06 (to 15 Jun)" in visit.text, name

    # Churn of 2024-05 (the newest complete month): each type's churned MRR, the delinquent
    # MRR, and the reasons in the table.
    [(voluntary, involuntary)] = query(trials_warehouse, """
        select sum(case when churn_type = 'voluntary' then churned_mrr end),
            sum(case when churn_type = 'involuntary' then churned_mrr end)
        from metrics_churn_monthly where month = '2024-05-01'""")
    [(churned, delinquent)] = query(trials_warehouse, """
        select churned_mrr, delinquent_mrr from metrics_revenue_monthly
        where month = '2024-05-01'""")
    churn = visits["churn"].metrics
    assert churn["Churned MRR"] == formatted_value(churned, "money")
    assert churn["Voluntary (cancelled)"] == formatted_value(voluntary, "money")
    assert churn["Involuntary (unpaid)"] == formatted_value(involuntary, "money")
    assert churn["Delinquent MRR"] == formatted_value(delinquent, "money")
    assert {"non_payment", "too_expensive"} <= set(visits["churn"].table_cells)

    [(rate, median_days)] = query(trials_warehouse, """
        select trial_conversion_rate, median_days_to_convert from metrics_trials_monthly
        where month = '2024-05-01'""")
    assert visits["trials"].metrics["Conversion rate"] == formatted_value(rate, "percent")
    assert visits["trials"].metrics["Median days to convert"] == formatted_value(
        median_days, "ratio")

    [(due, renewal_mrr)] = query(trials_warehouse, "select count(*), sum(renewal_mrr) "
                                                   "from rpt_renewals_due")
    assert visits["renewals"].metrics["Subscriptions due"] == str(due)
    assert visits["renewals"].metrics["Renewal MRR"] == formatted_value(renewal_mrr, "money")
    [(first_mrr, first_date)] = query(trials_warehouse, """
        select renewal_mrr, renewal_date from rpt_renewals_due where priority_rank = 1""")
    # The grid's cells hold the values unformatted, as JavaScript prints a number.
    assert f"{float(first_mrr):g}" in visits["renewals"].table_cells
    assert f"{first_date:%Y-%m-%d}" in visits["renewals"].table_cells


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option of the selectbox labelled `label` and wait for the page to rerun."""
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    page.wait_for_selector(browser.SCRIPT_DONE, timeout=browser.PAGE_SECONDS * 1000)


def test_revenue_filter_shows_the_by_segment_figures(chromium: Path, trials_url: str,
                                                     trials_warehouse: Path) -> None:
    """A country chosen in the browser: the tiles are that country's row of
    metrics_revenue_by_segment_monthly, ratios included; the segment filter is cleared."""
    [(mrr, customers, logo_churn)] = query(trials_warehouse, """
        select ending_mrr, paying_customers, logo_churn_rate
        from metrics_revenue_by_segment_monthly
        where dimension = 'country' and dimension_value = 'FR' and month = '2024-05-01'""")
    [(company_mrr,)] = query(trials_warehouse, "select ending_mrr from metrics_revenue_monthly "
                                               "where month = '2024-05-01'")
    assert mrr != company_mrr
    with sync_playwright() as playwright:
        chromium_browser = browser.launched_chromium(playwright)
        try:
            page = chromium_browser.new_page(viewport={"width": 1400, "height": 900})
            browser.visited_page(page, trials_url, *browser.PAGE_ELEMENTS["revenue"])
            choose(page, "Segment", "smb")
            choose(page, "Country", "FR")
            page.wait_for_function(
                "([text, done]) => document.querySelector(done) && document.querySelector("
                "\"[data-testid='stMain']\").innerText.includes(text)",
                arg=["Country = FR", browser.SCRIPT_DONE], timeout=browser.PAGE_SECONDS * 1000)
            labels = page.locator("[data-testid='stMetricLabel']").all_inner_texts()
            values = page.locator(browser.METRIC).all_inner_texts()
            shown = dict(zip([label.strip() for label in labels],
                             [value.strip() for value in values], strict=True))
            segment = page.get_by_role("combobox", name="Segment").input_value()
            cut = page.evaluate(browser.TRUNCATED_METRICS, browser.METRIC)
        finally:
            chromium_browser.close()
    assert shown["MRR"] == formatted_value(mrr, "money")
    assert shown["Paying customers"] == str(customers)
    assert shown["Logo churn"] == formatted_value(logo_churn, "percent")
    assert segment == "All customers"
    assert cut == []


def test_large_figures_fit_their_tiles_at_1400_pixels(chromium: Path, trials_warehouse: Path,
                                                      tmp_path: Path) -> None:
    """With an ARR in the millions (the fixture's money scaled up in a copy) every tile
    shows its whole value, e.g. ARR 14.61M, none cut off with an ellipsis; and the check
    does see a value too long for its tile."""
    scaled = tmp_path / "retain.duckdb"
    shutil.copy(trials_warehouse, scaled)
    with duckdb.connect(str(scaled)) as con:
        con.execute("update metrics_revenue_monthly set " + ", ".join(
            f"{column} = {column} * {SCALE}" for column in SCALED_MONEY))
    [(mrr, arr)] = query(scaled, "select ending_mrr, arr from metrics_revenue_monthly "
                                 "where month = '2024-05-01'")
    assert arr > 10_000_000
    with browser.served_dashboard(scaled) as url, sync_playwright() as playwright:
        chromium_browser = browser.launched_chromium(playwright)
        try:
            page = chromium_browser.new_page(viewport={"width": 1400, "height": 900})
            visit = browser.visited_page(page, url, *browser.PAGE_ELEMENTS["revenue"],
                                         screenshot=SCREENSHOTS / "revenue-large.png")
            # The full figure, as the tile showed it before: too long for the tile.
            page.evaluate("""([metric, text]) => {
                const value = document.querySelectorAll(metric)[1];
                const leaf = [value, ...value.querySelectorAll('*')].findLast(
                    element => element.children.length === 0);
                leaf.textContent = text; }""", [browser.METRIC, formatted_value(arr, "money")])
            cut = page.evaluate(browser.TRUNCATED_METRICS, browser.METRIC)
        finally:
            chromium_browser.close()
    assert visit.errors == []
    assert visit.metrics["ARR"] == tile_value(arr, "money") == f"{float(arr) / 1e6:.2f}M"
    assert visit.metrics["MRR"] == tile_value(mrr, "money")
    assert visit.truncated_metrics == []
    assert len(cut) == 1 and cut[0].startswith(formatted_value(arr, "money")[:4])


def test_renewals_download_as_csv(chromium: Path, trials_url: str, trials_warehouse: Path,
                                  tmp_path: Path) -> None:
    with sync_playwright() as playwright:
        chromium_browser = browser.launched_chromium(playwright)
        try:
            page = chromium_browser.new_page(accept_downloads=True,
                                             viewport={"width": 1400, "height": 900})
            browser.visited_page(page, browser.page_url(trials_url, "renewals.py"),
                                 *browser.PAGE_ELEMENTS["renewals"])
            with page.expect_download(timeout=browser.PAGE_SECONDS * 1000) as download:
                page.get_by_text("Download CSV").click()
            saved = tmp_path / "renewals.csv"
            download.value.save_as(saved)
            file_name = download.value.suggested_filename
        finally:
            chromium_browser.close()
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    expected = query(trials_warehouse, "select priority_rank, subscription_id, renewal_date, "
                                       "renewal_mrr, cancel_requested from rpt_renewals_due "
                                       "order by priority_rank")
    assert [(int(row["priority_rank"]), row["subscription_id"], row["renewal_date"],
             float(row["renewal_mrr"]), row["cancel_requested"]) for row in rows] == [
        (rank, subscription, f"{renewal:%Y-%m-%d}", float(mrr), str(cancel))
        for rank, subscription, renewal, mrr, cancel in expected]
    assert file_name == f"renewals-due-{TRIALS_AS_OF}.csv"


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
    # Revenue: bridge, change reasons, 7 trends; churn: by type, delinquent MRR (no churn
    # in March: no reasons chart); no trials; cohorts: 2 heatmaps; success: onboarding, 2
    # engagement, NPS, SLA; renewals due by week.
    assert len(sizes) == 9 + 2 + 2 + 5 + 1
    assert all(size and size["width"] > 200 and size["height"] > 60 for size in sizes), sizes
    assert marks > 13
    with Image.open(screenshot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours and len(colours) > 50, "the report's screenshot is blank"
    text = report.read_text()
    assert "2024-04 (to 15 Apr)" in text
    assert "<h2>Churn</h2>" in text and "<h2>Renewals due</h2>" in text
