"""Churn: voluntary and involuntary churn, the reasons given, and the MRR held back by
unpaid invoices."""

import streamlit as st

from retain.dashboard import charts, data
from retain.dashboard.common import chart, header, kpi_tiles, load, month_choice, table

as_of = header("Churn")
months = data.with_month_labels(load(data.churn_monthly), as_of)
if months.empty:
    st.info("No MRR in this snapshot yet.")
    st.stop()
row = month_choice(months, "churn_month")
label = row["label"]
if row["in_progress"]:
    st.warning(f"{label} is in progress: its churn covers {as_of.day} day(s), "
               "not a full month.")
kpi_tiles(row, data.CHURN_TILES)
st.caption("Involuntary churn: the customer stopped paying (an invoice unpaid past its due "
           "date; reason `non_payment`); voluntary: it cancelled, with the reason it gave "
           "(`unknown` when none). Delinquent MRR is MRR held back at the month's end by "
           "invoices unpaid for longer than the delinquency setting allows: a late payment "
           "brings it back as reactivation. Company-wide (fct_mrr, metrics_churn_monthly, "
           "metrics_revenue_monthly).")

left, right = st.columns(2)
chart(charts.stacked_bar_chart(
    months, "month", "Churned MRR by month, voluntary and involuntary",
    series={"voluntary_churned_mrr": "voluntary", "involuntary_churned_mrr": "involuntary"},
    colors=charts.CHURN_TYPE_COLORS), left)
chart(charts.trend_chart(months, "month", {"delinquent_mrr": "delinquent MRR"},
                         "Delinquent MRR (unpaid invoices) by month", charts.MONEY,
                         months["in_progress"]), right)

st.subheader(f"Why customers left, {label}")
reasons = load(data.churn_reasons)
in_month = reasons[reasons["month"] == row["month"]].drop(columns="month")
if in_month.empty:
    st.info(f"No customer churned in {label}.")
else:
    chart(charts.churn_reasons_chart(in_month, f"Churned MRR by reason, {label}"))
    table(in_month, "churn_reasons")
    st.markdown(f"**Customers who churned in {label}** (fct_mrr)")
    table(load(data.churned_customers, row["month"].date()), "churned_customers")
