"""How any picture becomes the captioner's input: one scaling rule, the same function for training scenes and for
uploads, so the model is used on exactly what it learned from.

Two rules exist. Captioners saved before varied scenes (issue 33) fitted every picture into 96x64 and padded its short
side to 64 with grey: a 160 px canvas shrank 2.5 times, and a 32 px object in it kept 13 px. Today's rule shrinks a
picture only as far as it must to fit 128x96, and enlarges only one whose short side is under 64 (to 64), without
padding: the fixed scenes' canvases pass unchanged, as before, and the larger varied canvases keep 1.5 times the
pixels on each side (docs/captioning.md has the measurement behind the choice)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

Box = tuple[int, int, int, int]
GREY = 128  # the padding of the old rule: the middle of the pixel range, zero once normalized


def resized(pixels: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """uint8 (3, H, W) or (B, 3, H, W) scaled to height x width, antialiased: pictures shrink as well as grow."""
    if pixels.shape[-2:] == (height, width):
        return pixels
    batch = pixels if pixels.dim() == 4 else pixels[None]
    out = F.interpolate(batch.float(), size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    out = out.round().clamp(0, 255).to(torch.uint8)
    return out if pixels.dim() == 4 else out[0]


@dataclass(frozen=True)
class PictureFit:
    """Scale a picture, keeping its shape, until its short side is `short` or its long side `long`, whichever comes
    first; with `smallest`, enlarge it only as far as a short side of `smallest` (a picture already inside the bounds
    keeps its size); with `pad`, pad the short side up to `short` with grey."""
    short: int
    long: int
    pad: bool = False
    smallest: int | None = None  # None: every picture is scaled up or down until it reaches a bound

    @property
    def name(self) -> str:
        return f"{self.long}x{self.short}"

    def scale(self, width: int, height: int) -> float:
        fits = min(self.short / min(width, height), self.long / max(width, height))
        if self.smallest is None:
            return fits
        return min(fits, max(1.0, self.smallest / min(width, height)))

    def scaled_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of the picture's own pixels once scaled, before any padding."""
        scale = self.scale(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))

    def padding(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Grey added (left, right, top, bottom), in input pixels."""
        w, h = self.scaled_size(width, height)
        pad_w, pad_h = (max(0, self.short - w), max(0, self.short - h)) if self.pad else (0, 0)
        return pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2

    def input_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of the input the encoder gets for a picture of this size."""
        (w, h), (left, right, top, bottom) = self.scaled_size(width, height), self.padding(width, height)
        return w + left + right, h + top + bottom

    def pixels(self, canvas: torch.Tensor) -> torch.Tensor:
        """uint8 (3, H, W) or a batch (B, 3, H, W) of one size, fitted: the rule itself."""
        height, width = canvas.shape[-2:]
        w, h = self.scaled_size(width, height)
        batch = resized(canvas if canvas.dim() == 4 else canvas[None], h, w)
        left, right, top, bottom = self.padding(width, height)
        if left or right or top or bottom:
            batch = F.pad(batch, (left, right, top, bottom), value=GREY)
        return batch if canvas.dim() == 4 else batch[0]

    def picture(self, picture: Image.Image) -> torch.Tensor:
        """An uploaded picture (any mode, any size) as the encoder's uint8 (3, H, W) input."""
        pixels = torch.from_numpy(np.asarray(picture.convert("RGB")).copy()).permute(2, 0, 1)
        return self.pixels(pixels)

    def box(self, box: Box, width: int, height: int) -> Box:
        """Where a box on the picture lands on the input."""
        scale_x, scale_y = (s / o for s, o in zip(self.scaled_size(width, height), (width, height)))
        left, _, top, _ = self.padding(width, height)
        x0, y0, x1, y1 = box
        return (left + round(x0 * scale_x), top + round(y0 * scale_y),
                left + round(x1 * scale_x), top + round(y1 * scale_y))


OLD_FIT = PictureFit(64, 96, pad=True)  # every captioner saved before issue 33
FITS = {fit.name: fit for fit in (OLD_FIT, PictureFit(96, 128, smallest=64))}
DEFAULT_FIT = "128x96"
