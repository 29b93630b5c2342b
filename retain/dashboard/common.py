"""What every dashboard page shares: cached reads of the snapshot, the header, KPI tiles."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from retain.dashboard import data
from retain.dashboard.serve import server_problems
from retain.summary import formatted_value, month_label

PAGES_DIR = Path(__file__).resolve().parent / "pages"
# (file in pages/, title): the URL of a page is its file name without .py.
PAGES = (("revenue.py", "Revenue"), ("churn.py", "Churn"), ("trials.py", "Trials"),
         ("cohorts.py", "Cohorts"), ("customer_success.py", "Customer success"),
         ("renewals.py", "Renewals due"), ("worklist.py", "Churn-risk worklist"),
         ("customer.py", "Customer"))
CACHE_SECONDS = 300
# Table formats (st.column_config, printf-style as sprintf-js reads them): money with
# cents and thousands separators, counts with separators, shares as percentages.
MONEY_FORMAT = "%,.2f"
COUNT_FORMAT = "%,d"
MONEY_COLUMNS = {"amount", "arr", "arpa", "ltv", "lifetime_revenue"}  # and every *mrr* column
PERCENT_COLUMNS = {"nrr_12m", "grr_12m", "nrr_monthly", "grr_monthly", "stickiness"}
MONTH_COLUMNS = ("month", "cohort_month")
# Money tiles from this amount show no cents (see tile_value).
WHOLE_UNITS_FROM = 10_000


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _cached(function_name: str, warehouse: str, published_ns: int, arguments: tuple) -> Any:
    """One read of the snapshot, cached until a run publishes a new file (published_ns
    is the file's modification time, part of the cache key)."""
    return getattr(data, function_name)(Path(warehouse), *arguments)


def load(function: Callable[..., Any], *arguments: Any) -> Any:
    """function(warehouse, *arguments) from retain.dashboard.data, cached per snapshot; a
    snapshot without what the page reads stops the page with one error line."""
    warehouse = data.warehouse_path()
    published_ns = warehouse.stat().st_mtime_ns if warehouse.exists() else 0
    try:
        return _cached(function.__name__, str(warehouse), published_ns, tuple(arguments))
    except data.WarehouseError as error:
        st.error(str(error))
        st.stop()


def stop_on_unsafe_server() -> None:
    """Show nothing under a server that listens beyond loopback or sends usage statistics
    (the dashboard has no authentication): one error naming the way to start it."""
    problems = server_problems(st.get_option)
    if problems:
        st.error(f"This server may not show the dashboard: {'; '.join(problems)}. Start it "
                 "with `retain dashboard` (or `make dashboard`), which binds 127.0.0.1 with "
                 "usage statistics off.")
        st.stop()


def header(title: str) -> date:
    """The page title and what the numbers describe; stops the page under an unsafe
    server (a page's URL can run the page without app.py) or without a snapshot."""
    stop_on_unsafe_server()
    st.title(title)
    as_of = load(data.as_of_date)
    as_of_month = as_of.replace(day=1)
    st.caption(f"As of {as_of:%Y-%m-%d} (end of day, UTC) · published snapshot "
               f"`{data.warehouse_path()}` · current month: {month_label(as_of_month, as_of)}")
    return as_of


def tile_value(value: object, kind: str, whole_units: bool = False) -> str:
    """formatted_value short enough for a tile at 1400 px (five tiles a row show about nine
    characters): money and counts of a million or more in millions or billions
    (`12.16M`), money of 10,000 or more (or any, with whole_units) in whole units
    (`54,879`); the rest as they are."""
    text = formatted_value(value, kind)
    if kind not in ("money", "count") or text == "n/a":
        return text
    amount = float(value)  # type: ignore[arg-type]
    for limit, suffix in ((1e9, "B"), (1e6, "M")):
        if abs(amount) >= limit:
            return f"{amount / limit:,.2f}{suffix}"
    if kind == "money" and (whole_units or abs(amount) >= WHOLE_UNITS_FROM):
        return f"{amount:,.0f}"
    return text


def kpi_tiles(row: pd.Series, tiles: Sequence[tuple[str, str, str]],
              container: Any = st) -> None:
    """One st.metric per (column, label, kind) whose column the row has. When one money
    tile of the row is shown in whole units, all are (no cents beside rounded figures);
    a shortened value has the exact figure as its tooltip."""
    shown = [tile for tile in tiles if tile[0] in row.index]
    if not shown:
        return
    whole_units = any(kind == "money" and formatted_value(row[name], kind) != "n/a"
                      and abs(float(row[name])) >= WHOLE_UNITS_FROM
                      for name, _, kind in shown)
    for column, (name, label, kind) in zip(container.columns(len(shown)), shown, strict=True):
        exact = formatted_value(row[name], kind)
        short = tile_value(row[name], kind, whole_units)
        column.metric(label, short, help=f"exactly {exact}" if short != exact else None)


def chart(figure: alt.TopLevelMixin, container: Any = st) -> None:
    container.altair_chart(figure.properties(width="container"), width="stretch")


def latest_complete_index(months: pd.DataFrame) -> int:
    """Position of the newest month that is not in progress (the last one if none is)."""
    complete = [position for position, running in enumerate(months["in_progress"])
                if not running]
    return complete[-1] if complete else len(months) - 1


def column_formats(frame: pd.DataFrame) -> dict[str, Any]:
    """st.column_config for a frame's columns: months as months and days as days rather
    than midnight timestamps, money (MONEY_COLUMNS, every column named *mrr*) with cents
    and thousands separators, rates and retention shares as percentages, integer counts
    with separators."""
    config: dict[str, Any] = {}
    for column in frame.columns:
        name = str(column)
        if name in MONTH_COLUMNS:
            config[name] = st.column_config.DateColumn(format="YYYY-MM")
        elif pd.api.types.is_datetime64_any_dtype(frame[column]):
            config[name] = st.column_config.DateColumn(format="YYYY-MM-DD")
        elif name in MONEY_COLUMNS or "mrr" in name:
            config[name] = st.column_config.NumberColumn(format=MONEY_FORMAT)
        elif name in PERCENT_COLUMNS or name.endswith("_rate") or "retention" in name:
            config[name] = st.column_config.NumberColumn(format="percent")
        elif pd.api.types.is_integer_dtype(frame[column]) and \
                not pd.api.types.is_bool_dtype(frame[column]):
            config[name] = st.column_config.NumberColumn(format=COUNT_FORMAT)
    return config


def table(frame: pd.DataFrame, key: str, container: Any = st) -> None:
    """A frame as a table, its columns formatted by column_formats."""
    container.dataframe(frame, hide_index=True, key=key, column_config=column_formats(frame))


def csv_download(frame: pd.DataFrame, file_name: str, key: str) -> None:
    """A button that downloads the frame's rows as CSV (data.csv_text)."""
    st.download_button("Download CSV", data.csv_text(frame), file_name=file_name,
                       mime="text/csv", key=key)


def month_choice(months: pd.DataFrame, key: str, label: str = "Month") -> pd.Series:
    """A month selector over a frame of with_month_labels, opening on the newest complete
    month. Returns the chosen row."""
    labels = list(months["label"])
    chosen = st.session_state.get(key)
    # A choice survives a filter whose months differ, when that month is among them.
    index = labels.index(chosen) if chosen in labels else latest_complete_index(months)
    label_chosen = st.selectbox(label, labels, index=index, key=key)
    return months[months["label"] == label_chosen].iloc[0]
