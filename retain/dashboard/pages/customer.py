"""One customer: its customer 360 row, MRR history and health signals."""

import streamlit as st

from retain.dashboard import charts, data
from retain.dashboard.common import chart, header, kpi_tiles, load, table

CUSTOMER_TILES = (("mrr", "MRR", "money"), ("arr", "ARR", "money"),
                  ("lifetime_revenue", "Lifetime revenue", "money"),
                  ("health_score", "Health score", "ratio"))

as_of = header("Customer")
choices = load(data.customer_choices)
if choices.empty:
    st.info("No customers in this snapshot yet.")
    st.stop()
ids = list(choices["customer_id"])
names = dict(zip(choices["customer_id"], choices["customer_name"], strict=True))
requested = st.query_params.get("customer")
customer_id = st.selectbox("Customer (churn-risk worklist first)", ids,
                           index=ids.index(requested) if requested in names else 0,
                           format_func=lambda key: f"{key} · {names[key]}", key="customer")
st.query_params["customer"] = customer_id

profile = load(data.customer_profile, customer_id).iloc[0]
kpi_tiles(profile, CUSTOMER_TILES)
st.markdown(f"**Risk band:** {profile['risk_band'] or 'not paying'} · **signals:** "
            f"{profile['risk_signals'] or 'none'}")

mrr = load(data.customer_mrr_history, customer_id)
if not mrr.empty:
    mrr = data.with_month_labels(mrr, as_of)
    chart(charts.trend_chart(mrr, "month", {"mrr": "MRR"}, "MRR history", charts.MONEY,
                             mrr["in_progress"]))
health = load(data.customer_health_history, customer_id)
if not health.empty:
    health = data.with_month_labels(health, as_of)
    chart(charts.trend_chart(health, "month", {"health_score": "health score"},
                             "Health score history", ".0f", health["in_progress"]))
    table(health[["label", "health_score", "risk_band", "risk_signals"]].iloc[::-1],
          "health")  # the newest month first

st.markdown("**Customer 360** (dim_customers)")
st.dataframe(profile.astype(str).rename("value").rename_axis("field").reset_index(),
             hide_index=True, key="profile")
