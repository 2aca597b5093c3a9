"""The nn.Modules that layer specs build beyond torch's own: dropout with a per-run generator, a constant scale,
the data-whitened first conv, and a residual block."""
from __future__ import annotations

import torch
from torch import nn

from core.recipe import WHITEN_EPS


class SeededDropout(nn.Dropout):
    """nn.Dropout drawing its masks from the run's own generator when it has one: the process-wide generator is
    shared by every run training in the server, so with it "same seed, same run" would fail."""

    generator: torch.Generator | None = None

    def forward(self, x):
        if not self.training or self.p == 0 or self.generator is None:
            return super().forward(x)
        keep = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * keep / (1 - self.p)


class ScaleModule(nn.Module):
    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor

    def extra_repr(self):
        return f"factor={self.factor}"


class WhiteningConv(nn.Conv2d):
    def __init__(self, channels: int, kernel_size: int):
        super().__init__(channels, 2 * channels * kernel_size**2, kernel_size, padding=0, bias=True)
        self.weight.requires_grad = False
        nn.init.zeros_(self.bias)

    @torch.no_grad()
    def init_from(self, images: torch.Tensor, eps: float = WHITEN_EPS) -> None:
        """images: normalized (N, C, H, W) float. Weights = patch covariance eigenvectors / sqrt(eigenvalues)."""
        c, k = images.shape[1], self.kernel_size[0]
        patches = images.float().unfold(2, k, 1).unfold(3, k, 1).transpose(1, 3).reshape(-1, c * k * k)
        covariance = patches.T @ patches / len(patches)
        values, vectors = torch.linalg.eigh(covariance)
        values, vectors = values.flip(0), vectors.T.flip(0).reshape(c * k * k, c, k, k)
        scaled = vectors / torch.sqrt(values.clamp_min(0) + eps).view(-1, 1, 1, 1)
        self.weight.copy_(torch.cat((scaled, -scaled)).to(self.weight.dtype))


class ResidualModule(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout),
        )
        self.shortcut = (
            nn.Identity() if cin == cout and stride == 1
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))
