"""A run waiting in the queue, as its owner sees it: its place, when it should start, and Cancel."""
from __future__ import annotations

import streamlit as st

from core.runs.view import format_eta
from ui.state import scheduler


def start_line(start_in_s: float | None) -> str:
    if start_in_s is None:
        return "its start cannot be estimated yet (nothing like it has finished on this server)"
    if start_in_s < 1:
        return "it starts now"
    return f"it should start in about {format_eta(start_in_s)} (min:s)"


def queued_ui(run_id: str, key: str, on_cancel=None) -> None:
    """Place, estimated start and a Cancel button for a waiting run; the page's fragment redraws it every tick.
    `on_cancel`: what else to forget once it is cancelled (a task has no run folder to say so)."""
    place = scheduler().place_of(run_id)
    if place is None:  # it started (or was cancelled) since the page looked
        st.info("Starting…")
        return
    when = start_line(place.start_in_s)
    st.info(f"**Waiting in the queue: place {place.place} of {place.of}.** {when[0].upper()}{when[1:]}. The queue "
            "takes every student in turn, so nobody waits behind another's whole list.")
    if st.button("Cancel this run", key=f"{key}_cancel", icon=":material/cancel:"):
        scheduler().cancel(run_id)
        if on_cancel is not None:
            on_cancel()
        st.rerun()
