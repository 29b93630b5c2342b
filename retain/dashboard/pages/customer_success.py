"""Customer success: onboarding, engagement, NPS and support SLA attainment."""

import streamlit as st

from retain.dashboard import charts, data
from retain.dashboard.common import (
    chart,
    header,
    kpi_tiles,
    latest_complete_index,
    load,
    table,
)

ENGAGEMENT_WINDOWS = {"90 days": 90, "1 year": 365, "3 years": 3 * 365}

as_of = header("Customer success")

st.subheader("Onboarding")
onboarding = load(data.onboarding_cohorts)
chart(charts.onboarding_chart(onboarding))
left, right = st.columns(2)
left.markdown("**Final cohorts** (every customer completed or missed)")
table(onboarding[~onboarding["still_onboarding"]].drop(columns="still_onboarding"),
      "onboarding_final", left)
right.markdown("**Still onboarding** (in-progress customers can change the rate)")
table(onboarding[onboarding["still_onboarding"]].drop(columns="still_onboarding"),
      "onboarding_in_progress", right)

st.subheader("Engagement")
window = st.selectbox("Days shown", list(ENGAGEMENT_WINDOWS), key="engagement_window")
engagement = load(data.engagement_daily, ENGAGEMENT_WINDOWS[window])
if not engagement.empty:
    kpi_tiles(engagement.iloc[-1], (("dau", f"DAU on {as_of}", "count"),
                                    ("wau", "WAU", "count"), ("mau", "MAU", "count"),
                                    ("stickiness", "Stickiness (DAU/MAU)", "percent")))
    chart(charts.trend_chart(engagement, "date_day", {"dau": "DAU", "wau": "WAU", "mau": "MAU"},
                             "Daily, weekly and monthly active users", ",d"))
    chart(charts.trend_chart(engagement, "date_day", {"stickiness": "DAU / MAU"}, "Stickiness",
                             charts.PERCENT))

st.subheader("NPS")
nps = data.with_month_labels(load(data.nps_monthly), as_of)
if not nps.empty:
    latest = nps.iloc[latest_complete_index(nps)]
    kpi_tiles(latest, (("nps", f"NPS {latest['label']}", "ratio"),
                       ("responses", "Responses", "count")))
    chart(charts.trend_chart(nps, "month", {"nps": "NPS"}, "NPS by month of response", ".0f",
                             nps["in_progress"]))

st.subheader("Support")
support = data.with_month_labels(load(data.support_monthly), as_of)
if not support.empty:
    latest = support.iloc[latest_complete_index(support)]
    kpi_tiles(latest, (("sla_met_rate", f"SLA met {latest['label']}", "percent"),
                       ("tickets", "Tickets", "count"), ("backlog", "Backlog", "count")))
    chart(charts.trend_chart(support, "month", {"sla_met_rate": "SLA met"},
                             "Support SLA attainment by month opened", charts.PERCENT,
                             support["in_progress"]))
