"""Small drawing helpers the pages share (names end in _ui: they draw)."""
from __future__ import annotations

import math

import streamlit as st
import torch

from core.data.images import ImageError, decode_image, to_pil

PHOTO_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif"]


def image_grid_ui(images: torch.Tensor, captions: list[str], columns: int, scale: int = 3) -> None:
    """uint8 (N, 3, 32, 32) images in a grid, upscaled with nearest neighbour so pixels stay crisp."""
    for start in range(0, len(images), columns):
        cols = st.columns(columns)
        for col, image, text in zip(cols, images[start:start + columns], captions[start:start + columns]):
            col.image(to_pil(image, scale), caption=text, width="stretch", output_format="PNG")


def error_ui(message: str, title: str = "That did not work") -> None:
    st.error(f"**{title}.** {message}")


def photo_ui(key: str, what: str, help: str | None = None):
    """A photo from a file or the webcam (st.camera_input, drawn only when chosen, so the browser asks for the camera
    only then); either way decoded by content with the same checks. (picture, label), or None (nothing yet, or a file
    explained as unusable)."""
    camera = st.toggle("Use the webcam", key=f"{key}_webcam", help="Take a photo with this computer's camera instead "
                       "of uploading a file; it goes through the same checks as an upload.")
    if camera:
        shot = st.camera_input("Take a photo", key=f"{key}_camera")
        data, label = (shot.getvalue(), "your webcam photo") if shot is not None else (None, "")
    else:
        upload = st.file_uploader("Photo", type=PHOTO_TYPES, key=key, help=help)
        data, label = (upload.getvalue(), upload.name) if upload is not None else (None, "")
    if data is None:
        return None
    try:
        return decode_image(data, label), label
    except ImageError as exc:
        st.error(f"**That {'photo' if camera else 'file'} cannot be {what}.** {exc}")
        return None


def photo_upload_ui(key: str, what: str):
    """photo_ui's picture alone."""
    photo = photo_ui(key, what)
    return None if photo is None else photo[0]


def live_controls_ui(job, lr: float, lrs: list[float], prefix: str = "") -> None:
    """A running job's controls: a new learning rate from now on, and Stop (which keeps what was learned)."""
    c1, c2, c3 = st.columns([2, 1, 1])
    new_lr = c1.select_slider("Change the learning rate now", lrs,
                              min(lrs, key=lambda v: abs(math.log(v / max(lr, 1e-6)))), key=f"{prefix}live_lr")
    if c2.button("Set learning rate", key=f"{prefix}set_lr"):
        job.set_lr(new_lr)
    if c3.button("Stop", type="primary", key=f"{prefix}stop"):
        job.stop()
        job.join(2.0)
