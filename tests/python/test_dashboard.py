"""Every dashboard page, run by Streamlit's AppTest over a fixture warehouse: the numbers
on screen (tiles, tables and the data behind each chart) are the marts', and the filters
change what is shown."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from retain.dashboard import data
from retain.dashboard.common import PAGES_DIR
from retain.meta import write_meta
from retain.settings import Settings
from retain.summary import formatted_value
from tests.python.conftest import FIXTURES, BuildWarehouse, query

# Mid-April: two customers on the worklist (segments smb and mid_market), April in progress.
AS_OF = date(2024, 4, 15)
RunPage = Callable[..., AppTest]


@pytest.fixture(scope="module")
def warehouse(build_warehouse: BuildWarehouse) -> Path:
    return build_warehouse(FIXTURES / "customer_success", AS_OF)


@pytest.fixture
def run_page(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> RunPage:
    monkeypatch.setenv("RETAIN_DUCKDB_PATH", str(warehouse))

    def run(page: str, **query_params: str) -> AppTest:
        app = AppTest.from_file(str(PAGES_DIR / page), default_timeout=60)
        app.query_params.update(query_params)
        app.run()
        assert not app.exception, [error.message for error in app.exception]
        return app
    return run


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def chart_data(app: AppTest) -> dict[str, pd.DataFrame]:
    """The rows each chart was given, by chart title."""
    frames = {}
    for chart in app.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("title") or spec["layer"][0]["title"]
        frames[title] = pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all() \
            .to_pandas()
    return frames


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


def test_segment_bridges_add_up_to_the_revenue_mart(warehouse: Path) -> None:
    """The per-segment sums of fct_mrr follow the mart's definitions: over every segment
    they give metrics_revenue_monthly's bridge back."""
    columns = [column for column, _, _ in data.BRIDGE_STEPS] + ["net_new_mrr",
                                                                  "paying_customers"]
    by_segment = pd.concat([data.revenue_monthly(warehouse, segment)
                            for segment in data.segments(warehouse)])
    summed = by_segment.groupby("month")[columns].sum()
    company = data.revenue_monthly(warehouse).set_index("month")[columns]
    pd.testing.assert_frame_equal(summed.astype(float), company.astype(float))


def test_revenue_page_shows_the_mart_and_marks_the_month_in_progress(
        run_page: RunPage, warehouse: Path) -> None:
    app = run_page("revenue.py")
    assert "current month: 2024-04 (to 15 Apr)" in app.caption[0].value
    assert app.selectbox(key="month").options == ["2024-02", "2024-03", "2024-04 (to 15 Apr)"]
    assert app.selectbox(key="month").value == "2024-03"  # the newest complete month

    march = one_row(warehouse, "select * from metrics_revenue_monthly where month = '2024-03-01'")
    assert metrics(app) == {label: formatted_value(march[column], kind)
                            for column, label, kind in data.REVENUE_TILES}
    bridge = app.dataframe[0].value
    assert list(bridge["step"]) == [label for _, label, _ in data.BRIDGE_STEPS]
    assert list(bridge["amount"]) == [float(march[column]) for column, _, _ in data.BRIDGE_STEPS]
    charts = chart_data(app)
    assert list(charts["MRR bridge, 2024-03"]["amount"]) == list(bridge["amount"])
    trend = data.query_frame(warehouse, "select ending_mrr, arr from metrics_revenue_monthly "
                                        "order by month")
    assert list(charts["MRR and ARR"]["MRR"]) == list(trend["ending_mrr"])
    assert list(charts["MRR and ARR"]["ARR"]) == list(trend["arr"])
    assert not app.warning

    app.selectbox(key="month").set_value("2024-04 (to 15 Apr)").run()
    april = one_row(warehouse, "select ending_mrr from metrics_revenue_monthly "
                               "where month = '2024-04-01'")
    assert metrics(app)["MRR"] == formatted_value(april["ending_mrr"], "money")
    assert "in progress" in app.warning[0].value


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
    mart = one_row(warehouse, "select * from metrics_revenue_by_segment_monthly where "
                              "dimension = 'segment' and dimension_value = 'smb' and "
                              "month = '2024-03-01'")
    assert shown == {label: formatted_value(mart[column], kind)
                     for column, label, kind in data.REVENUE_TILES}


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
