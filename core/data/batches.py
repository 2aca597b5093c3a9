"""Batches straight from in-memory uint8 tensors: seeded shuffling, tutorial normalization, batched augmentation."""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torchvision.transforms.v2.functional as F

from core.recipe import NORMALIZE_MEAN, NORMALIZE_STD


def normalize(x: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float in [-1, 1], exactly the tutorial's Normalize((0.5,)*3, (0.5,)*3) after ToTensor."""
    return (x.float() / 255.0 - NORMALIZE_MEAN) / NORMALIZE_STD


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """normalize's inverse, back to uint8 pixels (for drawing what training sees)."""
    return ((x * NORMALIZE_STD + NORMALIZE_MEAN) * 255).round().clamp(0, 255).to(torch.uint8)


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


def random_resized_crop(x: torch.Tensor, scale_min: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """torchvision's RandomResizedCrop, per image in one batched resample: each crop keeps a random share of the area
    from `scale_min` to all of it, at an aspect ratio from 3/4 to 4/3 and a random place, stretched back to full
    size. It teaches the net objects seen closer and off-centre, as photos frame them (it never zooms out)."""
    if scale_min >= 1:
        return x
    b, dev = x.shape[0], x.device
    area = scale_min + (1 - scale_min) * torch.rand(b, device=dev, generator=generator)
    log_ratio = (torch.rand(b, device=dev, generator=generator) * 2 - 1) * math.log(4 / 3)
    width = (area * log_ratio.exp()).sqrt().clamp(max=1)  # shares of the side
    height = (area / log_ratio.exp()).sqrt().clamp(max=1)
    centre = (torch.rand(b, 2, device=dev, generator=generator) * 2 - 1) * torch.stack([1 - width, 1 - height], 1)
    theta = torch.zeros(b, 2, 3, device=dev, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 1, 1], theta[:, :, 2] = width, height, centre
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def color_jitter(x: torch.Tensor, strength: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """torchvision's ColorJitter(brightness, contrast, saturation = strength), each image its own factors, on
    normalized images: other cameras, light and white balance."""
    if strength <= 0:
        return x
    b, dev = x.shape[0], x.device

    def factor():
        return (1 + strength * (torch.rand(b, 1, 1, 1, device=dev, generator=generator) * 2 - 1)).to(x.dtype)

    pixels = x * NORMALIZE_STD + NORMALIZE_MEAN
    pixels = pixels * factor()  # brightness
    grey = F.rgb_to_grayscale(pixels)
    pixels = (pixels - grey.mean((1, 2, 3), keepdim=True)) * factor() + grey.mean((1, 2, 3), keepdim=True)  # contrast
    grey = F.rgb_to_grayscale(pixels)
    pixels = (pixels - grey) * factor() + grey  # saturation
    return (pixels.clamp(0, 1) - NORMALIZE_MEAN) / NORMALIZE_STD


def random_erasing(x: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """torchvision's RandomErasing on a batch: with probability p an image loses a rectangle (2-33% of its area,
    aspect 0.3-3.3) to grey, so the net learns to use every part of an object, not its one best clue."""
    if p <= 0:
        return x
    b, _, h, w = x.shape
    dev = x.device
    area = (0.02 + 0.31 * torch.rand(b, device=dev, generator=generator)) * h * w
    ratio = (torch.rand(b, device=dev, generator=generator) * 2 - 1).mul(math.log(10 / 3)).exp()
    eh = (area * ratio).sqrt().round().clamp(1, h)
    ew = (area / ratio).sqrt().round().clamp(1, w)
    top = (torch.rand(b, device=dev, generator=generator) * (h - eh + 1)).floor()
    left = (torch.rand(b, device=dev, generator=generator) * (w - ew + 1)).floor()
    rows, cols = torch.arange(h, device=dev)[None, :, None], torch.arange(w, device=dev)[None, None, :]
    inside = ((rows >= top[:, None, None]) & (rows < (top + eh)[:, None, None])
              & (cols >= left[:, None, None]) & (cols < (left + ew)[:, None, None]))
    erase = inside & (torch.rand(b, device=dev, generator=generator) < p)[:, None, None]
    return x.masked_fill(erase[:, None], 0.0)


def gaussian_noise(x: torch.Tensor, sigma_max: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Sensor noise: each image gets Gaussian noise of its own strength, from none to `sigma_max` (in pixel units,
    1 = black to white). Rusak et al. (2020) found training on it makes nets robust to many other corruptions too."""
    if sigma_max <= 0:
        return x
    sigma = sigma_max * torch.rand(x.shape[0], 1, 1, 1, device=x.device, generator=generator, dtype=x.dtype)
    noise = torch.randn(x.shape, device=x.device, generator=generator, dtype=x.dtype)
    return (x + 2 * sigma * noise).clamp(-1, 1)  # x 2: normalized images span 2 units where pixels span 1


def gaussian_blur(x: torch.Tensor, sigma_max: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Out of focus: each image blurred by its own Gaussian, sigma from none to `sigma_max` pixels (one grouped,
    separable convolution for the whole batch; edges reflected). Blur, pixelation and tight framing all take away
    fine detail; a net that has seen soft pictures leans less on it."""
    if sigma_max <= 0:
        return x
    b, c, h, w = x.shape
    radius = min(math.ceil(2 * sigma_max), h - 1, w - 1)
    sigma = (sigma_max * torch.rand(b, 1, device=x.device, generator=generator, dtype=x.dtype)).clamp_min(1e-3)
    taps = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-taps**2 / (2 * sigma**2))
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (b * c, taps): one per image channel
    v = torch.nn.functional.pad(x.reshape(1, b * c, h, w), (radius,) * 4, mode="reflect")
    v = torch.nn.functional.conv2d(v, kernel[:, None, None, :], groups=b * c)
    v = torch.nn.functional.conv2d(v, kernel[:, None, :, None], groups=b * c)
    return v.reshape(b, c, h, w)


@dataclass(frozen=True)
class Augmentation:
    """What each training batch goes through, in this order (a TrainConfig's augmentation settings)."""
    crop_padding: int = 0  # random translation: pad and cut a 32x32 window
    pad_mode: str = "zeros"
    flip: bool = False
    crop_scale: float = 1.0  # random resized crop's smallest share of the area; 1 = off
    color_jitter: float = 0.0
    erasing: float = 0.0  # probability
    noise: float = 0.0  # the strongest per-image Gaussian noise, in pixel units
    photo_share: float = 1.0  # the share of each batch the photo augmentations (all but translation and flip) touch
    blur: float = 0.0  # the strongest per-image Gaussian blur, sigma in pixels
    photo_apart: bool = False  # each photo augmentation draws its own share of the batch, instead of one share
    #                            getting them all

    @property
    def photo(self) -> bool:
        return self.crop_scale < 1 or self.color_jitter > 0 or self.erasing > 0 or self.noise > 0 or self.blur > 0


def augment(x: torch.Tensor, aug: Augmentation, generator: torch.Generator | None = None) -> torch.Tensor:
    return augment_marked(x, aug, generator)[0]


def augment_marked(x: torch.Tensor, aug: Augmentation,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The batch augmented, and which images the photo augmentations touched (None: all of them)."""
    if aug.photo and aug.photo_apart and aug.photo_share < 1:
        return _augment_apart(x, aug, generator)
    some = None  # the images the photo augmentations touch: all, or a random share of the batch
    if aug.photo and aug.photo_share < 1:
        some = _draw(len(x), aug.photo_share, x.device, generator)
    x = _on(x, some, lambda v: random_resized_crop(v, aug.crop_scale, generator))
    x = geometry(x, aug, generator)

    def look(v):  # colour, focus, grain and occlusion, after the geometry (a lens blurs before the sensor adds noise)
        for change in _looks(aug, generator):
            v = change(v)
        return v

    return _on(x, some, look), some


def _looks(aug: Augmentation, generator: torch.Generator | None) -> list:
    """The photo augmentations after the geometry, in order, those switched on."""
    looks = [(aug.color_jitter, color_jitter), (aug.blur, gaussian_blur), (aug.noise, gaussian_noise),
             (aug.erasing, random_erasing)]
    return [lambda v, f=f, s=s: f(v, s, generator) for s, f in looks if s > 0]


def _augment_apart(x: torch.Tensor, aug: Augmentation,
                   generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Each photo augmentation on its own random share of the batch: most touched images show one change, as a
    corrupted photo usually does, rather than all of them at once."""
    touched = torch.zeros(len(x), dtype=torch.bool, device=x.device)

    def on_own_share(v, change):
        some = _draw(len(v), aug.photo_share, v.device, generator)
        touched[some] = True
        return _on(v, some, change)

    if aug.crop_scale < 1:
        x = on_own_share(x, lambda v: random_resized_crop(v, aug.crop_scale, generator))
    x = geometry(x, aug, generator)
    for change in _looks(aug, generator):
        x = on_own_share(x, change)
    return x, touched.nonzero().flatten()


def _draw(n: int, share: float, device: torch.device, generator: torch.Generator | None) -> torch.Tensor:
    return (torch.rand(n, device=device, generator=generator) < share).nonzero().flatten()


def geometry(x: torch.Tensor, aug: Augmentation, generator: torch.Generator | None = None) -> torch.Tensor:
    """What every image goes through: the random translation and the mirror."""
    if aug.crop_padding:
        x = random_crop(x, aug.crop_padding, generator, aug.pad_mode)
    if aug.flip:
        x = flip(x, generator)
    return x


def with_plain_views(x: torch.Tensor, aug: Augmentation, generator: torch.Generator | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch augmented, then a plain view (translation and mirror only) of each image the photo augmentations
    touched appended after it, for a consistency loss between the two views (AugMix's Jensen-Shannon term).
    Returns (images, index of each appended view's photo-augmented twin)."""
    out, some = augment_marked(x, aug, generator)
    some = torch.arange(len(x), device=x.device) if some is None else some
    return torch.cat([out, geometry(x[some], aug, generator)]), some


def _on(x: torch.Tensor, some: torch.Tensor | None, change) -> torch.Tensor:
    if some is None:
        return change(x)
    if not len(some):  # a small share can draw no image of a batch; resized crops refuse an empty one
        return x
    out = x.clone()
    out[some] = change(x[some])
    return out


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
