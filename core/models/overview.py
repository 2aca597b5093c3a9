"""A model described at a glance: how many convolutions, the resolutions its feature maps pass through, its widths,
size and cost, in one line a beginner can read (the layer-by-layer list stays on the Model page and in a diagram)."""
from __future__ import annotations

from dataclasses import dataclass

from core.models.layers import Conv2d, Linear, ResidualBlock
from core.models.spec import ModelSpec, summarize


@dataclass(frozen=True)
class Overview:
    name: str
    convolutions: int  # Conv2d layers, a residual block's two included
    resolutions: tuple[int, ...]  # the feature maps' side in pixels, in the order they shrink (32, 16, 8, ...)
    widths: tuple[int, ...]  # the convolutions' channel counts as they change along the network
    linear: int  # fully connected layers
    parameters: int
    mflops: float  # millions of floating-point operations for one image, forward (2 per multiply-accumulate)

    def line(self) -> str:
        parts = [f"**{self.name}**", f"{self.convolutions} convolution{'s' * (self.convolutions != 1)}"]
        if self.widths:
            parts.append("channels " + " → ".join(map(str, self.widths)))
        if len(self.resolutions) > 1:
            parts.append("maps " + " → ".join(f"{r}" for r in self.resolutions) + " px")
        parts.append(f"{self.linear} linear layer{'s' * (self.linear != 1)}")
        parts += [f"{self.parameters:,} parameters", f"{self.mflops:,.0f} MFLOP per image"]
        return " · ".join(parts)


def overview(spec: ModelSpec) -> Overview:
    """Raises SpecError for a model that cannot be built (as summarize does)."""
    summary = summarize(spec)
    convs = sum(isinstance(layer, Conv2d) for layer in spec.layers) + \
        2 * sum(isinstance(layer, ResidualBlock) for layer in spec.layers)
    widths = _changes([layer.out_channels for layer in spec.layers if isinstance(layer, Conv2d)])
    sides = _changes([spec.input_shape[-1]] + [i.output_shape[-1] for i in summary.layers if len(i.output_shape) == 3])
    linear = sum(isinstance(layer, Linear) for layer in spec.layers)
    return Overview(spec.name, convs, tuple(sides), tuple(widths), linear, summary.parameters, 2 * summary.macs / 1e6)


def _changes(values: list[int]) -> list[int]:
    """The values where they change: [32, 32, 64, 64, 32] -> [32, 64, 32]."""
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
