"""Altair charts of the dashboard and the static report, from the frames of `data`.

The charts only draw the columns they are given; the waterfall's running totals
are bar positions, computed by Vega-Lite, while every label is the mart's value.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import numpy as np
import pandas as pd

MONEY = ",.0f"
PERCENT = ".0%"
# Axis formats of the kinds of retain.summary.formatted_value.
AXIS_FORMATS = {"money": MONEY, "percent": PERCENT, "ratio": ".2f", "count": ",d"}
WIDTH = 640
HEIGHT = 260
INCREASE, DECREASE, TOTAL = "#2e7d32", "#c62828", "#546e7a"
IN_PROGRESS_COLOR = "#f57c00"
OUTLIER_COLOR = "#6a1b9a"
CHURN_TYPE_COLORS = {"voluntary": DECREASE, "involuntary": "#6a1b9a"}
RISK_BAND_COLORS = {"critical": DECREASE, "at_risk": IN_PROGRESS_COLOR, "healthy": INCREASE,
                    "not paying": TOTAL}
# Colours of data.CHANGE_REASONS: seats, price, plan change, cross-sell, product churn.
REASON_COLORS = ("#1565c0", "#00897b", "#7b1fa2", INCREASE, DECREASE)
# Fewer values than this give no outlier cut: a quartile of a handful means little.
OUTLIER_MIN_VALUES = 8


def bridge_chart(steps: pd.DataFrame, title: str) -> alt.LayerChart:
    """The MRR bridge as a waterfall: totals from 0, movements from the running total."""
    base = alt.Chart(steps, title=title, width=WIDTH, height=HEIGHT).transform_calculate(
        delta="datum.step == 'ending' ? 0 : datum.amount",
    ).transform_window(
        running="sum(delta)", sort=[alt.SortField("order")],
    ).transform_calculate(
        bar_start="datum.is_total ? 0 : datum.running - datum.amount",
        bar_end="datum.is_total ? datum.amount : datum.running",
        bar_top="max(datum.bar_start, datum.bar_end)",
        kind=f"datum.is_total ? '{TOTAL}' : (datum.amount < 0 ? '{DECREASE}' : '{INCREASE}')",
    )
    x = alt.X("step:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelAngle=0))
    # The axis spans the running totals, not zero: movements are a few percent of MRR,
    # so the totals are drawn as clipped bars.
    levels = steps.loc[~steps["is_total"], "amount"].cumsum() + steps["amount"].iloc[0]
    low = min(levels.min(), *steps.loc[steps["is_total"], "amount"])
    high = max(levels.max(), *steps.loc[steps["is_total"], "amount"])
    margin = (high - low) * 0.25 or abs(high) * 0.1 or 1
    bars = base.mark_bar(clip=True).encode(
        x=x, y=alt.Y("bar_start:Q", title="MRR", axis=alt.Axis(format=MONEY),
                     scale=alt.Scale(domain=[max(low - margin, 0) if low >= 0 else low - margin,
                                             high + margin])),
        y2="bar_end:Q", color=alt.Color("kind:N", scale=None),
        tooltip=[alt.Tooltip("step:N"), alt.Tooltip("amount:Q", format=",.2f")])
    labels = base.mark_text(dy=-8).encode(
        x=x, y=alt.Y("bar_top:Q"), text=alt.Text("amount:Q", format=MONEY))
    return alt.layer(bars, labels)


def outlier_ceiling(values: pd.Series) -> float | None:
    """The upper Tukey fence (third quartile + 1.5 x the interquartile range) when some
    value is above it, else None: the axis top that keeps a few outliers (a quick ratio
    of 2,000 in a first month with almost no lost MRR) from flattening the rest."""
    present = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    if len(present) < OUTLIER_MIN_VALUES:
        return None
    first, third = np.percentile(present, [25, 75])
    fence = float(third + 1.5 * (third - first))
    return fence if present.max() > fence else None


def _outliers_note(frame: pd.DataFrame, x: str, columns: list[str],
                   ceiling: float) -> list[str]:
    """What a cut axis leaves out: the chart's subtitle, two lines."""
    above = frame.melt(id_vars=[x], value_vars=columns).dropna()
    above = above[above["value"].astype(float) > ceiling]
    highest = above.loc[above["value"].astype(float).idxmax()]
    when = pd.Timestamp(highest[x]).strftime("%Y-%m")
    return [f"Axis cut at {ceiling:,.2f}: {len(above)} value(s) above it are triangles "
            "at the top edge", f"(highest {float(highest['value']):,.2f} in {when}; "
            "the tooltip has each value)"]


def trend_chart(frame: pd.DataFrame, x: str, series: Mapping[str, str], title: str,
                number_format: str = MONEY, in_progress: pd.Series | None = None,
                cut_outliers: bool = False) -> alt.LayerChart:
    """Lines of the `series` columns (column -> legend label) over x; a month still in
    progress (in_progress True at that row) is marked with a dashed rule. With
    cut_outliers, values above the outlier_ceiling are drawn as triangles at the top
    edge and the subtitle says so."""
    renamed = frame[[x, *series]].rename(columns=dict(series))
    ceiling = outlier_ceiling(frame[list(series)].stack()) if cut_outliers else None
    heading = alt.Title(title, subtitle=_outliers_note(
        renamed, x, list(series.values()), ceiling)) if ceiling else title
    base = alt.Chart(renamed, title=heading, width=WIDTH, height=HEIGHT).transform_fold(
        list(series.values()), as_=["series", "value"])
    scale = alt.Scale()
    if ceiling is not None:
        low = min(0.0, float(frame[list(series)].min().min()))
        scale = alt.Scale(domain=[low, ceiling], nice=False)
    x_axis = alt.X(f"{x}:T", title=None)
    color = alt.Color("series:N", title=None, sort=list(series.values()),
                      legend=alt.Legend(orient="top"))
    tooltip = [alt.Tooltip(f"{x}:T"), alt.Tooltip("series:N"),
               alt.Tooltip("value:Q", format=number_format)]
    lines = base.mark_line(point=len(frame) <= 60, clip=ceiling is not None).encode(
        x=x_axis, y=alt.Y("value:Q", title=None, axis=alt.Axis(format=number_format),
                          scale=scale),
        color=color, tooltip=tooltip)
    layers: list[alt.Chart] = [lines]
    if ceiling is not None:
        layers.append(base.transform_filter(f"datum.value > {ceiling}").transform_calculate(
            edge=str(ceiling)).mark_point(shape="triangle-up", filled=True, size=90,
                                          color=OUTLIER_COLOR, opacity=1).encode(
            x=x_axis, y=alt.Y("edge:Q", scale=scale), tooltip=tooltip))
    if in_progress is not None and in_progress.any():
        marked = frame.loc[in_progress.to_numpy(), [x, "label"]]
        rule = alt.Chart(marked).mark_rule(strokeDash=[4, 4], color=IN_PROGRESS_COLOR)
        layers += [rule.encode(x=f"{x}:T", tooltip=alt.Tooltip("label:N", title="in progress")),
                   rule.mark_text(align="right", baseline="top", dx=-4, dy=4,
                                  color=IN_PROGRESS_COLOR, text="in progress").encode(
                       x=f"{x}:T", y=alt.value(0))]
    return alt.layer(*layers)


def signed_bar_chart(frame: pd.DataFrame, category: str, value: str, title: str,
                     number_format: str = MONEY) -> alt.LayerChart:
    """One bar per category in the frame's order, green up and red down, each labelled
    with its value (e.g. the reasons MRR moved in one month)."""
    order = list(frame[category])
    base = alt.Chart(frame, title=title, width=WIDTH, height=HEIGHT).encode(
        x=alt.X(f"{category}:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar().encode(
        y=alt.Y(f"{value}:Q", title=None, axis=alt.Axis(format=number_format)),
        color=alt.condition(f"datum.{value} < 0", alt.value(DECREASE), alt.value(INCREASE)),
        tooltip=[alt.Tooltip(f"{category}:N"), alt.Tooltip(f"{value}:Q", format=",.2f")])
    # Each label beyond the end of its bar: above a rise, below a fall.
    labels = [base.transform_filter(f"datum.{value} {test}").mark_text(dy=dy).encode(
        y=alt.Y(f"{value}:Q"), text=alt.Text(f"{value}:Q", format=number_format))
        for test, dy in ((">= 0", -8), ("< 0", 10))]
    return alt.layer(bars, *labels)


def stacked_bar_chart(frame: pd.DataFrame, x: str, title: str, *,
                      series: Mapping[str, str] | None = None, value: str = "value",
                      color: str = "series", colors: Mapping[str, str] | None = None,
                      number_format: str = MONEY, time_unit: str = "yearmonth",
                      y_title: str | None = None) -> alt.Chart:
    """Bars over time stacked by `color` (negative values stack downwards). The frame is
    long (one row per x and `color` value) or, with `series` (column -> legend label),
    wide: those columns are folded into `series` and `value`."""
    chart = alt.Chart(frame, title=title, width=WIDTH, height=HEIGHT)
    if series is not None:
        label = "''"  # the legend label of each folded column, by a chain of tests
        for column, name in reversed(list(series.items())):
            label = f"datum.column === '{column}' ? '{name}' : {label}"
        chart = chart.transform_fold(list(series), as_=["column", "value"]
                                     ).transform_calculate(series=label)
        value, color = "value", "series"
    domain = list(colors) if colors else (list(series.values()) if series else None)
    scale = alt.Scale(domain=domain, range=list(colors.values())) if colors else \
        alt.Scale(domain=domain) if domain else alt.Scale()
    return chart.mark_bar().encode(
        x=alt.X(f"{time_unit}({x}):O", title=None),
        y=alt.Y(f"sum({value}):Q", title=y_title, axis=alt.Axis(format=number_format)),
        color=alt.Color(f"{color}:N", title=None, scale=scale, sort=domain,
                        legend=alt.Legend(orient="top", labelLimit=0)),
        order=alt.Order(f"{color}:N"),
        tooltip=[alt.Tooltip(f"{time_unit}({x}):O", title=x), alt.Tooltip(f"{color}:N"),
                 alt.Tooltip(f"sum({value}):Q", format=",.2f", title="amount")])


def churn_reasons_chart(reasons: pd.DataFrame, title: str) -> alt.Chart:
    """One month of metrics_churn_monthly: churned MRR by reason, coloured by churn type."""
    return alt.Chart(reasons, title=title, width=WIDTH,
                     height=alt.Step(24)).mark_bar().encode(
        y=alt.Y("churn_reason:N", title=None, sort=alt.SortField("churned_mrr"),
                axis=alt.Axis(labelLimit=0)),
        x=alt.X("churned_mrr:Q", title="churned MRR", axis=alt.Axis(format=MONEY)),
        color=alt.Color("churn_type:N", title=None,
                        scale=alt.Scale(domain=list(CHURN_TYPE_COLORS),
                                        range=list(CHURN_TYPE_COLORS.values())),
                        legend=alt.Legend(orient="top")),
        tooltip=["churn_type:N", "churn_reason:N", "churned_customers:Q",
                 alt.Tooltip("churned_mrr:Q", format=",.2f")])


def retention_heatmap(cohorts: pd.DataFrame, value: str, title: str) -> alt.LayerChart:
    """Cohort month down, months since across, the retention share as colour and text."""
    base = alt.Chart(cohorts, title=title, width=WIDTH).encode(
        x=alt.X("months_since:O", title="months since first paid month"),
        y=alt.Y("yearmonth(cohort_month):O", title="cohort", sort="descending"))
    cells = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", title=None, scale=alt.Scale(scheme="blues"),
                        legend=alt.Legend(format=PERCENT)),
        tooltip=[alt.Tooltip("yearmonth(cohort_month):O", title="cohort"),
                 alt.Tooltip("months_since:O"), alt.Tooltip("customers:Q"),
                 alt.Tooltip(f"{value}:Q", format=".1%")])
    text = base.mark_text(fontSize=8).encode(
        text=alt.Text(f"{value}:Q", format=".0%"),
        color=alt.condition(f"datum.{value} > 0.6", alt.value("white"), alt.value("black")))
    return alt.layer(cells, text).properties(height=alt.Step(18))


def cohort_rate_chart(cohorts: pd.DataFrame, x: str, rate: str, still_open: str, title: str,
                      y_title: str, open_label: str, tooltip: list) -> alt.Chart:
    """A rate by cohort month; cohorts whose rate can still change (`still_open` True)
    stand apart."""
    state = cohorts.assign(state=cohorts[still_open].map({True: open_label, False: "final"}))
    return alt.Chart(state, title=title, width=WIDTH, height=HEIGHT).mark_bar().encode(
        x=alt.X(f"yearmonth({x}):O", title=None),
        y=alt.Y(f"{rate}:Q", title=y_title, axis=alt.Axis(format=PERCENT)),
        color=alt.Color("state:N", title=None, legend=alt.Legend(orient="top", labelLimit=0),
                        scale=alt.Scale(domain=["final", open_label],
                                        range=[TOTAL, IN_PROGRESS_COLOR])),
        tooltip=tooltip)


def onboarding_chart(cohorts: pd.DataFrame) -> alt.Chart:
    """Completion rate by cohort; cohorts with customers still onboarding stand apart."""
    return cohort_rate_chart(
        cohorts, "cohort_month", "onboarding_completion_rate", "still_onboarding",
        "Onboarding completion by signup cohort", "completed / (completed + missed)",
        "still onboarding (rate may change)",
        ["yearmonth(cohort_month):O", "customers:Q", "completed:Q", "missed:Q",
         "in_progress:Q", alt.Tooltip("onboarding_completion_rate:Q", format=".1%")])


def trial_conversion_chart(trials: pd.DataFrame) -> alt.Chart:
    """Trial conversion rate by month of trial start; months with trials still running
    stand apart."""
    return cohort_rate_chart(
        trials, "month", "trial_conversion_rate", "still_in_trial",
        "Trial conversion by month of trial start", "conversion rate",
        "trials still running (rate may change)",
        ["yearmonth(month):O", "trials:Q", "converted:Q", "not_converted:Q", "in_trial:Q",
         alt.Tooltip("trial_conversion_rate:Q", format=".1%"),
         alt.Tooltip("median_days_to_convert:Q", format=".1f")])
