"""Train: settings, Start/Stop, and live charts of a run that keeps going when the tab closes (its id is in the URL)."""
import time

import streamlit as st

from core.classroom.requests import RunRequest
from core.classroom.scheduler import TaskRequest
from core.errors import UserError
from core.jobs.lr_find import LRFinderJob
from core.models.overview import overview
from core.models.spec import layer_report
from core.runs import folder as runs
from core.runs.export import training_script
from core.training.presets import PRESETS
from core.training.status import RunStatus
from ui.compare_views import compare_ui
from ui.continue_views import continue_ui, lineage_ui
from ui.diagram import model_dot
from ui.entry import through_entry_ui
from ui.figures import accuracy_figure, loss_figure
from ui.histogram_views import histograms_ui
from ui.lr_find import lr_find_ui
from ui.queue_views import queued_ui
from ui.state import (
    dataset_ui,
    find_watched,
    first_filters,
    owner,
    scheduler,
    spec,
    visible_runs,
)
from ui.sweep_views import sweep_ui
from ui.timelapse import timelapse_ui
from ui.train_form import HOW_TRAINING_WORKS, LRS, settings_ui
from ui.widgets import image_grid_ui, live_controls_ui

through_entry_ui()
st.title("Train")
dataset = dataset_ui()
if dataset is None:
    st.stop()

# --- choose what to train ---
choice = st.selectbox("Model", ["the model from the Model page", *PRESETS], key="train_model",
                      help="Presets bring their own training settings; the Model page's model starts from the seed's.")
model_spec = spec() if choice == "the model from the Model page" else PRESETS[choice].spec
base = PRESETS.get(choice, PRESETS["seed"]).config
_, problem = layer_report(model_spec)
if problem is not None:
    st.error(f"**This model cannot be trained until it is fixed on the Model page.** {problem}")
    st.page_link("pages/model.py", label="Fix it on the Model page", icon=":material/stacks:")
else:
    infos, _ = layer_report(model_spec)
    st.markdown(overview(model_spec).line())
    with st.expander("Every layer, with the shape of what it outputs"):
        st.graphviz_chart(model_dot(model_spec, infos, None))
    form = settings_ui(base, choice, len(dataset.train_x))
    config, start, find = form.config, form.start, form.find
    code_col, teach_col = st.columns(2)
    with code_col.expander("Show the code: this run as a plain PyTorch script"):
        script = training_script(model_spec, config)
        st.download_button("Download train.py", script, "train.py", "text/x-python", key="dl_script")
        st.code(script, language="python")
    with teach_col.expander("What happens while it trains"):
        st.markdown(HOW_TRAINING_WORKS)
    if find:
        try:
            old = st.session_state.get("lr_job")
            if old is not None:  # one range test per session: a new one replaces the last, waiting or running
                old.stop()
                scheduler().cancel(st.session_state.get("lr_task", ""))
            job = LRFinderJob(model_spec, dataset, config.check())
            st.session_state.lr_task = scheduler().submit_task(TaskRequest("lr-find", owner(), time.time()), job)
            st.session_state.lr_job, st.session_state.lr_job_form = job, choice
        except UserError as exc:
            st.error(f"**The learning-rate finder did not start.** {exc}")
    if st.session_state.get("lr_job") is not None and st.session_state.get("lr_job_form") == choice:
        lr_find_ui(st.session_state.lr_job, f"{choice}_lr", st.session_state.get("lr_task"))
    if start:
        try:
            request = RunRequest.classifier(model_spec, config.check(), dataset.source, owner())
            st.session_state.job_id = scheduler().submit(request, dataset)
            st.query_params["run"] = st.session_state.job_id
        except UserError as exc:
            st.error(f"**Training did not start.** {exc}")
    sweep_ui(model_spec, config, form.sweep_rows, form.sweep, dataset)

# --- the run being watched: from this session, or from the URL after a refresh ---
run_id = st.session_state.pop("switch_run", None) or st.query_params.get("run") or st.session_state.get("job_id")
if run_id:  # remembered both ways: a reloaded tab finds it in the URL, a page switch in the session
    st.session_state.job_id = run_id
    st.query_params["run"] = run_id
watched = None
if run_id:
    try:
        watched = find_watched(run_id, "classifier")  # a captioner's run, or another student's: none here
    except runs.RunError as exc:
        st.warning(str(exc))


# Every 2 s rather than every second: on a 2-core machine the redraw (server and browser alike) competes with training
# for the CPU, and halving it kept a batch-4 run at >= 90% of the CLI's speed (tools/measure_train_page.py).
LIVE_PERIOD_S = 2.0
SKIPPED = (RunStatus.DAMAGED, RunStatus.QUEUED, RunStatus.CANCELLED)  # nothing to compare


@st.fragment(run_every=LIVE_PERIOD_S if watched is not None and (watched.alive or watched.waiting) else None)
def live_ui() -> None:
    try:
        current = find_watched(watched.id, "classifier")  # again: a queued run gets its job when it starts
        view = current.view()
    except runs.RunError as exc:  # its summary damaged since the page found it
        st.warning(str(exc))
        return
    history, status = view.history, view.status
    st.subheader(f"Run `{view.id}` · {status}")
    if status.waiting:
        queued_ui(view.id, "train")
    elif view.training:
        st.progress(view.progress, text=view.progress_line())
        live_controls_ui(current.job, view.lr, LRS)
    elif status == RunStatus.FINISHED:
        acc = history.epochs[-1].test_accuracy if history.epochs else None
        st.success((f"Finished: test accuracy {acc:.1%}." if acc is not None else "Finished.")
                   + (f" {view.reason[0].upper()}{view.reason[1:]}." if view.reason else ""))  # e.g. stopped early
        st.page_link("pages/evaluate.py", label="Evaluate this run class by class", icon=":material/target:")
    elif status.went_wrong:
        st.error(f"**The run {status}.** {view.reason}")
    elif status == RunStatus.STOPPED:
        st.info("Stopped. What it learned so far is saved; the Evaluate page can use it.")
    if history.steps:
        st.plotly_chart(loss_figure(history.steps, history.events), width="stretch", key="loss_chart")
    lineage_ui(view.id)
    if not timelapse_ui(watched.folder):  # runs saved before the time-lapse
        tiles = first_filters(view.id)
        if tiles is not None:
            st.caption(f"First-layer filters after epoch {len(history.epochs)} (each stretched to full contrast)")
            image_grid_ui(tiles[:32], [""] * min(32, len(tiles)), 16, scale=max(1, 48 // tiles.shape[-1]))
    histograms_ui(watched.folder)
    if history.epochs:
        per_class = st.toggle("Accuracy per class", key="per_class_toggle",
                              help="Shows which classes the network learns late.")
        st.plotly_chart(accuracy_figure(history.epochs, list(dataset.classes), per_class), width="stretch",
                        key="acc_chart")
    if view.done and not status.waiting and st.session_state.get("was_running") == view.id:
        st.session_state.was_running = None
        st.rerun()  # full rerun: stops the timer and refreshes the run list
    if view.training or status.waiting:
        st.session_state.was_running = view.id


if watched is not None:
    live_ui()
    if not watched.alive and not watched.waiting:  # outside the fragment: the new run goes into the URL
        continue_ui(watched, dataset)

st.subheader("Compare runs")
compare_ui({r.id: r.summary for r in visible_runs("classifier") if r.summary.status not in SKIPPED})
