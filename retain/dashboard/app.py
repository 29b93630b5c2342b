"""The Retain dashboard: `retain dashboard` or `make dashboard` (retain/dashboard/serve.py).

It has no authentication, so it shows nothing under a server that listens beyond the
loopback interface or sends usage statistics: a plain `streamlit run` does both unless
it is started from the project root, where .streamlit/config.toml says otherwise.
"""

import streamlit as st

from retain.dashboard.common import PAGES, PAGES_DIR, stop_on_unsafe_server
from retain.dashboard.serve import server_problems

st.set_page_config(page_title="Retain", layout="wide")
problems = server_problems(st.get_option)
# st.navigation before the guard: it also ends Streamlit's pages/-folder mode, in which a
# page's URL runs the page without this script.
page = st.navigation([st.Page(PAGES_DIR / file, title=title, default=index == 0)
                      for index, (file, title) in enumerate(PAGES)],
                     position="hidden" if problems else "sidebar")
stop_on_unsafe_server()
page.run()
