"""Revenue: the MRR bridge of a chosen month, MRR/ARR and the retention ratios over time."""

import streamlit as st

from retain.dashboard import charts, data
from retain.dashboard.common import chart, header, kpi_tiles, latest_complete_index, load

ALL_CUSTOMERS = "All customers"

as_of = header("Revenue")
choice = st.selectbox("Segment", [ALL_CUSTOMERS, *load(data.segments)], key="segment")
segment = None if choice == ALL_CUSTOMERS else choice
months = data.with_month_labels(load(data.revenue_monthly, segment), as_of)
if months.empty:
    st.info("No MRR in this snapshot yet.")
    st.stop()
label = st.selectbox("Month", list(months["label"]), index=latest_complete_index(months),
                     key="month")
row = months[months["label"] == label].iloc[0]
if row["in_progress"]:
    st.warning(f"{label} is in progress: its movements cover {as_of.day} day(s), "
               "not a full month.")
kpi_tiles(row, data.REVENUE_TILES[:5])
kpi_tiles(row, data.REVENUE_TILES[5:])
if segment is not None:
    st.caption(f"{segment}: every figure over the segment's customers only "
               "(metrics_revenue_by_segment_monthly).")

steps = data.bridge_steps(row)
chart(charts.bridge_chart(steps, f"MRR bridge, {label}"))
st.dataframe(steps[["step", "amount"]], hide_index=True, key="bridge",
             column_config={"amount": st.column_config.NumberColumn(format="%.2f")})

for title, series, kind in data.REVENUE_TRENDS:
    present = {column: name for column, name in series.items() if column in months}
    if present:
        chart(charts.trend_chart(months, "month", present, title, charts.AXIS_FORMATS[kind],
                                 months["in_progress"]))
