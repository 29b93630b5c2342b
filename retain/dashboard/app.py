"""The Retain dashboard: `make dashboard`, or `streamlit run retain/dashboard/app.py`."""

import streamlit as st

from retain.dashboard.common import PAGES, PAGES_DIR

st.set_page_config(page_title="Retain", layout="wide")
st.navigation([st.Page(PAGES_DIR / file, title=title, default=index == 0)
               for index, (file, title) in enumerate(PAGES)]).run()
