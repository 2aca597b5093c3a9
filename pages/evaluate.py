"""Evaluate: a saved run's accuracy per class, precision/recall, confusion matrix with its images, and your photos."""
import streamlit as st
import torch

from core.data.images import MAX_IMAGE_BYTES, to_pil
from core.errors import UserError
from core.insight.evaluation import (
    CELL_IMAGES,
    Evaluation,
    confusion_cell,
    evaluate_run,
)
from core.runs import folder as runs
from core.runs.layout import RunFolder
from core.training.evaluate import predict_image
from ui.entry import through_entry_ui
from ui.evaluate_views import HOW_SCORING_WORKS, best_epoch_ui, wrong_explained_ui
from ui.figures import (
    abstain_figure,
    class_bar_figure,
    confusion_figure,
    precision_recall_figure,
    reliability_figure,
    topk_figure,
)
from ui.robustness import robustness_ui
from ui.state import dataset_ui, run_model, run_picker_ui
from ui.take_home import take_home_ui
from ui.widgets import image_grid_ui, photo_ui

through_entry_ui()
st.title("Evaluate")
dataset = dataset_ui()
if dataset is None:
    st.stop()

run_id = run_picker_ui("eval_run")
if run_id is None:
    st.stop()


@st.cache_data(show_spinner="Classifying the test set…", max_entries=8)
def test_evaluation(run_id: str, stamp: float, source: str, best: bool) -> Evaluation:
    return evaluate_run(*run_model(run_id, best), dataset)


try:
    best = best_epoch_ui(runs.read_summary(runs.run_path(run_id)))
    run, model = run_model(run_id, best)
    evaluation = test_evaluation(run_id, RunFolder(run.path).weights_mtime(), dataset.source, best)
except UserError as exc:  # a damaged run, or data with other classes than the run's
    st.error(f"**This run cannot be evaluated.** {exc}")
    st.stop()
m, cal = evaluation.metrics, evaluation.calibration

classes = list(dataset.classes)
st.metric("Test accuracy", f"{m.accuracy:.1%}", help=f"on {len(dataset.test_y):,} test images")
with st.expander("Take the model home: its weights, ONNX, and the script they load into"):
    take_home_ui(run_id, run)
with st.expander("How the test images are scored"):
    st.markdown(HOW_SCORING_WORKS)
c1, c2 = st.columns(2)
c1.plotly_chart(class_bar_figure(classes, [m.per_class_accuracy[c] for c in classes], "Accuracy per class",
                                 "accuracy (%)", percent=True), width="stretch", key="per_class_chart")
c2.plotly_chart(precision_recall_figure(classes, m.precision, m.recall), width="stretch", key="pr_chart")

st.subheader("Confusion matrix")
event = st.plotly_chart(confusion_figure(classes, m.confusion), width="stretch", key="confusion_chart",
                        on_select="rerun", selection_mode="points")
points = (event.selection.points if event and event.selection else []) or []
t1, t2 = st.columns(2)
clicked = (points[0]["y"], points[0]["x"]) if points else None
if clicked and clicked != st.session_state.get("cm_clicked"):  # a new click sets both pickers, once, so the
    st.session_state.cm_true, st.session_state.cm_pred = clicked  # pickers stay free to change afterwards
st.session_state.cm_clicked = clicked
for key, default in (("cm_true", classes[0]), ("cm_pred", classes[1])):
    if st.session_state.get(key) not in classes:  # first visit, or a run with other classes
        st.session_state[key] = default
true_c = t1.selectbox("True class", classes, key="cm_true")
pred_c = t2.selectbox("Predicted class", classes, key="cm_pred")
cell = confusion_cell(m, dataset.test_y, classes.index(true_c), classes.index(pred_c))
st.caption(f"{int(m.confusion[classes.index(true_c)][classes.index(pred_c)])} test images are {true_c} and were "
           f"predicted {pred_c}" + (f" (showing {CELL_IMAGES})" if len(cell) == CELL_IMAGES else ""))
image_grid_ui(dataset.test_x[cell], [f"{pred_c} {m.confidences[i]:.0%}" for i in cell], 10)

st.subheader("Most confidently wrong")
wrong = m.misclassified[:20]
image_grid_ui(dataset.test_x[wrong], [f"{classes[int(dataset.test_y[i])]} → {classes[m.predictions[i]]} "
                                      f"{m.confidences[i]:.0%}" for i in wrong], 10)

if wrong:
    wrong_explained_ui(model, classes, dataset, m, wrong)

st.subheader("How far to trust it")
if cal.fitted_on:
    st.caption(f"Its confidence is calibrated by temperature scaling: every score is divided by one number, "
               f"T = {cal.temperature:.2f}, fitted on {cal.fitted_on:,} training images it never trained on (never the "
               "test set). T above 1 means it was over-confident. Predictions do not change; how sure they claim to "
               "be does.")
else:
    st.info("This run trained on every training image, so none is left to calibrate its confidence on; the curves "
            "below use its raw confidence. Train with some images **held out for calibration** (Train page).")
k1, k2, k3 = st.columns(3)
k1.metric("Temperature", f"{cal.temperature:.2f}")
k2.metric("Expected calibration error (test)", f"{cal.ece_after:.1%}",
          delta=f"{(cal.ece_after - cal.ece_before) * 100:+.1f} points" if cal.fitted_on
          and abs(cal.ece_after - cal.ece_before) >= 0.0005 else None, delta_color="inverse",
          help="The average gap between how sure it says it is and how often it is right, over 15 confidence bins.")
k3.metric("Test loss (NLL)", f"{cal.nll_after:.3f}", delta=f"{cal.nll_after - cal.nll_before:+.3f}" if cal.fitted_on
          and abs(cal.nll_after - cal.nll_before) >= 0.0005 else None, delta_color="inverse")
threshold = st.slider("Say 'not sure' when its confidence is below", 0.0, 0.99, 0.5, 0.01, key="abstain_threshold",
                      help="Used for the photos below. The right chart shows what it costs on the test set.")
covered, right = cal.abstain.at(threshold)
st.caption(f"At {threshold:.0%}: it answers {covered:.1%} of the test images and is right on "
           f"{'—' if right is None else format(right, '.1%')} of those (against {m.accuracy:.1%} when it must answer all).")
r1, r2 = st.columns(2)
r1.plotly_chart(reliability_figure(cal.reliability_before, cal.reliability_after, cal.ece_before, cal.ece_after),
                width="stretch", key="reliability_chart")
r2.plotly_chart(abstain_figure(cal.abstain.coverage, cal.abstain.accuracy, cal.abstain.thresholds, threshold),
                width="stretch", key="abstain_chart")

robustness_ui(run, model, dataset)

st.subheader("Try an image")
st.caption("This network only knows the 10 CIFAR-10 classes; it shrinks your photo to 32x32 first.")
u1, u2 = st.columns(2)
with u1:
    photo = photo_ui("photo_upload", "classified", f"Up to {MAX_IMAGE_BYTES // 2**20} MB. Checked by content, not by "
                                                   "name.")
if u2.button("Draw a random test image", key="random_test"):
    st.session_state.random_index = int(torch.randint(len(dataset.test_x), (1,)))
picture, label = photo if photo is not None else (None, None)
if picture is None and "random_index" in st.session_state:
    i = st.session_state.random_index
    picture, label = to_pil(dataset.test_x[i]), f"test image #{i} ({classes[int(dataset.test_y[i])]})"
if picture is not None:
    p = predict_image(model, run.classes, picture, temperature=cal.temperature, threshold=threshold, tta=run.config.tta)
    st.markdown(f"### {p.caption}")
    o1, o2, o3 = st.columns([2, 1, 3])
    o1.image(picture, caption=f"{label}, {picture.width}x{picture.height}", width="stretch")
    o2.image([to_pil(v, 3) for v in p.views.values()], caption=[f"{fit} (32x32)" for fit in p.views], width=96)
    o2.caption("What the network saw: the photo made square three ways, its answers averaged"
               + (" (each also mirrored" + (" and shifted" if run.config.tta > 1 else "") + ")"
                  if run.config.tta else "") + ".")
    o3.plotly_chart(topk_figure(p.top), width="stretch", key="topk_chart")
