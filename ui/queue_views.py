"""A run waiting in the queue, as its owner sees it: its place, when it should start, and Cancel."""
from __future__ import annotations

import streamlit as st

from core.classroom.requests import RunRequest
from core.classroom.scheduler import seconds_per_epoch
from core.errors import UserError
from core.runs import folder as runs
from core.runs.view import format_eta
from core.training.presets import PRESETS
from ui.state import dataset_ui, owner, scheduler


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


def train_fast_now_ui(key: str) -> None:
    """One click to train the `fast` preset as it is, then watch it on the Train page; its time as measured here."""
    preset = PRESETS["fast"]
    per_epoch = seconds_per_epoch(runs.RUNS_ROOT).get(preset.spec.name)
    took = (f"about {format_eta(per_epoch * preset.config.epochs)} (min:s) on this machine, from the `fast` runs "
            "finished here" if per_epoch else "not timed on this machine yet")
    if st.button(f"Train `fast` now ({preset.config.epochs} epochs: {took})", key=key, icon=":material/bolt:"):
        dataset = dataset_ui()
        if dataset is None:
            return
        try:
            request = RunRequest.classifier(preset.spec, preset.config, dataset.source, owner())
            st.session_state.job_id = scheduler().submit(request, dataset)
        except UserError as exc:
            st.error(f"**Training did not start.** {exc}")
            return
        st.session_state.train_model = "fast"  # the Train page's form shows what is training
        st.switch_page("pages/train.py")
