"""Small drawing helpers the pages share (names end in _ui: they draw)."""
from __future__ import annotations

import streamlit as st
import torch

from core.images import to_pil


def image_grid_ui(images: torch.Tensor, captions: list[str], columns: int, scale: int = 3) -> None:
    """uint8 (N, 3, 32, 32) images in a grid, upscaled with nearest neighbour so pixels stay crisp."""
    for start in range(0, len(images), columns):
        cols = st.columns(columns)
        for col, image, text in zip(cols, images[start:start + columns], captions[start:start + columns]):
            col.image(to_pil(image, scale), caption=text, width="stretch", output_format="PNG")


def error_ui(message: str, title: str = "That did not work") -> None:
    st.error(f"**{title}.** {message}")
