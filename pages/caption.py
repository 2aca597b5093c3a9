"""Caption: train a CNN-encoder + attention-RNN captioner live on scenes composed from CIFAR-10, watch its sentences
improve, caption any scene or photo word by word with where each word looked, and compare it with the template."""
import streamlit as st

from core.caption.config import CaptionConfig
from core.caption.export import captioner_script
from core.caption.job import encoder_source
from core.caption.model import SCRATCH_ENCODER, encoder_from_classifier
from core.caption.scenes import evaluation_scenes, vocabulary
from core.caption.varied import varied_test_scenes
from core.classroom.requests import RunRequest
from core.errors import UserError
from core.runs import folder as runs
from core.runs.classes import check_same_classes
from core.training.history import adapt_event
from core.training.status import RunStatus
from ui.caption_form import HOW_CAPTIONING_WORKS, LRS, caption_settings_ui
from ui.caption_views import (
    caption_picture_ui,
    samples_ui,
    scene_preview_ui,
    template_comparison_ui,
)
from ui.entry import through_entry_ui
from ui.figures import caption_scores_figure, loss_figure
from ui.queue_views import queued_ui
from ui.state import (
    captioner_model,
    dataset_ui,
    find_watched,
    owner,
    run_model,
    scheduler,
    usable_captioners,
    usable_runs,
)
from ui.widgets import live_controls_ui

through_entry_ui()
st.title("Caption")
st.caption("The tutorial's title, learned: a CNN encoder finds what is where, an RNN with attention turns it into a "
           "sentence, and every word shows where it looked.")
dataset = dataset_ui()
if dataset is None:
    st.stop()
classes = list(dataset.classes)
with st.expander("How a captioner works: scenes, encoder, embedding, attention, teacher forcing, beam search"):
    st.markdown(HOW_CAPTIONING_WORKS)
with st.expander("The training scenes: fixed slots, and varied ones of any size, place and shape"):
    scene_preview_ui(dataset, CaptionConfig().varied_share)

# --- train ---
st.header("Train a captioner")
classifiers = usable_runs()
config, encoder_id, start = caption_settings_ui(classifiers)
if start:
    try:
        if encoder_id:
            run_model(encoder_id)  # an encoder run this viewer may not see is refused as if it did not exist
        encoder_source(runs.run_path(encoder_id) if encoder_id else None, classes)  # checked before it queues
        request = RunRequest.captioner(config, dataset.source, encoder_id, owner())
        st.session_state.caption_job = scheduler().submit(request, dataset)
        st.query_params["caption"] = st.session_state.caption_job
    except UserError as exc:
        st.error(f"**Training did not start.** {exc}")
with st.expander("Show the code: the captioner as a plain PyTorch file"):
    try:
        spec = SCRATCH_ENCODER if encoder_id is None else encoder_from_classifier(run_model(encoder_id)[0].spec)
        script = captioner_script(spec, config.decoder(), vocabulary(classes), config.fit())
        st.download_button("Download captioner.py", script, "captioner.py", "text/x-python", key="dl_captioner")
        st.code(script, language="python")
    except ValueError as exc:  # a run that cannot be read too: every UserError is a ValueError
        st.error(f"**No code for this encoder.** {exc}")

fixed = evaluation_scenes(dataset.test_y, len(classes), CaptionConfig().test_scenes)
varied = varied_test_scenes(dataset.test_y, len(classes), CaptionConfig().varied_test_scenes)

# --- the run being watched: from this session, or from the URL after a refresh ---
run_id = st.query_params.get("caption") or st.session_state.get("caption_job")
if run_id:
    st.session_state.caption_job = run_id
watched = None
if run_id:
    try:
        watched = find_watched(run_id, "captioner")  # a typed or stale address, or another student's: none
    except runs.RunError as exc:
        st.warning(str(exc))


@st.fragment(run_every=2.0 if watched is not None and (watched.alive or watched.waiting) else None)
def live_ui() -> None:
    try:
        current = find_watched(watched.id, "captioner")  # again: a queued run gets its job when it starts
        view = current.view()
    except runs.RunError as exc:  # its summary damaged since the page found it
        st.warning(str(exc))
        return
    history, status = view.history, view.status
    st.subheader(f"Captioner run `{view.id}` · {status}")
    if status.waiting:
        queued_ui(view.id, "cap")
    elif view.training:
        st.progress(view.progress, text=view.progress_line("scenes", with_lr=False))
        live_controls_ui(current.job, view.lr, LRS, prefix="cap_")
    elif status == RunStatus.FINISHED:
        last = history.epochs[-1] if history.epochs else None
        st.success(f"Finished: {last.exact:.1%} of the test scenes captioned with exactly the right meaning."
                   if last else "Finished.")
    elif status.went_wrong:
        st.error(f"**The run {status}.** {view.reason}")
    elif status == RunStatus.STOPPED:
        st.info("Stopped. What it learned so far is saved and can caption below.")
    left, right = st.columns(2)
    if history.steps:
        left.plotly_chart(loss_figure(history.steps, history.events, "Caption loss (per word)"), width="stretch",
                          key="cap_loss")
        adapted = adapt_event(history.events)
        if adapted is not None:  # how much the encoder learned about scenes before the captions began
            left.caption(f"The {adapted.reason}.")
    if history.epochs:
        right.plotly_chart(caption_scores_figure(history.epochs), width="stretch", key="cap_scores")
        samples_ui(history.epochs, fixed, varied, dataset.test_x)
    if view.done and not status.waiting and st.session_state.get("cap_was_running") == view.id:
        st.session_state.cap_was_running = None
        st.session_state.cap_pick_next = view.id  # the captioner just trained is the one to try below
        st.rerun()  # full rerun: stops the timer and lists the new captioner below
    if view.training or status.waiting:
        st.session_state.cap_was_running = view.id


if watched is not None:
    live_ui()

# --- caption a picture ---
st.header("Caption a picture")
captioners = usable_captioners()
if not captioners:
    st.info("No trained captioner yet: train one above (a few minutes with a classifier's encoder).")
    st.stop()
labels = {r.id: f"{r.id} · encoder {r.summary.encoder_from} · exact {r.summary.test_accuracy or 0:.0%}"
          for r in captioners}
fresh = st.session_state.pop("cap_pick_next", None)
if fresh in labels:  # set before the picker exists in this run, so it takes the new value
    st.session_state.cap_run = fresh
pick = st.selectbox("Captioner", list(labels), format_func=labels.get, key="cap_run")
try:
    cap_run, model = captioner_model(pick)
    check_same_classes(cap_run.id, cap_run.classes, classes, "captioner")
except UserError as exc:
    st.error(f"**This captioner cannot be used.** {exc}")
    st.stop()

caption_picture_ui(model, fixed, varied, dataset)

# --- learned against template ---
template_comparison_ui(model, classifiers, cap_run.summary.encoder_from, fixed, varied, dataset)
