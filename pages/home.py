"""Home: what the tool is, whether the data is there, which device trains, and where to go next."""
import streamlit as st

from core.device import describe_device
from ui.entry import through_entry_ui
from ui.state import dataset_ui, source, visible_runs

through_entry_ui()
st.title("CIFAR-10 Studio")
st.markdown(
    "Explore the 60,000 tiny CIFAR-10 photos, build a convolutional network layer by layer, and train it with real "
    "PyTorch while you watch the loss fall. Then see how it does on each of the ten classes and ask it what is in a "
    "photo of your own. Everything the classic PyTorch CIFAR-10 tutorial does, live in the browser."
)

data_col, device_col, runs_col = st.columns(3)
with data_col:
    st.subheader("Dataset")
    st.caption(f"Source: `{source()}`")
    dataset = dataset_ui()
    if dataset is not None:
        st.metric("Training images", f"{len(dataset.train_x):,}")
        st.metric("Test images", f"{len(dataset.test_x):,}")
        st.caption(f"{len(dataset.classes)} classes: {', '.join(dataset.classes)}")
with device_col:
    st.subheader("Device")
    st.metric("Training runs on", describe_device("auto"))
with runs_col:
    st.subheader("Saved runs")
    saved = visible_runs()
    own = [r for r in saved if not r.starter]
    st.metric("Runs", len(own))
    for r in own[:5]:
        acc = r.summary.test_accuracy
        what = "of test scenes captioned exactly" if r.kind == "captioner" else "test accuracy"
        st.caption(f"`{r.id}` · {r.summary.status} · " + (f"{acc:.1%} {what}" if acc is not None else "no accuracy yet"))
    starters = [r for r in saved if r.starter]
    if starters:
        st.caption("Shipped with the studio, ready now (read-only): " + ", ".join(
            f"`{r.id}` ({r.summary.test_accuracy:.1%})" if r.summary.test_accuracy is not None else f"`{r.id}`"
            for r in starters))

st.subheader("Where to start")
st.page_link("pages/dataset.py", label="1. Look at the data: image grid, classes, what normalization does", icon=":material/photo_library:")
st.page_link("pages/model.py", label="2. Build a model: start from a preset, add and edit layers", icon=":material/stacks:")
st.page_link("pages/train.py", label="3. Train it live: loss chart, accuracy per epoch, stop any time", icon=":material/trending_down:")
st.page_link("pages/evaluate.py", label="4. Evaluate: accuracy per class, confusion matrix, your own photos", icon=":material/target:")
st.page_link("pages/inspect.py", label="5. Inspect: feature maps, where it looked, a sentence about your photo",
             icon=":material/visibility:")
st.page_link("pages/caption.py", label="6. Caption: train a CNN + attention RNN captioner, see where each word looked",
             icon=":material/chat:")
