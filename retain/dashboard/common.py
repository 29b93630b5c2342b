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
PAGES = (("revenue.py", "Revenue"), ("cohorts.py", "Cohorts"),
         ("customer_success.py", "Customer success"), ("worklist.py", "Churn-risk worklist"),
         ("customer.py", "Customer"))
CACHE_SECONDS = 300


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _cached(function_name: str, warehouse: str, published_ns: int, arguments: tuple) -> Any:
    """One read of the snapshot, cached until a run publishes a new file (published_ns
    is the file's modification time, part of the cache key)."""
    return getattr(data, function_name)(Path(warehouse), *arguments)


def load(function: Callable[..., Any], *arguments: Any) -> Any:
    """function(warehouse, *arguments) from retain.dashboard.data, cached per snapshot."""
    warehouse = data.warehouse_path()
    published_ns = warehouse.stat().st_mtime_ns if warehouse.exists() else 0
    return _cached(function.__name__, str(warehouse), published_ns, tuple(arguments))


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
    try:
        as_of = load(data.as_of_date)
    except data.WarehouseError as error:
        st.error(str(error))
        st.stop()
    as_of_month = as_of.replace(day=1)
    st.caption(f"As of {as_of:%Y-%m-%d} (end of day, UTC) · published snapshot "
               f"`{data.warehouse_path()}` · current month: {month_label(as_of_month, as_of)}")
    return as_of


def kpi_tiles(row: pd.Series, tiles: Sequence[tuple[str, str, str]]) -> None:
    """One st.metric per (column, label, kind) whose column the row has."""
    shown = [tile for tile in tiles if tile[0] in row.index]
    if not shown:
        return
    for column, (name, label, kind) in zip(st.columns(len(shown)), shown, strict=True):
        column.metric(label, formatted_value(row[name], kind))


def chart(figure: alt.TopLevelMixin) -> None:
    st.altair_chart(figure.properties(width="container"), width="stretch")


def latest_complete_index(months: pd.DataFrame) -> int:
    """Position of the newest month that is not in progress (the last one if none is)."""
    complete = [position for position, running in enumerate(months["in_progress"])
                if not running]
    return complete[-1] if complete else len(months) - 1


def table(frame: pd.DataFrame, key: str, container: Any = st) -> None:
    """A frame as a table, months shown as months rather than midnight timestamps."""
    months = {column: st.column_config.DateColumn(format="YYYY-MM")
              for column in ("month", "cohort_month") if column in frame}
    container.dataframe(frame, hide_index=True, key=key, column_config=months)
