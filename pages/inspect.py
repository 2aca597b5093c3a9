"""Inspect: what a trained network sees in one image (feature maps, where it looked), a sentence describing a whole
photo with boxes, and the training images it finds hardest."""
import streamlit as st
from PIL import Image

from core.data.images import to_model_input, to_pil
from core.insight.describe import describe, draw_boxes
from core.insight.explain import (
    explain,
    feature_maps,
    hardest_examples,
    map_tiles,
    overlay,
)
from core.insight.neighbours import MAX_K, neighbours
from core.runs import folder as runs
from core.runs.classes import ClassesError, check_same_classes
from ui.entry import through_entry_ui
from ui.feature_map_views import feature_map_ui
from ui.state import dataset_ui, neighbour_features, run_model, run_picker_ui
from ui.widgets import image_grid_ui, photo_upload_ui

through_entry_ui()
st.title("Inspect")
dataset = dataset_ui()
run_id = run_picker_ui("inspect_run") if dataset is not None else None
if run_id is None:
    st.stop()
try:
    run, model = run_model(run_id)
except runs.RunError as exc:
    st.error(f"**This run cannot be inspected.** {exc}")
    st.stop()
classes = list(run.classes)

st.caption("This network only knows the 10 CIFAR-10 classes: everything it sees is one of them, or nothing it knows.")
source = st.segmented_control("Image", ["A test image", "Upload a photo"], default="A test image", key="inspect_src")
picture = None
if source == "Upload a photo":
    picture = photo_upload_ui("inspect_upload", "inspected")
else:
    index = st.number_input("Test image number", 0, len(dataset.test_x) - 1, 0, key="inspect_index")
    picture = to_pil(dataset.test_x[index])
    st.caption(f"Labelled **{dataset.classes[int(dataset.test_y[index])]}**")
if picture is None:
    st.stop()

image = to_model_input(picture)
target = st.selectbox("Explain the evidence for", ["the predicted class", *classes], key="inspect_target",
                      help="Pick another class to ask 'why this and not that?'")
e = explain(model, classes, image, None if target == "the predicted class" else target)
st.subheader(f"Predicted: {e.predicted} ({e.probabilities[e.predicted]:.0%}) · where it looked for {e.target}")
c1, c2, c3 = st.columns(3)
c1.image(to_pil(image, 8), caption="what the model sees (32x32)")
c2.image(overlay(to_pil(image, 8), e.heatmap), caption=f"{e.method} for {e.target}: red = strong evidence")
with c3.expander("What is Grad-CAM?", expanded=True):
    st.markdown("It asks how much each feature map of the last convolution pushes the chosen class's score up "
                "(the gradient), weights the maps by that, and keeps the positive part: the places whose features "
                "made the network say this class.")

st.subheader("The training images most like this one")
st.caption("Not pixels: the network's own description of each picture, the features its last layer reads. "
           "Similar features mean the network sees them as alike, which explains a guess by example.")
try:
    check_same_classes(run_id, classes, dataset.classes)
except ClassesError as exc:
    st.info(f"The current dataset does not fit this run: {exc}. Choose its data on the Dataset page.")
else:
    k = st.slider("How many", 1, MAX_K, 8, key="neighbours_k")
    asked = st.session_state.get("neighbours_for") == run_id
    features = neighbour_features(run_id, run, model, dataset, compute=asked)
    if features is None:
        st.caption(f"The first time for a run, every one of the {len(dataset.train_x):,} training images goes through "
                   "the network once; the features are kept in the run folder.")
        if st.button("Find the most similar training images", key="neighbours_go"):
            st.session_state.neighbours_for = run_id
            st.rerun()
    else:
        found = neighbours(model, features, dataset, image, k)
        image_grid_ui(dataset.train_x[[n.index for n in found]],
                      [f"{n.label} · {n.similarity:.2f}" for n in found], min(8, len(found)))

feature_map_ui(run_id, run, model, dataset, upload=image if source == "Upload a photo" else None)

st.subheader("Feature maps")
st.caption("Each convolution turns the image into many maps; bright = the filter responded strongly there.")
for layer, maps in feature_maps(model, image).items():
    tiles = map_tiles(maps[:16])
    st.markdown(f"**Layer {layer + 1}** · {maps.shape[0]} maps of {maps.shape[1]}x{maps.shape[2]}"
                + (" (first 16 shown)" if maps.shape[0] > 16 else ""))
    image_grid_ui(tiles, [f"map {k + 1}" for k in range(len(tiles))], 16, scale=max(1, 64 // maps.shape[1]))

st.subheader("Describe the photo")
st.caption("Windows at three sizes are classified; confident ones are kept, overlapping ones of a class merged.")
shown = picture if picture.width >= 256 else picture.resize((256, round(256 * picture.height / picture.width)),
                                                              Image.Resampling.NEAREST)  # room to draw the boxes
d = describe(model, classes, shown)
st.markdown(f"### {d.sentence}")
st.image(draw_boxes(shown, d.regions), caption=f"{len(d.regions)} confident region(s)")

st.subheader("Hardest training images")
if st.button("Find the training images with the highest loss", key="hardest"):
    with st.spinner("Scoring every training image…"):
        idx, losses, guesses = hardest_examples(model, dataset.train_x, dataset.train_y)
    st.caption("Often mislabelled, odd or ambiguous pictures.")
    image_grid_ui(dataset.train_x[idx], [f"{dataset.classes[int(dataset.train_y[i])]} → {classes[g]} "
                                         f"(loss {l:.1f})" for i, g, l in zip(idx, guesses, losses)], 10)
