"""The churn-risk worklist: filter, assign an owner, export."""

import pandas as pd
import streamlit as st

from retain.dashboard import data
from retain.dashboard.common import column_formats, csv_download, header, kpi_tiles, load

as_of = header("Churn-risk worklist")
left, right = st.columns(2)
all_segments = load(data.segments)
segments = left.multiselect("Segment", all_segments, default=all_segments, key="segments")
bands = right.multiselect("Risk band", list(data.RISK_BANDS), default=list(data.RISK_BANDS),
                          key="risk_bands")
worklist = load(data.churn_risk_worklist, tuple(segments), tuple(bands))
customers, at_risk = load(data.churn_risk_totals, tuple(segments), tuple(bands))
kpi_tiles(pd.Series({"customers": customers, "mrr_at_risk": at_risk}),
          (("customers", "Customers at risk", "count"), ("mrr_at_risk", "MRR at risk", "money")))
st.caption("Paying customers in band at_risk or critical at the as-of date, most MRR first; "
           "risk_signals are the reasons. The raw data has no account owner: assign one "
           "here for the export (it is not stored in the warehouse).")
edited = st.data_editor(
    worklist.assign(owner="", next_step=""), hide_index=True, key="worklist",
    disabled=list(worklist.columns),
    # The owner fields before the long list of signals, so they are in view.
    column_order=[*worklist.columns[:7], "owner", "next_step", *worklist.columns[7:]],
    column_config={**column_formats(worklist),
                   "owner": st.column_config.TextColumn(help="who acts on this customer"),
                   "next_step": st.column_config.TextColumn(help="what they will do")})
csv_download(edited, f"churn-risk-worklist-{as_of}.csv", "download")
