"""The time-lapse of a run: scrub through its epochs to watch the first filters sharpen and attention move."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.data.images import to_pil
from core.insight import timelapse
from core.insight.explain import overlay
from ui.widgets import image_grid_ui


def timelapse_ui(folder: Path) -> bool:
    """Draws the run's time-lapse; False when it has none (a run saved before frames were kept)."""
    frames = timelapse.read(folder)
    if not frames:
        return False
    st.markdown("**Time-lapse of learning**: six test images, red where the evidence for its guess sits")
    epochs = [f.epoch for f in frames]
    # keyed by the frame count: a new epoch jumps to it, while scrubbing between epochs stays put
    epoch = epochs[0] if len(epochs) == 1 else st.select_slider(
        "Epoch", epochs, value=epochs[-1], key=f"timelapse_{folder.name}_{len(epochs)}",
        help="Each epoch's checkpoint, kept small: the first-layer filters and where the network looked.")
    frame = frames[epochs.index(epoch)]
    cams = [overlay(to_pil(image, 3), cam.numpy() / 255) for image, cam in zip(frame.images, frame.cams)]
    cols = st.columns(len(cams))
    for col, picture, truth, guess, p in zip(cols, cams, frame.truth, frame.predicted, frame.confidence):
        col.image(picture, caption=f"{truth}: sees {guess} {p:.0%}", width="stretch")
    if frame.filters is not None:
        st.caption(f"First-layer filters after epoch {epoch} (each stretched to full contrast)")
        tiles = frame.filters[:32]
        image_grid_ui(tiles, [""] * len(tiles), 16, scale=max(1, 48 // tiles.shape[-1]))
    return True
