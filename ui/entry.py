"""Every page runs through dashboard.py's navigation, even on the first deep link after the server starts."""
from __future__ import annotations

import runpy
import threading
from pathlib import Path

import streamlit as st

ENTRY = Path(__file__).resolve().parents[1] / "dashboard.py"
_inside = threading.local()  # set while dashboard.py runs a page, in that script run's thread


def navigate(pages: list) -> None:
    """dashboard.py's last line: run the page the URL names, marked as run through the entry point."""
    _inside.active = True
    try:
        st.navigation(pages).run()
    finally:
        _inside.active = False


def through_entry_ui() -> None:
    """The first line of every page. Until some session has run dashboard.py, Streamlit serves a deep link
    (.../model?model=..., .../train?run=...) from pages/ directly: no layout, no CSS, the wrong sidebar. Then run
    the entry point instead, which runs this same page through the navigation, and stop this copy."""
    if getattr(_inside, "active", False):
        return
    runpy.run_path(str(ENTRY), run_name="__main__")
    st.stop()
