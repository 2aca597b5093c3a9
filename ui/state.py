"""Streamlit-side state: process-wide resources (datasets, training jobs) and per-session choices."""
from __future__ import annotations

import streamlit as st

from core import data
from core.jobs import JobRegistry
from core.layers import ModelSpec
from core.presets import PRESETS
from core import runs


@st.cache_resource(show_spinner=False)
def store() -> data.DatasetStore:
    """Read-only decoded datasets, one copy per server process however many sessions are open."""
    return data.DatasetStore()


@st.cache_resource(show_spinner=False)
def registry() -> JobRegistry:
    """Training jobs of this server process; each job owns its own model, nothing is shared between sessions."""
    return JobRegistry(runs_root=runs.RUNS_ROOT, max_running=4)


def source() -> str:
    if "source" not in st.session_state:
        st.session_state.source = data.default_source()
    return st.session_state.source


def dataset_ui() -> data.Dataset | None:
    """The session's dataset, decoding it with a progress bar the first time; None after explaining a problem."""
    src, shared = source(), store()
    bar = None

    def progress(done: int, total: int, message: str) -> None:
        nonlocal bar
        bar = bar or st.progress(0.0)
        bar.progress(done / max(total, 1), text=f"First load of this source, {message}: {done:,} / {total:,}")

    try:
        dataset = shared.get(src, progress)
    except data.DataError as exc:
        st.error(f"**The dataset is not available.** {exc}")
        return None
    if bar is not None:
        bar.empty()
    return dataset


def spec() -> ModelSpec:
    """The model being built on the Model page (starts as the seed tutorial's Classifier)."""
    if "spec" not in st.session_state:
        st.session_state.spec = PRESETS["seed"].spec
    return st.session_state.spec


def set_spec(new: ModelSpec) -> None:
    st.session_state.spec = new
