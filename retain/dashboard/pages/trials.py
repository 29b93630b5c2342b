"""Trials: how many trials start each month and how many become paying subscriptions."""

import streamlit as st

from retain.dashboard import charts, data
from retain.dashboard.common import chart, header, kpi_tiles, load, month_choice, table

as_of = header("Trials")
trials = data.with_month_labels(load(data.trials_monthly), as_of)
if trials.empty:
    st.info("No trials in this snapshot: no subscription has a trial_start.")
    st.stop()
row = month_choice(trials, "trial_month", "Month of trial start")
kpi_tiles(row, data.TRIAL_TILES)
if row["still_in_trial"]:
    st.warning(f"{row['in_trial']} trial(s) started in {row['label']} are still running: "
               "its conversion rate may change.")
st.caption("A trial is a subscription with a trial_start, counted in the month it started. "
           "Conversion rate = converted / (converted + not converted): trials still running "
           "count in neither. Days to convert run from trial_start to the paid start "
           "(metrics_trials_monthly).")

left, right = st.columns(2)
chart(charts.trial_conversion_chart(trials), left)
chart(charts.stacked_bar_chart(
    trials, "month", "Trials by outcome and month of trial start",
    series={"converted": "converted", "not_converted": "not converted",
            "in_trial": "still in trial"},
    colors={"converted": charts.INCREASE, "not converted": charts.DECREASE,
            "still in trial": charts.IN_PROGRESS_COLOR},
    number_format=charts.AXIS_FORMATS["count"], y_title="trials"), right)
table(trials.drop(columns=["label", "in_progress", "still_in_trial"]).iloc[::-1],
      "trials")  # the newest month first
