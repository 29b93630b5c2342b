"""Revenue: the MRR bridge of a chosen month and why MRR moved, MRR/ARR and the retention
ratios over time, for every customer or those of one segment, country or channel."""

import streamlit as st

from retain.dashboard import charts, data
from retain.dashboard.common import chart, header, kpi_tiles, load, month_choice, table

ALL_CUSTOMERS = "All customers"
REASON_LABELS = dict(data.CHANGE_REASONS)


def keep_only(dimension: str) -> None:
    """The filters apply one at a time: metrics_revenue_by_segment_monthly cuts revenue by
    one customer attribute, and no relation holds, say, smb customers in one country.
    Choosing a value clears the other filters."""
    if st.session_state[dimension] != ALL_CUSTOMERS:
        for other, _ in data.REVENUE_DIMENSIONS:
            if other != dimension:
                st.session_state[other] = ALL_CUSTOMERS


as_of = header("Revenue")
for column, (dimension, label) in zip(st.columns(len(data.REVENUE_DIMENSIONS)),
                                      data.REVENUE_DIMENSIONS, strict=True):
    column.selectbox(label, [ALL_CUSTOMERS, *load(data.dimension_values, dimension)],
                     key=dimension, on_change=keep_only, args=(dimension,))
chosen = [(dimension, label, st.session_state[dimension])
          for dimension, label in data.REVENUE_DIMENSIONS
          if st.session_state[dimension] != ALL_CUSTOMERS]
st.caption("One filter at a time: revenue is cut by one customer attribute "
           "(metrics_revenue_by_segment_monthly), so choosing a value clears the others. "
           "Attributes are the customers' current values; `unknown` means none recorded.")
dimension, dimension_label, value = chosen[0] if chosen else (None, None, None)

months = data.with_month_labels(load(data.revenue_monthly, dimension, value), as_of)
if months.empty:
    st.info("No MRR in this snapshot yet.")
    st.stop()
row = month_choice(months, "month")
label = row["label"]
if row["in_progress"]:
    st.warning(f"{label} is in progress: its movements cover {as_of.day} day(s), "
               "not a full month.")
if value is not None:
    st.info(f"{dimension_label} = {value}: every tile and chart below, ratios included, is "
            "computed over these customers only (metrics_revenue_by_segment_monthly).")
kpi_tiles(row, data.REVENUE_TILES[:5])
kpi_tiles(row, data.REVENUE_TILES[5:])

steps = data.bridge_steps(row)
chart(charts.bridge_chart(steps, f"MRR bridge, {label}"))
table(steps[["step", "amount"]], "bridge")

st.subheader("Why MRR moved")
if value is None:
    reasons = load(data.mrr_change_reasons_monthly)
    shown = reasons.assign(reason=reasons["reason"].map(REASON_LABELS))
    in_month = shown[shown["month"] == row["month"]]
    left, right = st.columns(2)
    chart(charts.signed_bar_chart(in_month, "reason", "mrr_change",
                                  f"MRR change by reason, {label}"), left)
    chart(charts.stacked_bar_chart(shown, "month", "MRR change by reason and month",
                                   value="mrr_change", color="reason",
                                   colors=dict(zip(REASON_LABELS.values(),
                                                   charts.REASON_COLORS, strict=True))), right)
    st.caption("Per product a customer kept: seats (the change in seats at the previous "
               "price per seat), price (the rest of the change on the same plans: a new "
               "price, a discount ending, exchange rates) and plan change (other plans); "
               "cross-sell and product churn are products added or dropped by customers who "
               "stayed (metrics_mrr_change_reasons_monthly). Each product is rounded and "
               "thresholded on its own, so these need not add up to the bridge's expansion "
               "and contraction.")
    table(in_month[["reason", "mrr_change"]], "reasons")
else:
    st.caption(f"The split into seats, price, plan change, cross-sell and product churn is "
               f"company-wide only (metrics_mrr_change_reasons_monthly is not cut by "
               f"{dimension_label.lower()}): choose {ALL_CUSTOMERS} to see it.")

st.subheader("Over time")
for first in range(0, len(data.REVENUE_TRENDS), 2):
    pair = data.REVENUE_TRENDS[first:first + 2]
    for column, (title, series, kind, cut) in zip(st.columns(len(pair)), pair, strict=True):
        chart(charts.trend_chart(months, "month", series, title, charts.AXIS_FORMATS[kind],
                                 months["in_progress"], cut_outliers=cut), column)
