"""A finished or stopped run trained on: "N more epochs" as a new run that names its parent, and the chart of a run
beside the runs it continues."""
from __future__ import annotations

import math

import streamlit as st

from core.classroom.access import can_see_folder
from core.classroom.requests import RunRequest
from core.data.sources import Dataset
from core.errors import UserError
from core.runs import folder as runs
from core.training.history import History
from core.training.status import RunStatus
from ui.figures import lineage_figure
from ui.state import owner, scheduler, viewer
from ui.train_form import LRS

MAX_GENERATIONS = 20  # how far back a chart follows parents (a chain that long is rare; a loop is impossible)


def lineage(run_id: str) -> list[tuple[str, History]]:
    """The run and the runs it continues, oldest first, as far back as the viewer may see them."""
    chain, seen = [], set()
    while run_id and run_id not in seen and len(chain) < MAX_GENERATIONS:
        seen.add(run_id)
        try:
            path = runs.run_path(run_id)
            if not can_see_folder(viewer(), path):
                break
            summary = runs.read_summary(path)
        except runs.RunError:
            break
        chain.append((run_id, runs.read_history(path)))
        run_id = summary.parent
    return chain[::-1]


def lineage_ui(run_id: str) -> None:
    """Nothing for a run that continues none; else its accuracy beside its parents', on one axis of epochs."""
    try:  # the summary alone first: a live page redraws every 2 s, and most runs continue none
        if runs.read_summary(runs.run_path(run_id)).parent is None:
            return
    except runs.RunError:
        return
    chain = lineage(run_id)
    if len(chain) > 1:
        st.plotly_chart(lineage_figure(chain), width="stretch", key="lineage_chart")


def continue_ui(watched, dataset: Dataset) -> None:
    """'N more epochs' from a finished or stopped run (core.jobs.watched.WatchedRun): a new run that starts from its
    last weights, queued like any other."""
    try:
        view = watched.view()
    except runs.RunError:  # damaged since the page found it: the live view says so
        return
    if view.status not in (RunStatus.FINISHED, RunStatus.STOPPED) or not view.history.epochs:
        return
    parent_lr = runs.open_run(watched.folder).config.lr
    c1, c2, c3 = st.columns([1, 1, 1], vertical_alignment="bottom")
    more = c1.number_input("More epochs", 1, 500, len(view.history.epochs), key="more_epochs",
                           help="A new run starts from this run's last weights, with its model and settings; the "
                                "learning-rate schedule runs again over the new epochs.")
    c2.select_slider("Peak learning rate", LRS, min(LRS, key=lambda v: abs(math.log(v / (parent_lr / 10)))),
                     key="more_lr", help=f"This run's was {parent_lr:g}; a tenth of it keeps what it learned while "
                                         "the schedule warms up again (at its full rate the first steps undo some).")
    # a callback runs before the page does: the page then watches the new run and puts it in the URL
    c3.button(f"Train {more} more epoch{'s' * (more > 1)}", key="continue_run", icon=":material/fast_forward:",
              on_click=_continue, args=(watched.folder, dataset))
    if st.session_state.get("continue_error"):
        st.error(f"**The run could not be continued.** {st.session_state.pop('continue_error')}")


def _continue(folder, dataset: Dataset) -> None:
    try:
        request = RunRequest.continuing(runs.open_run(folder), int(st.session_state.more_epochs), dataset.source,
                                        owner(), float(st.session_state.more_lr))
        st.session_state.switch_run = scheduler().submit(request, dataset)
    except UserError as exc:
        st.session_state.continue_error = str(exc)
