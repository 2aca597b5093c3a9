"""Per-word attention drawn over the picture the captioner saw: one heat map per word, and a strip of them."""
from __future__ import annotations

import torch
from PIL import Image, ImageDraw

from core.caption.model import Beam
from core.data.images import to_pil
from core.insight.explain import overlay

SCALE = 3  # the fitted picture is at most 96 pixels wide: enlarge it so a map can be read


def word_maps(fitted: torch.Tensor, beam: Beam) -> list[tuple[str, Image.Image]]:
    """(word, the fitted picture with that word's attention over it), in sentence order. Each map is stretched to
    its own maximum: attention sums to 1 over the grid, so its peak height says little, its place everything."""
    picture = to_pil(fitted, scale=SCALE)
    out = []
    for word, weights in zip(beam.words, beam.attention):
        heat = weights.float().numpy()
        out.append((word, overlay(picture, heat / max(float(heat.max()), 1e-8), alpha=0.55)))
    return out


def attention_strip(fitted: torch.Tensor, beam: Beam) -> Image.Image:
    """The picture, then every word's map with the word beneath it, in one row (for files and the CLI)."""
    panels = [("(picture)", to_pil(fitted, scale=SCALE))] + word_maps(fitted, beam)
    w, h = panels[0][1].size
    strip = Image.new("RGB", (len(panels) * (w + 4), h + 18), "white")
    pen = ImageDraw.Draw(strip)
    for i, (word, panel) in enumerate(panels):
        strip.paste(panel, (i * (w + 4), 0))
        pen.text((i * (w + 4) + 2, h + 3), word, fill=(0, 0, 0))
    return strip

