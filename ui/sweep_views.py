"""A sweep from the Train form: its rows of setting and values, and its runs as they queue, train and land in a
comparison table."""
from __future__ import annotations

import streamlit as st

from core.bounds import setting_of
from core.classroom.requests import RunRequest
from core.data.sources import Dataset
from core.errors import UserError
from core.models.spec import ModelSpec
from core.runs import folder as runs
from core.training.config import TrainConfig
from core.training.status import RunStatus
from core.training.sweep import MAX_AXES, SWEEPABLE, Axis, expand
from ui.compare_views import settings_comparison_ui
from ui.state import owner, scheduler

NONE = "—"
REFRESH_S = 3.0


def sweep_rows_ui(key: str) -> list[tuple[str, str]]:
    """Inside the Train form: up to three rows of (setting, comma-separated values); the rows filled in."""
    rows = []
    for i in range(MAX_AXES):
        c1, c2 = st.columns([1, 2])
        name = c1.selectbox(f"Setting {i + 1}", [NONE, *SWEEPABLE], key=f"{key}_sweep_name{i}",
                            format_func=lambda n: n if n == NONE else setting_of(TrainConfig, n).label)
        values = c2.text_input(f"Values {i + 1}", key=f"{key}_sweep_values{i}", placeholder="e.g. 0.01, 0.05, 0.2",
                               help="Two or three values, separated by commas.")
        if name != NONE:
            rows.append((name, values))
    return rows


def start_sweep(spec: ModelSpec, base: TrainConfig, rows: list[tuple[str, str]], dataset: Dataset) -> list[str]:
    """Every combination queued as a run of its own, all or none; raises UserError naming what is wrong."""
    configs = expand(base, [Axis.parse(name, text) for name, text in rows])
    return scheduler().submit_many([RunRequest.classifier(spec, c, dataset.source, owner()) for c in configs], dataset)


def _statuses(ids: list[str]) -> dict[str, RunStatus]:
    out = {}
    for rid in ids:
        try:
            out[rid] = runs.read_summary(runs.run_path(rid)).status
        except UserError:
            out[rid] = RunStatus.DAMAGED
    return out


def sweep_progress_ui(ids: list[str]) -> None:
    """How far the sweep is, and the comparison of its runs that are done."""
    statuses = _statuses(ids)
    done = [rid for rid, s in statuses.items() if not s.active and not s.waiting]
    st.progress(len(done) / len(ids), text=f"Sweep: {len(done)} of {len(ids)} runs done, "
                f"{sum(s.active for s in statuses.values())} training, {sum(s.waiting for s in statuses.values())} "
                "waiting in the queue")
    settings_comparison_ui([rid for rid in done if statuses[rid] not in (RunStatus.CANCELLED, RunStatus.DAMAGED)],
                           "sweep")  # a diverged run is a result too: that value was too much
    if len(done) == len(ids) and st.session_state.get("sweep_live"):
        st.session_state.sweep_live = False
        st.rerun()  # a full rerun stops the timer


def sweep_ui(spec: ModelSpec, config: TrainConfig, rows, asked: bool, dataset: Dataset) -> None:
    """Starts the sweep the form asked for, then follows the session's latest sweep until its runs are done."""
    if asked:
        try:
            st.session_state.sweep_runs = start_sweep(spec, config, rows, dataset)
        except UserError as exc:
            st.error(f"**The sweep did not start.** {exc}")
    ids = st.session_state.get("sweep_runs")
    if ids:
        live = any(s.active or s.waiting for s in _statuses(ids).values())
        st.session_state.sweep_live = live
        st.fragment(run_every=REFRESH_S if live else None)(sweep_progress_ui)(ids)
