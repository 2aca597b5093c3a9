"""A model as a readable list of layers (ModelSpec): its summary (shapes, parameters, multiply-accumulates), the
checks that it fits the limits and ends in one score per class, and the plain nn.Sequential it builds."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from core.models.layers import Layer, LayerProblem, Shape, SpecError, infer_layer, numel
from core.models.limits import (
    INPUT_SHAPE,
    MAX_ACTIVATIONS,
    MAX_LAYERS,
    MAX_PARAMETERS,
    NUM_CLASSES,
)


@dataclass(frozen=True)
class LayerInfo:
    """What shape inference reports for one layer."""

    index: int  # 1-based, as people count
    name: str
    output_shape: Shape
    parameters: int
    macs: int  # multiply-accumulates for one image


@dataclass(frozen=True)
class Summary:
    layers: list[LayerInfo]
    parameters: int
    macs: int
    output_shape: Shape


@dataclass(frozen=True)
class ModelSpec:
    """A model is a readable list of layers: ModelSpec([Conv2d(16, 5, padding=0), ReLU(), ...])."""

    layers: tuple[Layer, ...]
    name: str = "custom"
    input_shape: Shape = field(default=INPUT_SHAPE)

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(self.layers))

    def __str__(self) -> str:
        return f"{self.name}: " + " -> ".join(layer.label() for layer in self.layers)


def summarize(spec: ModelSpec) -> Summary:
    """Per-layer output shape, parameters and MACs; raises SpecError naming the first layer at fault."""
    if not spec.layers:
        raise SpecError("the model has no layers; start from a preset or add a Conv2d")
    if len(spec.layers) > MAX_LAYERS:
        raise SpecError(f"the model has {len(spec.layers)} layers; the limit is {MAX_LAYERS}")
    shape: Shape = spec.input_shape
    infos = []
    for i, layer in enumerate(spec.layers, start=1):
        try:
            shape, params, macs = infer_layer(layer, shape)
        except LayerProblem as problem:
            raise SpecError(f"layer {i}, {layer.label()}: {problem}", layer=i) from None
        infos.append(LayerInfo(i, layer.label(), shape, params, macs))
    total_params = sum(info.parameters for info in infos)
    if total_params > MAX_PARAMETERS:
        worst = max(infos, key=lambda info: info.parameters)  # the layer to make narrower
        raise SpecError(
            f"layer {worst.index}, {worst.name}: the model has {total_params:,} parameters, over the limit of "
            f"{MAX_PARAMETERS:,}, and this layer holds {worst.parameters:,} of them; make it narrower", layer=worst.index)
    activations = sum(numel(info.output_shape) for info in infos)
    if activations > MAX_ACTIVATIONS:
        worst = max(infos, key=lambda info: numel(info.output_shape))
        raise SpecError(
            f"layer {worst.index}, {worst.name}: the model's feature maps hold {activations:,} numbers per image, "
            f"too many to train in memory (limit {MAX_ACTIVATIONS:,}); this layer outputs "
            f"{numel(worst.output_shape):,} of them: use fewer channels or pool earlier", layer=worst.index)
    return Summary(infos, total_params, sum(info.macs for info in infos), shape)


def validate(spec: ModelSpec) -> Summary:
    """Like summarize, and also requires the model to end in one score per CIFAR-10 class."""
    summary = summarize(spec)
    if summary.output_shape != (NUM_CLASSES,):
        shown = "x".join(map(str, summary.output_shape))
        last = spec.layers[-1]
        fix = (
            "add Flatten (or GlobalAvgPool) and Linear(10) at the end"
            if len(summary.output_shape) == 3
            else "make the last layer Linear(10)"
        )
        raise SpecError(
            f"layer {len(spec.layers)}, {last.label()}: the model ends in {shown} outputs, "
            f"but it must end in {NUM_CLASSES} (one score per class); {fix}",
            layer=len(spec.layers),
        )
    return summary


def layer_report(spec: ModelSpec) -> tuple[list[LayerInfo], SpecError | None]:
    """For editors: the infos of every layer that can be inferred, and the first problem (or None)."""
    infos, shape = [], spec.input_shape
    for i, layer in enumerate(spec.layers, start=1):
        try:
            shape, params, macs = infer_layer(layer, shape)
        except LayerProblem:
            break
        infos.append(LayerInfo(i, layer.label(), shape, params, macs))
    try:
        validate(spec)
        return infos, None
    except SpecError as exc:
        return infos, exc


def build_model(spec: ModelSpec, seed: int | None = None, classifier: bool = True) -> nn.Sequential:
    """A plain nn.Sequential; validated first so a bad spec fails with its message, not a torch error
    (`classifier=False`: any stack that summarizes, such as a captioner's conv encoder, need not end in 10 scores).
    With a seed, the initial weights come from a generator of its own: they depend on the seed alone, whatever
    other runs in the same server do with torch's process-wide generator meanwhile."""
    validate(spec) if classifier else summarize(spec)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    shape, modules = spec.input_shape, []
    for layer in spec.layers:
        module = layer.build(shape)
        layer.initialize(module, generator)
        modules.append(module)
        shape = infer_layer(layer, shape)[0]
    return nn.Sequential(*modules)
