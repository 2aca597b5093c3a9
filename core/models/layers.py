"""Typed layer specs for layer-list CNNs: each layer kind's settings and their ranges, its shape inference, the module
it builds and its initialisation. A whole model (ModelSpec, its validation and building) is in spec.py, the custom
modules in modules.py, the model-wide limits in limits.py, and the JSON and share-link encoding in codec.py."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
from torch import nn

from core.bounds import ranged, settings_problem
from core.errors import UserError
from core.models.limits import MAX_CHANNELS
from core.models.modules import (
    ResidualModule,
    ScaleModule,
    SeededDropout,
    WhiteningConv,
)
from core.recipe import BN_EPS, BN_EPS_FIXED_SCALE

Shape = tuple[int, ...]  # (C, H, W) for feature maps, (F,) once flattened


class SpecError(UserError):
    """A model spec that cannot be built; the message says which layer, why, and what to change."""

    def __init__(self, message: str, layer: int | None = None):
        super().__init__(message)
        self.layer = layer  # 1-based index of the layer at fault, when one is


class LayerProblem(Exception):
    """Raised inside a layer's inference; turned into a SpecError that names the layer."""


def _check_settings(layer: "Layer") -> None:
    """Each setting against the range its field declares (the same ranges the Model page's widgets use)."""
    problem = settings_problem(layer)
    if problem:
        raise LayerProblem(problem)


@torch.no_grad()
def _init_random(module: nn.Module, generator: torch.Generator | None) -> None:
    """torch's own default initialisation of every conv and linear layer in `module`, from `generator`."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if isinstance(m, WhiteningConv):
                nn.init.zeros_(m.bias)  # its weights are set from the data before training; its bias starts at 0
            elif m.bias is not None:
                bound = 1 / math.sqrt(m.weight[0].numel())  # 1 / sqrt(fan_in)
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)


def infer_layer(layer: "Layer", shape: Shape) -> tuple[Shape, int, int]:
    _check_settings(layer)
    return layer.infer(shape)


def _num(value) -> str:
    """A setting for a label; labels must never fail, even for settings validation will refuse."""
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else repr(value)[:20]


def _need_maps(shape: Shape, what: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise LayerProblem(
            f"{what} needs feature maps (channels x height x width), but its input is already flat "
            f"({shape[0]} features); move it before the Flatten"
        )
    return shape  # type: ignore[return-value]


class Layer:
    """Base of every layer spec: `infer` gives (output shape, parameters, MACs); `build` the torch module."""

    kind: ClassVar[str]

    def infer(self, shape: Shape) -> tuple[Shape, int, int]:
        return shape, 0, 0

    def build(self, shape: Shape) -> nn.Module:
        raise NotImplementedError

    def initialize(self, module: nn.Module, generator: torch.Generator | None) -> None:
        """Random initial weights, drawn from `generator` (None: torch's process-wide one)."""
        _init_random(module, generator)

    def label(self) -> str:
        return self.kind

    def to_json(self) -> dict:
        return {"type": self.kind, **asdict(self)}


def _window_out(size: int, kernel: int, stride: int, padding: int, what: str) -> int:
    if size + 2 * padding < kernel:
        raise LayerProblem(
            f"its input is {size}x{size}, smaller than the {kernel}x{kernel} window; "
            f"use a smaller kernel, more padding, or remove a pooling layer before it"
        )
    return (size + 2 * padding - kernel) // stride + 1


@dataclass(frozen=True)
class Conv2d(Layer):
    out_channels: int = ranged(low=1, high=MAX_CHANNELS, suggest=32)
    kernel_size: int = ranged(3, low=1, high=15)
    stride: int = ranged(1, low=1, high=8)
    padding: int = ranged(1, low=0, high=7)
    bias: bool = True
    identity_init: bool = False  # start as an identity on the first channels (airbench): an implicit residual
    kind: ClassVar[str] = "Conv2d"

    def infer(self, shape):
        c, h, w = _need_maps(shape, "Conv2d")
        oh = _window_out(h, self.kernel_size, self.stride, self.padding, "Conv2d")
        ow = _window_out(w, self.kernel_size, self.stride, self.padding, "Conv2d")
        weights = c * self.out_channels * self.kernel_size**2
        params = weights + (self.out_channels if self.bias else 0)
        return (self.out_channels, oh, ow), params, weights * oh * ow

    def build(self, shape):
        return nn.Conv2d(shape[0], self.out_channels, self.kernel_size, self.stride, self.padding, bias=self.bias)

    def initialize(self, module, generator):
        super().initialize(module, generator)
        if self.identity_init:
            with torch.no_grad():
                nn.init.dirac_(module.weight[: min(module.in_channels, self.out_channels)])

    def label(self):
        return f"Conv2d {self.out_channels} {self.kernel_size}x{self.kernel_size}" + (
            f" /{self.stride}" if isinstance(self.stride, int) and self.stride > 1 else ""
        )


@dataclass(frozen=True)
class _Pool(Layer):
    kernel_size: int = ranged(2, low=1, high=32)
    stride: int = ranged(0, low=0, high=32)  # 0 means "same as kernel_size", as in torch
    padding: int = ranged(0, low=0, high=16)  # and at most half the window, as torch requires

    def _stride(self) -> int:
        return self.stride or self.kernel_size

    def infer(self, shape):
        if self.padding > self.kernel_size // 2:
            raise LayerProblem(f"a padding of {self.padding} is more than half the {self.kernel_size}x{self.kernel_size} "
                                f"window; use padding {self.kernel_size // 2} or less, or a larger window")
        c, h, w = _need_maps(shape, self.kind)
        oh = _window_out(h, self.kernel_size, self._stride(), self.padding, self.kind)
        ow = _window_out(w, self.kernel_size, self._stride(), self.padding, self.kind)
        return (c, oh, ow), 0, 0

    def label(self):
        return f"{self.kind} {self.kernel_size}x{self.kernel_size}"


@dataclass(frozen=True)
class MaxPool2d(_Pool):
    kind: ClassVar[str] = "MaxPool2d"

    def build(self, shape):
        return nn.MaxPool2d(self.kernel_size, self._stride(), self.padding)


@dataclass(frozen=True)
class AvgPool2d(_Pool):
    kind: ClassVar[str] = "AvgPool2d"

    def build(self, shape):
        return nn.AvgPool2d(self.kernel_size, self._stride(), self.padding)


@dataclass(frozen=True)
class GlobalAvgPool(Layer):
    """Averages each feature map to one number: (C, H, W) -> (C,)."""

    kind: ClassVar[str] = "GlobalAvgPool"

    def infer(self, shape):
        c, h, w = _need_maps(shape, self.kind)
        return (c,), 0, 0

    def build(self, shape):
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())


@dataclass(frozen=True)
class BatchNorm2d(Layer):
    momentum: float = ranged(0.1, low=0.001, high=1.0, whole=False)  # weight of the newest batch in the running stats
    learn_scale: bool = True  # False keeps the scale at 1 and trains only the shift (airbench)
    kind: ClassVar[str] = "BatchNorm2d"

    def infer(self, shape):
        c, h, w = _need_maps(shape, self.kind)
        return shape, 2 * c, c * h * w

    def build(self, shape):
        norm = nn.BatchNorm2d(shape[0], momentum=self.momentum, eps=BN_EPS if self.learn_scale else BN_EPS_FIXED_SCALE)
        norm.weight.requires_grad = self.learn_scale
        return norm

    def label(self):
        return "BatchNorm2d" + ("" if self.learn_scale else " (shift only)")


@dataclass(frozen=True)
class ReLU(Layer):
    kind: ClassVar[str] = "ReLU"

    def build(self, shape):
        return nn.ReLU()


@dataclass(frozen=True)
class GELU(Layer):
    kind: ClassVar[str] = "GELU"

    def build(self, shape):
        return nn.GELU()


@dataclass(frozen=True)
class Dropout(Layer):
    p: float = ranged(0.5, low=0.0, high=0.95, whole=False)  # the fraction of values zeroed while training
    kind: ClassVar[str] = "Dropout"

    def build(self, shape):
        return SeededDropout(self.p)

    def label(self):
        return f"Dropout {_num(self.p)}"


@dataclass(frozen=True)
class Flatten(Layer):
    kind: ClassVar[str] = "Flatten"

    def infer(self, shape):
        return (numel(shape),), 0, 0

    def build(self, shape):
        return nn.Flatten()


@dataclass(frozen=True)
class Linear(Layer):
    out_features: int = ranged(low=1, high=65536, suggest=10)
    bias: bool = True
    kind: ClassVar[str] = "Linear"

    def infer(self, shape):
        if len(shape) != 1:
            raise LayerProblem(
                f"its input is still {shape[0]}x{shape[1]}x{shape[2]} feature maps; "
                "add a Flatten or GlobalAvgPool before it"
            )
        weights = shape[0] * self.out_features
        return (self.out_features,), weights + (self.out_features if self.bias else 0), weights

    def build(self, shape):
        return nn.Linear(shape[0], self.out_features, bias=self.bias)

    def label(self):
        return f"Linear {self.out_features}"


@dataclass(frozen=True)
class Scale(Layer):
    """Multiplies by a constant; a fixed temperature on the logits helps fast training (airbench)."""

    factor: float = ranged(1.0, low=1e-4, high=1e4, whole=False)
    kind: ClassVar[str] = "Scale"

    def build(self, shape):
        return ScaleModule(float(self.factor))

    def label(self):
        return f"Scale x{_num(self.factor)}"


@dataclass(frozen=True)
class PatchWhiten(Layer):
    """A frozen kxk conv set from the training data so its outputs are decorrelated (airbench's whitening stem).
    It has 2 x 3 x k x k outputs: each eigen-direction of the image patches and its negative."""

    kernel_size: int = ranged(2, low=1, high=4)
    kind: ClassVar[str] = "PatchWhiten"

    def infer(self, shape):
        c, h, w = _need_maps(shape, self.kind)
        oh, ow = _window_out(h, self.kernel_size, 1, 0, self.kind), _window_out(w, self.kernel_size, 1, 0, self.kind)
        out = 2 * c * self.kernel_size**2
        weights = c * out * self.kernel_size**2
        return (out, oh, ow), weights + out, weights * oh * ow

    def build(self, shape):
        return WhiteningConv(shape[0], self.kernel_size)

    def label(self):
        return f"PatchWhiten {self.kernel_size}x{self.kernel_size}"


@dataclass(frozen=True)
class ResidualBlock(Layer):
    """conv3x3-BN-ReLU-conv3x3-BN plus a shortcut (1x1 conv when the width or stride changes), then ReLU."""

    out_channels: int = ranged(low=1, high=MAX_CHANNELS, suggest=64)
    stride: int = ranged(1, low=1, high=2)
    kind: ClassVar[str] = "ResidualBlock"

    def infer(self, shape):
        c, h, w = _need_maps(shape, self.kind)
        oh = _window_out(h, 3, self.stride, 1, self.kind)
        ow = _window_out(w, 3, self.stride, 1, self.kind)
        o = self.out_channels
        params = 9 * c * o + 9 * o * o + 4 * o
        macs = (9 * c * o + 9 * o * o) * oh * ow
        if c != o or self.stride != 1:
            params += c * o + 2 * o
            macs += c * o * oh * ow
        return (o, oh, ow), params, macs

    def build(self, shape):
        return ResidualModule(shape[0], self.out_channels, self.stride)

    def label(self):
        return f"ResidualBlock {self.out_channels}" + (f" /{self.stride}" if isinstance(self.stride, int) and self.stride > 1 else "")


LAYER_KINDS: dict[str, type[Layer]] = {
    cls.kind: cls
    for cls in (Conv2d, MaxPool2d, AvgPool2d, BatchNorm2d, ReLU, GELU, Dropout, Flatten, Linear, GlobalAvgPool,
                ResidualBlock, Scale, PatchWhiten)
}


def numel(shape: Shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
