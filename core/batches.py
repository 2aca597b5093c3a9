"""Batches straight from in-memory uint8 tensors: seeded shuffling, tutorial normalization, batched augmentation."""
from __future__ import annotations

from collections.abc import Iterator

import torch


def normalize(x: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float in [-1, 1], exactly the tutorial's Normalize((0.5,)*3, (0.5,)*3) after ToTensor."""
    return (x.float() / 255.0 - 0.5) / 0.5


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """normalize's inverse, back to uint8 pixels (for drawing what training sees)."""
    return ((x * 0.5 + 0.5) * 255).round().clamp(0, 255).to(torch.uint8)


def flip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror a random half of the batch left-right."""
    mask = torch.rand(x.shape[0], device=x.device, generator=generator) < 0.5
    return torch.where(mask[:, None, None, None], x.flip(3), x)


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator | None = None,
                mode: str = "zeros") -> torch.Tensor:
    """Pad every image by `padding` (zeros = grey after normalization, or a mirror of the border) and cut a random
    32x32 window from each."""
    if padding <= 0:
        return x
    b, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding,) * 4, mode="constant" if mode == "zeros" else "reflect")
    dy = torch.randint(0, 2 * padding + 1, (b,), device=x.device, generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (b,), device=x.device, generator=generator)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, :, None]  # (B, H, 1)
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, :]  # (B, 1, W)
    batch = torch.arange(b, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # (B, C, H, W)


def augment(x: torch.Tensor, crop_padding: int, hflip: bool, generator: torch.Generator | None = None,
            pad_mode: str = "zeros") -> torch.Tensor:
    if crop_padding:
        x = random_crop(x, crop_padding, generator, pad_mode)
    if hflip:
        x = flip(x, generator)
    return x


def shuffled_batches(
    n: int, batch_size: int, generator: torch.Generator, device: torch.device, drop_last: bool = False
) -> Iterator[torch.Tensor]:
    """Index batches over a fresh permutation; the permutation comes from the seeded generator."""
    order = torch.randperm(n, generator=generator).to(device)
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


def steps_per_epoch(n: int, batch_size: int, drop_last: bool = False) -> int:
    if drop_last and n >= batch_size:
        return n // batch_size
    return -(-n // batch_size)
