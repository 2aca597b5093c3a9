"""Decoding untrusted image bytes safely and turning any picture into the 32x32 RGB input the models see."""
from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import UserError

MAX_IMAGE_BYTES = 20 * 1024 * 1024  # an upload larger than this is refused before decoding
MAX_IMAGE_PIXELS = 40_000_000  # width x height; above it the header alone gets the file refused (decompression bombs)
SIDE = 32


class ImageError(UserError):
    """An image that cannot be used; the message says why in plain words."""


def decode_image(data: bytes, name: str = "the image") -> Image.Image:
    """Bytes -> RGB PIL image, judged by content (never by file name); transparent parts go on white."""
    if not data:
        raise ImageError(f"{name} is empty (0 bytes)")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"{name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_IMAGE_BYTES // 2**20} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            w, h = image.size
            if w * h > MAX_IMAGE_PIXELS:
                raise ImageError(
                    f"{name} is {w}x{h} pixels; the limit is {MAX_IMAGE_PIXELS:,} pixels (it may be a decompression bomb)"
                )
            image.seek(0)  # first frame of an animation
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb(image)
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name} is not an image this app can read (PNG, JPEG, WebP, BMP or GIF)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{name} is damaged or truncated and cannot be decoded ({exc})") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grey: scale to 8 bits by the actual range instead of clipping to white
        arr = np.asarray(image, dtype=np.float64)
        top = arr.max() if arr.max() > 255 else 255.0
        image = Image.fromarray((arr / top * 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


FITS = ("crop", "squash", "pad")  # how a picture of any shape becomes a square
FIT = "crop"  # for paths that need one view (image-folder datasets, Grad-CAM, neighbours): the centre square.
#               Uploads are classified through all three, averaged: that measured best (core.training.evaluate.predict_image)


def to_model_input(image: Image.Image, fit: str = FIT) -> torch.Tensor:
    """Any picture -> (3, 32, 32) uint8, made square by `fit` (crop: the centre square; squash: stretched; pad: the
    whole picture centred on its own mean colour), then shrunk with antialiasing."""
    w, h = image.size
    side = min(w, h) if fit == "crop" else max(w, h)
    if fit == "crop":
        left, top = (w - side) // 2, (h - side) // 2
        image = image.crop((left, top, left + side, top + side))
    elif fit == "pad" and w != h:
        mean = tuple(int(v) for v in np.asarray(image.convert("RGB")).reshape(-1, 3).mean(0))
        canvas = Image.new("RGB", (side, side), mean)
        canvas.paste(image.convert("RGB"), ((side - w) // 2, (side - h) // 2))
        image = canvas
    elif fit not in FITS:
        raise ValueError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
    if image.size != (SIDE, SIDE):
        image = image.resize((SIDE, SIDE), Image.Resampling.BICUBIC, reducing_gap=None)
    return torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def to_pil(image: torch.Tensor, scale: int = 1) -> Image.Image:
    """(3, H, W) uint8 -> PIL, enlarged crisply (nearest neighbour) by `scale`."""
    pil = Image.fromarray(image.permute(1, 2, 0).cpu().numpy())
    if scale > 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.Resampling.NEAREST)
    return pil
