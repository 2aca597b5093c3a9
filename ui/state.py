"""Streamlit-side state: process-wide resources (datasets, training jobs) and per-session choices."""
from __future__ import annotations

import streamlit as st

from core.classroom.access import can_see_folder, find_visible_run, visible
from core.classroom.accounts import Identity, class_mode
from core.classroom.scheduler import Scheduler, executor_settings
from core.data import sources as data
from core.data.store import DatasetStore
from core.jobs.registry import JobRegistry
from core.jobs.watched import WatchedRun, not_found
from core.models.spec import ModelSpec
from core.runs import folder as runs
from core.runs.layout import RunFolder
from core.training.presets import PRESETS


@st.cache_resource(show_spinner=False)
def store() -> DatasetStore:
    """Read-only decoded datasets, one copy per server process however many sessions are open."""
    return DatasetStore()


@st.cache_resource(show_spinner=False)
def scheduler() -> Scheduler:
    """The server's queue and training slots (one per server process, living as long as it); queued runs left by a
    previous server process wait again. Class mode trains in Ray worker processes, personal mode in threads."""
    return Scheduler(runs.RUNS_ROOT, datasets=store(), **executor_settings(class_mode()))


def registry() -> JobRegistry:
    """Training jobs of this server process; each job owns its own model, nothing is shared between sessions."""
    return scheduler().registry


def viewer() -> Identity | None:
    """Who is signed in (class mode), or None in personal mode, where there are no accounts and everything is shown."""
    return st.session_state.get("identity") if class_mode() else None


def owner() -> str | None:
    """The owner a new run gets: the signed-in account, none in personal mode."""
    who = viewer()
    return None if who is None else who.name


def find_watched(run_id: str, kind) -> WatchedRun:
    """The run a page watches, if this viewer may see it (else the same message as for a run that does not exist)."""
    return find_visible_run(registry(), run_id, kind, viewer())


def visible_runs(kind: str | None = None) -> list[runs.ListedRun]:
    """Every saved run of this kind the viewer may see, newest first."""
    return visible(runs.list_runs(kind=kind), viewer())


def _check_visible(run_id: str, kind) -> None:
    if not can_see_folder(viewer(), runs.run_path(run_id)):
        raise not_found(run_id, kind)


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


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def _load_run(run_id: str, stamp: float, best: bool = False):
    run = runs.open_run(runs.run_path(run_id))
    model = runs.load_model(run, best).requires_grad_(False)  # shared by every session: read-only (explain needs
    return run, model                                         # no parameter gradients, only the input's)


def run_model(run_id: str, best: bool = False):
    """(Run, model in eval mode) for a saved run (its last weights, or with `best` its best epoch's), reloaded when
    its weights change; raises RunError (also for a run this viewer may not see: the cache is the server's, so the
    check comes first)."""
    _check_visible(run_id, "classifier")
    return _load_run(run_id, RunFolder(runs.run_path(run_id)).weights_mtime(), best)


def usable_runs() -> list[runs.ListedRun]:
    """Saved runs that have weights to evaluate, newest first."""
    return [r for r in visible_runs("classifier") if r.summary.has_weights]


def run_picker_ui(key: str) -> str | None:
    """A selectbox of the runs this person may use, their own first; with none of their own, the starters, and one
    click to train `fast`."""
    saved = usable_runs()
    if not any(not r.starter for r in saved):
        from ui.queue_views import (
            train_fast_now_ui,  # it draws with this module's state
        )

        st.info("No trained runs of your own yet: " + ("the starter shipped with the studio answers now, or train "
                                                       "one of your own." if saved else "train one first."))
        train_fast_now_ui(f"{key}_fast_now")
        if not saved:
            return None
    labels = {r.id: f"{r.id} · {r.summary.model} · {r.summary.status}" + (" · starter, read-only" if r.starter
                                                                              else "") for r in saved}
    return st.selectbox("Run", list(labels), key=key, format_func=labels.get)


def first_filters(run_id: str):
    """The first conv layer's filters from the run's latest saved weights (refreshed as each epoch saves)."""
    try:
        return _filters(run_id, RunFolder(runs.run_path(run_id)).weights.stat().st_mtime)
    except (OSError, runs.RunError):
        return None


@st.cache_data(show_spinner=False, max_entries=16)
def _filters(run_id: str, stamp: float):
    from core.insight.explain import first_layer_filters

    return first_layer_filters(runs.load_model(runs.open_run(runs.run_path(run_id))))


def usable_captioners() -> list[runs.ListedRun]:
    """Saved captioner runs with weights, newest first."""
    return [r for r in visible_runs("captioner") if r.summary.has_weights]


@st.cache_resource(show_spinner="Loading the captioner…", max_entries=4)
def _load_captioner(run_id: str, stamp: float):
    from core.caption.runs import load_captioner, open_captioner

    run = open_captioner(runs.run_path(run_id))
    return run, load_captioner(run)  # read-only in effect: load_captioner turns gradients off


def captioner_model(run_id: str):
    """(CaptionerRun, Captioner) for a saved run, reloaded when its weights change; raises RunError (as run_model)."""
    _check_visible(run_id, "captioner")
    return _load_captioner(run_id, RunFolder(runs.run_path(run_id)).weights_mtime())


@st.cache_resource(show_spinner=False)
def _feature_cache() -> dict:
    return {}


def neighbour_features(run_id: str, run, model, dataset: data.Dataset, compute: bool):
    """The training set's features for a run (core.insight.neighbours), kept in memory per server for the last few runs:
    read from the run folder, or (when `compute`) computed with a progress bar; None when not there yet."""
    from core.insight.neighbours import saved_features, training_features

    cache = _feature_cache()
    key = (run_id, RunFolder(runs.run_path(run_id)).weights_stamp(), dataset.source)
    if key not in cache:
        features = saved_features(run, dataset)
        if features is None and compute:
            bar = st.progress(0.0, text="Every training image through the network, once per run…")

            def progress(done: int, total: int) -> None:
                bar.progress(done / total, text=f"Every training image through the network, once per run: "
                                                f"{done:,} / {total:,}")

            features = training_features(run, model, dataset, progress)
            bar.empty()
        if features is None:
            return None
        while len(cache) >= 4:
            cache.pop(next(iter(cache)))
        cache[key] = features
    return cache[key]
