"""Every dashboard page, run by Streamlit's AppTest over fixture warehouses: the numbers
on screen (tiles, tables and the data behind each chart) are the marts', and the filters
change what is shown."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from retain.dashboard import charts, data
from retain.dashboard.common import PAGES_DIR, tile_value
from retain.meta import write_meta
from retain.settings import Settings
from retain.summary import formatted_value
from tests.python.conftest import FIXTURES, BuildWarehouse, query

# Mid-April: two customers on the worklist (segments smb and mid_market), April in progress.
AS_OF = date(2024, 4, 15)
# The revenue-depth fixture (every reason MRR moves in 2024-03, churn of both types in
# 2024-04, a worklist customer without a segment) and the trials-and-renewals fixture
# (trials converted, not converted and running, churn of both types and delinquent MRR
# in 2024-05, nine renewals due), as their own tests build them.
DEPTH_AS_OF = TRIALS_AS_OF = date(2024, 6, 15)
RunPage = Callable[..., AppTest]


def published_copy(build_warehouse: BuildWarehouse, fixture: str, as_of: date,
                   folder: Path) -> Path:
    """A copy of the fixture's warehouse with the meta relation a run publishes: these
    fixtures have no usage events to tell the as-of date from."""
    published = folder / "retain.duckdb"
    shutil.copy(build_warehouse(FIXTURES / fixture, as_of), published)
    write_meta(published, Settings(as_of=as_of), "run")
    return published


@pytest.fixture(scope="module")
def warehouse(build_warehouse: BuildWarehouse) -> Path:
    return build_warehouse(FIXTURES / "customer_success", AS_OF)


@pytest.fixture(scope="module")
def depth_warehouse(build_warehouse: BuildWarehouse,
                    tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published_copy(build_warehouse, "revenue_depth", DEPTH_AS_OF,
                          tmp_path_factory.mktemp("revenue_depth"))


@pytest.fixture(scope="module")
def trials_warehouse(build_warehouse: BuildWarehouse,
                     tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published_copy(build_warehouse, "trials_renewals", TRIALS_AS_OF,
                          tmp_path_factory.mktemp("trials_renewals"))


@pytest.fixture
def run_page_on(monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """run(warehouse, page, **query_params): the page run over that warehouse."""
    def run(warehouse: Path, page: str, **query_params: str) -> AppTest:
        monkeypatch.setenv("RETAIN_DUCKDB_PATH", str(warehouse))
        app = AppTest.from_file(str(PAGES_DIR / page), default_timeout=60)
        app.query_params.update(query_params)
        app.run()
        assert not app.exception, [error.message for error in app.exception]
        return app
    return run


@pytest.fixture
def run_page(warehouse: Path, run_page_on: Callable[..., AppTest]) -> RunPage:
    return lambda page, **query_params: run_page_on(warehouse, page, **query_params)


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def shown_tiles(row: dict, tiles: Sequence[tuple[str, str, str]]) -> dict[str, str]:
    """The tiles of a row of mart values as the page shows them: a money tile in whole
    units when one of its row is (no value of these fixtures is that large)."""
    whole = any(kind == "money" and row[column] is not None and not pd.isna(row[column])
                and abs(float(row[column])) >= 10_000 for column, _, kind in tiles)
    return {label: tile_value(row[column], kind, whole) for column, label, kind in tiles}


def chart_data(app: AppTest) -> dict[str, pd.DataFrame]:
    """The rows each chart was given, by chart title."""
    frames = {}
    for chart in app.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("title") or spec["layer"][0]["title"]
        title = title["text"] if isinstance(title, dict) else title
        frames[title] = pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all() \
            .to_pandas()
    return frames


def column_formats(table: object) -> dict[str, str]:
    """The number or date format of each formatted column of a table on the page."""
    config = json.loads(table.proto.columns)  # type: ignore[attr-defined]
    return {column: settings["type_config"]["format"] for column, settings in config.items()
            if "format" in settings.get("type_config", {})}


def one_row(warehouse: Path, sql: str, parameters: list | None = None) -> dict:
    frame = data.query_frame(warehouse, sql, parameters)
    assert len(frame) == 1, sql
    return frame.iloc[0].to_dict()


def test_as_of_date_comes_from_meta_else_the_engagement_days(warehouse: Path,
                                                             tmp_path: Path) -> None:
    assert data.as_of_date(warehouse) == AS_OF
    published = tmp_path / "retain.duckdb"
    shutil.copy(warehouse, published)
    write_meta(published, Settings(as_of=date(2024, 4, 16)), "run")
    assert data.as_of_date(published) == date(2024, 4, 16)


def test_tiles_are_short_enough_for_1400_pixels() -> None:
    """Five tiles a row show about nine characters at 1400 px: large amounts are shortened,
    the exact figure is the tile's tooltip (tests/python/test_dashboard_browser.py looks
    at them in Chromium)."""
    assert tile_value(12_161_889.36, "money") == "12.16M"
    assert tile_value(1_013_490.78, "money") == "1.01M"
    assert tile_value(1_407_263_104.5, "money") == "1.41B"
    assert tile_value(54_878.93, "money") == "54,879"
    assert tile_value(-17_094.28, "money") == "-17,094"
    assert tile_value(1_052.43, "money") == "1,052.43"
    assert tile_value(1_052.43, "money", whole_units=True) == "1,052"
    assert tile_value(963, "count") == "963"
    assert tile_value(1_234_567, "count") == "1.23M"
    assert tile_value(1.137, "percent") == "113.7%"
    assert tile_value(2138.88, "ratio") == "2138.88"
    assert tile_value(None, "money") == tile_value(float("nan"), "money") == "n/a"


def test_revenue_filters_read_the_by_segment_rows(depth_warehouse: Path) -> None:
    """Each filter value's months are metrics_revenue_by_segment_monthly's rows of that
    dimension and value, and over a dimension's values the bridge adds up to the
    company's (the fixture has customers without a segment, country or channel)."""
    columns = [column for column, _, _ in data.BRIDGE_STEPS] + ["net_new_mrr",
                                                                  "paying_customers"]
    company = data.revenue_monthly(depth_warehouse).set_index("month")[columns]
    for dimension, _ in data.REVENUE_DIMENSIONS:
        values = data.dimension_values(depth_warehouse, dimension)
        assert "unknown" in values, dimension
        frames = []
        for value in values:
            shown = data.revenue_monthly(depth_warehouse, dimension, value)
            mart = data.query_frame(depth_warehouse, f"""
                select month, {", ".join(shown.columns[1:])}
                from metrics_revenue_by_segment_monthly
                where dimension = ? and dimension_value = ? order by month""",
                                    [dimension, value])
            pd.testing.assert_frame_equal(shown, mart)
            frames.append(shown)
        summed = pd.concat(frames).groupby("month")[columns].sum()
        pd.testing.assert_frame_equal(summed.astype(float), company.astype(float))
    assert data.segments(depth_warehouse) == data.dimension_values(depth_warehouse, "segment")


def test_revenue_page_shows_the_mart_and_marks_the_month_in_progress(
        run_page: RunPage, warehouse: Path) -> None:
    app = run_page("revenue.py")
    assert "current month: 2024-04 (to 15 Apr)" in app.caption[0].value
    assert app.selectbox(key="month").options == ["2024-02", "2024-03", "2024-04 (to 15 Apr)"]
    assert app.selectbox(key="month").value == "2024-03"  # the newest complete month

    march = one_row(warehouse, "select * from metrics_revenue_monthly where month = '2024-03-01'")
    assert metrics(app) == shown_tiles(march, data.REVENUE_TILES[:5]) | shown_tiles(
        march, data.REVENUE_TILES[5:])
    assert metrics(app)["MRR"] == formatted_value(march["ending_mrr"], "money")
    bridge = app.dataframe[0].value
    assert list(bridge["step"]) == [label for _, label, _ in data.BRIDGE_STEPS]
    assert list(bridge["amount"]) == [float(march[column]) for column, _, _ in data.BRIDGE_STEPS]
    # Money in tables with thousands separators and cents.
    assert column_formats(app.dataframe[0]) == {"amount": "%,.2f"}
    assert column_formats(app.dataframe[1]) == {"mrr_change": "%,.2f"}
    charts_shown = chart_data(app)
    assert list(charts_shown["MRR bridge, 2024-03"]["amount"]) == list(bridge["amount"])
    trend = data.query_frame(warehouse, "select ending_mrr, arr, arpa, ltv, quick_ratio "
                                        "from metrics_revenue_monthly order by month")
    # MRR and ARR (and ARPA and LTV) on charts of their own: one axis each.
    assert list(charts_shown["MRR"]["MRR"]) == list(trend["ending_mrr"])
    assert list(charts_shown["ARR"]["ARR"]) == list(trend["arr"])
    assert "MRR" not in charts_shown["ARR"]
    for title, column in (("ARPA", "arpa"), ("LTV", "ltv"), ("Quick ratio", "quick_ratio")):
        pd.testing.assert_series_equal(charts_shown[title].iloc[:, 1].astype(float),
                                       trend[column].astype(float), check_names=False)
    # Why MRR moved: metrics_mrr_change_reasons_monthly's rows of the month.
    reasons = data.query_frame(warehouse, "select reason, mrr_change from "
                                          "metrics_mrr_change_reasons_monthly "
                                          "where month = '2024-03-01'")
    by_reason = dict(zip(reasons["reason"], reasons["mrr_change"], strict=True))
    assert list(app.dataframe[1].value["mrr_change"]) == [by_reason[reason]
                                                          for reason, _ in data.CHANGE_REASONS]
    assert list(charts_shown["MRR change by reason, 2024-03"]["mrr_change"]) == \
        list(app.dataframe[1].value["mrr_change"])
    assert not app.warning

    app.selectbox(key="month").set_value("2024-04 (to 15 Apr)").run()
    april = one_row(warehouse, "select ending_mrr from metrics_revenue_monthly "
                               "where month = '2024-04-01'")
    assert metrics(app)["MRR"] == formatted_value(april["ending_mrr"], "money")
    assert "in progress" in app.warning[0].value


def by_segment_row(warehouse: Path, dimension: str, value: str, month: str) -> dict:
    return one_row(warehouse, "select * from metrics_revenue_by_segment_monthly where "
                              "dimension = ? and dimension_value = ? and month = ?",
                   [dimension, value, month])


def test_revenue_segment_filter(run_page: RunPage, warehouse: Path) -> None:
    app = run_page("revenue.py")
    app.selectbox(key="segment").set_value("smb").run()
    assert not app.exception
    smb = one_row(warehouse, """
        select sum(fct_mrr.mrr) as mrr, count(case when fct_mrr.mrr > 0 then 1 end) as paying
        from fct_mrr inner join dim_customers using (customer_id)
        where dim_customers.segment = 'smb' and fct_mrr.month = '2024-03-01'""")
    company = one_row(warehouse, "select ending_mrr from metrics_revenue_monthly "
                                 "where month = '2024-03-01'")
    shown = metrics(app)
    assert shown["MRR"] == formatted_value(smb["mrr"], "money")
    assert shown["MRR"] != formatted_value(company["ending_mrr"], "money")
    assert shown["Paying customers"] == formatted_value(smb["paying"], "count")
    # Every tile, ratios included, is the segment mart's row of the month.
    mart = by_segment_row(warehouse, "segment", "smb", "2024-03-01")
    assert shown == shown_tiles(mart, data.REVENUE_TILES[:5]) | shown_tiles(
        mart, data.REVENUE_TILES[5:])
    assert "segment = smb" in app.info[0].value.lower()


def test_revenue_filters_apply_one_at_a_time(run_page: RunPage, warehouse: Path) -> None:
    """Country and channel cut every tile and chart like the segment; choosing one clears
    the others (no mart holds two attributes at once), and the split of why MRR moved,
    which no mart cuts, is left out under a filter."""
    app = run_page("revenue.py")
    assert app.selectbox(key="country").options == ["All customers", "DE", "FR", "US"]
    app.selectbox(key="segment").set_value("smb").run()
    app.selectbox(key="country").set_value("US").run()
    assert app.selectbox(key="segment").value == "All customers"
    us = by_segment_row(warehouse, "country", "US", "2024-03-01")
    assert metrics(app) == shown_tiles(us, data.REVENUE_TILES[:5]) | shown_tiles(
        us, data.REVENUE_TILES[5:])
    mart = data.query_frame(warehouse, "select ending_mrr, quick_ratio from "
                                       "metrics_revenue_by_segment_monthly where dimension = "
                                       "'country' and dimension_value = 'US' order by month")
    shown = chart_data(app)
    assert list(shown["MRR"]["MRR"]) == list(mart["ending_mrr"])
    assert list(shown["MRR bridge, 2024-03"]["amount"]) == [
        float(us[column]) for column, _, _ in data.BRIDGE_STEPS]
    assert not any(title.startswith("MRR change by reason") for title in shown)
    assert any("company-wide only" in caption.value for caption in app.caption)

    app.selectbox(key="acquisition_channel").set_value("paid").run()
    assert app.selectbox(key="country").value == "All customers"
    paid = by_segment_row(warehouse, "acquisition_channel", "paid", "2024-03-01")
    assert metrics(app)["MRR"] == formatted_value(paid["ending_mrr"], "money")
    assert metrics(app)["Logo churn"] == formatted_value(paid["logo_churn_rate"], "percent")

    app.selectbox(key="acquisition_channel").set_value("All customers").run()
    assert metrics(app)["MRR"] == formatted_value(
        one_row(warehouse, "select ending_mrr from metrics_revenue_monthly "
                           "where month = '2024-03-01'")["ending_mrr"], "money")


def test_quick_ratio_axis_is_cut_above_the_outliers() -> None:
    """A first month with almost no lost MRR gives a quick ratio in the thousands: the
    axis stops at the upper Tukey fence, the months above it are triangles at the top
    edge and the subtitle says so; without such an outlier the axis is left alone."""
    ratios = [None, None, 2138.88, 23.07, 53.14, 10.78, 53.91, 14.02, 8.09, 6.30, 14.33,
              7.48, 3.93, 14.10, 6.66, 10.14, 11.04, 2.59, 4.11, 2.43]
    months = pd.DataFrame({"month": pd.date_range("2024-01-01", periods=len(ratios),
                                                  freq="MS"),
                           "quick_ratio": pd.array(ratios, dtype="Float64")})
    ceiling = charts.outlier_ceiling(months["quick_ratio"])
    # Quartiles of the 18 values (linear interpolation): 6.39 and 14.2725.
    assert ceiling == pytest.approx(14.2725 + 1.5 * (14.2725 - 6.39))
    spec = charts.trend_chart(months, "month", {"quick_ratio": "quick ratio"}, "Quick ratio",
                              ".2f", cut_outliers=True).to_dict()
    assert spec["layer"][0]["encoding"]["y"]["scale"]["domain"] == [0.0, ceiling]
    assert spec["layer"][0]["mark"]["clip"] is True
    assert spec["layer"][1]["mark"]["shape"] == "triangle-up"
    subtitle = " ".join(spec["layer"][0]["title"]["subtitle"])
    assert f"Axis cut at {ceiling:,.2f}: 3 value(s)" in subtitle  # 2138.88, 53.14, 53.91
    assert "highest 2,138.88 in 2024-03" in subtitle
    calm = months.assign(quick_ratio=months["quick_ratio"].clip(upper=15))
    assert charts.outlier_ceiling(calm["quick_ratio"]) is None
    assert charts.outlier_ceiling(months["quick_ratio"].head(7)) is None  # too few values


def test_mrr_change_reasons_on_the_revenue_page(run_page_on: Callable[..., AppTest],
                                                depth_warehouse: Path) -> None:
    """The seats/price/plan/cross-sell split of a month in which MRR moved for every
    reason, as metrics_mrr_change_reasons_monthly has it."""
    app = run_page_on(depth_warehouse, "revenue.py")
    app.selectbox(key="month").set_value("2024-03").run()
    mart = data.query_frame(depth_warehouse, "select reason, mrr_change from "
                                             "metrics_mrr_change_reasons_monthly "
                                             "where month = '2024-03-01'")
    by_reason = dict(zip(mart["reason"], mart["mrr_change"], strict=True))
    expected = [by_reason[reason] for reason, _ in data.CHANGE_REASONS]
    assert all(expected), expected  # every reason moved MRR this month
    shown = chart_data(app)["MRR change by reason, 2024-03"]
    assert list(shown["reason"]) == [label for _, label in data.CHANGE_REASONS]
    assert list(shown["mrr_change"]) == expected
    assert list(app.dataframe[1].value["mrr_change"]) == expected
    every_month = chart_data(app)["MRR change by reason and month"]
    assert len(every_month) == len(data.query_frame(
        depth_warehouse, "select * from metrics_mrr_change_reasons_monthly"))


def test_churn_page(run_page_on: Callable[..., AppTest], trials_warehouse: Path) -> None:
    app = run_page_on(trials_warehouse, "churn.py")
    assert app.selectbox(key="churn_month").value == "2024-05"
    types = data.query_frame(trials_warehouse, """
        select churn_type, sum(churned_mrr) as churned_mrr,
            sum(churned_customers) as churned_customers
        from metrics_churn_monthly where month = '2024-05-01' group by churn_type""") \
        .set_index("churn_type")
    revenue = one_row(trials_warehouse, "select churned_mrr, churned_customers, delinquent_mrr "
                                        "from metrics_revenue_monthly "
                                        "where month = '2024-05-01'")
    assert set(types.index) == {"voluntary", "involuntary"} and revenue["delinquent_mrr"] > 0
    expected = {**revenue, "voluntary_churned_mrr": types.loc["voluntary", "churned_mrr"],
                "involuntary_churned_mrr": types.loc["involuntary", "churned_mrr"]}
    assert metrics(app) == shown_tiles(expected, data.CHURN_TILES)
    assert metrics(app)["Involuntary (unpaid)"] == formatted_value(
        types.loc["involuntary", "churned_mrr"], "money")

    reasons = data.query_frame(trials_warehouse, """
        select churn_type, churn_reason, churned_customers, churned_mrr
        from metrics_churn_monthly where month = '2024-05-01'
        order by churned_mrr, churn_type, churn_reason""")
    pd.testing.assert_frame_equal(app.dataframe[0].value.reset_index(drop=True), reasons)
    churned = data.query_frame(trials_warehouse, """
        select customer_id, churn_type, churn_reason, mrr_change as churned_mrr
        from fct_mrr where movement = 'churn' and month = '2024-05-01'
        order by mrr_change, customer_id""")
    pd.testing.assert_frame_equal(
        app.dataframe[1].value[list(churned.columns)].reset_index(drop=True), churned)
    assert set(chart_data(app)["Churned MRR by reason, 2024-05"]["churn_reason"]) == \
        set(reasons["churn_reason"])
    monthly = data.query_frame(trials_warehouse, "select delinquent_mrr "
                                                 "from metrics_revenue_monthly order by month")
    assert list(chart_data(app)["Delinquent MRR (unpaid invoices) by month"]["delinquent MRR"]) \
        == list(monthly["delinquent_mrr"])


@pytest.mark.parametrize("fixture", ["depth_warehouse", "trials_warehouse"])
def test_churn_by_type_adds_up_to_the_bridge(fixture: str,
                                             request: pytest.FixtureRequest) -> None:
    """Per month, the voluntary and involuntary parts are metrics_churn_monthly's sums and
    add up to metrics_revenue_monthly's churn; months without churn have 0."""
    warehouse = request.getfixturevalue(fixture)
    months = data.churn_monthly(warehouse)
    revenue = data.query_frame(warehouse, "select month, churned_mrr, churned_customers, "
                                          "delinquent_mrr from metrics_revenue_monthly "
                                          "order by month")
    pd.testing.assert_frame_equal(months[list(revenue.columns)], revenue)
    for column in ("churned_mrr", "churned_customers"):
        parts = months[f"voluntary_{column}"] + months[f"involuntary_{column}"]
        assert list(parts.astype(float)) == list(months[column].astype(float)), column
    assert (months["involuntary_churned_mrr"] < 0).any()


def test_trials_page(run_page_on: Callable[..., AppTest], trials_warehouse: Path) -> None:
    app = run_page_on(trials_warehouse, "trials.py")
    mart = data.query_frame(trials_warehouse, "select * from metrics_trials_monthly "
                                              "order by month")
    assert app.selectbox(key="trial_month").options == ["2024-03", "2024-05",
                                                        "2024-06 (to 15 Jun)"]
    assert app.selectbox(key="trial_month").value == "2024-05"
    may = one_row(trials_warehouse, "select * from metrics_trials_monthly "
                                    "where month = '2024-05-01'")
    assert metrics(app) == shown_tiles(may, data.TRIAL_TILES)
    assert "still running" in app.warning[0].value  # May has a trial in progress
    pd.testing.assert_frame_equal(app.dataframe[0].value.reset_index(drop=True),
                                  mart.iloc[::-1].reset_index(drop=True))
    rates = chart_data(app)["Trial conversion by month of trial start"]
    pd.testing.assert_series_equal(rates["trial_conversion_rate"],
                                   mart["trial_conversion_rate"])

    app.selectbox(key="trial_month").set_value("2024-03").run()
    march = mart.iloc[0]
    assert metrics(app)["Conversion rate"] == formatted_value(
        march["trial_conversion_rate"], "percent")
    assert not app.warning


def test_trials_page_without_trials(run_page: RunPage) -> None:
    app = run_page("trials.py")
    assert "No trials" in app.info[0].value


def test_renewals_due_in_priority_order_and_as_csv(trials_warehouse: Path) -> None:
    mart = data.query_frame(trials_warehouse, "select * from rpt_renewals_due "
                                              "order by priority_rank")
    assert len(mart) > 5
    renewals = data.renewals_due(trials_warehouse)
    pd.testing.assert_frame_equal(renewals[list(mart.columns)], mart)
    rows = list(csv.DictReader(io.StringIO(data.csv_text(renewals))))
    assert [(int(row["priority_rank"]), row["subscription_id"], row["customer_id"],
             row["renewal_date"], float(row["renewal_mrr"]), row["cancel_requested"])
            for row in rows] == [
        (rank, subscription, customer, f"{renewal:%Y-%m-%d}", float(mrr), str(cancel))
        for rank, subscription, customer, renewal, mrr, cancel in mart[[
            "priority_rank", "subscription_id", "customer_id", "renewal_date", "renewal_mrr",
            "cancel_requested"]].itertuples(index=False)]
    by_mrr = data.renewals_due(trials_warehouse, "renewal MRR, largest first")
    assert list(by_mrr["subscription_id"]) == list(
        mart.sort_values(["renewal_mrr", "priority_rank"], ascending=[False, True])
        ["subscription_id"])


def test_renewals_page(run_page_on: Callable[..., AppTest], trials_warehouse: Path) -> None:
    app = run_page_on(trials_warehouse, "renewals.py")
    totals = one_row(trials_warehouse, """
        select count(*) as subscriptions, sum(renewal_mrr) as renewal_mrr,
            count(case when cancel_requested then 1 end) as cancel_requested,
            coalesce(sum(case when cancel_requested then renewal_mrr end), 0)
                as cancel_requested_mrr,
            coalesce(sum(case when risk_band in ('critical', 'at_risk') then renewal_mrr end),
                     0) as at_risk_mrr
        from rpt_renewals_due""")
    assert metrics(app) == shown_tiles(totals, data.RENEWAL_TILES)
    mart = data.query_frame(trials_warehouse, "select * from rpt_renewals_due "
                                              "order by priority_rank")
    pd.testing.assert_frame_equal(app.dataframe[0].value[list(mart.columns)], mart)
    weekly = chart_data(app)["Renewal MRR due by week and risk band"]
    assert round(weekly["renewal_mrr"].astype(float).sum(), 2) == float(totals["renewal_mrr"])
    assert column_formats(app.dataframe[0]).items() >= {
        "renewal_mrr": "%,.2f", "priority_rank": "%,d", "interval_months": "%,d",
        "renewal_date": "YYYY-MM-DD"}.items()
    assert app.get("download_button")

    app.selectbox(key="renewal_order").set_value("health score, lowest first").run()
    assert list(app.dataframe[0].value["subscription_id"]) == list(
        data.renewals_due(trials_warehouse, "health score, lowest first")["subscription_id"])
    assert list(app.dataframe[0].value["subscription_id"]) != list(mart["subscription_id"])


def test_cohorts_page(run_page: RunPage, warehouse: Path) -> None:
    app = run_page("cohorts.py")
    expected = data.query_frame(warehouse, """
        select cohort_month, months_since, customers, logo_retention, mrr, revenue_retention
        from fct_cohort_retention order by cohort_month, months_since""")
    assert expected["cohort_month"].nunique() > 1
    pd.testing.assert_frame_equal(app.dataframe[0].value, expected)
    assert set(chart_data(app)) == {"Logo retention", "Revenue retention"}
    assert list(chart_data(app)["Logo retention"]["logo_retention"]) == \
        list(expected["logo_retention"])
    assert column_formats(app.dataframe[0]) == {
        "cohort_month": "YYYY-MM", "months_since": "%,d", "customers": "%,d",
        "logo_retention": "percent", "mrr": "%,.2f", "revenue_retention": "percent"}

    app.slider(key="cohorts").set_value(1).run()
    assert set(app.dataframe[0].value["cohort_month"]) == {expected["cohort_month"].max()}


def test_customer_success_page(run_page: RunPage, warehouse: Path) -> None:
    app = run_page("customer_success.py")
    onboarding = data.query_frame(warehouse, "select * from metrics_onboarding_cohorts "
                                             "order by cohort_month")
    final, in_progress = app.dataframe[0].value, app.dataframe[1].value
    pd.testing.assert_frame_equal(
        pd.concat([final, in_progress]).sort_values("cohort_month").reset_index(drop=True),
        onboarding)
    assert (final["in_progress"] == 0).all() and (in_progress["in_progress"] > 0).all()

    last_day = one_row(warehouse, "select * from metrics_engagement_daily "
                                  "where date_day = ?", [AS_OF])
    march_nps = one_row(warehouse, "select * from metrics_nps_monthly where month = '2024-03-01'")
    march_support = one_row(warehouse, "select * from metrics_support_monthly "
                                       "where month = '2024-03-01'")
    assert metrics(app) == {
        f"DAU on {AS_OF}": formatted_value(last_day["dau"], "count"),
        "WAU": formatted_value(last_day["wau"], "count"),
        "MAU": formatted_value(last_day["mau"], "count"),
        "Stickiness (DAU/MAU)": formatted_value(last_day["stickiness"], "percent"),
        "NPS 2024-03": formatted_value(march_nps["nps"], "ratio"),
        "Responses": formatted_value(march_nps["responses"], "count"),
        "SLA met 2024-03": formatted_value(march_support["sla_met_rate"], "percent"),
        "Tickets": formatted_value(march_support["tickets"], "count"),
        "Backlog": formatted_value(march_support["backlog"], "count"),
    }
    charts = chart_data(app)
    nps = data.query_frame(warehouse, "select nps from metrics_nps_monthly order by month")
    assert list(charts["NPS by month of response"]["NPS"]) == list(nps["nps"])
    assert len(charts["Daily, weekly and monthly active users"]) == 90

    app.selectbox(key="engagement_window").set_value("1 year").run()
    days = one_row(warehouse, "select count(*) as days from metrics_engagement_daily")
    assert len(chart_data(app)["Daily, weekly and monthly active users"]) == min(365, days["days"])


def test_worklist_page_filters(run_page: RunPage, warehouse: Path) -> None:
    app = run_page("worklist.py")
    worklist = data.query_frame(warehouse, "select * from rpt_churn_risk_worklist "
                                           "order by priority_rank")
    assert len(worklist) == 2
    shown = app.dataframe[0].value
    for column in ("priority_rank", "customer_id", "mrr_at_risk", "health_score", "risk_band",
                   "risk_signals"):
        assert list(shown[column]) == list(worklist[column]), column
    assert {"owner", "next_step"} <= set(shown.columns)
    assert metrics(app) == {"Customers at risk": "2", "MRR at risk": formatted_value(
        worklist["mrr_at_risk"].astype(float).sum(), "money")}

    app.multiselect(key="segments").set_value(["smb"]).run()
    smb = query(warehouse, "select worklist.customer_id, worklist.mrr_at_risk "
                           "from rpt_churn_risk_worklist as worklist "
                           "inner join dim_customers using (customer_id) where segment = 'smb'")
    assert list(app.dataframe[0].value["customer_id"]) == [smb[0][0]]
    assert metrics(app) == {"Customers at risk": "1",
                            "MRR at risk": formatted_value(smb[0][1], "money")}

    app.multiselect(key="segments").set_value(["smb", "mid_market"])
    app.multiselect(key="risk_bands").set_value(["at_risk"]).run()
    assert app.dataframe[0].value.empty  # both customers are critical
    assert metrics(app) == {"Customers at risk": "0", "MRR at risk": "0.00"}


def test_worklist_counts_customers_without_a_segment(run_page_on: Callable[..., AppTest],
                                                     depth_warehouse: Path) -> None:
    """A customer without a segment is `unknown`, as in the segment filter's values (from
    metrics_revenue_by_segment_monthly): selected by default, and on its own."""
    app = run_page_on(depth_warehouse, "worklist.py")
    worklist = query(depth_warehouse, "select customer_id from rpt_churn_risk_worklist "
                                      "order by priority_rank")
    assert list(app.dataframe[0].value["customer_id"]) == [row[0] for row in worklist]
    app.multiselect(key="segments").set_value(["unknown"]).run()
    unknown = query(depth_warehouse, "select customer_id from rpt_churn_risk_worklist "
                                     "inner join dim_customers using (customer_id) "
                                     "where segment is null")
    assert len(unknown) == 1
    assert list(app.dataframe[0].value["customer_id"]) == [unknown[0][0]]


def test_customer_page(run_page: RunPage, warehouse: Path) -> None:
    app = run_page("customer.py")
    first = query(warehouse, "select customer_id from rpt_churn_risk_worklist "
                             "where priority_rank = 1")[0][0]
    assert app.selectbox(key="customer").value == first  # the worklist's first customer

    app = run_page("customer.py", customer="c1")
    profile = one_row(warehouse, "select * from dim_customers where customer_id = 'c1'")
    assert metrics(app) == {
        "MRR": formatted_value(profile["mrr"], "money"),
        "ARR": formatted_value(profile["arr"], "money"),
        "Lifetime revenue": formatted_value(profile["lifetime_revenue"], "money"),
        "Health score": formatted_value(profile["health_score"], "ratio")}
    health = data.query_frame(warehouse, "select health_score, risk_band, risk_signals "
                                         "from fct_customer_health where customer_id = 'c1' "
                                         "order by month desc")
    shown = app.dataframe[0].value.reset_index(drop=True)
    assert list(shown["label"]) == ["2024-04 (to 15 Apr)", "2024-03", "2024-02"]
    pd.testing.assert_frame_equal(shown[["health_score", "risk_band", "risk_signals"]], health)
    history = data.query_frame(warehouse, "select mrr from fct_mrr where customer_id = 'c1' "
                                          "order by month")
    assert list(chart_data(app)["MRR history"]["MRR"]) == list(history["mrr"])
    customer_360 = dict(app.dataframe[1].value.itertuples(index=False))
    assert customer_360["customer_id"] == "c1"
    assert customer_360["risk_signals"] == profile["risk_signals"]

    app.selectbox(key="customer").set_value("c3").run()
    assert app.query_params["customer"] == "c3"  # a link to this customer
    assert metrics(app)["MRR"] == formatted_value(
        query(warehouse, "select mrr from dim_customers where customer_id = 'c3'")[0][0], "money")


def test_a_snapshot_without_a_page_s_relation_stops_it_with_one_error(
        trials_warehouse: Path, tmp_path: Path, run_page_on: Callable[..., AppTest]) -> None:
    """A snapshot published before rpt_renewals_due existed: the Renewals page shows one
    error naming the file and the way out, not a traceback."""
    older = tmp_path / "retain.duckdb"
    shutil.copy(trials_warehouse, older)
    with duckdb.connect(str(older)) as con:
        con.execute("drop table rpt_renewals_due")
    with pytest.raises(data.WarehouseError, match="publish it again with `retain run`"):
        data.renewals_due(older)
    app = run_page_on(older, "renewals.py")
    [error] = app.error
    assert error.value.startswith(f"{older} lacks what this page reads (")
    assert "rpt_renewals_due" in error.value
