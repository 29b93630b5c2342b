"""`retain report`: the dashboard's headline pages as one self-contained HTML file.

For email and for readers without a server: the same queries (`data`) and
charts (`charts`) as the dashboard, each chart rendered to inline SVG by
vl-convert (Vega-Lite bundled, no network), no script and no external file.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import altair as alt
import pandas as pd
import vl_convert

from retain.dashboard import charts, data
from retain.summary import formatted_value

COHORTS_SHOWN = 24
ENGAGEMENT_DAYS = 90
WORKLIST_ROWS = 25
RENEWAL_ROWS = 25
STYLE = """
body { font-family: "Source Sans Pro", "Helvetica Neue", Arial, sans-serif; color: #262730;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em;
     margin-top: 2em; }
.caption { color: #6b6f76; font-size: 0.9em; }
.note { background: #fff4e5; border-left: 4px solid #f57c00; padding: 0.4em 0.8em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #e3e3e3; padding: 0.25em 0.6em; text-align: right; }
th { background: #f6f6f6; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0; } svg { max-width: 100%; height: auto; }
"""


def inline_svg(chart: alt.TopLevelMixin) -> str:
    """The chart drawn offline as an SVG element."""
    return f"<figure>{vl_convert.vegalite_to_svg(chart.to_json())}</figure>"


def html_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A table of the cells as text; NULL (None, NaN) is an empty cell."""
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(
        f"<td>{'' if pd.isna(cell) else html.escape(str(cell))}</td>" for cell in row)
                   + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def kpi_table(frame: pd.DataFrame, tiles: Sequence[tuple[str, str, str]]) -> str:
    """KPIs down, the frame's months (labelled, the month in progress marked) across."""
    shown = [tile for tile in tiles if tile[0] in frame]
    return html_table(["", *frame["label"]],
                      ([label, *(formatted_value(value, kind) for value in frame[column])]
                       for column, label, kind in shown))


def _newest_complete(months: pd.DataFrame) -> pd.Series:
    """The newest month not in progress (the newest of all if every one is)."""
    complete = months[~months["in_progress"]]
    return (complete if len(complete) else months).iloc[-1]


def _revenue_section(warehouse: Path, as_of: date) -> list[str]:
    months = data.with_month_labels(data.revenue_monthly(warehouse), as_of)
    if months.empty:
        return ["<h2>Revenue</h2><p>No MRR in this snapshot yet.</p>"]
    bridged = _newest_complete(months)
    parts = ["<h2>Revenue</h2>", kpi_table(months.tail(3), data.REVENUE_TILES)]
    if months["in_progress"].any():
        parts.append(f"<p class='note'>{html.escape(months['label'].iloc[-1])} is in "
                     f"progress: its movements cover {as_of.day} day(s), not a full month.</p>")
    parts.append(inline_svg(charts.bridge_chart(data.bridge_steps(bridged),
                                                f"MRR bridge, {bridged['label']}")))
    reasons = data.mrr_change_reasons_monthly(warehouse)
    labelled = reasons.assign(reason=reasons["reason"].map(dict(data.CHANGE_REASONS)))
    parts.append(inline_svg(charts.signed_bar_chart(
        labelled[labelled["month"] == bridged["month"]], "reason", "mrr_change",
        f"MRR change by reason (product level), {bridged['label']}")))
    parts += [inline_svg(charts.trend_chart(months, "month", series, title,
                                            charts.AXIS_FORMATS[kind], months["in_progress"],
                                            cut_outliers=cut))
              for title, series, kind, cut in data.REVENUE_TRENDS]
    return parts


def _churn_section(warehouse: Path, as_of: date) -> list[str]:
    months = data.with_month_labels(data.churn_monthly(warehouse), as_of)
    if months.empty:
        return []
    latest = _newest_complete(months)
    parts = ["<h2>Churn</h2>", kpi_table(months.tail(3), data.CHURN_TILES),
             "<p class='caption'>Involuntary: the customer stopped paying (reason "
             "non_payment); voluntary: it cancelled. Delinquent MRR: MRR held back by unpaid "
             "invoices at the month's end.</p>",
             inline_svg(charts.stacked_bar_chart(
                 months, "month", "Churned MRR by month, voluntary and involuntary",
                 series={"voluntary_churned_mrr": "voluntary",
                         "involuntary_churned_mrr": "involuntary"},
                 colors=charts.CHURN_TYPE_COLORS)),
             inline_svg(charts.trend_chart(months, "month", {"delinquent_mrr": "delinquent MRR"},
                                           "Delinquent MRR (unpaid invoices) by month",
                                           charts.MONEY, months["in_progress"]))]
    reasons = data.churn_reasons(warehouse)
    in_month = reasons[reasons["month"] == latest["month"]]
    if len(in_month):
        parts.append(inline_svg(charts.churn_reasons_chart(
            in_month, f"Churned MRR by reason, {latest['label']}")))
    return parts


def _trials_section(warehouse: Path, as_of: date) -> list[str]:
    trials = data.with_month_labels(data.trials_monthly(warehouse), as_of)
    if trials.empty:
        return []
    return ["<h2>Trials</h2>", kpi_table(trials.tail(3), data.TRIAL_TILES),
            "<p class='caption'>By month of trial start; a month with trials still running "
            "can change its conversion rate.</p>",
            inline_svg(charts.trial_conversion_chart(trials))]


def _cohorts_section(warehouse: Path) -> list[str]:
    cohorts = data.cohort_retention(warehouse, COHORTS_SHOWN)
    if cohorts.empty:
        return []
    return ["<h2>Cohorts</h2>",
            f"<p class='caption'>The newest {COHORTS_SHOWN} cohorts by first paid month.</p>",
            inline_svg(charts.retention_heatmap(cohorts, "logo_retention", "Logo retention")),
            inline_svg(charts.retention_heatmap(cohorts, "revenue_retention",
                                                "Revenue retention"))]


def _success_section(warehouse: Path, as_of: date) -> list[str]:
    parts = ["<h2>Customer success</h2>"]
    onboarding = data.onboarding_cohorts(warehouse)
    if len(onboarding):
        parts.append(inline_svg(charts.onboarding_chart(onboarding)))
    engagement = data.engagement_daily(warehouse, ENGAGEMENT_DAYS)
    if len(engagement):
        parts.append(inline_svg(charts.trend_chart(
            engagement, "date_day", {"dau": "DAU", "wau": "WAU", "mau": "MAU"},
            f"Active users, last {ENGAGEMENT_DAYS} days", ",d")))
        parts.append(inline_svg(charts.trend_chart(engagement, "date_day",
                                                   {"stickiness": "DAU / MAU"}, "Stickiness",
                                                   charts.PERCENT)))
    nps = data.with_month_labels(data.nps_monthly(warehouse), as_of)
    if len(nps):
        parts.append(inline_svg(charts.trend_chart(nps, "month", {"nps": "NPS"},
                                                   "NPS by month of response", ".0f",
                                                   nps["in_progress"])))
    support = data.with_month_labels(data.support_monthly(warehouse), as_of)
    if len(support):
        parts.append(inline_svg(charts.trend_chart(
            support, "month", {"sla_met_rate": "SLA met"},
            "Support SLA attainment by month opened", charts.PERCENT, support["in_progress"])))
    return parts


def _worklist_section(warehouse: Path, as_of: date) -> list[str]:
    worklist = data.churn_risk_worklist(warehouse)
    customers, at_risk = data.churn_risk_totals(warehouse)
    columns = ["priority_rank", "customer_id", "customer_name", "segment", "mrr_at_risk",
               "health_score", "risk_band", "risk_signals"]
    rows = ([formatted_value(value, "money") if column == "mrr_at_risk" else value
             for column, value in zip(columns, row, strict=True)]
            for row in worklist[columns].head(WORKLIST_ROWS).itertuples(index=False))
    return ["<h2>Churn-risk worklist</h2>",
            f"<p>{formatted_value(customers, 'count')} customers at risk on {as_of}, "
            f"MRR at risk {formatted_value(at_risk, 'money')}; the first {WORKLIST_ROWS} "
            "by MRR:</p>", html_table(columns, rows)]


def _renewals_section(warehouse: Path, as_of: date) -> list[str]:
    totals = data.renewals_due_totals(warehouse)
    renewals = data.renewals_due(warehouse)
    columns = ["priority_rank", "subscription_id", "customer_id", "customer_name",
               "renewal_date", "interval_months", "renewal_mrr", "cancel_requested",
               "risk_band"]
    kinds = {"renewal_mrr": "money", "interval_months": "count"}
    rows = ([formatted_value(value, kinds[column]) if column in kinds
             else f"{value:%Y-%m-%d}" if column == "renewal_date" else value
             for column, value in zip(columns, row, strict=True)]
            for row in renewals[columns].head(RENEWAL_ROWS).itertuples(index=False))
    parts = ["<h2>Renewals due</h2>",
             f"<p>{formatted_value(totals['subscriptions'], 'count')} subscriptions renew "
             f"after {as_of} and within 90 days, renewal MRR "
             f"{formatted_value(totals['renewal_mrr'], 'money')} "
             f"({formatted_value(totals['cancel_requested'], 'count')} with a cancellation "
             f"requested, MRR {formatted_value(totals['cancel_requested_mrr'], 'money')}); "
             f"the first {RENEWAL_ROWS} by renewal date and MRR:</p>"]
    if renewals.empty:
        return parts
    weekly = data.renewals_due_weekly(warehouse)
    return [*parts, inline_svg(charts.stacked_bar_chart(
        weekly, "week", "Renewal MRR due by week and risk band", value="renewal_mrr",
        color="risk_band", colors=charts.RISK_BAND_COLORS, time_unit="yearmonthdate")),
        html_table(columns, rows)]


def report_html(warehouse: Path) -> str:
    """The whole report as one HTML document."""
    as_of = data.as_of_date(warehouse)
    built = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = [*_revenue_section(warehouse, as_of), *_churn_section(warehouse, as_of),
                *_trials_section(warehouse, as_of), *_cohorts_section(warehouse),
                *_success_section(warehouse, as_of), *_renewals_section(warehouse, as_of),
                *_worklist_section(warehouse, as_of)]
    return "\n".join([
        "<!doctype html>", "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>Retain report, as of {as_of}</title><style>{STYLE}</style></head><body>",
        f"<h1>Retain report</h1><p class='caption'>As of {as_of} (end of day, UTC) · "
        f"snapshot {html.escape(str(warehouse))} · written {built}</p>",
        *sections, "</body></html>"])


def write_report(warehouse: Path, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report_html(warehouse), encoding="utf-8")
    return out
