"""Renewals due: the subscriptions whose paid period ends in the next 90 days, for CS to
sort, work through and export."""

import streamlit as st

from retain.dashboard import charts, data
from retain.dashboard.common import chart, csv_download, header, kpi_tiles, load, table

as_of = header("Renewals due")
kpi_tiles(load(data.renewals_due_totals), data.RENEWAL_TILES)
st.caption(f"Subscriptions whose every paid line ends after {as_of} and at most 90 days "
           "later, and that have not ended: renewal_mrr is what renews, the health score "
           "and risk band are the customer's this month (none when it pays nothing now). "
           "Cancellation requested: the customer asked to cancel at the period's end "
           "(rpt_renewals_due).")
renewals_by_week = load(data.renewals_due_weekly)
if renewals_by_week.empty:
    st.info("No subscription is due for renewal in the next 90 days.")
    st.stop()
chart(charts.stacked_bar_chart(
    renewals_by_week, "week", "Renewal MRR due by week and risk band", value="renewal_mrr",
    color="risk_band", colors=charts.RISK_BAND_COLORS, time_unit="yearmonthdate"))

order = st.selectbox("Sort by", list(data.RENEWAL_ORDERS), key="renewal_order")
renewals = load(data.renewals_due, order)
table(renewals, "renewals")
csv_download(renewals, f"renewals-due-{as_of}.csv", "download")
