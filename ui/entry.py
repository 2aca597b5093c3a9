"""Every page runs through dashboard.py's navigation, even on the first deep link after the server starts."""
from __future__ import annotations

import runpy
import threading
from pathlib import Path

import streamlit as st

ENTRY = Path(__file__).resolve().parents[1] / "dashboard.py"
_inside = threading.local()  # set while dashboard.py runs a page, in that script run's thread


def navigate(pages: list, teacher_pages: list = ()) -> None:
    """dashboard.py's last line: run the page the URL names, marked as run through the entry point. In class mode a
    visitor who has not signed in gets only the sign-in page, and only the teacher gets `teacher_pages`."""
    from core.classroom.accounts import class_mode
    from ui.account_views import account_sidebar_ui, sign_in_ui, signed_in

    _inside.active = True
    try:
        if class_mode():
            who = signed_in()
            if who is None:  # the form in place of the page, at the address asked for (a shared link survives it)
                st.navigation([*pages, *teacher_pages], position="hidden")
                sign_in_ui()
                return
            account_sidebar_ui(who)
            pages = [*pages, *teacher_pages] if who.teacher else pages
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
