"""Dataset: choose the source, browse an interactive image grid, see class counts and what training sees."""
import streamlit as st
import torch

from core.bounds import bounds_of
from core.data import sources as data
from core.data.batches import Augmentation, augment, denormalize, normalize
from core.data.images import to_pil
from core.data.store import check_server_path
from core.training.config import TrainConfig
from core.training.presets import ROBUST_AUGMENTATION
from ui.entry import through_entry_ui
from ui.figures import counts_figure
from ui.state import dataset_ui, source, store
from ui.widgets import error_ui, image_grid_ui

through_entry_ui()


def span(name: str) -> tuple:
    return bounds_of(TrainConfig, name).span


st.title("Dataset")

with st.expander(f"Data source: `{source()}`", expanded=False):
    kind = st.radio("Where the images come from", ["Default", "A path on this server", "Upload an archive"],
                    horizontal=True, key="source_kind")
    if kind == "Default":
        st.caption(f"`{data.default_source()}` (set CIFAR10_DATA to change it; `cifar10` downloads the official set)")
        if st.button("Use the default"):
            st.session_state.source = data.default_source()
            st.rerun()
    elif kind == "A path on this server":
        text = st.text_input("Folder or archive", placeholder="data/my-cifar or data/cifar.tar.gz",
                             help="A folder with cifar-10-batches-py/, or train/<class>/ and test/<class>/ image "
                                  "folders, or a .tar.gz/.zip of one. Only folders the server allows can be used.")
        if st.button("Use this path") and text:
            try:
                st.session_state.source = check_server_path(text)
                st.rerun()
            except data.DataError as exc:
                error_ui(str(exc), "That path cannot be used")
    else:
        upload = st.file_uploader("Archive of train/<class>/ and test/<class>/ images",
                                  type=["zip", "tar", "gz", "tgz"], key="archive_upload")
        if upload is not None and st.button("Load this archive"):
            try:
                with st.spinner("Reading the archive…"):
                    ds = data.load_archive_bytes(upload.getvalue(), upload.name)
                store().add(ds)
                st.session_state.source = ds.source
                st.rerun()
            except data.DataError as exc:
                error_ui(str(exc), "That archive cannot be used")

dataset = dataset_ui()
if dataset is None:
    st.stop()

st.subheader("Images")
c1, c2, c3, c4 = st.columns([1, 3, 1, 1])
split = c1.segmented_control("Split", ["train", "test"], default="train", key="grid_split") or "train"
chosen = c2.multiselect("Classes", dataset.classes, default=[], placeholder="all classes", key="grid_classes")
columns = c3.slider("Columns", 4, 16, 10, key="grid_columns")
rows = c4.slider("Rows", 1, 10, 4, key="grid_rows")
s1, s2 = st.columns([1, 1])
shuffle = s1.toggle("Shuffle", value=True, key="grid_shuffle")
seed = s2.number_input("Seed", 0, 10**6, 0, key="grid_seed", disabled=not shuffle)

x, y = dataset.split(split)
wanted = [dataset.classes.index(c) for c in chosen] or list(range(len(dataset.classes)))
indices = torch.isin(y, torch.tensor(wanted)).nonzero().flatten()
if shuffle:
    indices = indices[torch.randperm(len(indices), generator=torch.Generator().manual_seed(int(seed)))]
per_page = rows * columns
pages = max(1, -(-len(indices) // per_page))
page = st.number_input(f"Page (of {pages:,}; {len(indices):,} images)", 1, pages, 1, key="grid_page")
shown = indices[(page - 1) * per_page: page * per_page]
image_grid_ui(x[shown], [dataset.classes[int(y[i])] for i in shown], columns)

if len(shown):
    pick = st.selectbox("Open one image large", range(len(shown)), key="grid_open",
                        format_func=lambda k: f"#{int(shown[k])} · {dataset.classes[int(y[shown[k]])]}")
    big, info = st.columns([1, 2])
    big.image(to_pil(x[shown[pick]], 10), caption=f"{split} image #{int(shown[pick])}, 32x32 shown 10x")
    info.markdown(f"**Class:** {dataset.classes[int(y[shown[pick]])]}  \n**Index in {split}:** {int(shown[pick])}")

st.subheader("Class counts")
st.plotly_chart(counts_figure(list(dataset.classes), {s: dataset.class_counts(s) for s in ("train", "test")}),
                width="stretch", key="counts_chart")

st.subheader("What training sees")
st.markdown(
    "Training does not see bytes 0–255. Each pixel is scaled the tutorial's way: "
    r"$x' = \dfrac{x/255 - 0.5}{0.5}$, so black is −1 and white is +1; centring the inputs on 0 makes "
    "gradient descent better behaved. Augmentation shows the network a slightly different image every epoch."
)
a1, a2, a3, a4 = st.columns(4)
a5, a6, a7, _ = st.columns(4)
padding = a1.slider("Random crop padding (pixels)", *span("crop_padding"), 4, key="aug_padding")
flip = a2.toggle("Random horizontal flip", value=True, key="aug_flip")
crop_scale = a3.slider("Random resized crop: smallest area", *span("crop_scale"), 1.0, 0.05, key="aug_rrc",
                       help="A random part of the image, down to this share of its area, stretched back: closer up "
                            "and off-centre objects. 1 = off.")
jitter = a4.slider("Colour jitter", *span("color_jitter"), 0.0, 0.05, key="aug_jitter",
                   help="Brightness, contrast and saturation each scaled by a random factor within 1 ± this.")
erasing = a5.slider("Random erasing", *span("erasing"), 0.0, 0.05, key="aug_erase",
                    help="The chance that an image loses a random rectangle to grey.")
noise = a6.slider("Noise", *span("noise"), 0.0, 0.01, key="aug_noise",
                  help="Gaussian noise, each image from none to this strength (1 = black to white).")
blur = a7.slider("Blur", *span("blur"), 0.0, 0.1, key="aug_blur",
                 help="Gaussian blur, each image from none to this sigma in pixels.")
settings = Augmentation(padding, "zeros", flip, crop_scale, jitter, erasing, noise, blur=blur)
robust_adds = ", ".join(("each on a share of its own" if v else "all on one share") if isinstance(v, bool)
                        else f"{k.replace('_', ' ')} {v}" for k, v in ROBUST_AUGMENTATION.items())
st.caption(f"The same settings are on the Train page's form. The `robust` preset (trained for photos) adds "
           f"{robust_adds} to `fast`'s crop and flip.")
sample = x[shown[: min(columns, len(shown))]]
if len(sample):
    normalized = normalize(sample)
    st.caption(f"Normalized values of these images: min {normalized.min():.2f}, max {normalized.max():.2f}, "
               f"mean {normalized.mean():.2f}")
    views = [augment(normalized, settings, torch.Generator().manual_seed(k)) for k in range(3)]
    for k, view in enumerate(views):
        image_grid_ui(denormalize(view), [f"epoch {k + 1}"] * len(view), len(view))
