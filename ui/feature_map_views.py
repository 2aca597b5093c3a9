"""The network's map of the test images (core.insight.feature_map): drawn on request, coloured by class, a click opens
the image with its Grad-CAM; an upload appears where the network puts it."""
from __future__ import annotations

import base64
import io

import plotly.graph_objects as go
import streamlit as st
import torch

from core.bounds import bounds_of, setting_of
from core.data.images import to_pil
from core.insight.explain import explain, overlay
from core.insight.feature_map import (
    PLACE_K,
    FeatureMap,
    MapError,
    MapSettings,
    feature_map,
    map_neighbours,
    place,
    saved_map,
)
from core.insight.neighbours import embed
from core.runs.classes import ClassesError, check_same_classes
from core.training.evaluate import predict_logits
from ui.figures import PALETTE
from ui.widgets import image_grid_ui

THUMBNAIL_CELLS = 16  # "Pictures on the map": the map cut into 16 x 16 cells, one picture per occupied cell
THUMBNAIL_SPAN = 1 / 22  # a picture's side, as a share of the map's wider side


# --- the figure: pure functions of the map ---
def feature_map_figure(fmap: FeatureMap, classes: list[str], thumbnails: torch.Tensor | None = None,
                       upload: tuple[float, float, str] | None = None, height: int = 620) -> go.Figure:
    """One scatter trace per class (the legend shows and hides classes); an x marks a misclassified image; each
    point's customdata is [test image index, row of the map]. `thumbnails`: the test split's uint8 images, drawn as
    pictures over a spread of points. `upload`: (x, y, predicted class), drawn as a star."""
    fig = go.Figure()
    for c, name in enumerate(classes):
        rows = (fmap.labels == c).nonzero().flatten()
        predicted = fmap.predictions[rows].tolist()
        fig.add_scatter(
            x=fmap.xy[rows, 0].tolist(), y=fmap.xy[rows, 1].tolist(), mode="markers", name=name,
            customdata=[[int(fmap.indices[r]), int(r)] for r in rows],
            text=[f"test image #{int(fmap.indices[r])} · {name} → {classes[p]}" for r, p in zip(rows, predicted)],
            hovertemplate="%{text}<extra></extra>",
            marker=dict(color=PALETTE[c % len(PALETTE)], size=[7 if p == c else 9 for p in predicted],
                        symbol=["circle" if p == c else "x" for p in predicted], line=dict(width=0)))
    if upload is not None:
        x, y, label = upload
        fig.add_scatter(x=[x], y=[y], mode="markers+text", name=f"your photo → {label}", text=[f"your photo: {label}"],
                        textposition="top center", hovertemplate="your photo: the network says %{text}<extra></extra>",
                        marker=dict(symbol="star", size=26, color="#ffd400", line=dict(color="#111", width=2)))
    if thumbnails is not None:
        fig.update_layout(images=_pictures(fmap, thumbnails))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), template=None, plot_bgcolor="white",
                      paper_bgcolor="white", font=dict(color="#2a3f5f"), legend=dict(itemsizing="constant"),
                      xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x"),
                      clickmode="event+select")
    return fig


def spread_rows(xy: torch.Tensor, cells: int = THUMBNAIL_CELLS) -> list[int]:
    """Rows of points spread over the map: the map cut into cells x cells, the first point of each occupied cell."""
    lo, hi = xy.min(0).values, xy.max(0).values
    cell = ((xy - lo) / (hi - lo).clamp_min(1e-9) * (cells - 1e-6)).long()  # (N, 2) in 0..cells-1
    flat = (cell[:, 0] * cells + cell[:, 1]).tolist()
    first: dict[int, int] = {}
    for row, c in enumerate(flat):
        first.setdefault(c, row)
    return sorted(first.values())


def _pictures(fmap: FeatureMap, test_images: torch.Tensor) -> list[dict]:
    side = float((fmap.xy.max(0).values - fmap.xy.min(0).values).max()) * THUMBNAIL_SPAN
    pictures = []
    for row in spread_rows(fmap.xy):
        buffer = io.BytesIO()
        to_pil(test_images[int(fmap.indices[row])]).save(buffer, "PNG")
        pictures.append(dict(source="data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(),
                             x=float(fmap.xy[row, 0]), y=float(fmap.xy[row, 1]), xref="x", yref="y",
                             sizex=side, sizey=side, xanchor="center", yanchor="middle", layer="above"))
    return pictures


def picked_test_index(points: list[dict]) -> int | None:
    """The test image index a chart selection names (its first point with our customdata), else None."""
    for point in points or []:
        data = point.get("customdata")
        if isinstance(data, (list, tuple)) and data and isinstance(data[0], (int, float)):
            return int(data[0])
    return None


# --- drawing it on a page ---
def feature_map_ui(run_id: str, run, model, dataset, upload: torch.Tensor | None = None,
                   key: str = "feature_map") -> None:
    """The map for a run on the current data: settings, "Draw the map" (the first time for these weights and
    settings), the chart, and the image a click picked. `upload`: a uint8 (3, 32, 32) image to place on the map."""
    st.subheader("The network's map of the test images")
    st.caption("Each dot is a test image, placed by t-SNE so that images whose features (what the last layer reads) "
               "are alike sit close together: the network's own sense of which pictures resemble which. Distances "
               "between far-apart groups mean little. An x marks an image the network gets wrong.")
    try:
        check_same_classes(run_id, run.classes, dataset.classes)
    except ClassesError as exc:
        st.info(f"The current dataset does not fit this run: {exc}. Choose its data on the Dataset page.")
        return
    settings = _settings_ui(key)
    fmap = saved_map(run, dataset, settings)
    if fmap is None:
        st.caption(f"The first time for these weights: {settings.images:,} test images through the network, then "
                   "t-SNE (about 8 s for 2,000 on a 2-core CPU); the map is kept in the run folder.")
        if not st.button("Draw the map", key=f"{key}_go"):
            return
        fmap = _draw_ui(run, model, dataset, settings)
        if fmap is None:
            return
    st.caption(f"{len(fmap):,} test images, drawn in {fmap.embed_seconds + fmap.layout_seconds:.1f} s "
               f"(features {fmap.embed_seconds:.1f} s, t-SNE {fmap.layout_seconds:.1f} s); "
               f"{int((fmap.predictions != fmap.labels).sum()):,} misclassified (x).")
    classes = list(run.classes)
    pictures = st.toggle("Pictures on the map", key=f"{key}_pictures",
                         help="Draws a picture over one image in each part of the map (a plotly chart cannot show a "
                              "picture in its hover label); zoom in to see them larger.")
    placed = _place_upload(fmap, model, classes, upload) if upload is not None else None
    if placed is not None:
        st.caption(f"The star is your photo. t-SNE cannot place a new image by itself: the star sits at the mean "
                   f"position of the {PLACE_K} mapped test images whose features are most like your photo's, the "
                   "closest counting most.")
    figure = feature_map_figure(fmap, classes, dataset.test_x if pictures else None, placed)
    event = st.plotly_chart(figure, width="stretch", key=f"{key}_chart", on_select="rerun", selection_mode="points")
    picked = picked_test_index(event.selection.points if event and event.selection else [])
    memory = f"{key}_picked"
    if picked is not None:  # kept across reruns: any change to the figure clears the chart's own selection
        st.session_state[memory] = (run_id, picked)
    remembered = st.session_state.get(memory)
    rows = (fmap.indices == remembered[1]).nonzero().flatten() if remembered and remembered[0] == run_id else []
    if len(rows):
        _picked_ui(fmap, int(rows[0]), model, classes, dataset)
    else:
        st.caption("Click a dot to see the image, where the network looked, and its neighbours on the map.")


def _settings_ui(key: str) -> MapSettings:
    c1, c2 = st.columns(2)
    images, seed = (setting_of(MapSettings, name) for name in ("images", "seed"))
    low, high = bounds_of(MapSettings, "images").span
    n = c1.number_input(images.label, low, high, MapSettings.images, 500, key=f"{key}_images", help=images.help)
    s = c2.number_input(seed.label, *bounds_of(MapSettings, "seed").span, MapSettings.seed, key=f"{key}_seed",
                        help=seed.help)
    return MapSettings(int(n), int(s))


def _draw_ui(run, model, dataset, settings: MapSettings) -> FeatureMap | None:
    bar = st.progress(0.0, text="The test images through the network…")

    def progress(done: int, total: int) -> None:
        text = f"The test images through the network: {done:,} / {total:,}"
        bar.progress(done / total, text=text if done < total else f"t-SNE is laying out {total:,} images…")

    try:
        fmap = feature_map(run, model, dataset, settings, progress)
    except MapError as exc:
        st.error(f"**The map cannot be drawn.** {exc}")
        return None
    finally:
        bar.empty()
    return fmap


def _place_upload(fmap: FeatureMap, model, classes: list[str], upload: torch.Tensor) -> tuple[float, float, str]:
    x, y = place(fmap, embed(model, upload[None])[0])
    return x, y, classes[int(predict_logits(model, upload[None]).argmax(1)[0])]


def _picked_ui(fmap: FeatureMap, row: int, model, classes: list[str], dataset) -> None:
    index = int(fmap.indices[row])
    image = dataset.test_x[index]
    label, predicted = classes[int(fmap.labels[row])], classes[int(fmap.predictions[row])]
    e = explain(model, classes, image)
    st.markdown(f"**Test image #{index}** · labelled **{label}**, the network says **{predicted}** "
                f"({e.probabilities[e.predicted]:.0%})")
    c1, c2 = st.columns(2)
    c1.image(to_pil(image, 8), caption="the image (32x32)")
    c2.image(overlay(to_pil(image, 8), e.heatmap), caption=f"{e.method} for {e.predicted}: red = strong evidence")
    near = map_neighbours(fmap, row, 8)
    st.markdown("**Its nearest neighbours on the map**")
    image_grid_ui(dataset.test_x[fmap.indices[near]],
                  [f"#{int(fmap.indices[r])} {classes[int(fmap.labels[r])]} → {classes[int(fmap.predictions[r])]}"
                   for r in near], 8)
