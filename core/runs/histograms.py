"""Weight and gradient histograms per layer per epoch, recorded while a run trains (a few KB an epoch), so a person
can watch the weights spread and the gradients shrink, TensorBoard-style. One JSON line per epoch in the run folder."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from core.models.spec import ModelSpec
from core.runs.layout import RunFolder

BINS = 40


@dataclass(frozen=True)
class Histogram:
    layer: str  # "3. Conv2d 32 3x3 weight"
    kind: str  # "weight" or "gradient"
    low: float  # the first bin's left edge
    high: float  # the last bin's right edge
    counts: list[int]  # BINS counts, evenly spaced from low to high

    @property
    def edges(self) -> list[float]:
        width = (self.high - self.low) / len(self.counts)
        return [self.low + i * width for i in range(len(self.counts) + 1)]


def histogram(values: torch.Tensor, layer: str, kind: str) -> Histogram:
    v = values.detach().float().flatten().cpu()
    low, high = float(v.min()), float(v.max())
    if high <= low:  # a constant tensor: one bin around it
        low, high = low - 0.5, high + 0.5
    return Histogram(layer, kind, low, high, torch.histc(v, BINS, low, high).int().tolist())


def layer_histograms(model: nn.Module, spec: ModelSpec) -> list[Histogram]:
    """The conv and linear weights of `model` (tensors of 2 or more dimensions) and their gradients from the last
    step, where there are any; named after the spec's layers."""
    out = []
    for name, p in model.named_parameters():
        if p.ndim < 2 or not p.requires_grad:  # biases and BatchNorm; a fixed whitening layer learns nothing
            continue
        index, _, rest = name.partition(".")
        label = f"{int(index) + 1}. {spec.layers[int(index)].label()}" + (f" {rest}" if rest != "weight" else "")
        out.append(histogram(p, label, "weight"))
        if p.grad is not None:
            out.append(histogram(p.grad, label, "gradient"))
    return out


def record(folder: Path, epoch: int, histograms: list[Histogram]) -> None:
    with open(RunFolder(folder).histograms, "a") as f:
        f.write(json.dumps({"epoch": epoch, "histograms": [asdict(h) for h in histograms]}) + "\n")


def read(folder: Path) -> dict[int, list[Histogram]]:
    """Epoch -> its histograms; lines that do not parse (a crash mid-write) are skipped."""
    out: dict[int, list[Histogram]] = {}
    try:
        lines = RunFolder(folder).histograms.read_text().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        try:
            item = json.loads(line)
            out[int(item["epoch"])] = [Histogram(str(h["layer"]), str(h["kind"]), float(h["low"]), float(h["high"]),
                                                 [int(c) for c in h["counts"]]) for h in item["histograms"]]
        except (ValueError, TypeError, KeyError):
            continue
    return out
