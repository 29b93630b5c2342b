"""Altair charts of the dashboard and the static report, from the frames of `data`.

The charts only draw the columns they are given; the waterfall's running totals
are bar positions, computed by Vega-Lite, while every label is the mart's value.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

MONEY = ",.0f"
PERCENT = ".0%"
# Axis formats of the kinds of retain.summary.formatted_value.
AXIS_FORMATS = {"money": MONEY, "percent": PERCENT, "ratio": ".2f", "count": ",d"}
WIDTH = 640
HEIGHT = 260
INCREASE, DECREASE, TOTAL = "#2e7d32", "#c62828", "#546e7a"
IN_PROGRESS_COLOR = "#f57c00"


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


def trend_chart(frame: pd.DataFrame, x: str, series: Mapping[str, str], title: str,
                number_format: str = MONEY, in_progress: pd.Series | None = None
                ) -> alt.LayerChart:
    """Lines of the `series` columns (column -> legend label) over x; a month still in
    progress (in_progress True at that row) is marked with a dashed rule."""
    renamed = frame[[x, *series]].rename(columns=dict(series))
    lines = alt.Chart(renamed, title=title, width=WIDTH, height=HEIGHT).transform_fold(
        list(series.values()), as_=["series", "value"],
    ).mark_line(point=len(frame) <= 60).encode(
        x=alt.X(f"{x}:T", title=None),
        y=alt.Y("value:Q", title=None, axis=alt.Axis(format=number_format)),
        color=alt.Color("series:N", title=None, sort=list(series.values()),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip(f"{x}:T"), alt.Tooltip("series:N"),
                 alt.Tooltip("value:Q", format=number_format)])
    layers: list[alt.Chart] = [lines]
    if in_progress is not None and in_progress.any():
        marked = frame.loc[in_progress.to_numpy(), [x, "label"]]
        rule = alt.Chart(marked).mark_rule(strokeDash=[4, 4], color=IN_PROGRESS_COLOR)
        layers += [rule.encode(x=f"{x}:T", tooltip=alt.Tooltip("label:N", title="in progress")),
                   rule.mark_text(align="right", baseline="top", dx=-4, dy=4,
                                  color=IN_PROGRESS_COLOR, text="in progress").encode(
                       x=f"{x}:T", y=alt.value(0))]
    return alt.layer(*layers)


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


def onboarding_chart(cohorts: pd.DataFrame) -> alt.Chart:
    """Completion rate by cohort; cohorts with customers still onboarding stand apart."""
    state = cohorts.assign(state=cohorts["still_onboarding"].map(
        {True: "still onboarding (rate may change)", False: "final"}))
    return alt.Chart(state, title="Onboarding completion by signup cohort", width=WIDTH,
                     height=HEIGHT).mark_bar().encode(
        x=alt.X("yearmonth(cohort_month):O", title=None),
        y=alt.Y("onboarding_completion_rate:Q", title="completed / (completed + missed)",
                axis=alt.Axis(format=PERCENT)),
        color=alt.Color("state:N", title=None, legend=alt.Legend(orient="top", labelLimit=0),
                        scale=alt.Scale(domain=["final", "still onboarding (rate may change)"],
                                        range=[TOTAL, IN_PROGRESS_COLOR])),
        tooltip=["yearmonth(cohort_month):O", "customers:Q", "completed:Q", "missed:Q",
                 "in_progress:Q", alt.Tooltip("onboarding_completion_rate:Q", format=".1%")])
