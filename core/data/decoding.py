"""Image files to (N, 3, 32, 32) uint8 pixels: plain 32x32 RGB PNG/JPEG straight through, anything else by the
careful path uploads take (any mode, EXIF rotation, resized to 32x32); threads decode in parallel."""
from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image

from core.data.dataset import DataError, Progress
from core.data.images import ImageError, decode_image, to_model_input


def decode_images(items, split: str, where: str, progress: Progress | None):
    total = len(items)
    pixels = np.empty((total, 32, 32, 3), dtype=np.uint8)  # (N, H, W, C) as decoders produce it
    y = torch.tensor([label for _, _, label in items], dtype=torch.int64)

    def decode(i: int) -> None:
        rel, read, _ = items[i]
        raw = read()
        try:
            pixels[i] = _plain_32x32(raw)
        except _NotPlain:  # anything unusual takes the careful path that uploads take
            try:
                pixels[i] = to_model_input(decode_image(raw, str(rel))).permute(1, 2, 0).numpy()
            except ImageError as exc:
                raise DataError(f"{where}: {exc}") from None

    # Pillow releases the GIL while decoding, so threads use every core
    chunk = 2000
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        for start in range(0, total, chunk):
            list(pool.map(decode, range(start, min(total, start + chunk))))
            if progress:
                progress(min(total, start + chunk), total, f"decoding {split} images")
    return torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous(), y


class _NotPlain(Exception):
    pass


def _plain_32x32(raw: bytes) -> np.ndarray:
    """The common case, fast: an RGB 32x32 PNG/JPEG without EXIF, decoded straight to pixels."""
    try:
        image = Image.open(io.BytesIO(raw))
        if image.size != (32, 32) or image.mode != "RGB" or image.format not in ("JPEG", "PNG") \
                or "exif" in image.info or "transparency" in image.info:
            raise _NotPlain
        return np.asarray(image)
    except (OSError, SyntaxError, ValueError):
        raise _NotPlain from None
