"""Cohorts: logo and revenue retention by first paid month."""

import streamlit as st

from retain.dashboard import charts, data
from retain.dashboard.common import chart, header, load, table

header("Cohorts")
shown = st.slider("Newest cohorts shown", min_value=1, max_value=60, value=24, key="cohorts")
cohorts = load(data.cohort_retention, shown)
if cohorts.empty:
    st.info("No paying customers in this snapshot yet.")
    st.stop()
st.caption("A cohort is the customers whose first month with MRR is the cohort month; "
           "the newest column of each row is the month in progress.")
chart(charts.retention_heatmap(cohorts, "logo_retention", "Logo retention"))
chart(charts.retention_heatmap(cohorts, "revenue_retention", "Revenue retention"))
table(cohorts, "cohort_table")
