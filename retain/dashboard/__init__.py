"""The Retain dashboard (Streamlit, `make dashboard`) and the static report (`retain report`)."""
