"""Widget forms for layer specs, built from each dataclass's fields with ranges that make sense for 32x32 images."""
from __future__ import annotations

from dataclasses import MISSING, fields

import streamlit as st

from core.layers import Layer

# (low, high, default) per setting; a pool stride of 0 means "same as the window"
RANGES = {
    "out_channels": (1, 1024, 32), "kernel_size": (1, 11, 3), "stride": (0, 4, 1), "padding": (0, 5, 1),
    "out_features": (1, 4096, 10), "p": (0.0, 0.9, 0.5), "factor": (0.001, 100.0, 1.0),
}
POOL_DEFAULTS = {"kernel_size": 2, "stride": 0, "padding": 0}

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
}


def layer_form_ui(cls: type[Layer], key: str, current: Layer | None = None) -> Layer:
    """Widgets for each setting of `cls`, prefilled from `current`; returns the layer they describe."""
    values = {}
    is_pool = cls.kind in ("MaxPool2d", "AvgPool2d")
    for f in fields(cls):
        low, high, default = RANGES.get(f.name, (0, 0, 0))
        if is_pool and f.name in POOL_DEFAULTS:
            default = POOL_DEFAULTS[f.name]
        elif f.default is not MISSING:
            default = f.default
        value = getattr(current, f.name) if current is not None else default
        label, wkey = f.name.replace("_", " "), f"{key}_{cls.kind}_{f.name}"
        if f.type in ("bool", bool):
            values[f.name] = st.toggle(label, value=bool(value), key=wkey)
        elif f.type in ("float", float):
            values[f.name] = st.number_input(label, float(low), float(high), float(value), key=wkey, format="%.3f")
        else:
            values[f.name] = int(st.number_input(label, int(low), int(high), int(value), step=1, key=wkey))
    st.caption(f"{cls.kind}: {EXPLAIN.get(cls.kind, '')}")
    return cls(**values)  # settings out of range are named by the model table, at this layer
