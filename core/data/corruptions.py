"""Corrupted copies of test images, after CIFAR-10-C (Hendrycks & Dietterich, 2019): the shifts a photo from a phone
brings (noise, blur, compression, lighting, colour, haze, framing), each at five severities, made here from the test
set with torch, torchvision and Pillow, deterministically per seed. Five follow CIFAR-10-C's method and its CIFAR levels
(`cifar10c`); the others are this project's, for uploads: motion blur, pixelation, brightness and fog done more simply
than CIFAR-10-C does them, and darkness, desaturation, colour cast and framing added."""
from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as nnf
import torchvision.transforms.v2.functional as F
from PIL import Image

from core.errors import UserError

SEVERITIES = (1, 2, 3, 4, 5)
CHUNK = 1000  # images corrupted at once: bounds the memory of the float copies


@dataclass(frozen=True)
class Corruption:
    name: str
    label: str
    imitates: str  # what in a real photo this stands for (shown beside its chart)
    levels: tuple[float, ...]  # the parameter at severities 1..5
    apply: Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]  # float (B, 3, H, W) in [0, 1] -> same
    cifar10c: bool = False  # CIFAR-10-C's method and levels


def _gaussian_noise(x, sigma, gen):
    return x + sigma * torch.randn(x.shape, generator=gen)


def _shot_noise(x, photons, gen):
    return torch.poisson(x * photons, generator=gen) / photons


def _blur(x, sigma, gen):
    size = 2 * math.ceil(3 * sigma) + 1
    return F.gaussian_blur(x, [size, size], [sigma, sigma])


def _motion_blur(x, length, gen):
    """Each image smeared along a line of `length` pixels at its own random angle (a shaking hand)."""
    b, c, h, w = x.shape
    size = 2 * math.ceil(length / 2) + 1
    angle = torch.rand(b, generator=gen) * math.pi
    t = torch.linspace(-length / 2, length / 2, 4 * size)  # points along each line, splatted onto the kernel grid
    cols = (t[None] * torch.cos(angle)[:, None]).round().long() + size // 2
    rows = (t[None] * torch.sin(angle)[:, None]).round().long() + size // 2
    kernel = torch.zeros(b, size * size)
    kernel.scatter_add_(1, rows * size + cols, torch.ones_like(t).expand(b, -1))
    kernel = (kernel / kernel.sum(1, keepdim=True)).view(b, 1, size, size).repeat_interleave(c, 0)
    padded = nnf.pad(x.reshape(1, b * c, h, w), (size // 2,) * 4, mode="replicate")
    return nnf.conv2d(padded, kernel, groups=b * c).view(b, c, h, w)


def _jpeg(x, quality, gen):
    """Pillow's encoder (torchvision's JPEG codec is deprecated from 0.29), the same as CIFAR-10-C's."""
    out = []
    for image in _to_uint8(x).permute(0, 2, 3, 1).numpy():
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=int(quality))
        out.append(np.asarray(Image.open(buffer).convert("RGB")))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255


def _pixelate(x, share, gen):
    h, w = x.shape[-2:]
    small = F.resize(x, [round(h * share), round(w * share)], antialias=True)
    return F.resize(small, [h, w], interpolation=F.InterpolationMode.NEAREST)


def _brightness(x, add, gen):
    return x + add


def _dark(x, factor, gen):
    return x * factor


def _contrast(x, factor, gen):
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * factor + mean


def _desaturate(x, keep, gen):
    return F.adjust_saturation(x, keep)


def _colour_cast(x, strength, gen):
    """A white balance gone wrong: each image's channels scaled along its own random direction."""
    direction = torch.randn(x.shape[0], 3, generator=gen)
    direction = direction - direction.mean(1, keepdim=True)
    direction = direction / direction.norm(dim=1, keepdim=True).clamp_min(1e-6)
    return x * (1 + strength * direction[:, :, None, None] * math.sqrt(3 / 2))


def _fog(x, amount, gen):
    """Blend towards a bright, smooth, uneven haze (coarse random noise, upsampled), losing contrast as fog does."""
    b, _, h, w = x.shape
    haze = sum(nnf.interpolate(torch.rand(b, 1, s, s, generator=gen), size=(h, w), mode="bicubic",
                               align_corners=False) / k for s, k in ((3, 1), (6, 2), (12, 4)))
    haze = 0.6 + 0.4 * (haze - haze.amin((2, 3), keepdim=True)) / (haze.amax((2, 3), keepdim=True)
                                                                    - haze.amin((2, 3), keepdim=True) + 1e-6)
    return x * (1 - amount) + amount * haze


def _zoom(x, scale, gen):
    """Framing: scale > 1 crops into a random part of the picture (zoomed in); scale < 1 shows it smaller at a random
    place, the border pixels continuing outwards (the object far away in a wider scene)."""
    b = x.shape[0]
    room = abs(1 - 1 / scale)  # how far the window may move and still cover (or stay inside) the frame
    shift = (torch.rand(b, 2, generator=gen) * 2 - 1) * room
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1 / scale
    theta[:, :, 2] = shift
    grid = nnf.affine_grid(theta, list(x.shape), align_corners=False)
    return nnf.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


CORRUPTIONS: dict[str, Corruption] = {c.name: c for c in [
    Corruption("gaussian_noise", "Gaussian noise", "sensor noise in dim light", (0.04, 0.06, 0.08, 0.09, 0.10),
               _gaussian_noise, True),
    Corruption("shot_noise", "Shot noise", "photon noise of a small sensor", (500, 250, 100, 75, 50), _shot_noise,
               True),
    Corruption("gaussian_blur", "Blur", "out of focus", (0.4, 0.6, 0.7, 0.8, 1.0), _blur, True),
    Corruption("motion_blur", "Motion blur", "a shaking hand or a moving subject", (2, 3, 4, 5, 6), _motion_blur),
    Corruption("jpeg", "JPEG", "compression by a phone or a chat app", (80, 65, 58, 50, 40), _jpeg, True),
    Corruption("pixelate", "Pixelate", "a small crop blown up", (0.95, 0.85, 0.7, 0.55, 0.45), _pixelate),
    Corruption("brightness", "Brightness", "overexposure", (0.05, 0.1, 0.15, 0.2, 0.3), _brightness),
    Corruption("dark", "Dark", "underexposure", (0.8, 0.65, 0.5, 0.4, 0.3), _dark),
    Corruption("contrast", "Contrast", "flat light, a dirty lens", (0.75, 0.5, 0.4, 0.3, 0.15), _contrast, True),
    Corruption("desaturate", "Desaturate", "washed-out colours", (0.7, 0.5, 0.35, 0.2, 0.1),
               _desaturate),
    Corruption("colour_cast", "Colour cast", "white balance off, indoor light",
               (0.1, 0.2, 0.3, 0.4, 0.5), _colour_cast),
    Corruption("fog", "Fog", "haze, glare", (0.2, 0.3, 0.4, 0.5, 0.6), _fog),
    Corruption("zoom_in", "Zoom in", "framed too tight", (1.15, 1.3, 1.45, 1.6, 1.8), _zoom),
    Corruption("zoom_out", "Zoom out", "the subject small in a wide shot", (0.9, 0.8, 0.7, 0.6, 0.5),
               _zoom),
]}


class CorruptionError(UserError):
    """An unknown corruption or severity; the message lists the valid ones."""


def corrupt(images: torch.Tensor, name: str, severity: int, seed: int = 0) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> the same images with one corruption at one severity (1..5). The same seed gives the same
    pixels; each (corruption, severity) draws from its own stream, so adding one never changes another."""
    if name not in CORRUPTIONS:
        raise CorruptionError(f"unknown corruption {name!r}; corruptions: {', '.join(CORRUPTIONS)}")
    if severity not in SEVERITIES:
        raise CorruptionError(f"severity must be 1 to {SEVERITIES[-1]}, got {severity}")
    c = CORRUPTIONS[name]
    gen = torch.Generator().manual_seed(seed * 1009 + list(CORRUPTIONS).index(name) * 10 + severity)
    out = [_to_uint8(c.apply(images[i:i + CHUNK].float() / 255, c.levels[severity - 1], gen))
           for i in range(0, len(images), CHUNK)]
    return torch.cat(out) if out else images.clone()


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)
