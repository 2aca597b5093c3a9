"""The Evaluate page's explanations: how the test set is scored, and where a wrong guess looked."""
import streamlit as st

from core.data.images import to_pil
from core.data.sources import Dataset
from core.insight.explain import explain, overlay
from core.runs.summary import RunSummary
from core.training.evaluate import Metrics

HOW_SCORING_WORKS = (
    "The model is switched to **evaluation mode** (`model.eval()`): BatchNorm uses the statistics it gathered "
    "during training instead of the batch's, and Dropout is off. Predictions run under **`torch.no_grad()`**: "
    "no gradients are recorded, which saves memory and time. The predicted class is the highest of the ten "
    "scores; accuracy is the share of test images whose prediction matches the label. Precision of a class: of "
    "the images predicted as it, how many are it; recall: of the images that are it, how many were found."
)


def wrong_explained_ui(model, classes: list[str], dataset: Dataset, m: Metrics, wrong: list[int]) -> None:
    """A wrongly classified test image beside the evidence for its guess and for its true class (Grad-CAM)."""
    with st.expander("Why was it wrong? Where it looked, for its guess and for the true class"):
        pick = st.selectbox("Image", wrong, key="wrong_pick", format_func=lambda i: (
            f"test #{i}: {classes[int(dataset.test_y[i])]} predicted {classes[m.predictions[i]]}"))
        guess, truth = classes[m.predictions[pick]], classes[int(dataset.test_y[pick])]
        big = to_pil(dataset.test_x[pick], 6)
        w1, w2, w3 = st.columns(3)
        w1.image(big, caption="the image")
        for col, cls in ((w2, guess), (w3, truth)):
            e = explain(model, classes, dataset.test_x[pick], cls)
            col.image(overlay(big, e.heatmap), caption=f"evidence for {cls} ({e.probabilities[cls]:.0%})")


def best_epoch_ui(summary: RunSummary) -> bool:
    """For a run that kept its best epoch (by held-out accuracy) apart from its last: which weights to evaluate.
    True for the best epoch's."""
    if summary.best_epoch is None or summary.best_epoch == summary.epochs_done:
        return False  # none kept, or the best is the last
    choice = st.segmented_control(
        "Weights", ["last epoch", "best epoch"], default="last epoch", key="eval_weights",
        help=f"The run kept epoch {summary.best_epoch}'s weights, its best on held-out training images "
             f"({summary.best_holdout_accuracy:.1%}), beside its last (epoch {summary.epochs_done}).")
    return choice == "best epoch"
