"""Widget forms for layer specs, built from each dataclass's fields; every range is the one the spec validates."""
from __future__ import annotations

from dataclasses import MISSING, fields

import streamlit as st

from core.bounds import is_flag
from core.models.layers import Layer

EXPLAIN = {
    "Conv2d": "slides small learned filters over the image; each output channel is one filter's response map.",
    "MaxPool2d": "keeps the largest value in each window: halves the map with a 2x2 window, keeps strong features.",
    "AvgPool2d": "averages each window: a smoother way to shrink the map.",
    "BatchNorm2d": "re-centres and re-scales each channel over the batch; lets you train with larger learning rates.",
    "ReLU": "max(0, x): the non-linearity that lets stacked layers learn more than one linear map.",
    "GELU": "a smooth ReLU used by modern networks.",
    "Dropout": "zeroes a random fraction of values while training, so the network cannot rely on any one of them.",
    "Flatten": "turns the C x H x W maps into one long vector for Linear layers.",
    "Linear": "every input connected to every output; the last one gives the 10 class scores (logits).",
    "GlobalAvgPool": "averages each channel to one number: a Flatten that does not depend on the map size.",
    "ResidualBlock": "two 3x3 convs with a shortcut around them (ResNet): deep nets train well with it.",
    "Scale": "multiplies by a constant; a fixed temperature on the logits helps fast training.",
    "PatchWhiten": "a frozen conv set from the training images so its outputs are decorrelated (airbench's stem).",
}


def layer_form_ui(cls: type[Layer], key: str, current: Layer | None = None) -> Layer:
    """Widgets for each setting of `cls`, prefilled from `current`; returns the layer they describe."""
    values = {}
    for f in fields(cls):
        default = f.default if f.default is not MISSING else f.metadata["bounds"].suggest
        value = getattr(current, f.name) if current is not None else default
        label, wkey = f.name.replace("_", " "), f"{key}_{cls.kind}_{f.name}"
        if is_flag(f):
            values[f.name] = st.toggle(label, value=bool(value), key=wkey)
            continue
        b = f.metadata["bounds"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            value = default  # a spec file can hold anything; the model table names the problem
        shown = min(max(value, b.low), b.high)  # a spec saved outside today's range (an old file) shows clamped
        if b.whole:
            values[f.name] = int(st.number_input(label, int(b.low), int(b.high), int(shown), step=1, key=wkey))
        else:
            values[f.name] = st.number_input(label, float(b.low), float(b.high), float(shown), step=0.05, key=wkey,
                                             format="%.4g")
    st.caption(f"{cls.kind}: {EXPLAIN.get(cls.kind, '')}")
    return cls(**values)

